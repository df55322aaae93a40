"""What defines how one configuration trains, validated without importing Keras (the sweep's
controller validates every configuration of a profile before any runs)."""
from __future__ import annotations

from dataclasses import dataclass

from bench.config.names import PRECISIONS, SCHEDULES, check_strategy
from bench.config.plan import AccumulationPlan
from bench.errors import BenchError
from models.registry import get_model


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
    precision: str = "float32"           # float32 | float64 | mixed_float16 | mixed_bfloat16
    loss_scale_growth: int = 2000        # LossScaleOptimizer's dynamic_growth_steps (float16)
    ema_momentum: float | None = None    # the optimizer keeps an EMA of the weights (use_ema)

    def entry(self):
        try:
            return get_model(self.model, self.model_output)
        except KeyError as e:
            raise BenchError(str(e.args[0])) from None

    def validate(self) -> None:
        entry = self.entry()
        check_strategy(self.strategy)
        if self.preset is not None and self.preset not in entry.presets:
            raise BenchError(f"{self.model} has no preset {self.preset!r} "
                             f"(presets: {', '.join(entry.presets)})")
        if self.lr_schedule not in SCHEDULES:
            raise BenchError(f"unknown learning-rate schedule {self.lr_schedule!r} "
                             f"(schedules: {', '.join(SCHEDULES)})")
        if self.precision not in PRECISIONS:
            raise BenchError(f"precision must be one of {', '.join(PRECISIONS)}, got "
                             f"{self.precision!r}")
        if self.ema_momentum is not None and not 0 < self.ema_momentum < 1:
            raise BenchError(f"ema momentum must be between 0 and 1, got {self.ema_momentum}")
        if self.strategy == "large_batch" and self.plan.accum != 1:
            raise BenchError(f"large_batch trains whole effective batches: micro-batch must be "
                             f"{self.plan.effective_batch // self.plan.replicas} (accum 1), "
                             f"got {self.plan.label}")
