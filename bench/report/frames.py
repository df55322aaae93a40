"""Stored records -> what a report shows. Reads results; never trains.

One results file holds one profile as it was last set (the sweep moves other records aside),
so a report reads the records of exactly one profile and digest, and refuses a mix.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.config.names import probe_order
from bench.errors import BenchError
from bench.results import machine, store


def write_compressed(records: list[dict[str, Any]], path: Path) -> None:
    text = "".join(store.dumps(r) + "\n" for r in records)
    path.write_bytes(gzip.compress(text.encode(), mtime=0))


@dataclass
class Results:
    records: list[dict[str, Any]]
    plan: dict[str, Any] | None
    sessions: list[dict[str, Any]]
    runs: pd.DataFrame
    eq: pd.DataFrame
    profile: str
    digest: str
    declared: list[dict[str, Any]] = field(default_factory=list)

    def settings(self, model: str, section: str) -> dict[str, Any]:
        if not self.plan:
            return {}
        return ((self.plan["settings"]["models"].get(model) or {}).get(section)) or {}

    def model_settings(self, model: str) -> dict[str, Any]:
        return (self.plan["settings"]["models"].get(model) or {}) if self.plan else {}

    @property
    def models(self) -> list[str]:
        if self.plan:
            return list(self.plan["settings"]["models"])
        seen = list(self.runs.model) if len(self.runs) else []
        seen += list(self.eq.model) if len(self.eq) else []
        return list(dict.fromkeys(seen))

    @property
    def device(self) -> str:
        """The machine every figure and time of this report was measured on: its identity
        (CPU family and instruction set; a name alone is shared by different cores) when the
        records carry one, else the device names they give."""
        labels = set(self.runs["machine"].dropna()) if len(self.runs) else set()
        if len(labels) == 1 and self.runs["machine"].notna().all():
            return next(iter(labels)).split(" [identity")[0]
        if len(self.machines()) > 1:
            return f"{len(self.machines())} machine identities (the facts name each)"
        devices = sorted(set(self.runs["device"].dropna())) if len(self.runs) else []
        return ", ".join(devices) or "unknown device"

    @property
    def rounds(self) -> int:
        """Processes behind each speed figure (1: one process, no rerun interval): the speed
        processes where the profile has them, else the measure runs' rounds."""
        if not len(self.runs):
            return 1
        speed = self.runs[self.runs.phase == "speed"]
        measured = speed if len(speed) else self.runs[self.runs.phase == "measure"]
        return int(measured["round"].max()) if len(measured) else 1

    @property
    def measure_rounds(self) -> int:
        """Processes per configuration of the measure runs (memory, the first update)."""
        if not len(self.runs):
            return 1
        measured = self.runs[self.runs.phase == "measure"]
        return int(measured["round"].max()) if len(measured) else 1

    @property
    def rerun_intervals(self) -> bool:
        """Whether speed ratios carry rerun intervals: two processes or more, or one process
        timed side by side in two rounds of blocks or more (bench.report.rows)."""
        side_by_side = self.interleaving
        return self.rounds > 1 or bool(side_by_side and side_by_side.get("rounds", 0) > 1)

    @property
    def interleaving(self) -> dict[str, Any] | None:
        """How speed was timed side by side (a speed record's `interleaving`), or None: the
        measure runs' own update times."""
        return next((r["interleaving"] for r in self.records if r.get("interleaving")), None)

    def machines(self) -> list[tuple[str, int]]:
        """Each machine identity (`bench.results.machine.label`) that ran configurations here,
        with its number of runs: speed and memory compare only within one identity."""
        if not len(self.runs):
            return []
        counts = self.runs["machine"].fillna(self.runs["device"].fillna("unknown device")
                                             + " [identity unknown]").value_counts()
        return [(str(k), int(v)) for k, v in counts.items()]

    def environment(self) -> dict[str, Any]:
        return next((r["environment"] for r in self.records if r.get("environment")), {})

    def probes(self) -> list[str]:
        """Probes that produced at least one reading, in order of preference."""
        return [p for p in probe_order()
                if f"mem_{p}" in self.runs and self.runs[f"mem_{p}"].notna().any()]


def load(paths: list[Path]) -> Results:
    records = []
    for path in paths:
        records += store.read_records(Path(path))
    if not records:
        raise BenchError(f"no results in {', '.join(map(str, paths))}")
    return from_records(records)


