"""What a process sets up before TensorFlow's runtime starts, without importing TensorFlow:
its CPU allocator, glibc's trim threshold, and a quiet import when the process needs it.
Both layers use it: the controller to start workers, the training layer in every job."""
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
    if "tensorflow" in sys.modules or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return  # imported already, or a backend-lane process (JAX, PyTorch), which must not
    with filtered_stderr():
        # the one import of TensorFlow outside the training layer: the processes that need it
        # (a worker, a command that trains here) import it through this, before the others
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


def malloc_trim() -> None:
    """Return freed heap to the kernel (glibc), so that a worker forks children from a lean,
    always-identical state."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def data_dtype(precision: str) -> str:
    """What the feed hands the model: float64 for float64 runs, else float32 (a mixed model
    casts its inputs to 16 bits itself)."""
    return "float64" if precision == "float64" else "float32"
