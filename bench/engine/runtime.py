"""TensorFlow's set-up for one job: thread pools, devices, the distribution strategy, and the
precision policy models are built in."""
from __future__ import annotations

import tensorflow as tf

from bench.errors import BenchError
from bench.process import filtered_stderr


def configure_threads(threads: int | None) -> None:
    """Limit TensorFlow's intra- and inter-op thread pools (before its runtime starts): jobs that
    share the machine run with fewer threads each."""
    if not threads:
        return
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def configure_devices(replicas: int = 1) -> None:
    """Enable GPU memory growth; split the CPU into `replicas` logical devices if there is no GPU."""
    with filtered_stderr():
        gpus = tf.config.list_physical_devices("GPU")
    try:
        for gpu in gpus:
            tf.config.experimental.set_memory_growth(gpu, True)
        if replicas > 1 and not gpus:
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)])
    except RuntimeError:
        pass  # already initialised in this process: keep what it has (distribution() checks)


_MULTIWORKER = None


def multiworker_strategy():
    """This process's MultiWorkerMirroredStrategy (created once: TensorFlow requires it to
    exist before any other op of the process; the launcher in `bench.engine.launch`
    starts the processes that use it)."""
    global _MULTIWORKER
    if _MULTIWORKER is None:
            _MULTIWORKER = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(
                implementation=tf.distribute.experimental.CommunicationImplementation.RING))
    return _MULTIWORKER


def distribution(replicas: int = 1, workers: int = 1):
    """The default strategy for one replica, a MirroredStrategy over `replicas` devices, or
    this process's MultiWorkerMirroredStrategy when it is one of `workers` > 1."""
    if workers > 1:
        return multiworker_strategy()
    if replicas == 1:
        return tf.distribute.get_strategy()
    for kind in ("GPU", "CPU"):
        devices = [d.name for d in tf.config.list_logical_devices(kind)]
        if len(devices) >= replicas:
            return tf.distribute.MirroredStrategy(devices[:replicas])
    raise BenchError(f"{replicas} replicas need {replicas} devices; this process has "
                     f"{len(tf.config.list_logical_devices('CPU'))} CPU and "
                     f"{len(tf.config.list_logical_devices('GPU'))} GPU devices")
