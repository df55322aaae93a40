"""Switch layers into a comparable mode for the gradient and trajectory levels.

Layers that draw random numbers (dropout, random augmentation) draw different numbers for a
micro-batch than for the same samples inside a large batch, so levels 1 and 2 run them as the
identity (level 3 judges them, switched on). BatchNormalization can be forced into inference
mode to show that it, and nothing else, breaks equivalence.
"""
from __future__ import annotations

import keras


def _layers(model: keras.Model) -> list[keras.layers.Layer]:
    return list(model._flatten_layers(include_self=False, recursive=True))


def draws_random_numbers(layer: keras.layers.Layer) -> bool:
    """Keras 3 layers that sample hold a SeedGenerator (Dropout, RandomFlip, RandomZoom, ...)."""
    return any(isinstance(v, keras.random.SeedGenerator) for v in vars(layer).values())


def batch_norm_layers(model: keras.Model) -> list[str]:
    return [layer.name for layer in _layers(model)
            if isinstance(layer, keras.layers.BatchNormalization)]


def make_comparable(model: keras.Model, *, batch_norm_inference: bool = False) -> list[str]:
    """Random layers become the identity (and BatchNormalization uses its moving statistics, if
    asked), for good: only analysis models, built for the purpose, are patched. Must run before
    the first training call, since traced functions keep what they saw. Returns patched names."""
    patched = []
    for layer in _layers(model):
        if draws_random_numbers(layer):
            object.__setattr__(layer, "call", lambda inputs, *args, **kwargs: inputs)
            patched.append(layer.name)
        elif batch_norm_inference and isinstance(layer, keras.layers.BatchNormalization):
            original = layer.call
            object.__setattr__(layer, "call", lambda inputs, training=None, mask=None, _f=original:
                               _f(inputs, training=False, mask=mask))
            patched.append(layer.name)
    return patched
