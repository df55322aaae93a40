"""The harness's own gradient accumulation, done right.

Accumulators are variables created once (per replica under a distribution strategy). Each
micro-batch adds the gradient of (its summed loss / the window's global count), so after k
micro-batches the accumulators hold exactly the large-batch mean gradient; the optimizer then
applies it once, so schedules and weight decay advance once per update.

Two compiled forms: `fused` traces one function per update (a loop over the k micro-batches inside
the graph; unrolled under XLA, see `micro_indices`); `per_micro` calls one function per
micro-batch and one to apply. Both are kept because
the benchmark that measures which is faster needs both; `fused` is the default (measured faster on
CPU, see README).
"""
from __future__ import annotations

import tensorflow as tf

from bench.engine.training.strategies.base import (
    Strategy,
    Trainer,
    TrainerParts,
    micro,
    micro_indices,
)


class AccumulateTrainer(Trainer):
    def __init__(self, parts: TrainerParts, fused: bool = True) -> None:
        super().__init__(parts)
        self.fused = fused
        k = parts.plan.accum

        def micro_step(x, y, w):
            loss, grads = self.loss_and_grads(x, y, w)
            for acc, g in zip(self.accumulators, grads):
                acc.assign_add(g)
            return loss

        def apply():
            self.p.optimizer.apply_gradients(
                zip([tf.identity(a) for a in self.accumulators], self.vars))
            for acc in self.accumulators:
                acc.assign(tf.zeros_like(acc))

        def fused_step(x, y, w):
            total = tf.zeros((), self.vars[0].dtype)
            for i in micro_indices(k, parts.jit):
                total += micro_step(micro(x, i), y[i], w[i])
            apply()
            return total

        def apply_step():
            apply()
            return tf.zeros(())

        if fused:
            self._update = self.compile_fn(lambda *inputs: self.run_replicas(fused_step, inputs))
        else:
            self._micro = self.compile_fn(lambda *inputs: self.run_replicas(micro_step, inputs))
            self._apply = self.compile_fn(lambda: self.run_replicas(apply_step, ()))

    def build(self) -> None:
        super().build()
        with self.p.distribution.scope():
            # ON_READ: each replica accumulates its own share; the optimizer all-reduces on apply
            self.accumulators = [
                tf.Variable(tf.zeros_like(v), trainable=False, name="accumulator",
                            synchronization=tf.VariableSynchronization.ON_READ,
                            aggregation=tf.VariableAggregation.SUM)
                for v in self.vars]

    def update(self, window):
        if self.fused:
            return self._update(*window)
        if self.p.plan.replicas > 1:
            raise NotImplementedError("per_micro accumulation is single-device")
        x, y, w = window
        total = sum(self._micro(micro(x, i), y[i], w[i]) for i in range(self.p.plan.accum))
        self._apply()
        return total


class Accumulate(Strategy):
    name = "accumulate"
    summary = "the harness's gradient accumulation: k micro-batches, one update of their exact mean"

    def __init__(self, fused: bool = True) -> None:
        self.fused = fused

    def trainer(self, parts: TrainerParts) -> Trainer:
        return AccumulateTrainer(parts, self.fused)
