"""Strategies by name: large_batch (reference), accumulate, keras_builtin, naive, and the speed
reference plain_micro."""
from __future__ import annotations

from bench.errors import BenchError
from bench.training.strategies.accumulate import Accumulate
from bench.training.strategies.base import Strategy, Trainer, TrainerParts, UpdateEvent
from bench.training.strategies.keras_builtin import KerasBuiltin
from bench.training.strategies.large_batch import LargeBatch
from bench.training.strategies.naive import Naive
from bench.training.strategies.plain_micro import PlainMicro

STRATEGIES: dict[str, Strategy] = {s.name: s for s in
                                   [LargeBatch(), Accumulate(), KerasBuiltin(), Naive(), PlainMicro()]}


def get_strategy(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise BenchError(f"unknown strategy {name!r} (strategies: {', '.join(STRATEGIES)})") from None


__all__ = ["STRATEGIES", "Strategy", "Trainer", "TrainerParts", "UpdateEvent", "get_strategy"]
