"""Steady-state throughput from per-update wall times.

Warm-up updates (tracing, first touch of fresh memory) are excluded; the figure is the effective
batch divided by the *median* seconds per update, with the interquartile range as the spread.
Whole-`fit` wall time is not a throughput: on these machines it includes multi-second stalls
outside the training steps.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def warmup_count(n_updates: int, requested: int = 3) -> int:
    """Drop `requested` updates, but keep at least half of a short run for the statistics."""
    return min(requested, n_updates // 2)


@dataclass(frozen=True)
class Throughput:
    """Samples per second of one run, from its update times."""

    samples_per_s: float | None
    median_s_per_update: float | None
    p25_s_per_update: float | None
    p75_s_per_update: float | None
    timed_updates: int
    warmup_updates: int
    warmup_seconds: float

    @property
    def iqr_relative(self) -> float | None:
        if self.median_s_per_update is None:
            return None
        return (self.p75_s_per_update - self.p25_s_per_update) / self.median_s_per_update

    @classmethod
    def from_seconds(cls, seconds: list[float], effective_batch: int,
                     warmup: int = 3) -> "Throughput":
        skip = warmup_count(len(seconds), warmup)
        steady = np.asarray(seconds[skip:], dtype=np.float64)
        warm = float(np.sum(seconds[:skip]))
        if steady.size == 0:
            return cls(None, None, None, None, 0, skip, warm)
        q25, median, q75 = (float(q) for q in np.percentile(steady, [25, 50, 75]))
        return cls(effective_batch / median, median, q25, q75, int(steady.size), skip, warm)

    def to_dict(self) -> dict:
        return {**asdict(self), "iqr_relative": self.iqr_relative}

    def __str__(self) -> str:
        if self.samples_per_s is None:
            return "no timed updates"
        return (f"{self.samples_per_s:,.0f} samples/s (median of {self.timed_updates} updates, "
                f"IQR {self.iqr_relative:.0%})")
