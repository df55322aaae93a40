"""Which side-by-side design would hold still, read from speed processes already recorded.

A design is P speed processes per model of R block rounds each, with blocks of a fraction F of
the recorded block length. The speed processes of several sweeps of one machine are resampled
into pairs of pseudo sweeps: two disjoint sets of P processes, each cut to its first R block
rounds and every block to its first updates (a block's length is fixed in updates from the
warm-up, so a shorter block is the start of a recorded one). The first states its intervals,
the second lands in them or not, through the same code as `coverage` (`bench.report.coverage.landings`).
Over many such pairs this gives a design's expected coverage and median half-width before
paying for two sweeps of it, and the speed-process time it costs (each process's build and
warm-up, and a round's blocks, as recorded, the blocks scaled by F). Used to choose
`measure.speed_processes`, `speed_rounds` and `block_seconds` (README: Numbers that hold); only
two real sweeps of a design confirm it.
"""
from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench.config.speed import MIN_BLOCK_UPDATES
from bench.errors import BenchError
from bench.report.coverage import landings
from bench.report.frames import from_records
from bench.results import machine, store
from bench.results.identity import configuration_name


@dataclass(frozen=True)
class Process:
    """One recorded speed process: its records (one per configuration)."""
    source: str
    round: int
    records: tuple[dict, ...]

    @property
    def block_rounds(self) -> int:
        return min(len(r["blocks"]) for r in self.records)

    def names(self) -> set[str]:
        return {configuration_name(r["id"]["name"]) for r in self.records}

    def seconds(self, rounds: int, fraction: float = 1.0) -> float:
        """What it cost to build, warm up and time `rounds` rounds of blocks cut to `fraction`."""
        return sum(r["seconds"].get("build") or 0.0 for r in self.records) + sum(
            b["wall"] * sum(cut(b["seconds"], fraction)) / sum(b["seconds"])
            for r in self.records for b in r["blocks"] if b["round"] < rounds and b["seconds"])


def cut(seconds: list[float], fraction: float) -> list[float]:
    """A block's first updates: what a block of `fraction` of its length would have timed."""
    return seconds[:max(MIN_BLOCK_UPDATES, math.ceil(len(seconds) * fraction - 1e-9))]


def processes(records: list[dict], source: str) -> tuple[list[dict], list[Process]]:
    """A sweep's records other than its speed runs, and its speed processes."""
    speed = [r for r in records if r["kind"] == "run" and r.get("status") == "ok"
             and (r.get("config") or {}).get("purpose") == "speed" and r.get("blocks")]
    rest = [r for r in records if not (r["kind"] == "run"
                                       and (r.get("config") or {}).get("purpose") == "speed")]
    by_round: dict[int, list[dict]] = {}
    for r in speed:
        by_round.setdefault(r["config"].get("round", 1), []).append(r)
    return rest, [Process(source, i, tuple(rs)) for i, rs in sorted(by_round.items())]


def _pseudo_sweep(base: list[dict], chosen: tuple[Process, ...], names: set[str],
                  rounds: int, fraction: float = 1.0) -> list[dict]:
    """`base` (one sweep's other records) with `chosen` as its speed processes 1..P, each cut
    to `rounds` block rounds of `fraction` of their updates; one profile digest for all (the
    sources' may differ)."""
    out = [{**r, "profile_digest": "resampled"} for r in base]
    for i, p in enumerate(chosen, 1):
        for r in p.records:
            if configuration_name(r["id"]["name"]) not in names:
                continue
            r = copy.deepcopy(r)
            r["config"]["round"] = i
            r["id"]["key"] = f"{r['id']['key']}:process{i}"
            r["blocks"] = [{**b, "seconds": cut(b["seconds"], fraction)}
                           for b in r["blocks"] if b["round"] < rounds]
            r["profile_digest"] = "resampled"
            out.append(r)
    return out


