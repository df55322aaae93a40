"""Level 2: same initial weights, same data order, N real updates; distance to the large batch.

Distances are relative: ||w_strategy - w_large|| / ||w_large|| over all trainable weights after
each update. The noise floor is the same distance between the large batch and the large batch
started from weights one ulp away (up, and down): an equivalent-by-construction perturbation that
shows how far float rounding alone drives two runs apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice

import numpy as np

from bench.config.training import TrainingConfig
from bench.engine.equivalence.gradient import captured
from bench.engine.training.feed import WindowFeed
from bench.engine.training.optim import ema_weights, inner
from bench.engine.training.setup import build_trainer
from bench.engine.training.strategies import UpdateEvent
from bench.judge.distance import noise_floor, one_ulp, relative_distances
from models.specs import InputSpec

__all__ = ["Trajectory", "flat_weights", "run_updates", "distances", "simulated_ema",
           "one_ulp", "noise_floor"]


@dataclass
class Trajectory:
    weights: list[np.ndarray] = field(default_factory=list)  # flattened, float64, per update
    ema: list[np.ndarray] = field(default_factory=list)      # the optimizer's EMA, likewise
    events: list[UpdateEvent] = field(default_factory=list)
    gradients: list[list[np.ndarray]] = field(default_factory=list)  # applied at updates 1, 2
    after_first: list[np.ndarray] | None = None              # the weights after update 1
    optimizer_steps: int | None = None                       # steps the optimizer really took
    reports_loss: bool = True
    variable_names: list[str] = field(default_factory=list)
    finish: dict = field(default_factory=dict)

    @property
    def first_gradient(self) -> list[np.ndarray] | None:
        return self.gradients[0] if self.gradients else None


def flat_weights(model) -> np.ndarray:
    return np.concatenate([np.asarray(v.numpy(), np.float64).ravel()
                           for v in model.trainable_variables])


def run_updates(config: TrainingConfig, spec: InputSpec, feed: WindowFeed, updates: int,
                distribution, initial_weights: list[np.ndarray], prepare_model,
                record_first_gradient: bool = False) -> Trajectory:
    """Train `updates` updates (crossing epochs if needed), snapshotting weights after each."""
    trainer = build_trainer(config, spec, updates, distribution, initial_weights=initial_weights,
                            record_gradients=record_first_gradient, prepare_model=prepare_model)
    out = Trajectory(variable_names=[v.path for v in trainer.vars])

    def on_update(event: UpdateEvent) -> None:
        out.events.append(event)
        out.weights.append(flat_weights(trainer.p.model))
        average = ema_weights(trainer.p.optimizer)
        if average is not None:
            out.ema.append(np.concatenate([np.asarray(v.numpy(), np.float64).ravel()
                                           for v in average]))
        if record_first_gradient and event.index < 2:
            out.gradients.append(captured(trainer))
        if event.index == 0:
            out.after_first = [np.asarray(v.numpy()) for v in trainer.vars]

    epoch = 0
    while len(out.events) < updates:
        trainer.run_epoch(islice(feed.windows(epoch), updates - len(out.events)), epoch, on_update)
        epoch += 1
    out.finish = trainer.finish()
    out.reports_loss = trainer.reports_loss
    steps = getattr(inner(trainer.p.optimizer), "steps", None)
    out.optimizer_steps = int(steps.numpy()) if steps is not None else None
    return out


def distances(run: Trajectory, reference: Trajectory, of: str = "weights") -> list[float]:
    """Relative distance after each update, of the weights or (`of="ema"`) their EMA."""
    return relative_distances(getattr(run, of), getattr(reference, of))


def simulated_ema(weights: list[np.ndarray], momentum: float, per_update: int = 1) -> np.ndarray:
    """Keras' EMA after the given updates' weights: the first update copies the weights (its
    momentum is 0 while the update counter is 0); each later update moves it once, or, when it
    is updated on every micro-batch of a window of `per_update`, k - 1 times towards the weights
    before the update and once towards those after it."""
    average = weights[0].copy()
    for before, after in zip(weights, weights[1:]):
        for _ in range(per_update - 1):
            average = momentum * average + (1 - momentum) * before
        average = momentum * average + (1 - momentum) * after
    return average
