"""A user's accumulation code, named by import path: `--strategy package.module:factory`.

The factory is called with keyword arguments `model` (the built `keras.Model`; under `--jit`, the
part XLA compiles, its inputs preprocessed, see `bench.engine.training.xla`), `optimizer` (the
recipe's optimizer), `loss` (the recipe's `keras.losses.Loss`, Keras' default mean reduction)
and `accum_steps` (k), and returns one of the two shapes accumulation takes in the wild:

(a) a `keras.Model` — a subclass or wrapper whose `train_step` accumulates, or the same model
    whose optimizer accumulates inside `apply`. The harness compiles it with that optimizer and
    loss (unless the factory compiled it already) and trains it with `fit` at the micro-batch
    size, as a user would; one update is expected per k batches. The loss it reports is what
    `fit` logs after each update's last batch.
(b) a callable `update(micro_batches)` — called once per update with a list of k
    `(x, y, sample_weight)` tensor micro-batches, in order. It may return the loss it reports.

Either way the weights are the given model's (a wrapper shares them), the gradient level reads
what reaches the given optimizer, and the verdicts, controls and reasons are the built-in
strategies'.
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf

from bench.engine.training.strategies.base import Strategy, Trainer, TrainerParts, micro
from bench.engine.training.strategies.keras_builtin import FitTrainer
from bench.errors import BenchError
from bench.plugins import call, resolve


class UserModelTrainer(FitTrainer):
    running_mean_loss = False  # the user's train_step says what "loss" is


class UserUpdateTrainer(Trainer):
    def __init__(self, parts: TrainerParts, update_fn, path: str) -> None:
        super().__init__(parts)
        self.update_fn, self.path = update_fn, path
        self.reports_loss = True

    def finish(self) -> dict:
        """Whether XLA ran is the user's update function's business: not known here."""
        return {"xla_used": None} if self.p.jit else {}

    def update(self, window):
        x, y, w = window
        batches = [(micro(x, i), y[i], w[i]) for i in range(len(y))]  # k, or a partial window
        result = self.update_fn(batches)
        if result is None:
            self.reports_loss = False
            _ = self.vars[0].numpy()  # wait for the device: the update is in the timed region
            return tf.constant(math.nan)
        try:
            return tf.convert_to_tensor(result)
        except (TypeError, ValueError):
            raise BenchError(f"strategy {self.path!r}: update() returned a "
                             f"{type(result).__name__}; return the loss (a number) or None") from None


class UserStrategy(Strategy):
    def __init__(self, path: str) -> None:
        self.name = path
        self.summary = f"the user's accumulation from {path}"
        self.factory = resolve(path, "strategy")  # a bad import path fails here, before training

    def trainer(self, parts: TrainerParts) -> Trainer:
        if parts.plan.replicas > 1:
            raise BenchError(f"strategy {self.name!r}: a user's strategy runs on one device "
                             f"(replicas 1)")
        produced = call(self.factory, self.name, "strategy", model=parts.step_model,
                        optimizer=parts.optimizer, loss=parts.mean_loss,
                        accum_steps=parts.plan.accum)
        if isinstance(produced, keras.Model):
            return UserModelTrainer(parts, produced)
        if callable(produced):
            return UserUpdateTrainer(parts, produced, self.name)
        raise BenchError(f"strategy {self.name!r} returned a {type(produced).__name__}: expected "
                         f"a keras.Model or a callable update(micro_batches)")
