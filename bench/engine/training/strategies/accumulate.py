"""The harness's own gradient accumulation, done right, and the mean of micro-batch means.

Accumulators are variables created once (per replica under a distribution strategy); the
optimizer applies what they hold once per window, so schedules and weight decay advance once
per update. What each micro-batch adds depends on the loss's normaliser:

- a per-sample mean (Keras' default reduction): the window's normaliser is its sample count,
  known from the plan, so each micro-batch adds the gradient of (its summed loss / the
  window's global count) and after k micro-batches the accumulators hold exactly the
  large-batch mean gradient;
- a token loss (per-token weights, padding weighted 0): each micro-batch adds the gradient of
  its *unnormalised* summed loss and its total weight; the update divides once by the
  window's total weight. No count is needed in advance, and a token in a short micro-batch
  weighs what it weighs in the large batch.

`MeanOfMeans` is the plain mean of the k micro-batch means, each normalised by its own count
(what averaging the gradients of k ordinary training steps does, and Keras' built-in
accumulation with it): the same as the above for a per-sample mean, not for a token loss,
where it weighs each micro-batch's tokens by (window weight / k) / (its own weight).

Two compiled forms: `fused` traces one function per update (a loop over the k micro-batches inside
the graph; unrolled under XLA, see `micro_indices`); `per_micro` calls one function per
micro-batch and one to apply. Both are kept because the benchmark that measures which is faster
needs both; `fused` is the default (measured faster on CPU, see README).
"""
from __future__ import annotations

import tensorflow as tf

from bench.engine.training.strategies.base import (
    Strategy,
    Trainer,
    TrainerParts,
    micro,
    micro_count,
    micro_indices,
)


class AccumulateTrainer(Trainer):
    #: each micro-batch normalised by its own count, the k means averaged (`MeanOfMeans`)
    own_normaliser = False

    def __init__(self, parts: TrainerParts, fused: bool = True) -> None:
        super().__init__(parts)
        self.fused = fused
        # a token loss accumulates unnormalised sums and divides once (see the module's doc)
        self.divide_once = parts.token_weights and not self.own_normaliser
        b = parts.plan.global_micro

        def micro_step(x, y, w, k):
            """One micro-batch of a window of k (fewer than the plan's in a partial window)."""
            if self.divide_once:
                loss, grads = self.loss_and_grads(x, y, w, divisor=1.0)
                self.window_weight.assign_add(tf.cast(tf.reduce_sum(w), self.window_weight.dtype))
            elif self.own_normaliser:
                divisor = (self.weight_of(w) if parts.token_weights else b)
                loss, grads = self.loss_and_grads(x, y, w, divisor=k * divisor)
            else:  # the window's sample count
                loss, grads = self.loss_and_grads(x, y, w, samples=k * b)
            for acc, g in zip(self.accumulators, grads):
                acc.assign_add(g)
            return loss

        def apply():
            """Applies the window's gradient; returns what its losses are divided by still."""
            if self.divide_once:
                total = self.weight_of(tf.identity(self.window_weight))
                grads = [a / total for a in self.accumulators]
                self.window_weight.assign(tf.zeros_like(self.window_weight))
            else:
                total = tf.ones((), self.vars[0].dtype)
                grads = [tf.identity(a) for a in self.accumulators]
            self.p.optimizer.apply_gradients(zip(grads, self.vars))
            for acc in self.accumulators:
                acc.assign(tf.zeros_like(acc))
            return total

        def fused_step(x, y, w):
            total, k = tf.zeros((), self.vars[0].dtype), micro_count(x)
            for i in micro_indices(x, parts.jit):
                total += micro_step(micro(x, i), y[i], w[i], k)
            return total / tf.cast(apply(), total.dtype)

        def apply_step():
            return tf.cast(apply(), self.vars[0].dtype)

        if fused:
            self._update = self.compile_fn(lambda *inputs: self.run_replicas(fused_step, inputs))
        else:
            self._micro = self.compile_fn(lambda *inputs: self.run_replicas(micro_step, inputs))
            self._apply = self.compile_fn(apply_step)

    def build(self) -> None:
        super().build()
        with self.p.distribution.scope():
            # ON_READ: each replica accumulates its own share; the optimizer all-reduces on apply
            on_read = dict(synchronization=tf.VariableSynchronization.ON_READ,
                           aggregation=tf.VariableAggregation.SUM)
            self.accumulators = [tf.Variable(tf.zeros_like(v), trainable=False,
                                             name="accumulator", **on_read) for v in self.vars]
            self.window_weight = tf.Variable(tf.zeros((), self.vars[0].dtype), trainable=False,
                                             name="window_weight", **on_read)

    def update(self, window):
        if self.fused:
            return self._update(*window)
        if self.p.plan.replicas > 1:
            raise NotImplementedError("per_micro accumulation is single-device")
        x, y, w = window
        k = len(y)
        total = sum(self._micro(micro(x, i), y[i], w[i], k) for i in range(k))
        return total / self._apply()


class Accumulate(Strategy):
    name = "accumulate"
    summary = "the harness's gradient accumulation: k micro-batches, one update of their exact mean"

    def __init__(self, fused: bool = True) -> None:
        self.fused = fused

    def trainer(self, parts: TrainerParts) -> Trainer:
        return AccumulateTrainer(parts, self.fused)


class MeanOfMeansTrainer(AccumulateTrainer):
    own_normaliser = True


class MeanOfMeans(Accumulate):
    name = "accumulate_mean_of_means"
    summary = ("accumulation of the mean of micro-batch means (each normalised by its own count): "
               "right for a per-sample mean, not for a token loss")

    def trainer(self, parts: TrainerParts) -> Trainer:
        return MeanOfMeansTrainer(parts, self.fused)
