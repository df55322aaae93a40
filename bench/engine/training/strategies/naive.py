"""The widely copied "gradient accumulation" loop, reproduced faithfully, bug included.

It sums micro-batch gradients into a list, but every k-th step applies `gradients` (the current
micro-batch's) instead of the accumulated sum, then resets the list. The number of updates is
right; the data reaching the weights is 1/k of it: it is plain training at batch b on every k-th
micro-batch. Single device only, like the original.
"""
from __future__ import annotations

import tensorflow as tf

from bench.engine.training.strategies.base import Strategy, Trainer, TrainerParts, micro


class NaiveTrainer(Trainer):
    def __init__(self, parts: TrainerParts) -> None:
        super().__init__(parts)
        if parts.plan.replicas > 1:
            raise NotImplementedError("the naive blog loop is single-device (no tf.distribute)")
        loss_fn, model = parts.mean_loss, parts.step_model

        optimizer = parts.optimizer

        @tf.function(jit_compile=parts.jit)
        def train_step(x, y, w):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True), sample_weight=w)
                scaled = optimizer.scale_loss(loss)  # mixed precision, as Keras' guide has it
            return loss, tape.gradient(scaled, model.trainable_variables)

        self._train_step = train_step
        self.accum_gradient = [tf.zeros_like(v) for v in self.vars]
        self.step = 0

    def update(self, window):
        x, y, w = window
        losses = []
        for i in range(len(y)):  # k, or fewer in a partial window
            loss, gradients = self._train_step(micro(x, i), y[i], w[i])
            losses.append(loss)
            self.accum_gradient = [a + g for a, g in zip(self.accum_gradient, gradients)]
            if (self.step + 1) % self.p.plan.accum == 0:
                self.p.optimizer.apply_gradients(zip(gradients, self.vars))  # the bug, kept
                self.accum_gradient = [tf.zeros_like(v) for v in self.vars]
            self.step += 1
        return tf.add_n(losses) / len(losses)


class Naive(Strategy):
    name = "naive"
    summary = "the popular blog loop: every k-th step applies only the current micro-batch gradient"

    def trainer(self, parts: TrainerParts) -> Trainer:
        return NaiveTrainer(parts)
