"""Which side-by-side design would hold still, read from speed processes already recorded.

A design is P speed processes per model of R block rounds each, with blocks of a fraction F of
the recorded block length. The speed processes of several sweeps of one machine are resampled
into pairs of pseudo sweeps: two disjoint sets of P processes, each cut to its first R block
rounds and every block to its first updates (a block's length is fixed in updates from the
warm-up, so a shorter block is the start of a recorded one). The first states its intervals,
the second lands in them or not, through the same code as `coverage` (`bench.report.coverage.landings`).
Over many such pairs this gives a design's expected coverage and median half-width before
paying for two sweeps of it, and the speed-process time it costs (each process's build and
warm-up, and a round's blocks, as recorded, the blocks scaled by F).

A design may also time and measure less than was recorded (`Content`): fewer strategies side by
side, or fewer models with speed and memory (the others keep their equivalence analyses). Its
whole sweep's time is then estimated from the sources' phases: the speed processes' cost plus
what each process cost beyond its builds and blocks there (its start, its data), the memory
runs' wall time in proportion to the runs kept, the rest (equivalence analyses, calibration) as
recorded. Used to choose `measure.speed_processes`,
`speed_rounds`, `block_seconds` and what the default profile times (README: Numbers that
hold); only two real sweeps of a design confirm it.
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
class Content:
    """What a design times and measures: the strategies timed side by side (None: every one
    recorded) and the models whose speed and memory are measured (None: every one)."""
    timed: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None

    def measures(self, model: str) -> bool:
        return self.models is None or model in self.models

    def times(self, config: dict) -> bool:
        return self.measures(config["model"]) and (self.timed is None
                                                    or config["strategy"] in self.timed)

    def keeps(self, record: dict) -> bool:
        """A record this content would have: every one but the speed and measure runs left out."""
        config = record.get("config") or {}
        if record["kind"] != "run" or config.get("purpose") not in ("speed", "measure"):
            return True
        return self.times(config) if config["purpose"] == "speed" else self.measures(
            config["model"])

    def to_dict(self) -> dict:
        return {"timed": list(self.timed) if self.timed else None,
                "models": list(self.models) if self.models else None}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Content":
        d = d or {}
        return cls(*(tuple(d[k]) if d.get(k) else None for k in ("timed", "models")))

    def label(self) -> str:
        parts = [f"timing {', '.join(self.timed)}" if self.timed else "",
                 f"speed and memory of {', '.join(self.models)}" if self.models else ""]
        return "; ".join(p for p in parts if p) or "as recorded"


@dataclass(frozen=True)
class Process:
    """One recorded speed process: its records (one per configuration)."""
    source: str
    round: int
    records: tuple[dict, ...]
    scale: float = 1.0   # its sweep's blocks cut to this fraction first (blocks recorded longer)

    @property
    def block_rounds(self) -> int:
        return min(len(r["blocks"]) for r in self.records)

    def names(self) -> set[str]:
        return {configuration_name(r["id"]["name"]) for r in self.records}

    def only(self, content: Content) -> "Process":
        return Process(self.source, self.round,
                       tuple(r for r in self.records if content.times(r["config"])), self.scale)

    def seconds(self, rounds: int, fraction: float = 1.0) -> float:
        """What it cost to build, warm up and time `rounds` rounds of blocks cut to `fraction`."""
        return sum(record_seconds(r, rounds, fraction * self.scale) for r in self.records)


def record_seconds(record: dict, rounds: int | None = None, fraction: float = 1.0) -> float:
    """What one configuration of a speed process cost: its build and warm-up, and its first
    `rounds` rounds of blocks (every one: None) cut to `fraction`."""
    return (record["seconds"].get("build") or 0.0) + sum(
        b["wall"] * sum(cut(b["seconds"], fraction)) / sum(b["seconds"])
        for b in record["blocks"] if (rounds is None or b["round"] < rounds) and b["seconds"])


def cut(seconds: list[float], fraction: float) -> list[float]:
    """A block's first updates: what a block of `fraction` of its length would have timed."""
    return seconds[:max(MIN_BLOCK_UPDATES, math.ceil(len(seconds) * fraction - 1e-9))]


