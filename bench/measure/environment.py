"""What ran the numbers: library versions, devices, CPUs."""
from __future__ import annotations

import os
import platform
import sys


def describe() -> dict:
    import keras
    import numpy
    import tensorflow as tf

    gpus = []
    for d in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(d)
        gpus.append(details.get("device_name", d.name))
    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        usable_cpus = os.cpu_count()
    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus,
        "gpus": gpus,
        "logical_devices": [d.name for d in tf.config.list_logical_devices()],
        "device": gpus[0] if gpus else f"CPU ({usable_cpus} cores)",
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
    }
