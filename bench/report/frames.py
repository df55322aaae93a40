"""Stored records -> pandas frames: one row per measured run, one per equivalence combination."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.results import store


def load(paths: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    records = []
    for path in paths:
        if not Path(path).exists():
            raise BenchError(f"results file {path} does not exist (run the sweep first: make bench)")
        records += store.read(Path(path))
    if not records:
        raise BenchError(f"no results in {', '.join(map(str, paths))}")
    latest = list(store.latest_by_key(records).values())
    runs = pd.DataFrame([_run_row(r) for r in latest if r["kind"] == "run"])
    eq = pd.DataFrame([_eq_row(r) for r in latest if r["kind"] == "equivalence"])
    return runs, eq, latest


def _run_row(r: dict) -> dict:
    c = r["config"]
    row = {
        "model": c["model"], "strategy": c["strategy"], "effective_batch": c["effective_batch"],
        "micro": c["micro"], "accum": c["accum"], "pair": c["pair"], "seed": c["seed"],
        "replicas": c.get("replicas", 1), "epochs": c.get("epochs"), "status": r["status"],
        "error": r.get("error"), "dataset": r.get("dataset", {}).get("label"),
        "dataset_name": r.get("dataset", {}).get("name", c.get("dataset")),
        "real_data": r.get("dataset", {}).get("real"),
        "device": r.get("environment", {}).get("device"),
        "throughput": r.get("throughput_samples_per_s"),
        "throughput_iqr": r.get("throughput", {}).get("iqr_relative"),
        "final_test_accuracy": r.get("final_test_accuracy"),
        "final_test_loss": r.get("final_test_loss"),
        "updates": r.get("updates"), "wall_seconds": r.get("wall_seconds"),
        "parameters": r.get("model_state", {}).get("parameters"),
        "profile": r.get("profile"), "sweep_item": r.get("sweep_item"),
    }
    for name, m in (r.get("memory") or {}).items():
        row[f"mem_{name}"] = m.get("peak_bytes") if m.get("available") else None
    for name, v in (r.get("model_state") or {}).items():
        row[f"state_{name}"] = v
    return row


def _eq_row(r: dict) -> dict:
    return {k: r.get(k) for k in (
        "model", "strategy", "effective_batch", "micro", "accum", "pair", "dtype", "lr_schedule",
        "updates", "verdict", "gradient_rel_error", "gradient_max_variable_rel_error",
        "gradient_tolerance", "trajectory_ratio", "profile", "sweep_item")} | {
        "reasons": " / ".join(r.get("reasons") or []),
        "gradient_level": (r.get("levels") or {}).get("gradient"),
        "trajectory_level": (r.get("levels") or {}).get("trajectory"),
        "dataset": (r.get("dataset") or {}).get("label")}


def short_label(label: str) -> str:
    """A provenance label without its notes: "Fashion-MNIST (real, 2,560 train / 2,000 test)"."""
    head = label.split(";")[0]
    return head + ")" if head.count("(") > head.count(")") else head


def memory_probes(runs: pd.DataFrame) -> list[str]:
    """Probes that produced at least one reading, in a fixed order."""
    order = ["tf_allocator", "nvml", "process_rss"]
    return [p for p in order if f"mem_{p}" in runs and runs[f"mem_{p}"].notna().any()]
