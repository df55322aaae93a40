"""Strategies by name: large_batch (reference), accumulate, keras_builtin, naive, the speed
reference plain_micro, and the study's follow-up questions: keras_builtin_fixed (the schedule
fixed to count updates) and plain_micro_linear_lr / plain_micro_sqrt_lr (no accumulation, the
rate scaled for the smaller batch)."""
from __future__ import annotations

from functools import lru_cache

from bench.config.names import SPEED_REFERENCES, STRATEGY_NAMES, unknown_strategy
from bench.engine.training.strategies.accumulate import Accumulate
from bench.engine.training.strategies.base import Strategy, Trainer, TrainerParts, UpdateEvent
from bench.engine.training.strategies.keras_builtin import KerasBuiltin, KerasBuiltinFixedSchedule
from bench.engine.training.strategies.large_batch import LargeBatch
from bench.engine.training.strategies.naive import Naive
from bench.engine.training.strategies.plain_micro import PlainMicro, ScaledPlainMicro
from bench.engine.training.strategies.user import UserStrategy

STRATEGIES: dict[str, Strategy] = {s.name: s for s in
                                   [LargeBatch(), Accumulate(), KerasBuiltin(), Naive(), PlainMicro(),
                                    KerasBuiltinFixedSchedule(), ScaledPlainMicro("linear"),
                                    ScaledPlainMicro("sqrt")]}
assert tuple(STRATEGIES) == STRATEGY_NAMES and SPEED_REFERENCES == tuple(
    name for name, s in STRATEGIES.items() if not s.judged), "bench.config.names is out of date"


def get_strategy(name: str) -> Strategy:
    """A built-in strategy, or a user's named `package.module:factory`."""
    if name in STRATEGIES:
        return STRATEGIES[name]
    if ":" in name:
        return _user_strategy(name)
    raise unknown_strategy(name)


@lru_cache(maxsize=None)
def _user_strategy(path: str) -> Strategy:
    return UserStrategy(path)


__all__ = ["STRATEGIES", "Strategy", "Trainer", "TrainerParts", "UpdateEvent", "get_strategy"]
