"""Inference-mode loss, accuracy (and, for binary models, ROC AUC) over a split, in batches.

No randomness and no BatchNormalization updates: the model as it would be deployed. For token
data (a weight per target) loss and accuracy are per token: over the weighted targets, divided
by their total weight, as the training loss is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from bench.data.base import Split
from bench.portable.objective import correct, output_width, summed_loss


@dataclass(frozen=True)
class Evaluation:
    loss: float        # mean weighted loss over samples or tokens (the training loss's definition)
    accuracy: float
    auc: float | None  # binary models: area under the ROC curve (a rank metric)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Probability that a random positive scores above a random negative (ties count half);
    None when the split holds one class only."""
    y = np.asarray(y).ravel() > 0.5
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = np.asarray(score)[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


class Evaluator:
    """Compiled once per model; evaluates any split of its data set."""

    def __init__(self, model, output: str, batch_size: int, float_dtype: str = "float32") -> None:
        loss = summed_loss(output, output_width(model))
        self.batch_size, self.float_dtype, self.output = batch_size, float_dtype, output

        @tf.function(reduce_retracing=True)
        def batch_stats(x, y, w):
            pred = model(x, training=False)
            token = len(w.shape) > 1  # a weight per target: count the weighted targets' hits
            hits = correct(output, y, pred, w if token else None)
            return loss(y, pred, sample_weight=w), hits, pred

        self._stats = batch_stats

    def __call__(self, split: Split) -> Evaluation:
        total_loss = total_correct = 0.0
        n = len(split)
        token = split.weight is not None and np.ndim(split.weight) > 1
        count = float(np.sum(split.weight, dtype=np.float64)) if token else n
        scores = []
        for start in range(0, n, self.batch_size):
            part = split.take(np.arange(start, min(n, start + self.batch_size)))
            x = part.x if isinstance(part.x, dict) else part.x.astype(self.float_dtype, copy=False)
            w = np.ones(len(part), self.float_dtype) if part.weight is None else part.weight
            loss, hits, pred = self._stats(x, part.y, w)
            total_loss += float(loss)
            total_correct += float(hits)
            if pred.shape[-1] == 1:  # a binary model: its score ranks the samples
                scores.append(np.asarray(pred, dtype=np.float64).ravel())
        auc = roc_auc(split.y, np.concatenate(scores)) if scores else None
        return Evaluation(total_loss / count, total_correct / count, auc)
