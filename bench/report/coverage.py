"""Do the stated intervals hold? Two sweeps of one profile on one machine: the share of the
second sweep's speed ratios that land inside the first sweep's intervals, and the intervals'
median width. A 95% rerun interval should hold about 95% of them; an interval of one
process's update times held far fewer (README: Numbers that hold)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench.report.frames import Results
from bench.report.rows import measure_rows
from bench.report.speed_ratios import Ratio
from bench.results import machine, store

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


def entry(first: Results, second: Results, sources: tuple[str, str], found: list[Landing]) -> dict:
    """One coverage measurement as a record: what the README and the report quote."""
    env = first.environment()
    identity = machine.of_environment(env)
    speed = first.interleaving
    return {**summary(found), "profile": first.profile, "profile_digest": first.digest,
            "machine": machine.label(identity, env.get("device")),
            "identity": identity["id"] if identity else None,
            "first": sources[0], "second": sources[1],
            "replicates": ("block rounds of one process" if speed and first.rounds == 1
                           else "processes"),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def read_entries(path: Path) -> list[dict]:
    return store.read_json_list(path, "coverage measurements")


def add_entry(path: Path, new: dict) -> None:
    """Keep one measurement per (profile digest, first, second): a repeat replaces it."""
    same = lambda e: all(e.get(k) == new[k] for k in ("profile_digest", "first", "second"))  # noqa: E731
    kept = [e for e in read_entries(path) if not same(e)]
    path.write_text(json.dumps([*kept, new], indent=1) + "\n")


def lines(entries: list[dict], profile: str | None = None) -> list[str]:
    """A markdown table of the measurements (of one profile), newest profile digest first."""
    chosen = [e for e in entries if profile is None or e["profile"] == profile]
    if not chosen:
        return []
    rows = ["| profile (digest) | machine | first → second | replicates | inside the first's "
            "95% rerun intervals | median half-width |", "|---|---|---|---|---|---|"]
    for e in chosen:
        rows.append(f"| {e['profile']} ({e['profile_digest']}) | {e['machine']} | "
                    f"`{e['first']}` → `{e['second']}` | {e['rounds']} {e['replicates']} | "
                    f"{e['coverage']:.0%} ({e['inside']} of {e['ratios']}) | "
                    f"±{e['median_half_width']:.1%} |")
    return rows
