"""What ran the numbers: library versions, devices, CPU model, threads.

`device` is the identity the regression check compares: the GPU's name where TensorFlow sees
one, else the CPU model and the number of usable cores (two machines with the same core count
can differ five-fold in TensorFlow speed, so the count alone is not an identity).
"""
from __future__ import annotations

import os
import platform
import re
import sys
from functools import lru_cache


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; the platform's processor string elsewhere)."""
    try:
        text = open("/proc/cpuinfo", encoding="utf-8", errors="replace").read()
        match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        if match:
            return " ".join(match.group(1).split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


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


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


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
    }
