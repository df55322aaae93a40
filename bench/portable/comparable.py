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


#: a layer's dropout rates: one that holds a SeedGenerator but has every rate at 0 draws nothing
RATES = ("rate", "dropout", "recurrent_dropout")
#: recurrent cells: their dropout is switched off by its rates (their call is the recurrence)
CELL_RATES = ("dropout", "recurrent_dropout")


def _rates(layer: keras.layers.Layer) -> list[float]:
    return [v for v in (getattr(layer, a, None) for a in RATES) if isinstance(v, (int, float))]


def draws_random_numbers(layer: keras.layers.Layer) -> bool:
    """Keras 3 layers that sample hold a SeedGenerator (Dropout, RandomFlip, RandomZoom, a
    recurrent cell with dropout, ...); one whose dropout rates are all 0 samples nothing."""
    if not any(isinstance(v, keras.random.SeedGenerator) for v in vars(layer).values()):
        return False
    rates = _rates(layer)
    return not rates or any(r > 0 for r in rates)


def batch_norm_layers(model: keras.Model) -> list[str]:
    return [layer.name for layer in _layers(model)
            if isinstance(layer, keras.layers.BatchNormalization)]


def make_comparable(model: keras.Model, *, batch_norm_inference: bool = False) -> list[str]:
    """Random layers become the identity (and BatchNormalization uses its moving statistics, if
    asked), for good: only analysis models, built for the purpose, are patched. Must run before
    the first training call, since traced functions keep what they saw. Returns patched names."""
    patched = []
    for layer in _layers(model):
        if draws_random_numbers(layer) and all(hasattr(layer, a) for a in CELL_RATES):
            for a in CELL_RATES:  # a recurrent cell: keep the recurrence, drop nothing
                setattr(layer, a, 0.0)
            patched.append(layer.name)
        elif draws_random_numbers(layer):
            object.__setattr__(layer, "call", lambda inputs, *args, **kwargs: inputs)
            patched.append(layer.name)
        elif batch_norm_inference and isinstance(layer, keras.layers.BatchNormalization):
            original = layer.call
            object.__setattr__(layer, "call", lambda inputs, training=None, mask=None, _f=original:
                               _f(inputs, training=False, mask=mask))
            patched.append(layer.name)
    return patched
