"""From measurements to a verdict in words.

Level 1 passes when the overall relative gradient error is within the dtype's tolerance and no
single variable is off by more than 100x that (bias vectors whose gradient is a cancelling sum of
thousands of terms reach ~1e-5 in float32 from rounding alone; a real bug in one variable is far
larger). Level 2 passes when, after every update, the distance to the large batch is at most
LEVEL2_FACTOR times the noise floor's running maximum: equivalent runs stay near the floor, the
known non-equivalent controls hundreds to tens of thousands of times above it (README: Record of
measurements).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.config.names import PRECISIONS
from bench.judge.distance import GradientComparison

#: Level-1 tolerances per precision, in the order of `PRECISIONS`: what float rounding of a sum
#: of k terms allows. The mixed policies compute in float16 or bfloat16: ten times the compute
#: type's epsilon (2^-10, 2^-7). What the CNN measured against each is in the README's record
#: of measurements.
TOLERANCE = dict(zip(PRECISIONS, (1e-5, 1e-12, 1e-2, 8e-2), strict=True))

LEVEL2_FACTOR = 10.0
PER_VARIABLE_SLACK = 100.0


@dataclass(frozen=True)
class Level1:
    overall: float
    max_variable: float
    worst_variable: str
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.overall <= self.tolerance and self.max_variable <= PER_VARIABLE_SLACK * self.tolerance


def level1(overall: float, max_variable: float, worst: str, dtype: str) -> Level1:
    return Level1(overall, max_variable, worst, TOLERANCE[dtype])


def envelope(values: list[float]) -> list[float]:
    """Running maximum: the floor a perturbation has reached by each update."""
    return list(np.maximum.accumulate(values)) if values else []


def level2_ratio(trajectory: list[float], noise_floor: list[float]) -> float:
    """Largest distance-to-floor ratio over the run (0/0 counts as 0)."""
    floor = envelope(noise_floor)
    ratios = [d / f if f > 0 else (0.0 if d == 0 else float("inf"))
              for d, f in zip(trajectory, floor)]
    return max(ratios, default=0.0)


def level2_passed(trajectory: list[float], noise_floor: list[float]) -> bool:
    return level2_ratio(trajectory, noise_floor) <= LEVEL2_FACTOR


def level_fields(comparison: GradientComparison, result: Level1, trajectory: list[float],
                 noise_floor: list[float]) -> dict:
    """The record's level-1 and level-2 figures, as every analysis (TensorFlow, the Keras 2 and
    backend lanes) stores them for `bench.judge.reasons.judge`."""
    return dict(gradient_rel_error=comparison.overall_rel_error,
                gradient_max_variable_rel_error=comparison.max_rel_error,
                gradient_worst_variable=comparison.worst_variable,
                gradient_tolerance=result.tolerance,
                gradient_per_variable=comparison.per_variable,
                level1_passed=bool(result.passed), trajectory=trajectory,
                noise_floor=noise_floor, trajectory_ratio=level2_ratio(trajectory, noise_floor))
