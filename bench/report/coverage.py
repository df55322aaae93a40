"""Do the stated intervals hold? Two sweeps of one profile on one machine: the share of the
second sweep's speed ratios that land inside the first sweep's intervals, and the intervals'
median width. A 95% rerun interval should hold about 95% of them; an interval of one
process's update times held far fewer (README: Numbers that hold)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.report.frames import Results
from bench.report.rows import Ratio, measure_rows

#: every ratio once: a row's `small_batch` is plain training's own `speed`, repeated on each row
RATIOS = ("speed", "accumulation", "vs_float32")


@dataclass(frozen=True)
class Landing:
    model: str
    configuration: str        # strategy pair [variant]
    ratio: str                # which ratio (RATIOS)
    first: Ratio
    second: float

    @property
    def inside(self) -> bool:
        return self.first.low <= self.second <= self.first.high

    @property
    def half_width(self) -> float:
        """Half the interval's width relative to its value (0.06: +-6%)."""
        return (self.first.high - self.first.low) / 2 / self.first.value


def first_rounds(records: list[dict], rounds: int | None) -> list[dict]:
    """The records of a sweep as if it had measured `rounds` rounds: round r of a sweep starts
    after round r - 1 of every configuration, so its first rounds are such a sweep."""
    if rounds is None:
        return records
    return [r for r in records if r["kind"] != "run"
            or (r.get("config") or {}).get("round", 1) <= rounds]


def _keys(res: Results, model: str) -> dict[tuple, str]:
    runs = res.runs[(res.runs.model == model) & (res.runs["round"] == 1)
                    & (res.runs.phase == "measure")]
    return {(r.strategy, r.pair, r.variant): r.key for r in runs.itertuples()}


def landings(first: Results, second: Results) -> list[Landing]:
    """Every ratio the first sweep states an interval for and the second measured with the
    same settings (the configurations' keys match; the rest of the profile may differ)."""
    out = []
    for model in first.models:
        theirs = _keys(second, model)
        same = {k for k, v in _keys(first, model).items() if theirs.get(k) == v}
        a = {(r.strategy, r.pair, r.variant): r for r in measure_rows(first, model)}
        b = {(r.strategy, r.pair, r.variant): r for r in measure_rows(second, model)}
        for key, row in a.items():
            other = b.get(key) if key in same else None
            for name in RATIOS:
                stated = getattr(row, name)
                again = getattr(other, name) if other is not None else None
                if stated is not None and stated.low is not None and again is not None:
                    label = " ".join(x for x in key if x)
                    out.append(Landing(model, label, name, stated, again.value))
    return out


def summary(found: list[Landing]) -> dict:
    if not found:
        return {"ratios": 0}
    return {"ratios": len(found), "inside": sum(x.inside for x in found),
            "coverage": float(np.mean([x.inside for x in found])),
            "median_half_width": float(np.median([x.half_width for x in found])),
            "rounds": max(x.first.rounds for x in found)}