def from_records(records: list[dict[str, Any]]) -> Results:
    """The records of one profile run, checked and tabulated."""
    plans = [r for r in records if r["kind"] == "plan"]
    data = [r for r in records if r["kind"] in ("run", "equivalence")]
    profiles = {(r.get("profile"), r.get("profile_digest")) for r in data + plans}
    if len(profiles) != 1:
        raise BenchError("these results mix profiles or settings "
                         f"({', '.join(sorted(f'{p} {d}' for p, d in profiles))}); a report shows "
                         "one profile run: re-run the sweep (it moves stale records aside)")
    (profile, digest), = profiles
    latest = list(store.by_key(data).values())
    runs = pd.DataFrame([_run_row(r) for r in latest if r["kind"] == "run"])
    eq = pd.DataFrame([_eq_row(r) for r in latest if r["kind"] == "equivalence"])
    plan = plans[-1] if plans else None
    sessions = [r for r in records if r["kind"] == "session" and r.get("profile") == profile]
    declared = [c for item in (plan or {}).get("items", []) for c in
                [{**x, "phase": item["phase"], "model": item["model"]} for x in item["configurations"]]]
    return Results(latest, plan, sessions, runs, eq, profile or "?", digest or "?", declared)


def _machine_label(environment: dict | None) -> str | None:
    identity = machine.of_environment(environment)
    return f"{machine.label(identity)} [identity {identity['id']}]" if identity else None


def held_bytes(record: dict) -> int | None:
    """Weights + optimizer slots + accumulators, in bytes (None for records without them)."""
    state = record.get("model_state")
    if not state:
        return None
    return sum(int(state.get(k) or 0) for k in ("weights", "optimizer_slots", "accumulators"))


def _run_row(r: dict) -> dict:
    c, t = r["config"], r.get("throughput") or {}
    state = r.get("model_state") or {}
    row = {
        "name": r["id"]["name"], "group": r["id"]["group"], "key": r["id"]["key"],
        "phase": c.get("purpose", "measure"), "model": c["model"], "strategy": c["strategy"],
        "effective_batch": c["effective_batch"], "micro": c["micro"], "accum": c["accum"],
        "pair": c["pair"], "seed": c["seed"], "replicas": c.get("replicas", 1),
        "round": c.get("round", 1),
        "status": r["status"], "error": r.get("error"),
        "dataset": (r.get("dataset") or {}).get("label"),
        "dataset_name": (r.get("dataset") or {}).get("name", c.get("dataset")),
        "real_data": (r.get("dataset") or {}).get("real"),
        "majority": (r.get("dataset") or {}).get("test_majority_rate"),
        "achievable": (r.get("dataset") or {}).get("achievable_accuracy"),
        "device": (r.get("environment") or {}).get("device"),
        "machine": _machine_label(r.get("environment")),
        "throughput": r.get("throughput_samples_per_s"), "iqr": t.get("iqr_relative"),
        "accuracy": r.get("final_test_accuracy"), "auc": r.get("final_test_auc"),
        "updates": r.get("updates"), "initial_sha": (r.get("pairing") or {}).get("initial_weights_sha"),
        "order_sha": (r.get("pairing") or {}).get("data_order_sha"),
        "held_bytes": held_bytes(r),
        "accumulator_bytes": state.get("accumulators"), "parameters": state.get("parameters"),
        "seconds_updates": (r.get("seconds") or {}).get("updates"),
        "seconds_evaluation": (r.get("seconds") or {}).get("evaluation"),
        "seconds_total": (r.get("seconds") or {}).get("total"),
        "threads": r.get("threads"), "variant": variant_of(c.get("precision"), c.get("jit")),
    }
    for name, m in (r.get("memory") or {}).items():
        row[f"mem_{name}"] = m.get("peak_bytes") if m.get("available") else None
    return row


def _eq_row(r: dict) -> dict:
    return {k: r.get(k) for k in (
        "model", "strategy", "effective_batch", "micro", "accum", "pair", "dtype", "lr_schedule",
        "updates", "status", "verdict", "gradient_rel_error", "gradient_max_variable_rel_error",
        "gradient_tolerance", "trajectory_ratio")} | {
        "name": r["id"]["name"], "reasons": " / ".join(r.get("reasons") or []),
        "jit": ":jit:" in r["id"]["name"], "ema": (r.get("ema") or {}).get("momentum"),
        "partial_window": r.get("partial_window") is not None,
        "gradient_level": (r.get("levels") or {}).get("gradient"),
        "trajectory_level": (r.get("levels") or {}).get("trajectory"),
        "dataset": (r.get("dataset") or {}).get("label"),
        "test_samples": (r.get("dataset") or {}).get("n_test")}


def variant_of(precision: str | None, jit: bool | None) -> str:
    """How a run differs from plain float32 eager-graph training: "" (it does not),
    "mixed_float16", "XLA", "mixed_bfloat16 + XLA"."""
    parts = [precision] if precision not in (None, "float32") else []
    return " + ".join(parts + (["XLA"] if jit else []))


def short_label(label: str | None) -> str:
    """A provenance label without its notes: "Fashion-MNIST (real, 2,560 train / 2,000 test)"."""
    if not label:
        return "?"
    head = label.split(";")[0]
    return head + ")" if head.count("(") > head.count(")") else head


def steady_seconds(record: dict) -> np.ndarray:
    """A measure run's update times after its warm-up."""
    skip = (record.get("throughput") or {}).get("warmup_updates", 0)
    return np.asarray(record.get("update_seconds", [])[skip:], dtype=np.float64)
