"""Level 1: at the same weights and data, the gradient a strategy applies vs the large batch's.

The gradient is read from the optimizer of a strategy's own first real update (a recording
subclass of the recipe's optimizer), so Keras' built-in accumulation is measured through Keras
and the naive loop through the naive loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from bench.config.training import TrainingConfig
from bench.engine.training.feed import Window
from bench.engine.training.optim import inner
from bench.engine.training.setup import build_trainer
from models.specs import InputSpec


@dataclass(frozen=True)
class GradientComparison:
    max_rel_error: float
    overall_rel_error: float
    per_variable: dict[str, float]

    @property
    def worst_variable(self) -> str:
        return max(self.per_variable, key=self.per_variable.get)


def compare(grads: list[np.ndarray], reference: list[np.ndarray], names: list[str]) -> GradientComparison:
    """Relative L2 error per variable and over all variables together."""
    per_var = {}
    diff_sq = ref_sq = 0.0
    for name, g, r in zip(names, grads, reference):
        g, r = g.astype(np.float64), r.astype(np.float64)
        d, n = float(np.sum((g - r) ** 2)), float(np.sum(r ** 2))
        per_var[name] = 0.0 if d == 0 else (float(np.sqrt(d / n)) if n > 0 else float("inf"))
        diff_sq, ref_sq = diff_sq + d, ref_sq + n
    overall = 0.0 if diff_sq == 0 else float(np.sqrt(diff_sq / ref_sq)) if ref_sq else float("inf")
    return GradientComparison(max(per_var.values(), default=0.0), overall, per_var)


def scale_fit(grads: list[np.ndarray], reference: list[np.ndarray]) -> tuple[float, float]:
    """The scalar s that brings `reference` closest to `grads` (least squares over every
    variable), and the global-norm ratio |grads| / |reference|: a gradient that is the
    reference times a constant (divided by k once too often, clipped, summed) shows here."""
    dot = sum(float(np.sum(g.astype(np.float64) * r)) for g, r in zip(grads, reference))
    ref_sq = sum(float(np.sum(r.astype(np.float64) ** 2)) for r in reference)
    g_sq = sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)
    if ref_sq == 0:
        return float("nan"), float("nan")
    return dot / ref_sq, float(np.sqrt(g_sq / ref_sq))


def as_large_batch(window: Window) -> Window:
    """The same samples as one window of the large batch (accum 1)."""
    return tuple(tf.nest.map_structure(lambda a: a.reshape(1, -1, *a.shape[2:]), window))


def last_micro_batch(window: Window) -> Window:
    """Only the window's last micro-batch, as a window of its own (accum 1)."""
    return tuple(tf.nest.map_structure(lambda a: a[-1:], window))


def captured(trainer) -> list[np.ndarray]:
    """The gradient the optimizer last applied (unscaled, inside a LossScaleOptimizer)."""
    return [np.asarray(v.numpy()) for v in inner(trainer.p.optimizer).captured]


def captured_gradient(config: TrainingConfig, spec: InputSpec, window: Window, distribution,
                      initial_weights: list[np.ndarray], prepare_model,
                      trainable: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Run one update of `config`'s strategy on `window` and return the gradient it applied
    (from `initial_weights`, with the trainable variables set to `trainable` if given)."""
    trainer = build_trainer(config, spec, 1, distribution, initial_weights=initial_weights,
                            record_gradients=True, prepare_model=prepare_model)
    for variable, value in zip(trainer.vars, trainable or []):
        variable.assign(value)
    trainer.run_epoch([window], 0, lambda event: None)
    return captured(trainer)
