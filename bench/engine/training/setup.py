"""Assemble a Trainer: model from the registry, the recipe's optimizer and schedule, the
strategy's loop — all created under the distribution strategy's scope."""
from __future__ import annotations

from typing import Callable

import keras
import numpy as np

from bench.config.training import TrainingConfig
from bench.engine.training.optim import make_optimizer, make_schedule
from bench.engine.training.strategies import Trainer, TrainerParts, get_strategy
from bench.engine.training.xla import split_for_xla
from bench.errors import BenchError
from bench.portable.objective import mean_loss, output_width, summed_loss
from bench.portable.precision import precision_policy
from models.specs import InputSpec, SequenceSpec


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
    with distribution.scope(), precision_policy(config.precision):
        model = entry.build(spec, config.preset)
        _check_dtype(model, config)
        if initial_weights is not None:
            model.set_weights(initial_weights)
        if prepare_model is not None:
            prepare_model(model)
        schedule = make_schedule(config.lr_schedule, config.learning_rate or recipe.learning_rate,
                                 total_updates, strategy.schedule_clock(config.plan))
        opt = make_optimizer(recipe.optimizer, schedule, recipe.weight_decay,
                             strategy.builtin_accumulation_steps(config.plan), record_gradients,
                             loss_scale=config.precision == "mixed_float16",
                             loss_scale_growth=config.loss_scale_growth,
                             ema_momentum=config.ema_momentum)
        width = output_width(model)
        parts = TrainerParts(model, opt, schedule, summed_loss(entry.output, width),
                             mean_loss(entry.output, width), config.plan, distribution, config.jit,
                             split_for_xla(model) if config.jit else None,
                             token_weights=isinstance(spec, SequenceSpec))
        trainer = strategy.trainer(parts)
        trainer.build()
    return trainer


def _check_dtype(model: keras.Model, config: TrainingConfig) -> None:
    """The variables really are in the precision asked for (float64 needs floatx and the dtype
    policy set before the first layer; a model built otherwise would silently stay float32)."""
    want = "float64" if config.precision == "float64" else "float32"
    wrong = sorted({v.dtype for v in model.weights if "float" in str(v.dtype)} - {want})
    if wrong:
        raise BenchError(f"{config.model} built with {', '.join(map(str, wrong))} variables for "
                         f"precision {config.precision} (expected {want})")
    compute = model.dtype_policy.compute_dtype
    expected = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}.get(config.precision, want)
    if compute != expected:
        raise BenchError(f"{config.model} computes in {compute}, not {expected} as precision "
                         f"{config.precision} asks")
