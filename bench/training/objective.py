"""Loss and accuracy matched to what the model outputs (logits or a sigmoid probability)."""
from __future__ import annotations

import keras


def summed_loss(output: str) -> keras.losses.Loss:
    """Per-window *sum* of weighted per-sample losses.

    Strategies divide the sum by the window's sample count, which equals Keras' default
    `sum_over_batch_size` for the large batch and stays exact for any split into micro-batches.
    """
    if output == "logits":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    return keras.losses.BinaryCrossentropy(from_logits=False, reduction="sum")


def mean_loss(output: str) -> keras.losses.Loss:
    """The loss a Keras user compiles (default reduction), for `model.fit`."""
    if output == "logits":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return keras.losses.BinaryCrossentropy(from_logits=False)


def correct(output: str, y, pred):
    """Number of correct predictions in a batch (float)."""
    ops = keras.ops
    if output == "logits":
        hit = ops.equal(ops.argmax(pred, axis=-1), ops.cast(y, "int64"))
    else:
        hit = ops.equal(ops.cast(ops.squeeze(pred, -1) > 0.5, y.dtype), y)
    return ops.sum(ops.cast(hit, "float64"))
