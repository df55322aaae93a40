"""The precision a model is built in, on every backend."""
from __future__ import annotations

import contextlib
from typing import Iterator

import keras

from bench.config.names import PRECISIONS
from bench.errors import BenchError


@contextlib.contextmanager
def precision_policy(precision: str) -> Iterator[None]:
    """Build models in `precision` and restore the previous policy after.

    float32 / float64: floatx *and* the dtype policy (the policy is cached at the first layer,
    so floatx alone has no effect once any layer exists). mixed_float16 / mixed_bfloat16:
    variables in float32, computation in 16 bits (Keras' mixed-precision policies)."""
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