def processes(records: list[dict], source: str,
              scale: float = 1.0) -> tuple[list[dict], list[Process]]:
    """A sweep's records other than its speed runs, and its speed processes (their blocks cut
    to `scale` of their length first: a sweep recorded with longer blocks)."""
    speed = [r for r in records if r["kind"] == "run" and r.get("status") == "ok"
             and (r.get("config") or {}).get("purpose") == "speed" and r.get("blocks")]
    rest = [r for r in records if not (r["kind"] == "run"
                                       and (r.get("config") or {}).get("purpose") == "speed")]
    by_round: dict[int, list[dict]] = {}
    for r in speed:
        by_round.setdefault(r["config"].get("round", 1), []).append(r)
    return rest, [Process(source, i, tuple(rs), scale) for i, rs in sorted(by_round.items())]


@dataclass(frozen=True)
class Phases:
    """Where one recorded sweep's wall time went: its speed processes (their wall time, their
    recorded build and block seconds, and how many), its memory runs (their wall time, per
    model), and the rest."""
    speed: float
    speed_cost: float
    processes: int
    memory_cost: dict[str, float]
    rest: float

    @classmethod
    def of(cls, records: list[dict]) -> "Phases | None":
        """From a sweep's records: each process's wall time (`isolation`), wherever in the
        sweep it ran."""
        runs = [r for r in records if r["kind"] == "run" and (r.get("isolation") or {}).get(
            "wall_seconds") is not None]
        speed = [r for r in runs if r["config"].get("purpose") == "speed" and r.get("blocks")]
        measure = [r for r in runs if r["config"].get("purpose") == "measure"]
        wall = sum(r["wall_seconds"] for r in records if r["kind"] == "session")
        if not speed or not measure or not wall:
            return None
        processes = {r["isolation"]["pid"]: r["isolation"]["wall_seconds"] for r in speed}
        costs: dict[str, float] = {}
        for r in measure:
            model = r["config"]["model"]
            costs[model] = costs.get(model, 0.0) + r["isolation"]["wall_seconds"]
        return cls(sum(processes.values()), sum(map(record_seconds, speed)), len(processes),
                   costs, wall - sum(processes.values()) - sum(costs.values()))

    def estimate(self, speed_cost: float, processes: int, content: Content) -> dict[str, float]:
        """A sweep's seconds with `processes` speed processes that cost `speed_cost` to build
        and time (each also costs what a process cost here beyond that: its start and data)
        and `content`'s memory runs (each run's own wall time)."""
        speed = speed_cost + (self.speed - self.speed_cost) * processes / self.processes
        memory = sum(v for m, v in self.memory_cost.items() if content.measures(m))
        return {"speed": speed, "memory": memory, "rest": self.rest,
                "total": speed + memory + self.rest}


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
            r["blocks"] = [{**b, "seconds": cut(b["seconds"], fraction * p.scale)}
                           for b in r["blocks"] if b["round"] < rounds]
            r["profile_digest"] = "resampled"
            out.append(r)
    return out


def _check(content: Content, pool: list[Process]) -> None:
    """A content that names a strategy or model the processes did not time is a clear error."""
    recorded = {k: sorted({r["config"][k] for p in pool for r in p.records})
                for k in ("model", "strategy")}
    for what, names, key in (("strategy", content.timed, "strategy"),
                             ("model", content.models, "model")):
        unknown = sorted(set(names or ()) - set(recorded[key]))
        if unknown:
            raise BenchError(f"no speed process recorded {what} {', '.join(unknown)} (they "
                             f"timed {', '.join(recorded[key])})")
    if content.timed and "large_batch" not in content.timed:
        raise BenchError("every speed ratio is against the large batch: the timed strategies "
                         "must include large_batch")


