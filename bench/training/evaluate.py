"""Inference-mode loss and accuracy over a split, in batches (no randomness, no BN updates)."""
from __future__ import annotations

import numpy as np

from bench.data.base import Split
from bench.training.objective import correct, summed_loss


class Evaluator:
    """Compiled once per model; evaluates any split of its data set."""

    def __init__(self, model, output: str, batch_size: int, float_dtype: str = "float32") -> None:
        import tensorflow as tf

        loss = summed_loss(output)
        self.batch_size, self.float_dtype = batch_size, float_dtype

        @tf.function(reduce_retracing=True)
        def batch_stats(x, y, w):
            pred = model(x, training=False)
            return loss(y, pred, sample_weight=w), correct(output, y, pred)

        self._stats = batch_stats

    def __call__(self, split: Split) -> tuple[float, float]:
        """(mean weighted loss over samples, accuracy) — the same definitions as training."""
        total_loss = total_correct = 0.0
        n = len(split)
        for start in range(0, n, self.batch_size):
            part = split.take(np.arange(start, min(n, start + self.batch_size)))
            x = part.x if isinstance(part.x, dict) else part.x.astype(self.float_dtype, copy=False)
            w = np.ones(len(part), self.float_dtype) if part.weight is None else part.weight
            loss, hits = self._stats(x, part.y, w)
            total_loss += float(loss)
            total_correct += float(hits)
        return total_loss / n, total_correct / n
