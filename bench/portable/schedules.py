"""The recipe's optimizers and learning-rate schedules, on every backend. The TensorFlow layer
records the step each update used around these (`bench.engine.training.optim`); the backend
lane reads it from the optimizer's counter."""
from __future__ import annotations

import keras

from bench.config.names import SCHEDULES
from bench.errors import BenchError

OPTIMIZERS = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
              "sgd": keras.optimizers.SGD}


class ConstantSchedule(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, learning_rate: float):
        self.learning_rate = learning_rate

    def __call__(self, step):
        return keras.ops.cast(self.learning_rate, keras.config.floatx())

    def get_config(self):
        return {"learning_rate": self.learning_rate}


def schedule(kind: str, learning_rate: float, total_steps: int):
    """constant; exponential (halves every fifth of the run); cosine (to 0 over the run)."""
    total_steps = max(1, total_steps)
    if kind == "constant":
        return ConstantSchedule(learning_rate)
    if kind == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=max(1, total_steps // 5), decay_rate=0.5)
    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps)
    raise BenchError(f"unknown learning-rate schedule {kind!r} (schedules: {', '.join(SCHEDULES)})")
