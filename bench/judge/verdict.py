"""From measurements to a verdict in words.

Level 1 passes when the overall relative gradient error is within the dtype's tolerance and no
single variable is off by more than 100x that (bias vectors whose gradient is a cancelling sum of
thousands of terms reach ~1e-5 in float32 from rounding alone; a real bug in one variable is far
larger). Level 2 passes when, after every update, the distance to the large batch is at most
LEVEL2_FACTOR times the noise floor's running maximum. Measured on this CPU (CNN, 30-50 updates):
equivalent runs stay below 1.2x the floor; BatchNormalization starts at 380x, the naive loop and a
mis-scheduled learning rate at 10^4-10^5x.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Level-1 tolerances: what float rounding of a sum of k terms allows (design notes: float32
#: measured ~1.5e-6 on the CNN; float64 ~1e-15). The mixed policies compute in float16 or
#: bfloat16: ten times the compute type's epsilon (2^-10, 2^-7); measured on the CNN (AMD EPYC
#: AVX2, 2 cores, 2026-11-27) 1.1e-3 to 1.7e-3 (float16) and 1.6e-2 to 2.9e-2 (bfloat16).
TOLERANCE = {"float32": 1e-5, "float64": 1e-12, "mixed_float16": 1e-2, "mixed_bfloat16": 8e-2}

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
