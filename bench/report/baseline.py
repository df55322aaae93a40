"""What the regression check compares: the figures of one or more sweeps of a profile, keyed by
configuration name.

A baseline is the *envelope of several clean runs* on one machine identity, not a single run.
A configuration's update times are tight within one process and far apart between processes
(README: Record of measurements), so one run is one draw of a per-process spread that more
timed updates do not narrow (asv runs each benchmark in several processes for
the same reason). Each configuration keeps one entry per run; the gates allow what the
baseline's runs already showed and test beyond that.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.report.frames import held_bytes, steady_seconds
from bench.results import machine, store
from bench.results.identity import SCHEMA, configuration_name

#: Layout of a summary; 1 was one run per configuration, 2 one process per configuration and
#: run (its update times in `update_seconds`; read as one round), 3 rounds per run.
FORMAT = 3

def _identity_env(records: list[dict]) -> dict[str, Any]:
    """The environment a summary names its machine by: the identity (`machine`; absent from
    records made before identities, which are then of unknown identity) and, for people, the
    short device name."""
    env = next((r["environment"] for r in records if r.get("environment")), {})
    picked = {k: env.get(k) for k in ("device", "cpu_model", "usable_cpus", "gpus",
                                      "cpu_allocator", "tensorflow", "keras")}
    identity = machine.of_environment(env)
    return {**picked, "machine": identity} if identity else picked


def _round(r: dict, untimed: bool = False) -> dict[str, Any]:
    """One process's figures. A side-by-side speed record's blocks are its rounds, in round
    order (block round i of every configuration of the process was timed side by side). An
    `untimed` run (a memory run of a model timed side by side) keeps no update times: its few
    updates in a process of their own are not a speed figure, and the report reads none."""
    if r["status"] != "ok" or untimed:
        timed = []
    elif r.get("blocks"):
        timed = [b["seconds"] for b in sorted(r["blocks"], key=lambda b: b["round"])]
    else:
        timed = [steady_seconds(r).tolist()]
    return {"status": r["status"], "rounds": timed,
            "memory": {n: m["peak_bytes"] for n, m in (r.get("memory") or {}).items()
                       if m.get("available") and m.get("peak_bytes") is not None},
            "accuracy": r.get("final_test_accuracy"), "held_bytes": held_bytes(r)}


def _one_run(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One sweep's figures of one configuration from its rounds (round 1 first): the rounds'
    update times one list each (a speed process's: one per block round); a memory peak per probe, the lowest round's (a process's peak
    is a draw of TensorFlow's executor order, occasionally higher in one process; a regression
    raises every round); the status of the first
    round that did not succeed."""
    ok = [x for x in rounds if x["status"] == "ok"]
    probes = set.intersection(*(set(x["memory"]) for x in ok)) if ok else set()
    first = rounds[0]
    return {"status": next((x["status"] for x in rounds if x["status"] != "ok"), "ok"),
            "rounds": [t for x in ok for t in x["rounds"] if t],
            "memory": {p: min(x["memory"][p] for x in ok) for p in sorted(probes)},
            "accuracy": first["accuracy"], "held_bytes": first["held_bytes"]}


