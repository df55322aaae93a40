"""The reference: plain training, one forward/backward over the whole effective batch."""
from __future__ import annotations

import tensorflow as tf

from bench.engine.training.strategies.base import Strategy, Trainer, TrainerParts, micro


class LargeBatchTrainer(Trainer):
    def __init__(self, parts: TrainerParts) -> None:
        super().__init__(parts)
        if parts.plan.accum != 1:
            raise ValueError("large_batch trains whole windows: accum must be 1")

        def step(x, y, w):
            # the window's samples: B, or fewer in a last, partial batch of an epoch
            samples = tf.shape(y)[1] * parts.plan.replicas
            loss, grads = self.loss_and_grads(micro(x, 0), y[0], w[0], samples=samples)
            self.p.optimizer.apply_gradients(zip(grads, self.vars))
            return loss

        self._update = self.compile_fn(lambda *inputs: self.run_replicas(step, inputs))

    def update(self, window):
        return self._update(*window)


class LargeBatch(Strategy):
    name = "large_batch"
    summary = "plain training at the effective batch B (the reference)"

    def trainer(self, parts: TrainerParts) -> Trainer:
        return LargeBatchTrainer(parts)
