"""Strategies by name: the built-in ones registered in `bench.config.names.STRATEGIES` (each
built here from its import path), or a user's by `package.module:factory`."""
from __future__ import annotations

from functools import lru_cache

from bench.config.names import STRATEGIES, unknown_strategy
from bench.engine.training.strategies.base import Strategy, Trainer, TrainerParts, UpdateEvent
from bench.engine.training.strategies.user import UserStrategy
from bench.plugins import resolve


def get_strategy(name: str) -> Strategy:
    """A built-in strategy, or a user's named `package.module:factory`."""
    if name in STRATEGIES:
        return _builtin(name)
    if ":" in name:
        return _user_strategy(name)
    raise unknown_strategy(name)


@lru_cache(maxsize=None)
def _builtin(name: str) -> Strategy:
    strategy = resolve(STRATEGIES[name].implementation, "strategy")()
    if strategy.name != name:
        raise AssertionError(f"{STRATEGIES[name].implementation} makes {strategy.name!r}, "
                             f"registered as {name!r}")
    return strategy


@lru_cache(maxsize=None)
def _user_strategy(path: str) -> Strategy:
    return UserStrategy(path)


__all__ = ["Strategy", "Trainer", "TrainerParts", "UpdateEvent", "get_strategy"]
