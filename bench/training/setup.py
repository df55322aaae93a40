"""Assemble a Trainer: model from the registry, the recipe's optimizer and schedule, the
strategy's loop — all created under the distribution strategy's scope."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np

from bench.errors import BenchError
from bench.training.objective import mean_loss, output_width, summed_loss
from bench.training.optim import SCHEDULES, make_optimizer, make_schedule
from bench.training.plan import AccumulationPlan
from bench.training.strategies import Trainer, TrainerParts, get_strategy
from models.registry import get_model
from models.specs import InputSpec


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that defines how one configuration trains (not what it measures)."""

    model: str
    strategy: str
    plan: AccumulationPlan
    preset: str | None = None
    lr_schedule: str = "constant"
    learning_rate: float | None = None   # None: the model's recipe
    seed: int = 0
    jit: bool = False
    fused: bool = True                   # accumulate: one traced function per update
    model_output: str | None = None      # a user's model: logits (default) or probability

    def entry(self):
        try:
            return get_model(self.model, self.model_output)
        except KeyError as e:
            raise BenchError(str(e.args[0])) from None

    def validate(self) -> None:
        entry = self.entry()
        get_strategy(self.strategy)
        if self.preset is not None and self.preset not in entry.presets:
            raise BenchError(f"{self.model} has no preset {self.preset!r} "
                             f"(presets: {', '.join(entry.presets)})")
        if self.lr_schedule not in SCHEDULES:
            raise BenchError(f"unknown learning-rate schedule {self.lr_schedule!r} "
                             f"(schedules: {', '.join(SCHEDULES)})")
        if self.strategy == "large_batch" and self.plan.accum != 1:
            raise BenchError(f"large_batch trains whole effective batches: micro-batch must be "
                             f"{self.plan.effective_batch // self.plan.replicas} (accum 1), "
                             f"got {self.plan.label}")


def build_trainer(config: TrainingConfig, spec: InputSpec, total_updates: int, distribution,
                  *, initial_weights: list[np.ndarray] | None = None,
                  record_gradients: bool = False,
                  prepare_model: Callable[[keras.Model], object] | None = None) -> Trainer:
    """A built trainer (optimizer state and accumulators exist; nothing traced yet).

    `record_gradients` makes the optimizer keep the gradient of each update (level 1);
    `prepare_model` runs on the fresh model before anything is traced (the equivalence controls).
    """
    config.validate()
    entry = config.entry()
    strategy = get_strategy(config.strategy)
    if config.strategy == "accumulate":
        strategy = type(strategy)(fused=config.fused)
    recipe = entry.recipe
    keras.utils.set_random_seed(config.seed)
    with distribution.scope():
        model = entry.build(spec, config.preset)
        if initial_weights is not None:
            model.set_weights(initial_weights)
        if prepare_model is not None:
            prepare_model(model)
        schedule = make_schedule(config.lr_schedule, config.learning_rate or recipe.learning_rate,
                                 total_updates)
        opt = make_optimizer(recipe.optimizer, schedule, recipe.weight_decay,
                             strategy.builtin_accumulation_steps(config.plan), record_gradients)
        width = output_width(model)
        parts = TrainerParts(model, opt, schedule, summed_loss(entry.output, width),
                             mean_loss(entry.output, width), config.plan, distribution, config.jit)
        trainer = strategy.trainer(parts)
        trainer.build()
    return trainer