def summarise(records: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """The comparable figures of one sweep (a summary with one run)."""
    data = [r for r in records if r["kind"] in ("run", "equivalence", "calibration")]
    latest = list(store.by_key(data).values())
    profiles = {(r.get("profile"), r.get("profile_digest")) for r in latest}
    if len(profiles) != 1 or None in next(iter(profiles)):
        raise BenchError(f"{source}: expected the results of one sweep profile, found "
                         f"{sorted(str(p) for p in profiles)}")
    (profile, digest), = profiles
    run_records = sorted((r for r in latest if r["kind"] == "run"),
                         key=lambda r: r["config"].get("round", 1))
    large = {(r["config"]["model"], r["config"]["effective_batch"], r["config"]["seed"],
              r["config"].get("purpose", "measure")): configuration_name(r["id"]["name"])
             for r in run_records if r["config"]["strategy"] == "large_batch"}
    side_by_side = {r["config"]["model"] for r in run_records
                    if r["config"].get("purpose") == "speed" and r.get("blocks")}
    configurations: dict[str, dict] = {}
    for r in run_records:
        c = r["config"]
        purpose = c.get("purpose", "measure")
        name = configuration_name(r["id"]["name"])
        entry = configurations.setdefault(name, {
            "kind": "run", "key": r["id"]["key"], "purpose": purpose, "model": c["model"],
            "strategy": c["strategy"], "pair": c["pair"], "accum": c["accum"],
            "reference": large.get((c["model"], c["effective_batch"], c["seed"], purpose)),
            "test_samples": (r.get("dataset") or {}).get("n_test"), "rounds": []})
        entry["rounds"].append(_round(r, untimed=purpose == "measure"
                                      and c["model"] in side_by_side))
    for entry in configurations.values():
        entry["runs"] = [_one_run(entry.pop("rounds"))]
    for e in (r for r in latest if r["kind"] == "equivalence"):
        configurations[e["id"]["name"]] = {
            "kind": "equivalence", "key": e["id"]["key"], "dtype": e.get("dtype"),
            "runs": [{"status": e["status"], "verdict": e["verdict"],
                      "gradient_rel_error": e.get("gradient_rel_error"),
                      "trajectory_ratio": e.get("trajectory_ratio")}]}
    calibration = [x for r in latest if r["kind"] == "calibration" and r["status"] == "ok"
                   for x in r["step_seconds"]]
    return {"schema": SCHEMA, "format": FORMAT, "profile": profile, "profile_digest": digest,
            "environment": _identity_env(run_records or latest), "sources": [source],
            "calibration_seconds": [calibration],
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "configurations": configurations}


def combine(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of one profile on one machine as one baseline: run i of every configuration
    comes from the same sweep (None where that sweep lacks it), so ratios pair within a run."""
    if len(summaries) == 1:
        return summaries[0]
    first = summaries[0]
    for s in summaries[1:]:
        for field in ("profile", "profile_digest", "environment"):
            if s[field] != first[field]:
                raise BenchError(f"a baseline combines runs of one profile on one machine: "
                                 f"{s['sources'][0]} has {field} {s[field]!r}, "
                                 f"{first['sources'][0]} has {first[field]!r}")
    names = sorted({n for s in summaries for n in s["configurations"]})
    configurations: dict[str, dict] = {}
    for name in names:
        entries = [(s["configurations"].get(name), run_count(s)) for s in summaries]
        present = [e for e, _ in entries if e is not None]
        keys = {e["key"] for e in present}
        if len(keys) != 1:
            raise BenchError(f"{name}: the runs have different settings (keys {sorted(keys)}); "
                             f"combine runs of the same code and profile")
        fixed = {k: v for k, v in present[0].items() if k != "runs"}
        configurations[name] = {**fixed, "runs": [run for e, n in entries
                                                  for run in (e["runs"] if e else [None] * n)]}
    return {**{k: v for k, v in first.items() if k != "created"},
            "sources": [src for s in summaries for src in s["sources"]],
            "calibration_seconds": [c for s in summaries for c in s["calibration_seconds"]],
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "configurations": configurations}


def load_summary(path: Path) -> dict[str, Any]:
    """A committed baseline (.json summary) or a results file (.jsonl[.gz], summarised here)."""
    path = Path(path)
    if not path.exists():
        raise BenchError(f"{path} does not exist")
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return summarise(store.read_records(path), str(path))
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BenchError(f"baseline {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict) or not {"profile", "configurations"} <= set(data):
        raise BenchError(f"{path} is not an accumbench baseline (no profile/configurations)")
    if data.get("schema") == SCHEMA and data.get("format") == 2:
        return _from_format_2(data)
    if data.get("schema") != SCHEMA or data.get("format", 1) != FORMAT:
        raise BenchError(f"baseline {path} has schema {data.get('schema', 1)} format "
                         f"{data.get('format', 1)}, this accumbench writes {SCHEMA} format "
                         f"{FORMAT}: re-create it (make baseline)")
    return data


def _from_format_2(data: dict[str, Any]) -> dict[str, Any]:
    """A baseline written before rounds: each run's one process is its one round."""
    for entry in data["configurations"].values():
        for run in entry["runs"]:
            if run is not None and "update_seconds" in run:
                seconds = run.pop("update_seconds")
                run["rounds"] = [seconds] if seconds else []
    return {**data, "format": FORMAT}


def load_runs(paths: list[Path]) -> dict[str, Any]:
    """One summary from several results files or summaries (runs of one profile, one machine)."""
    return combine([load_summary(p) for p in paths])


def baseline_for(path: Path, current: dict[str, Any]) -> tuple[Path, str]:
    """The baseline file to check `current` against, and why that one.

    `path` is a baseline file, or a folder of baselines of one profile, one per machine
    identity (`make baseline` names each by its identity): the one of the current run's
    identity if there is one, else the newest, which the check then compares only on what
    does not depend on the machine."""
    path = Path(path)
    if not path.is_dir():
        return path, "the baseline given"
    candidates = sorted(path.glob("*.json"))
    if not candidates:
        raise BenchError(f"{path} holds no baseline (.json); write one with make baseline")
    mine = machine.of_environment(current.get("environment"))
    summaries = {p: load_summary(p) for p in candidates}
    for p, s in summaries.items():
        if mine and not machine.differences(machine.of_environment(s.get("environment")), mine):
            return p, "the baseline of this machine identity"
    newest = max(candidates, key=lambda p: summaries[p].get("created", ""))
    return newest, (f"no baseline of this machine identity among {len(candidates)} in {path}; "
                    f"the newest")


def baseline_path(target: Path, summary: dict[str, Any]) -> Path:
    """Where `--write-baseline TARGET` writes: TARGET itself, or, for a folder, a file named by
    the runs' machine identity."""
    target = Path(target)
    if target.is_dir() or str(target).endswith("/"):
        return target / f"{machine.slug(machine.of_environment(summary.get('environment')))}.json"
    return target


def run_count(summary: dict[str, Any]) -> int:
    return len(summary["calibration_seconds"])
