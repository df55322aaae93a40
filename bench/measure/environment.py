"""What ran the numbers: library versions, devices, threads, and the machine identity.

`machine` (`bench.results.machine`) is what "the same machine" means to the regression check,
the baselines and the report: CPU family and instruction set, cores, TensorFlow, Keras, oneDNN
and the allocator. `device` stays a short name for people (a GPU's name, else the CPU model
and usable cores): two different cores here share the name "AMD EPYC (2 cores)".
"""
from __future__ import annotations

import os
import platform
import sys

from bench.results.machine import cpu_model, machine_identity, usable_cpus


def visible_gpus() -> list[str]:
    """The GPUs a sweep may give its configurations, without starting TensorFlow (the sweep's
    own process must not initialise CUDA): $CUDA_VISIBLE_DEVICES if set, else NVML's count."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip() and d.strip() != "-1"]
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return [str(i) for i in range(pynvml.nvmlDeviceGetCount())]
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no driver, no library: no GPU
        return []


def describe() -> dict:
    import keras
    import numpy
    import tensorflow as tf

    from bench.runtime import cpu_allocator

    gpus = []
    for d in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(d)
        gpus.append(details.get("device_name", d.name))
    cores = usable_cpus()
    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": cores,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "gpus": gpus,
        "logical_devices": [d.name for d in tf.config.list_logical_devices()],
        "device": f"{gpus[0]} x{len(gpus)}" if gpus else f"{cpu_model()} ({cores} cores)",
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "cpu_allocator": cpu_allocator(),
        "machine": machine_identity(cpu_allocator(), gpus),
    }
