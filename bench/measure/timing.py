"""Steady-state throughput from per-update wall times.

Warm-up updates (tracing, first touch of fresh memory) are excluded; the figure is the effective
batch divided by the *median* seconds per update, with the interquartile range as the spread.
Whole-`fit` wall time is not a throughput: on these machines it includes multi-second stalls
outside the training steps.
"""
from __future__ import annotations

import numpy as np


def warmup_count(n_updates: int, requested: int = 3) -> int:
    """Drop `requested` updates, but keep at least half of a short run for the statistics."""
    return min(requested, n_updates // 2)


def throughput(seconds: list[float], effective_batch: int, warmup: int = 3) -> dict:
    skip = warmup_count(len(seconds), warmup)
    steady = np.asarray(seconds[skip:], dtype=np.float64)
    if steady.size == 0:
        return {"samples_per_s": None, "timed_updates": 0, "warmup_updates": skip}
    q25, median, q75 = np.percentile(steady, [25, 50, 75])
    return {
        "samples_per_s": effective_batch / median,
        "median_s_per_update": float(median),
        "p25_s_per_update": float(q25),
        "p75_s_per_update": float(q75),
        "iqr_relative": float((q75 - q25) / median),
        "mean_s_per_update": float(steady.mean()),
        "timed_updates": int(steady.size),
        "warmup_updates": skip,
        "warmup_seconds": float(np.sum(seconds[:skip])),
    }