def study(sources: list[Path], designs: list[tuple[int, int, float]], splits: int = 40,
          seed: int = 0, content: Content = Content(),
          scales: list[float] | None = None) -> list[dict]:
    """Per design (processes, rounds, block fraction): coverage and median half-width over up
    to `splits` random pairs of disjoint process sets, the speed processes' seconds per sweep,
    and (where the sources' phases are recorded) the whole sweep's estimated seconds. A source
    with a scale below 1 (`scales`, one per source) was recorded with blocks that much longer:
    its blocks are cut to that fraction first."""
    base, pool, phases = None, [], []
    scales = scales or [1.0] * len(sources)
    for path, scale in zip(sources, scales, strict=True):
        records = store.read_records(path)
        rest, found = processes(records, str(path), scale)
        base = rest if base is None else base  # the first sweep's other records serve every pseudo sweep
        pool += found
        phases.append(Phases.of(records))
    _check(content, pool)
    base = [r for r in base if content.keeps(r)]
    pool = [kept for kept in (p.only(content) for p in pool) if kept.records]
    if len(pool) < 2:
        raise BenchError(f"{len(pool)} speed process(es) recorded in {len(sources)} file(s): a "
                         f"design study needs at least two")
    names = set.intersection(*(p.names() for p in pool))
    environment = next(r["environment"] for p in pool for r in p.records if r.get("environment"))
    rng = np.random.default_rng(seed)
    models = len({r["config"]["model"] for p in pool for r in p.records})
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
        sweeps = [ph.estimate(cost, count * models, content) for ph in phases if ph is not None]
        out.append({"processes": count, "rounds": rounds, "block_fraction": fraction,
                    "content": content.to_dict(), "splits": len(picked),
                    "ratios": len(inside), "coverage": float(np.mean(inside)),
                    "median_half_width": float(np.median(widths)),
                    "split_medians": [float(np.percentile(medians, q)) for q in (10, 90)],
                    "speed_seconds": cost,
                    "sweep_seconds": ({k: float(np.median([e[k] for e in sweeps]))
                                       for k in sweeps[0]} if sweeps else None)})
    if not out:
        raise BenchError(f"none of the designs fits the {len(pool)} recorded processes "
                         f"(at most {len(pool) // 2} per side, "
                         f"{min(p.block_rounds for p in pool)} block rounds)")
    identity = machine.of_environment(environment)
    return [{**row, "machine": machine.label(identity), "identity": identity["id"],
             "sources": [str(s) + (f"@{f:g}" if f != 1.0 else "") for s, f in zip(sources, scales)],
             "processes_pooled": len(pool),
             "created": datetime.now(timezone.utc).isoformat(timespec="seconds")} for row in out]


#: where the committed study lives (the README's block reads it)
DEFAULT_RECORD = Path("reports/speed_design.json")


def write(path: Path, rows: list[dict]) -> None:
    """Add a study to the record; a study of the same sources and content replaces the
    earlier one."""
    key = lambda r: (r["sources"], Content.from_dict(r.get("content")))  # noqa: E731
    kept = [r for r in read(path) if key(r) != key(rows[0])]
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
           "| design | what it times and measures | pairs of pseudo sweeps | ratios | inside the "
           "first's 95% rerun intervals | median half-width (10th–90th percentile of a sweep's) "
           "| speed processes' time per sweep | whole sweep, estimated |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        low, high = r["split_medians"]
        blocks = r.get("block_fraction", 1.0)
        design = f"{r['processes']} processes × {r['rounds']} rounds" + (
            f", blocks cut to {blocks:g} of their length" if blocks != 1.0 else "")
        sweep = r.get("sweep_seconds")
        total = f"{sweep['total'] / 60:.1f} min" if sweep else "–"
        out.append(f"| {design} | {Content.from_dict(r.get('content')).label()} | {r['splits']} | "
                   f"{r['ratios']} | {r['coverage']:.0%} | ±{r['median_half_width']:.1%} "
                   f"(±{low:.1%}–±{high:.1%}) | {r['speed_seconds'] / 60:.1f} min | "
                   f"{total} |")
    return out