def study(sources: list[Path], designs: list[tuple[int, int, float]], splits: int = 40,
          seed: int = 0) -> list[dict]:
    """Per design (processes, rounds, block fraction): coverage and median half-width over up
    to `splits` random pairs of disjoint process sets, and the speed processes' seconds per
    sweep."""
    base, pool = None, []
    for path in sources:
        rest, found = processes(store.read_records(path), str(path))
        base = rest if base is None else base  # the first sweep's other records serve every pseudo sweep
        pool += found
    if len(pool) < 2:
        raise BenchError(f"{len(pool)} speed process(es) recorded in {len(sources)} file(s): a "
                         f"design study needs at least two")
    names = set.intersection(*(p.names() for p in pool))
    environment = next(r["environment"] for p in pool for r in p.records if r.get("environment"))
    rng = np.random.default_rng(seed)
    out = []
    for count, rounds, fraction in designs:
        if 2 * count > len(pool) or rounds > min(p.block_rounds for p in pool):
            continue
        pairs = [(a, b) for a in itertools.combinations(range(len(pool)), count)
                 for b in itertools.combinations([i for i in range(len(pool)) if i not in a], count)]
        picked = [pairs[i] for i in sorted(rng.choice(len(pairs), min(splits, len(pairs)),
                                                      replace=False))]
        inside, widths, medians = [], [], []
        for a, b in picked:
            first, second = (from_records(_pseudo_sweep(base, tuple(pool[i] for i in s),
                                                         names, rounds, fraction))
                             for s in (a, b))
            found = landings(first, second)
            inside += [x.inside for x in found]
            widths += [x.half_width for x in found]
            medians.append(float(np.median([x.half_width for x in found])))
        cost = float(np.median([p.seconds(rounds, fraction) for p in pool])) * count
        out.append({"processes": count, "rounds": rounds, "block_fraction": fraction,
                    "splits": len(picked),
                    "ratios": len(inside), "coverage": float(np.mean(inside)),
                    "median_half_width": float(np.median(widths)),
                    "split_medians": [float(np.percentile(medians, q)) for q in (10, 90)],
                    "speed_seconds": cost})
    if not out:
        raise BenchError(f"none of the designs fits the {len(pool)} recorded processes "
                         f"(at most {len(pool) // 2} per side, "
                         f"{min(p.block_rounds for p in pool)} block rounds)")
    identity = machine.of_environment(environment)
    return [{**row, "machine": machine.label(identity), "identity": identity["id"],
             "sources": [str(s) for s in sources], "processes_pooled": len(pool),
             "created": datetime.now(timezone.utc).isoformat(timespec="seconds")} for row in out]


#: where the committed study lives (the README's block reads it)
DEFAULT_RECORD = Path("reports/speed_design.json")


def write(path: Path, rows: list[dict]) -> None:
    """Add a study to the record; a study of the same sources replaces the earlier one."""
    sources = rows[0]["sources"]
    kept = [r for r in read(path) if r["sources"] != sources]
    path.write_text(json.dumps([*kept, *rows], indent=1) + "\n")


def read(path: Path) -> list[dict]:
    return store.read_json_list(path, "speed design studies")


def lines(rows: list[dict]) -> list[str]:
    """A markdown table per design study in the record, in the order they were added."""
    studies: dict[tuple[str, ...], list[dict]] = {}
    for r in rows:
        studies.setdefault(tuple(r["sources"]), []).append(r)
    out: list[str] = []
    for study_rows in studies.values():
        out += [*([""] if out else []), *_table(study_rows)]
    return out


def _table(rows: list[dict]) -> list[str]:
    first = rows[0]
    out = [f"Resampled from {first['processes_pooled']} recorded speed processes "
           f"({', '.join(f'`{s}`' for s in first['sources'])}), on {first['machine']} "
           f"({first['identity']}):", "",
           "| design | pairs of pseudo sweeps | ratios | inside the first's 95% rerun intervals "
           "| median half-width (10th–90th percentile of a sweep's) | speed processes' time "
           "per sweep |", "|---|---|---|---|---|---|"]
    for r in rows:
        low, high = r["split_medians"]
        blocks = r.get("block_fraction", 1.0)
        design = f"{r['processes']} processes × {r['rounds']} rounds" + (
            f", blocks cut to {blocks:g} of their length" if blocks != 1.0 else "")
        out.append(f"| {design} | {r['splits']} | "
                   f"{r['ratios']} | {r['coverage']:.0%} | ±{r['median_half_width']:.1%} "
                   f"(±{low:.1%}–±{high:.1%}) | {r['speed_seconds'] / 60:.1f} min |")
    return out
