"""A speed reference, not a strategy to judge: plain training at the micro-batch size.

Each window of B samples becomes k ordinary updates of b samples (one optimizer step each), in
one traced function with the same loop as `accumulate` (`micro_indices`). Against it, a row can split
its cost: how much is the small batch (plain_micro vs large_batch) and how much the
accumulation itself (accumulate vs plain_micro). Its learning-rate schedule and its trajectory
are those of batch-b training, so it is never compared for equivalence.
"""
from __future__ import annotations

import math

import tensorflow as tf

from bench.engine.training.optim import ScheduleClock
from bench.engine.training.strategies.base import (
    Strategy,
    Trainer,
    TrainerParts,
    micro,
    micro_count,
    micro_indices,
)


class PlainMicroTrainer(Trainer):
    def __init__(self, parts: TrainerParts) -> None:
        super().__init__(parts)
        b = parts.plan.global_micro

        def plain_step(x, y, w):
            loss, grads = self.loss_and_grads(x, y, w, samples=b)
            self.p.optimizer.apply_gradients(zip(grads, self.vars))
            return loss

        def fused(x, y, w):
            total = tf.zeros((), self.vars[0].dtype)
            for i in micro_indices(x, parts.jit):
                total += plain_step(micro(x, i), y[i], w[i])
            return total / tf.cast(micro_count(x), total.dtype)

        self._update = self.compile_fn(lambda *inputs: self.run_replicas(fused, inputs))

    def update(self, window):
        return self._update(*window)


class PlainMicro(Strategy):
    name = "plain_micro"
    summary = "speed reference: plain training at the micro-batch size b (k updates per window)"

    def trainer(self, parts: TrainerParts) -> Trainer:
        return PlainMicroTrainer(parts)


class ScaledPlainMicro(PlainMicro):
    """"Do I need accumulation at all?": plain training at b, the rate scaled from the large
    batch's by b/B (the linear rule) or sqrt(b/B), the schedule run over its k-times-more
    steps. Judged at the outcome level (its trajectory is batch-b training by design)."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.name = f"plain_micro_{rule}_lr"
        self.summary = (f"plain training at b, learning rate x {'b/B' if rule == 'linear' else 'sqrt(b/B)'}"
                        f", schedule over its k steps per window")

    def schedule_clock(self, plan) -> ScheduleClock:
        share = 1 / plan.accum  # b / B
        return ScheduleClock(lr_factor=share if self.rule == "linear" else math.sqrt(share),
                             steps_per_update=plan.accum)


def linear_lr() -> ScaledPlainMicro:
    return ScaledPlainMicro("linear")


def sqrt_lr() -> ScaledPlainMicro:
    return ScaledPlainMicro("sqrt")
