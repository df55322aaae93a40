"""A user's model, named by the import path of its builder (`package.module:function`).

The builder is called as `builder(input_shape=..., num_classes=...)` — the data's per-sample
shape and class count — or with no arguments if it takes none, and must return a `keras.Model`
whose output fits the data: `num_classes` values (logits or probabilities), or one value for a
binary task. Training settings default to Adam at 1e-3 (`--learning-rate` changes the rate).
"""
from __future__ import annotations

import inspect

from bench.errors import BenchError
from bench.plugins import call, resolve
from models.backend import keras  # tf_keras in the Keras 2 lane: a user's Keras 2 model
from models.specs import ImageSpec, InputSpec


def build(spec: InputSpec, path: str) -> keras.Model:
    """The registry's builder for a user's model: `path` is the user's builder (the entry's
    one preset), called with what the data says."""
    builder = resolve(path, "model builder")
    try:
        params = inspect.signature(builder).parameters
    except (TypeError, ValueError):
        params = {}
    takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in params.values())
    kwargs = {}
    if takes_kwargs or "input_shape" in params:
        kwargs["input_shape"] = spec.shape
    if takes_kwargs or "num_classes" in params:
        kwargs["num_classes"] = spec.num_classes
    model = call(builder, path, "model builder", **kwargs)
    if not isinstance(model, keras.Model):
        raise BenchError(f"model builder {path!r} returned a {type(model).__name__}, not a "
                         f"keras.Model")
    width = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    allowed = {spec.num_classes} | ({1} if spec.num_classes == 2 else set())
    if width is not None and width not in allowed:
        raise BenchError(f"model builder {path!r}: the model outputs {width} values per sample, "
                         f"but the data has {spec.num_classes} classes (expected "
                         f"{' or '.join(map(str, sorted(allowed)))})")
    return model


__all__ = ["ImageSpec", "build"]
