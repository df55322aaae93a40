"""Process-level TensorFlow set-up that must happen before TensorFlow touches a device.

Memory growth (TensorFlow otherwise maps nearly all GPU memory, which hides what a configuration
needs), logical CPU devices for multi-replica runs on a machine without GPUs, and the float
policy (float64 runs set floatx *and* the dtype policy before any layer exists).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
import tempfile
from typing import Iterator

from bench.errors import BenchError

_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|I0000 |"
                    r"To enable the following instructions|"
                    r"E0000 .*(cuInit|cuda_platform)|.*cudart_stub\.cc)")


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Hide TensorFlow's start-up chatter (oneDNN notice, 'no CUDA drivers', absl pre-init lines,
    printed whatever TF_CPP_MIN_LOG_LEVEL says); anything else written to stderr passes through."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if line.strip() and not _NOISE.match(line):
                    print(line, file=sys.stderr)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (and initialise its devices) without the start-up chatter; TF's Python
    warnings about retracing are expected here (one traced function per trainer) and muted."""
    if "tensorflow" in sys.modules:
        return
    with filtered_stderr():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")


M_TRIM_THRESHOLD = -1  # glibc mallopt parameter
TRIM_THRESHOLD_BYTES = 128 * 1024


def pin_malloc_trim_threshold() -> int | None:
    """Set glibc's trim threshold to 128 KiB for every run: some TensorFlow components (its
    generator dataset, for one) set it behind our back, and then only the runs that use them
    would return freed heap early and resident-memory peaks would not compare. (Setting it also
    fixes glibc's mmap threshold at 128 KiB instead of letting it drift.) Returns the value
    set, or None where this is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return TRIM_THRESHOLD_BYTES if libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) else None
    except (OSError, AttributeError):
        return None


CPU_ALLOCATOR_ENV = "ACCUMBENCH_CPU_ALLOCATOR"
CPU_ALLOCATORS = ("bfc", "default")


def configure_allocator(kind: str | None = None) -> str:
    """Choose TensorFlow's CPU allocator before its runtime starts; returns the one chosen.

    `bfc` (the harness's default, $ACCUMBENCH_CPU_ALLOCATOR overrides) is the allocator GPUs
    use: measured here, it made a configuration's peak exactly repeatable (the glibc default
    read 77-115 MiB for identical runs of the same configuration, BFC 56.46 MiB every time,
    also right after a heavier run) and training 1.15-1.2x faster. `default` keeps TensorFlow's
    malloc-based allocator, as a plain `import tensorflow` would."""
    kind = kind or os.environ.get(CPU_ALLOCATOR_ENV) or "bfc"
    if kind not in CPU_ALLOCATORS:
        raise BenchError(f"{CPU_ALLOCATOR_ENV} must be one of {', '.join(CPU_ALLOCATORS)}, "
                         f"got {kind!r}")
    if kind == "bfc":
        os.environ["TF_CPU_ALLOCATOR_USE_BFC"] = "true"
    else:
        os.environ.pop("TF_CPU_ALLOCATOR_USE_BFC", None)
    return kind


def cpu_allocator() -> str:
    """The CPU allocator this process runs with."""
    return "bfc" if os.environ.get("TF_CPU_ALLOCATOR_USE_BFC", "").lower() in ("1", "true") \
        else "default"


def configure_threads(threads: int | None) -> None:
    """Limit TensorFlow's intra- and inter-op thread pools (before its runtime starts): jobs that
    share the machine run with fewer threads each."""
    if not threads:
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def malloc_trim() -> None:
    """Return freed heap to the kernel (glibc), so that a worker forks children from a lean,
    always-identical state."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def configure_devices(replicas: int = 1) -> None:
    """Enable GPU memory growth; split the CPU into `replicas` logical devices if there is no GPU."""
    import tensorflow as tf

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
    exist before any other op of the process; the launcher in `bench.execute.multiworker`
    starts the processes that use it)."""
    global _MULTIWORKER
    if _MULTIWORKER is None:
        import tensorflow as tf

        _MULTIWORKER = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(
                implementation=tf.distribute.experimental.CommunicationImplementation.RING))
    return _MULTIWORKER


def distribution(replicas: int = 1, workers: int = 1):
    """The default strategy for one replica, a MirroredStrategy over `replicas` devices, or
    this process's MultiWorkerMirroredStrategy when it is one of `workers` > 1."""
    import tensorflow as tf

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


PRECISIONS = ("float32", "float64", "mixed_float16", "mixed_bfloat16")


@contextlib.contextmanager
def precision_policy(precision: str) -> Iterator[None]:
    """Build models in `precision` and restore the previous policy after.

    float32 / float64: floatx *and* the dtype policy (the policy is cached at the first layer,
    so floatx alone has no effect once any layer exists). mixed_float16 / mixed_bfloat16:
    variables in float32, computation in 16 bits (Keras' mixed-precision policies)."""
    import keras

    if precision not in PRECISIONS:
        raise BenchError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    old_floatx, old_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64" if precision == "float64" else "float32")
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_floatx(old_floatx)
        keras.config.set_dtype_policy(old_policy)


def data_dtype(precision: str) -> str:
    """What the feed hands the model: float64 for float64 runs, else float32 (a mixed model
    casts its inputs to 16 bits itself)."""
    return "float64" if precision == "float64" else "float32"
