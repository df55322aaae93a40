"""Optimizers and learning-rate schedules, with the step each update really used recorded.

Keras evaluates a `LearningRateSchedule` at the optimizer's raw `_iterations` counter. With
`gradient_accumulation_steps=k` that counter advances per micro-batch, so update n uses
`schedule(k*n + k-1)` instead of `schedule(n)`. `RecordedSchedule` stores the step and rate of its
last call in variables, so the harness measures this instead of assuming it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import tensorflow as tf

from bench.errors import BenchError
from bench.portable.schedules import OPTIMIZERS, schedule

ScheduleKind = Literal["constant", "exponential", "cosine"]


class RecordedSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Wraps a schedule; `last_step` / `last_rate` hold the step it evaluated and the rate of its
    most recent call.

    `counter_per_update` > 1 evaluates the schedule at `iterations // k`, the update index, when
    the optimizer's counter advances k times per update (Keras' built-in accumulation counts
    micro-batches): the one-line fix for `optimizer(gradient_accumulation_steps=k)` with a
    schedule."""

    def __init__(self, inner: keras.optimizers.schedules.LearningRateSchedule,
                 counter_per_update: int = 1):
        if keras.backend.backend() != "tensorflow":
            raise BenchError(
                f"RecordedSchedule runs on TensorFlow only: it records in variables assigned "
                f"inside the traced step, and on {keras.backend.backend()} a stateless step "
                f"drops assignments to variables it does not carry (the record would stay "
                f"empty); the backend lane reads the step from the optimizer's counter instead")
        self.inner, self.counter_per_update = inner, counter_per_update
        self.last_step = keras.Variable(-1, dtype="int64", trainable=False, name="lr_step")
        self.last_rate = keras.Variable(0.0, dtype="float64", trainable=False, name="lr_rate")

    def __call__(self, step):
        if self.counter_per_update > 1:
            step = keras.ops.floor_divide(step, self.counter_per_update)
        rate = self.inner(step)
        self.last_step.assign(keras.ops.cast(step, "int64"))
        self.last_rate.assign(keras.ops.cast(rate, "float64"))
        return rate

    def get_config(self):
        return {"inner": keras.optimizers.schedules.serialize(self.inner),
                "counter_per_update": self.counter_per_update}


def make_schedule(kind: str, learning_rate: float, total_updates: int,
                  clock: "ScheduleClock | None" = None) -> RecordedSchedule:
    """The schedule of `bench.portable.schedules` (constant; exponential, halving every fifth
    of the run; cosine to 0 over the run), recorded.

    `clock` says how the strategy's optimizer counts (default: one step per update)."""
    clock = clock or ScheduleClock()
    inner = schedule(kind, learning_rate * clock.lr_factor,
                     max(1, total_updates * clock.steps_per_update))
    return RecordedSchedule(inner, clock.counter_per_update)


@dataclass(frozen=True)
class ScheduleClock:
    """How a strategy's optimizer meets the learning-rate schedule.

    `steps_per_update`: optimizer steps per update that the schedule should run over (plain
    training at b takes k real steps per window); `counter_per_update`: how far the optimizer's
    counter advances per update when that is not a real step (Keras' built-in accumulation
    counts micro-batches; dividing by k makes the schedule see updates); `lr_factor`: scales the
    recipe's rate (the linear or square-root rule for a smaller batch)."""

    lr_factor: float = 1.0
    steps_per_update: int = 1
    counter_per_update: int = 1


_RECORDING: dict[type, type] = {}


def recording(cls: type) -> type:
    """A subclass of optimizer `cls` that stores each gradient it is handed (in `captured`) and
    counts its steps (in `steps`) before updating as `cls` does.

    Level 1 reads the gradient of a strategy's first real update from it, so the gradient compared
    is the one that strategy's own code applied — including Keras' built-in accumulation — and
    the same run then provides the level-2 trajectory (one traced function, not two).
    """
    if cls not in _RECORDING:
        class Recording(cls):
            def build(self, variables):
                super().build(variables)
                self.captured = [self.add_variable_from_reference(v, name="captured")
                                 for v in variables]
                # how many times the optimizer really stepped (counted on the first variable)
                self.steps = self.add_variable((), initializer="zeros", dtype="int64",
                                               name="steps")

            def update_step(self, gradient, variable, learning_rate):
                # repeated rows of an IndexedSlices gradient are summed, as in the true gradient;
                # the optimizer itself still gets what the strategy handed it
                dense = tf.convert_to_tensor(gradient) if isinstance(gradient, tf.IndexedSlices) \
                    else gradient
                index = self._get_variable_index(variable)
                self.captured[index].assign(dense)
                if index == 0:
                    self.steps.assign_add(1)
                super().update_step(gradient, variable, learning_rate)

        Recording.__name__ = Recording.__qualname__ = f"Recording{cls.__name__}"
        _RECORDING[cls] = Recording
    return _RECORDING[cls]


def make_optimizer(name: str, schedule, weight_decay: float | None = None,
                   accumulation_steps: int | None = None, record_gradients: bool = False,
                   loss_scale: bool = False, loss_scale_growth: int = 2000,
                   ema_momentum: float | None = None) -> keras.optimizers.Optimizer:
    """The recipe's optimizer; `accumulation_steps` switches on Keras' built-in accumulation;
    `loss_scale` wraps it in Keras' LossScaleOptimizer (mixed_float16), as `compile` would;
    `ema_momentum` makes it keep a moving average of the weights (`use_ema`)."""
    if name not in OPTIMIZERS:
        raise BenchError(f"unknown optimizer {name!r} (optimizers: {', '.join(OPTIMIZERS)})")
    cls = recording(OPTIMIZERS[name]) if record_gradients else OPTIMIZERS[name]
    kwargs = {"gradient_accumulation_steps": accumulation_steps} if accumulation_steps else {}
    if ema_momentum is not None:
        kwargs.update(use_ema=True, ema_momentum=ema_momentum)
    if name == "adamw":
        kwargs["weight_decay"] = weight_decay or 0.0
    optimizer = cls(learning_rate=schedule, **kwargs)
    if loss_scale:
        optimizer = keras.optimizers.LossScaleOptimizer(
            optimizer, dynamic_growth_steps=loss_scale_growth)
    return optimizer


def inner(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """The optimizer that updates the weights (inside a LossScaleOptimizer, if any)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def ema_weights(optimizer: keras.optimizers.Optimizer) -> list | None:
    """The moving average of the weights an optimizer with `use_ema` keeps (None without)."""
    opt = inner(optimizer)
    return list(opt._model_variables_moving_average) if getattr(opt, "use_ema", False) else None
