"""Where a sweep times the calibration step (see `bench.engine.measure.calibration`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.results.identity import Identity, make_identity

#: timed steps of the calibration workload (part of its identity)
STEPS = 40


@dataclass(frozen=True, kw_only=True)
class CalibrationSpec:
    """Where in the sweep the calibration runs ("start" or "end": drift shows between them)."""

    position: str = "start"  # "start" or "end" (":shard1of2" when a sweep is sharded)

    model = "calibration"  # the worker group it runs in (it needs no data set)

    def identity(self) -> Identity:
        return make_identity("calibration", {"analysis": "calibration", "position": self.position,
                                             "steps": STEPS}, ["analysis", "position"])

    def to_json(self) -> dict[str, Any]:
        return {"position": self.position}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "CalibrationSpec":
        return cls(**d)
