"""Speed gates that pool every configuration of a strategy, or of a model: a change a strategy
makes everywhere must stand out even where no single configuration's change does.

Two statistics, each a geometric mean of current over baseline, over a model's side-by-side
speed entries where it has them (`timed`), else over its measure runs:
- *per strategy*, relative speed within each round: a configuration's log update time minus the
  mean log time of its model's other strategies measured in the same round (so the machine's
  drift between rounds and runs cancels; a slower strategy does not move its own yardstick).
  Machine speed cancels, so it is compared across machine identities too, with a wider limit:
  the strategies' relative speeds are themselves a property of the CPU. The same statistic per
  model and strategy (same identity only) sees one strategy slower on one model, which the
  pooling over models dilutes; it is tight where the rounds are blocks timed side by side.
- *per model*, update times over the calibration step of each sweep (a model-wide change has
  nothing within the run to stand out against); same machine identity only.

A run's noise is measured, not assumed: each baseline run is pooled against the others
(leave-one-out), and a limit is never below the largest value a clean run showed.
"""
from __future__ import annotations

import math

import numpy as np

from bench.report.speed_ratios import block_time

Relative = dict[str, float]


def timed(configurations: dict) -> list[str]:
    """The configurations whose update times a pooled gate reads: a model's side-by-side speed
    entries where it has them (blocks of one round were timed together), else its measure runs."""
    runs = {n: e for n, e in configurations.items() if e["kind"] == "run"}
    side_by_side = {e["model"] for e in runs.values() if e.get("purpose") == "speed"}
    return [n for n, e in runs.items()
            if e.get("purpose") == ("speed" if e["model"] in side_by_side else "measure")]


def _measured(configurations: dict, run: int) -> dict[str, list[float]]:
    """Log median update time per round of every timed configuration that ran in `run`."""
    out = {}
    for name in timed(configurations):
        e = configurations[name]
        if run >= len(e["runs"]):
            continue
        r = e["runs"][run]
        figure = block_time if e.get("purpose") == "speed" else np.median  # a block, a process
        if r and r["status"] == "ok" and r["rounds"]:
            out[name] = [math.log(float(figure(x))) for x in r["rounds"]]
    return out


def relative_speed(configurations: dict, run: int) -> Relative:
    """Per configuration: its log time minus the mean log time of its model's other
    strategies, within each round; the median over rounds."""
    logs = _measured(configurations, run)
    out: Relative = {}
    for name, values in logs.items():
        e = configurations[name]
        within = []
        for i, v in enumerate(values):
            others = [logs[o][i] for o in logs if len(logs[o]) > i
                      and configurations[o]["model"] == e["model"]
                      and configurations[o]["strategy"] != e["strategy"]]
            if others:
                within.append(v - float(np.mean(others)))
        if within:
            out[name] = float(np.median(within))
    return out


def best_round(rounds: list[list[float]]) -> float:
    """A run's figure for one configuration: its fastest round's median update time (a slow
    process is a draw of that process, a regression slows every round)."""
    return min(float(np.median(x)) for x in rounds)


def calibrated_speed(configurations: dict, run: int, calibration: float) -> Relative:
    """Per configuration: log of its best round's time over the sweep's calibration step."""
    if not np.isfinite(calibration) or calibration <= 0:
        return {}
    return {name: min(values) - math.log(calibration)
            for name, values in _measured(configurations, run).items()}


def pooled(current: Relative, baseline: list[Relative], names: list[str]) -> float | None:
    """exp(mean over `names` of current minus the baseline runs' median): 1.3 = 30% slower."""
    diffs = []
    for n in names:
        old = [b[n] for b in baseline if n in b]
        if n in current and old:
            diffs.append(current[n] - float(np.median(old)))
    return math.exp(float(np.mean(diffs))) if diffs else None


def leave_one_out(runs: list[Relative], names: list[str]) -> list[float]:
    """Each baseline run pooled against the others: the spread clean runs show."""
    if len(runs) < 2:
        return []
    values = [pooled(r, runs[:i] + runs[i + 1:], names) for i, r in enumerate(runs)]
    return [v for v in values if v is not None]


def groups(configurations: dict, names: list[str], by: str) -> dict[str, list[str]]:
    """Timed configurations (`timed`) by strategy, by model, or by model and strategy
    ("model strategy"): one strategy slower on one model only is diluted in the first two."""
    chosen = set(timed(configurations))
    out: dict[str, list[str]] = {}
    for n in names:
        # per model and strategy only where timed side by side: one process per configuration
        # moves too much between processes for a few configurations' pool
        if n in chosen and (by != "model strategy"
                            or configurations[n].get("purpose") == "speed"):
            e = configurations[n]
            out.setdefault(" ".join(e[k] for k in by.split()), []).append(n)
    return out
