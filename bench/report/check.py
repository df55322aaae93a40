"""Regression check: compare a run of a profile with a baseline of the same profile.

What is gated, and how (defaults; all overridable):
- status: a configuration that was `ok` and is not any more;
- peak memory per probe (tight: memory readings repeat closely) — regression if
  current > baseline x (1 + memory_rel) + memory_abs;
- throughput as the ratio to the large batch measured in the same run (ratios cancel most of a
  noisy machine's drift) — regression if current < baseline x (1 - allowed), where allowed is
  throughput_rel, widened to twice the runs' own spread (relative IQR of the configuration's and
  its large batch's update times, the larger of baseline and current) when that is wider, at most
  60%;
- final test accuracy — regression if current < baseline - accuracy_abs;
- level-1 gradient error (absolute bound) — regression if a strategy the baseline found
  equivalent now exceeds its dtype's tolerance, or any verdict changes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tabulate import tabulate

from bench.equivalence.gradient import TOLERANCE
from bench.errors import BenchError
from bench.results import store

MIB = 2**20


@dataclass(frozen=True)
class Tolerances:
    memory_rel: float = 0.15
    memory_abs: int = 16 * MIB
    throughput_rel: float = 0.35
    accuracy_abs: float = 0.05


def summarise(records: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """The comparable metrics of one sweep, keyed by configuration."""
    latest = list(store.latest_by_key(records).values())
    profiles = {(r.get("profile"), r.get("profile_digest")) for r in latest}
    if len(profiles) != 1 or None in next(iter(profiles)):
        raise BenchError(f"{source}: expected the results of one sweep profile, found "
                         f"{sorted(str(p) for p in profiles)}")
    (profile, digest), = profiles
    runs = [r for r in latest if r["kind"] == "run"]
    lb = {(r["config"]["model"], r["config"]["effective_batch"], r["config"]["seed"]): r
          for r in runs if r["config"]["strategy"] == "large_batch" and r["status"] == "ok"}
    metrics: dict[str, dict] = {}
    for r in runs:
        c = r["config"]
        ref = lb.get((c["model"], c["effective_batch"], c["seed"]))
        thr = r.get("throughput_samples_per_s")
        ratio = noise = None
        if thr and ref and c["strategy"] != "large_batch":
            ratio = thr / ref["throughput_samples_per_s"]
            noise = (r["throughput"].get("iqr_relative", 0.0)
                     + ref["throughput"].get("iqr_relative", 0.0))
        metrics[f"{c['model']}-{c['strategy']}-{c['pair']}-seed{c['seed']}"] = {
            "status": r["status"],
            "memory": {n: m["peak_bytes"] for n, m in (r.get("memory") or {}).items()
                       if m.get("available") and m.get("peak_bytes") is not None},
            "throughput_ratio": ratio, "throughput_noise": noise,
            "accuracy": r.get("final_test_accuracy")}
    for e in (r for r in latest if r["kind"] == "equivalence"):
        metrics[f"{e['model']}-{e['strategy']}-{e['pair']}-{e.get('dtype')}-{e.get('lr_schedule')}"] = {
            "verdict": e["verdict"], "gradient_rel_error": e.get("gradient_rel_error"),
            "dtype": e.get("dtype")}
    devices = {r.get("environment", {}).get("device") for r in runs if r.get("environment")}
    return {"profile": profile, "profile_digest": digest, "device": ", ".join(sorted(devices)),
            "source": source, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "metrics": metrics}


def load_summary(path: Path) -> dict[str, Any]:
    """A committed baseline (.json summary) or a results file (.jsonl, summarised here)."""
    path = Path(path)
    if not path.exists():
        raise BenchError(f"{path} does not exist")
    if path.suffix == ".jsonl":
        return summarise(store.read(path), str(path))
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BenchError(f"baseline {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict) or not {"profile", "profile_digest", "metrics"} <= set(data):
        raise BenchError(f"{path} is not an accumbench baseline (no profile/metrics)")
    return data


def compare(baseline: dict, current: dict, tol: Tolerances = Tolerances(),
            allow_device_change: bool = False) -> tuple[list[list], int]:
    """Rows of what moved, and the number of regressions."""
    if baseline["profile"] != current["profile"]:
        raise BenchError(f"the baseline is from profile {baseline['profile']!r}, the current results "
                         f"from {current['profile']!r}: compare runs of the same profile")
    if baseline["profile_digest"] != current["profile_digest"]:
        raise BenchError(f"the baseline and the current run used different settings of profile "
                         f"{current['profile']!r} (digest {baseline['profile_digest']} vs "
                         f"{current['profile_digest']}): re-create the baseline")
    if baseline.get("device") != current.get("device") and not allow_device_change:
        raise BenchError(f"the baseline was measured on {baseline.get('device')!r}, the current "
                         f"run on {current.get('device')!r}: memory and speed do not compare "
                         f"(--allow-device-change to compare anyway)")
    rows, regressions = [], 0

    def add(config, metric, old, new, limit, bad, fmt="{:.3g}"):
        nonlocal regressions
        regressions += bool(bad)
        show = lambda v: "—" if v is None else (fmt.format(v) if not isinstance(v, str) else v)  # noqa: E731
        rows.append([config, metric, show(old), show(new), limit, "REGRESSION" if bad else "ok"])

    b, c = baseline["metrics"], current["metrics"]
    for config in sorted(set(b) | set(c)):
        if config not in c:
            add(config, "present", "yes", "missing", "must run", True)
            continue
        if config not in b:
            add(config, "present", "new", "yes", "", False)
            continue
        old, new = b[config], c[config]
        if "status" in old:
            if old["status"] != new["status"]:
                add(config, "status", old["status"], new["status"], "ok stays ok",
                    old["status"] == "ok")
            for probe, peak in old.get("memory", {}).items():
                cur = new.get("memory", {}).get(probe)
                limit = peak * (1 + tol.memory_rel) + tol.memory_abs
                if cur is None or abs(cur - peak) > 0.05 * peak:
                    add(config, f"peak MiB [{probe}]", peak / MIB, None if cur is None else cur / MIB,
                        f"<= {limit / MIB:.1f}", cur is not None and cur > limit, "{:.1f}")
            o, n = old.get("throughput_ratio"), new.get("throughput_ratio")
            if o and n and abs(n - o) > 0.05 * o:
                noise = max(old.get("throughput_noise") or 0.0, new.get("throughput_noise") or 0.0)
                allowed = min(max(tol.throughput_rel, 2 * noise), 0.6)
                add(config, "throughput / LB", o, n, f">= {o * (1 - allowed):.2f}",
                    n < o * (1 - allowed), "{:.2f}")
            o, n = old.get("accuracy"), new.get("accuracy")
            if o is not None and n is not None and abs(n - o) > 0.005:
                add(config, "test accuracy", o, n, f">= {o - tol.accuracy_abs:.3f}",
                    n < o - tol.accuracy_abs, "{:.4f}")
        else:
            if old["verdict"] != new["verdict"]:
                add(config, "verdict", old["verdict"], new["verdict"], "unchanged", True)
            err = new.get("gradient_rel_error")
            bound = TOLERANCE.get(new.get("dtype") or "float32", 1e-5)
            if old["verdict"] == "equivalent" and err is not None and err > bound:
                add(config, "L1 gradient error", old.get("gradient_rel_error"), err,
                    f"<= {bound:.0e}", True, "{:.1e}")
    return rows, regressions


def render(rows: list[list], regressions: int, baseline: dict, current: dict) -> str:
    head = (f"profile {current['profile']} ({current['profile_digest']}) on {current.get('device')}: "
            f"{len(current['metrics'])} configurations vs baseline {baseline.get('source', '')} "
            f"({baseline.get('created', '?')})")
    table = tabulate(rows, ["configuration", "metric", "baseline", "current", "limit", "result"],
                     disable_numparse=True) if rows else "nothing moved beyond display thresholds"
    verdict = (f"{regressions} regression(s)" if regressions else "no regressions")
    return f"{head}\n\n{table}\n\n{verdict}"
