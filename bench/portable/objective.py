"""Loss and accuracy matched to what the model outputs: class logits or probabilities, one
value per class or a single value for a binary task."""
from __future__ import annotations

import keras


def _loss(output: str, width: int | None, reduction: str | None, losses=keras.losses):
    from_logits = output == "logits"
    kwargs = {"reduction": reduction} if reduction else {}
    if width == 1:
        return losses.BinaryCrossentropy(from_logits=from_logits, **kwargs)
    return losses.SparseCategoricalCrossentropy(from_logits=from_logits, **kwargs)


def output_width(model: keras.Model) -> int | None:
    return model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None


def summed_loss(output: str, width: int | None = None) -> keras.losses.Loss:
    """Per-window *sum* of weighted per-sample losses.

    Strategies divide the sum by the window's sample count, which equals Keras' default
    `sum_over_batch_size` for the large batch and stays exact for any split into micro-batches.
    """
    return _loss(output, width, "sum")


def mean_loss(output: str, width: int | None = None, losses=keras.losses) -> keras.losses.Loss:
    """The loss a Keras user compiles (default reduction), for `model.fit`; `losses`: another
    Keras's (the Keras 2 lane passes tf_keras')."""
    return _loss(output, width, None, losses)


def correct(output: str, y, pred, weight=None):
    """Number of correct predictions in a batch (float); with `weight` (one per target, token
    data) the weighted number, so padding counts for nothing."""
    ops = keras.ops
    if pred.shape[-1] == 1:
        threshold = 0.5 if output == "probability" else 0.0
        hit = ops.equal(ops.cast(ops.squeeze(pred, -1) > threshold, y.dtype), ops.reshape(y, (-1,)))
    elif weight is not None:
        hit = ops.equal(ops.argmax(pred, axis=-1), ops.cast(y, "int64"))
        return ops.sum(ops.cast(hit, "float64") * ops.cast(weight, "float64"))
    else:
        hit = ops.equal(ops.argmax(pred, axis=-1), ops.cast(ops.reshape(y, (-1,)), "int64"))
    return ops.sum(ops.cast(hit, "float64"))
