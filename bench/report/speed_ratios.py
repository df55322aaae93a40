"""Speed ratios and their rerun intervals, from stored speed and measure records.

A ratio of two configurations' update times (same effective batch, so the inverse ratio of
their samples per second) is taken between replicates measured alike: the rounds of blocks of
one side-by-side speed process, the speed processes, or the measure runs' rounds. The figure is
the geometric mean over replicates, and its interval a 95% *rerun* (prediction) interval from
the spread between replicates pooled over a model's ratios (bench.report.rows explains when
each kind applies and why).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.judge.outcome import t975
from bench.report.frames import steady_seconds


@dataclass(frozen=True)
class Ratio:
    value: float
    low: float | None = None
    high: float | None = None
    rounds: int = 1            # replicates; > 1: [low, high] is a rerun (prediction) interval

    @property
    def within_noise(self) -> bool:
        return self.low is not None and self.low <= 1.0 <= self.high

    def text(self, digits: int = 2) -> str:
        mark = "≈" if self.within_noise else ""
        if self.low is None:
            return f"{mark}{self.value:.{digits}f}×"
        return f"{mark}{self.value:.{digits}f}× [{self.low:.{digits}f}–{self.high:.{digits}f}]"


def speed_ratio(record: dict, reference: dict, draws: int = 2000, seed: int = 0) -> Ratio | None:
    """Samples/s of `record` over `reference` (same B), with a bootstrap 95% interval of the
    two processes' update times (one round: all there is)."""
    a, b = steady_seconds(record), steady_seconds(reference)
    if not len(a) or not len(b):
        return None
    rng = np.random.default_rng(seed)
    ma = np.median(rng.choice(a, (draws, len(a))), axis=1)
    mb = np.median(rng.choice(b, (draws, len(b))), axis=1)
    boot = mb / ma
    return Ratio(float(np.median(b) / np.median(a)), float(np.percentile(boot, 2.5)),
                 float(np.percentile(boot, 97.5)))


def round_logs(rounds: dict[int, dict], reference: dict[int, dict]) -> list[float]:
    """log(samples/s ratio) in each round (process) that both configurations finished: from
    blocks timed side by side, the mean over the process's rounds of blocks of each round's
    log ratio (`block_logs`; measured: the mean over 8 rounds moved less between processes than
    the median, README: Numbers that hold); else the ratio of the two processes' median update
    times."""
    out = []
    for i in sorted(set(rounds) & set(reference)):
        a, b = rounds[i], reference[i]
        if a.get("blocks") and b.get("blocks"):
            logs = block_logs(a["blocks"], b["blocks"])
            if logs:
                out.append(float(np.mean(logs)))
            continue
        a, b = steady_seconds(a), steady_seconds(b)
        if len(a) and len(b):
            out.append(float(np.log(np.median(b) / np.median(a))))
    return out


def replicate_logs(rounds: dict[int, dict], reference: dict[int, dict]) -> tuple[list[float], str]:
    """The replicates of one ratio and what they are: "block rounds" where both configurations
    were timed side by side in one process (a block ratio per round), else "processes"
    (`round_logs`)."""
    common = sorted(set(rounds) & set(reference))
    if len(common) == 1:
        a, b = rounds[common[0]], reference[common[0]]
        if a.get("blocks") and b.get("blocks"):
            return block_logs(a["blocks"], b["blocks"]), "block rounds"
    return round_logs(rounds, reference), "processes"


def block_time(seconds: list[float]) -> float:
    """A block's figure: its fastest update. Another tenant or the machine's own noise only
    ever slows an update, so the fastest of a block's few updates is the one least disturbed:
    measured on two default sweeps (README: Numbers that hold), a round's block ratio spread
    about its mean by 0.13-0.14 (sd of its log) with normal tails (kurtosis 3.2-3.3), against
    0.17 with heavy tails (kurtosis 14-20) for the block's median update."""
    return float(np.min(seconds))


def block_logs(blocks: list[dict], reference: list[dict]) -> list[float]:
    """log(samples/s ratio) between the blocks of each round of one speed process."""
    ref = {b["round"]: b for b in reference}
    return [float(np.log(block_time(ref[b["round"]]["seconds"]) / block_time(b["seconds"])))
            for b in blocks if b["round"] in ref and b["seconds"] and ref[b["round"]]["seconds"]]


def pooled_spread(logs: list[list[float]]) -> tuple[float, int] | None:
    """The standard deviation of a round's log ratio about its configuration's mean, pooled
    over ratios (each ratio's rounds give rounds - 1 degrees of freedom), and those degrees."""
    df = sum(len(x) - 1 for x in logs if len(x) > 1)
    if df < 1:
        return None
    ss = sum(float(np.sum((np.asarray(x) - np.mean(x)) ** 2)) for x in logs if len(x) > 1)
    return float(np.sqrt(ss / df)), df


def process_block_logs(rounds: dict[int, dict], reference: dict[int, dict]) -> list[list[float]]:
    """Per process that timed both configurations side by side: its block rounds' log ratios."""
    out = []
    for i in sorted(set(rounds) & set(reference)):
        a, b = rounds[i], reference[i]
        if a.get("blocks") and b.get("blocks"):
            logs = block_logs(a["blocks"], b["blocks"])
            if len(logs) > 1:
                out.append(logs)
    return out


def within_floor(per_process: list[list[float]]) -> tuple[float, int] | None:
    """The least spread a process's mean can have: its block rounds' spread, pooled over the
    model's ratios and processes, over the square root of a process's rounds. A process's mean
    holds that part and the process's own; two processes estimate their sum from one degree of
    freedom per ratio, which chance can put far below the part the rounds measure with many
    (measured: a model's intervals of ±3.5% that a rerun left), so it is the floor."""
    spread = pooled_spread(per_process)
    if spread is None:
        return None
    return spread[0] / float(np.sqrt(np.mean([len(x) for x in per_process]))), spread[1]


def rerun_ratio(logs: list[float], spread: tuple[float, int] | None,
                floor: tuple[float, int] | None = None) -> Ratio | None:
    """The geometric mean over replicates, with the 95% interval in which another sweep's
    figure (the mean of as many replicates) lands: mean ± t(df) · s · sqrt(2 / replicates),
    s the replicates' pooled spread, or `floor` (`within_floor`) where that is larger."""
    if not logs:
        return None
    mean, n = float(np.mean(logs)), len(logs)
    if spread is None or n < 2:
        return Ratio(float(np.exp(mean)), rounds=n)
    s, df = max(spread, floor or (0.0, 0))
    half = t975(df) * s * np.sqrt(2.0 / n)
    return Ratio(float(np.exp(mean)), float(np.exp(mean - half)), float(np.exp(mean + half)), n)
