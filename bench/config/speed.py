"""One process's side-by-side timing of a model's measure configurations (`SpeedSpec`).

Speed ratios are where the harness's numbers move most: one configuration's throughput moves by
up to 1.8x from one process to the next, while its update times within a process vary by about
9%. So every configuration of a model is built once in one process, from the same weights and
data, and timed in blocks: each round times every configuration once, in a shuffled order, and
a ratio is taken between blocks of the same round. Several such processes (`round`) give the
interval a rerun lands in. Peak memory and the first (tracing) update stay in processes of
their own (the measure runs): they depend on what else a process has done.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.config.run import RunConfig
from bench.errors import BenchError
from bench.results.identity import Identity

#: the fewest updates a block times: its first, after the switch from another configuration, is
#: the slowest, and a block's figure is its fastest
MIN_BLOCK_UPDATES = 2


def block_updates(block_seconds: float, update_seconds: float, cap: int) -> int:
    """Updates per block, fixed from a configuration's last warm-up update so that a block lasts
    about `block_seconds` (the TensorFlow side-by-side processes and the backend lane's)."""
    return int(min(cap, max(MIN_BLOCK_UPDATES,
                            math.ceil(block_seconds / max(update_seconds, 1e-6)))))


@dataclass(frozen=True, kw_only=True)
class SpeedSpec:
    configurations: tuple[RunConfig, ...]   # purpose "speed"; one model, B, seed and round
    rounds: int = 6                          # rounds of blocks (every configuration once each)
    block_seconds: float = 0.5               # a block's target length
    max_block_updates: int = 64              # and its cap (the data loaded holds that many windows)
    warmup: int = 3                          # untimed updates per configuration before round 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "configurations", tuple(self.configurations))
        if not self.configurations:
            raise BenchError("a speed job needs at least one configuration")
        first = self.configurations[0]
        for c in self.configurations:
            if c.purpose != "speed":
                raise BenchError(f"{c.identity().name}: a speed job times purpose 'speed' only")
            shared = ("model", "effective_batch", "seed", "round", "dataset", "preset")
            if any(getattr(c, f) != getattr(first, f) for f in shared):
                raise BenchError(f"a speed job times one model, effective batch, seed, data set "
                                 f"and round; {c.identity().name} differs from "
                                 f"{first.identity().name}")
        if not isinstance(self.rounds, int) or self.rounds < 2:
            raise BenchError(f"speed rounds must be an integer >= 2, got {self.rounds!r}")
        if not self.block_seconds > 0:
            raise BenchError(f"speed block_seconds must be positive, got {self.block_seconds!r}")
        if not isinstance(self.max_block_updates, int) or self.max_block_updates < 2:
            raise BenchError(f"max_block_updates must be an integer >= 2, got "
                             f"{self.max_block_updates!r}")

    @property
    def model(self) -> str:
        return self.configurations[0].model

    @property
    def round(self) -> int:
        return self.configurations[0].round

    @property
    def limit_train(self) -> int:
        """Samples loaded: enough windows for the longest block."""
        return self.max_block_updates * self.configurations[0].effective_batch

    def identities(self) -> list[Identity]:
        return [c.identity() for c in self.configurations]

    def to_json(self) -> dict[str, Any]:
        return {"configurations": [c.to_json() for c in self.configurations],
                "rounds": self.rounds, "block_seconds": self.block_seconds,
                "max_block_updates": self.max_block_updates, "warmup": self.warmup}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "SpeedSpec":
        return cls(**{**d, "configurations": tuple(RunConfig.from_json(c)
                                                   for c in d["configurations"])})
