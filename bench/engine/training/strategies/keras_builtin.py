"""Keras 3's built-in accumulation, used exactly as a user would: `optimizer(
gradient_accumulation_steps=k)`, `model.compile`, `model.fit` at batch b.

Nothing here corrects Keras: the learning-rate schedule sees the micro-step counter, windows run
across epochs, and a partial window at the end of training is never applied. A callback only
observes: it times each update (from the start of the first micro-batch of a window to the end
of its k-th: the feed, a `tf.data` gather of each micro-batch from the training tensors, is
inside, as for every strategy) and reads the loss once per update, as the custom loops do.
Per-update losses are recovered from Keras' running epoch mean at the ends of consecutive
windows (all batches have the same size, so that difference is exact up to rounding).
"""
from __future__ import annotations

import time
from typing import Iterable

import keras
import numpy as np
import tensorflow as tf

from bench.engine.training.feed import EpochFeed, Window
from bench.engine.training.optim import ScheduleClock, inner
from bench.engine.training.strategies.base import (
    OnUpdate,
    Strategy,
    Trainer,
    TrainerParts,
    xla_record,
)


class _UpdateObserver(keras.callbacks.Callback):
    """Times each update (k micro-batches) and reads the loss `fit` reports for it, once per
    update: reading a log waits for the device, so reading it after every micro-batch would add
    k - 1 host syncs per update that the custom loops do not have."""

    def __init__(self, trainer: "FitTrainer", epoch: int, on_update: OnUpdate) -> None:
        super().__init__()
        self.trainer, self.epoch, self.on_update = trainer, epoch, on_update
        self.k = trainer.p.plan.accum
        self.prev_mean, self.start = 0.0, 0.0

    def on_train_batch_begin(self, batch, logs=None):
        if batch % self.k == 0:
            self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % self.k:
            return
        value = float((logs or {}).get("loss", np.nan))  # waits for the device
        seconds = time.perf_counter() - self.start
        if self.trainer.running_mean_loss:
            # Keras' own train_step logs the epoch's running mean over equal-sized batches: the
            # window's mean is exact from the means at the ends of this window and the last
            n = batch + 1
            loss = (n * value - (n - self.k) * self.prev_mean) / self.k
            self.prev_mean = value
        else:  # a user's train_step: what it returns for the update's last batch
            loss = value
        self.trainer._emit(self.epoch, loss, seconds, self.on_update)


class FitTrainer(Trainer):
    """Trains `fit_model` with `model.fit` at the micro-batch size, one update per k batches;
    the weights are those of `parts.model` (the same variables, or a wrapper around them).
    Under XLA it fits the step model, with the preprocessing in the `tf.data` pipeline."""

    running_mean_loss = True  # logs["loss"] is Keras' running mean over the epoch

    def __init__(self, parts: TrainerParts, fit_model: keras.Model | None = None) -> None:
        super().__init__(parts)
        self.fit_model = fit_model or parts.step_model
        if not getattr(self.fit_model, "compiled", False):
            self.fit_model.compile(optimizer=parts.optimizer, loss=parts.mean_loss,
                                   jit_compile=parts.jit)

    def update(self, window):  # pragma: no cover - updates only happen inside fit
        raise NotImplementedError

    def run_epoch(self, windows: Iterable[Window], epoch: int, on_update: OnUpdate) -> None:
        b = self.p.plan.global_micro
        if isinstance(windows, EpochFeed):  # measured runs: the same gather as the custom loops
            data = windows.dataset(b)
        else:  # windows picked by an analysis: their micro-batches in order
            windows = list(windows)
            if not windows:
                return
            flat = [tf.nest.map_structure(lambda a: a.reshape(-1, *a.shape[2:]), w) for w in windows]
            data = tf.data.Dataset.from_tensor_slices(
                tf.nest.map_structure(lambda *a: np.concatenate(a), *flat)).batch(b)
        if self.p.xla and self.p.xla.preprocess is not None:  # as a user would: in the pipeline
            pre = self.p.xla.preprocess
            data = data.map(lambda x, y, w: (_as_tuple(pre(x, training=True)), y, w))
        self.fit_model.fit(data, epochs=epoch + 1, initial_epoch=epoch, verbose=0, shuffle=False,
                           callbacks=[_UpdateObserver(self, epoch, on_update)])

    def finish(self) -> dict:
        """How many micro-batches sit in Keras' accumulators, never applied; and whether `fit`
        really compiled with XLA (Keras turns `jit_compile` off, with a warning, for a model it
        cannot compile, e.g. one with a RandomZoom layer)."""
        opt = inner(self.p.optimizer)
        micro_steps = int(opt._iterations.numpy())  # raw counter: Keras advances it per micro-batch
        k = opt.gradient_accumulation_steps or 1
        used = bool(getattr(self.fit_model, "jit_compile", False))
        return {"micro_steps": micro_steps, "updates_applied": micro_steps // k,
                "unapplied_micro_batches": micro_steps % k, "xla_used": used,
                **xla_record(self.p, used)}


def _as_tuple(x):
    """tf.data carries tuples, not lists (a preprocessing model with several outputs)."""
    return tuple(x) if isinstance(x, list) else x


class KerasBuiltin(Strategy):
    name = "keras_builtin"
    summary = "Keras' optimizer(gradient_accumulation_steps=k) with model.fit at batch b"

    def builtin_accumulation_steps(self, plan) -> int | None:
        return plan.accum if plan.accum > 1 else None  # Keras requires k >= 2

    def trainer(self, parts: TrainerParts) -> Trainer:
        return FitTrainer(parts)


class KerasBuiltinFixedSchedule(KerasBuiltin):
    """The one-line fix users can apply: the same built-in accumulation, with the schedule
    evaluated at `iterations // k` (the update index) instead of the micro-batch counter."""

    name = "keras_builtin_fixed"
    summary = ("Keras' built-in accumulation with the schedule fixed to count updates "
               "(schedule(step // k))")

    def schedule_clock(self, plan) -> ScheduleClock:
        return ScheduleClock(counter_per_update=plan.accum)
