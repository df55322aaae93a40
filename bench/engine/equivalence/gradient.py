"""Level 1: at the same weights and data, the gradient a strategy applies vs the large batch's.

The gradient is read from the optimizer of a strategy's own first real update (a recording
subclass of the recipe's optimizer), so Keras' built-in accumulation is measured through Keras
and the naive loop through the naive loop.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.config.training import TrainingConfig
from bench.engine.training.feed import Window
from bench.engine.training.optim import inner
from bench.engine.training.setup import build_trainer
from bench.judge.distance import GradientComparison, compare, scale_fit
from models.specs import InputSpec

__all__ = ["GradientComparison", "compare", "scale_fit", "as_large_batch", "last_micro_batch",
           "captured", "captured_gradient"]


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
