"""What ran the numbers: library versions, devices, threads, and the machine identity.

`machine` (`bench.results.machine`) is what "the same machine" means to the regression check,
the baselines and the report: CPU family and instruction set, cores, TensorFlow, Keras, oneDNN
and the allocator. `device` stays a short name for people (a GPU's name, else the CPU model
and usable cores), which different cores can share.
"""
from __future__ import annotations

import os
import platform
import sys

import keras
import numpy
import tensorflow as tf

from bench.process import cpu_allocator
from bench.results.machine import cpu_model, machine_identity, usable_cpus


def describe() -> dict:
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
