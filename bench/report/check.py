"""Regression check: compare a sweep with a baseline of the same profile (asv's compare is the
model: this module classifies, the caller picks the exit code).

Configurations are matched by name; the same name with another key is the same configuration
with changed settings: *not comparable* (reported, never gated). Gates, each a small rule:

- status: a configuration that succeeded and now fails or is missing;
- speed, per configuration, from its steady-state update times divided by the calibration
  step timed in the same sweep (a plain Keras step that uses none of the harness's code, so a
  slower harness still shows while a slower or busier machine does not): slower when a
  one-sided Mann-Whitney test finds the current times larger (p < 0.01) *and* the median grew
  by more than a factor: `speed_same` on the baseline's machine (device and allocator
  identical), `speed_calibrated` on another. Raw times only for a sweep without a calibration
  step, on the same machine; the output says which basis was used;
- speed relative to the large batch of the same run (machine-independent): the ratio may not
  drop by more than `ratio_drop`;
- memory saving: an accumulating configuration's peak as a share of its large batch's peak may
  not rise by more than `saving_rise` (it cannot quietly lose what accumulation is for); on
  another machine only for allocator probes (process RSS holds per-thread memory: measured on a
  1-core run of the 2-core baseline, the CNN's RSS share at 16x8 moved from 0.45 to 0.62 while
  the allocator's share did not move beyond the limit);
- memory peak (same machine only), for the first probe that measured (tf_allocator, nvml,
  process_rss — the report's order): process RSS moved by ~28 MiB between two checkouts on one
  machine, the allocator's peaks did not;
- level 1: a verdict change, or the gradient error rising `l1_factor`-fold (from at least
  1e-7) even while under the tolerance;
- outcome accuracy (outcome runs only): a drop larger than `accuracy_z` binomial standard
  errors of the two test-set estimates — on a small test set that is wide, by design.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from bench.errors import BenchError
from bench.report.frames import read_records, steady_seconds
from bench.results import store
from bench.results.identity import SCHEMA

MIB = 2**20
PROBE_ORDER = ("tf_allocator", "nvml", "process_rss")  # the report's order too


@dataclass(frozen=True)
class Tolerances:
    # measured on the quick profile, clean runs on one machine (AMD EPYC, 2 cores): calibrated
    # median update times moved by 0.71-1.50x (raw: up to 1.63x on a busier day), allocator
    # peaks by -3.6..+6.8%, process RSS by up to +10% (+13.5 MiB); the limits leave room
    speed_same: float = 1.60        # calibrated median update time factor, same machine
    speed_calibrated: float = 1.80  # calibrated median factor, another machine
    speed_p: float = 0.01           # Mann-Whitney one-sided p-value
    ratio_drop: float = 0.35        # relative drop of samples/s as a share of the large batch's
    saving_rise: float = 0.10       # rise of peak / large batch's peak (absolute, e.g. 0.45 -> 0.55)
    memory_rel: float = 0.10        # same machine: allocator peak growth (+2 MiB)
    rss_rel: float = 0.15           # same machine: process RSS growth (+16 MiB)
    l1_factor: float = 5.0
    accuracy_z: float = 3.0

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


# -- statistics ----------------------------------------------------------------------------------
def mann_whitney_greater(x, y) -> float:
    """One-sided p-value for "x tends to be larger than y" (normal approximation with tie
    correction and continuity correction)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        return 1.0
    both = np.concatenate([x, y])
    order = np.argsort(both, kind="mergesort")
    ranks = np.empty(len(both))
    sorted_values = both[order]
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2.0
    n = n1 + n2
    ties = float(np.sum(counts ** 3 - counts))
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1))))
    if sigma == 0:
        return 1.0
    z = (u - n1 * n2 / 2.0 - 0.5) / sigma
    return 0.5 * math.erfc(z / math.sqrt(2))


# -- summaries (what a baseline stores) ----------------------------------------------------------
def _identity_env(records: list[dict]) -> dict[str, Any]:
    env = next((r["environment"] for r in records if r.get("environment")), {})
    return {k: env.get(k) for k in ("device", "cpu_model", "usable_cpus", "gpus", "cpu_allocator",
                                    "tensorflow", "keras")}


def summarise(records: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """The comparable figures of one sweep, keyed by configuration name."""
    data = [r for r in records if r["kind"] in ("run", "equivalence", "calibration")]
    latest = list(store.by_key(data).values())
    profiles = {(r.get("profile"), r.get("profile_digest")) for r in latest}
    if len(profiles) != 1 or None in next(iter(profiles)):
        raise BenchError(f"{source}: expected the results of one sweep profile, found "
                         f"{sorted(str(p) for p in profiles)}")
    (profile, digest), = profiles
    runs = [r for r in latest if r["kind"] == "run"]
    large = {(r["config"]["model"], r["config"]["effective_batch"], r["config"]["seed"],
              r["config"].get("purpose", "measure")): r["id"]["name"]
             for r in runs if r["config"]["strategy"] == "large_batch"}
    configurations: dict[str, dict] = {}
    for r in runs:
        c = r["config"]
        purpose = c.get("purpose", "measure")
        steady = steady_seconds(r).tolist() if r["status"] == "ok" else []
        configurations[r["id"]["name"]] = {
            "kind": "run", "key": r["id"]["key"], "status": r["status"], "purpose": purpose,
            "model": c["model"], "strategy": c["strategy"], "pair": c["pair"], "accum": c["accum"],
            "reference": large.get((c["model"], c["effective_batch"], c["seed"], purpose)),
            "update_seconds": steady,
            "memory": {n: m["peak_bytes"] for n, m in (r.get("memory") or {}).items()
                       if m.get("available") and m.get("peak_bytes") is not None},
            "accuracy": r.get("final_test_accuracy"),
            "test_samples": (r.get("dataset") or {}).get("n_test")}
    for e in (r for r in latest if r["kind"] == "equivalence"):
        configurations[e["id"]["name"]] = {
            "kind": "equivalence", "key": e["id"]["key"], "status": e["status"],
            "verdict": e["verdict"], "gradient_rel_error": e.get("gradient_rel_error"),
            "trajectory_ratio": e.get("trajectory_ratio"), "dtype": e.get("dtype")}
    calibration = [x for r in latest if r["kind"] == "calibration" and r["status"] == "ok"
                   for x in r["step_seconds"]]
    return {"schema": SCHEMA, "profile": profile, "profile_digest": digest,
            "environment": _identity_env(runs or latest),
            "calibration_seconds": calibration, "source": source,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "configurations": configurations}


def load_summary(path: Path) -> dict[str, Any]:
    """A committed baseline (.json summary) or a results file (.jsonl[.gz], summarised here)."""
    path = Path(path)
    if not path.exists():
        raise BenchError(f"{path} does not exist")
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return summarise(read_records(path), str(path))
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BenchError(f"baseline {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict) or not {"profile", "configurations"} <= set(data):
        raise BenchError(f"{path} is not an accumbench baseline (no profile/configurations)")
    if data.get("schema") != SCHEMA:
        raise BenchError(f"baseline {path} has schema {data.get('schema', 1)}, this accumbench "
                         f"writes {SCHEMA}: re-create it (make baseline)")
    return data


# -- comparison ----------------------------------------------------------------------------------
@dataclass
class Finding:
    configuration: str
    metric: str
    baseline: str
    current: str
    limit: str
    result: str   # ok | REGRESSION | not comparable | new | info
    basis: str = ""


def same_machine(baseline: dict, current: dict) -> bool:
    a, b = baseline.get("environment") or {}, current.get("environment") or {}
    return all(a.get(k) == b.get(k) for k in ("device", "cpu_allocator"))


def compare(baseline: dict, current: dict, tol: Tolerances = Tolerances()) -> list[Finding]:
    if baseline["profile"] != current["profile"]:
        raise BenchError(f"the baseline is from profile {baseline['profile']!r}, the current results "
                         f"from {current['profile']!r}: compare runs of the same profile")
    same = same_machine(baseline, current)
    cal_b = np.median(baseline.get("calibration_seconds") or [np.nan])
    cal_c = np.median(current.get("calibration_seconds") or [np.nan])
    out: list[Finding] = []
    b, c = baseline["configurations"], current["configurations"]
    for name in sorted(set(b) | set(c)):
        old, new = b.get(name), c.get(name)
        if new is None:
            ok_before = old.get("status") == "ok"
            out.append(Finding(name, "present", "yes", "missing", "must run",
                               "REGRESSION" if ok_before else "info"))
            continue
        if old is None:
            out.append(Finding(name, "present", "new", "yes", "", "new"))
            continue
        if old["key"] != new["key"]:
            out.append(Finding(name, "settings", old["key"], new["key"], "same key",
                               "not comparable"))
            continue
        if old["status"] != new["status"]:
            out.append(Finding(name, "status", old["status"], new["status"], "ok stays ok",
                               "REGRESSION" if old["status"] == "ok" else "info"))
        if old["status"] != "ok" or new["status"] != "ok":
            continue
        if old["kind"] == "run":
            out += _run_findings(name, old, new, b, c, same, cal_b, cal_c, tol)
        else:
            out += _equivalence_findings(name, old, new, tol)
    return out


def _run_findings(name, old, new, b, c, same, cal_b, cal_c, tol) -> list[Finding]:
    out = []
    if old["purpose"] == "measure" and old["update_seconds"] and new["update_seconds"]:
        x, y = np.asarray(new["update_seconds"]), np.asarray(old["update_seconds"])
        machine, factor = (("same machine", tol.speed_same) if same else
                           ("another machine", tol.speed_calibrated))
        if np.isfinite(cal_b) and np.isfinite(cal_c):
            basis = f"{machine}: update times / calibration step"
            x, y = x / cal_c, y / cal_b
        else:  # a sweep without its calibration step: raw times, on the same machine only
            basis = "same machine: raw update times" if same else None
        if basis:
            ratio = float(np.median(x) / np.median(y))
            p = mann_whitney_greater(x, y)
            bad = ratio > factor and p < tol.speed_p
            out.append(Finding(name, "median update time", f"{np.median(y):.4g}",
                               f"{np.median(x):.4g} ({ratio:.2f}x, p={p:.1g})",
                               f"<= {factor:.2f}x or p >= {tol.speed_p}",
                               "REGRESSION" if bad else "ok", basis))
        ref_old, ref_new = b.get(old.get("reference") or ""), c.get(new.get("reference") or "")
        if (old["strategy"] != "large_batch" and ref_old and ref_new
                and ref_old.get("update_seconds") and ref_new.get("update_seconds")):
            r_old = np.median(ref_old["update_seconds"]) / np.median(old["update_seconds"])
            r_new = np.median(ref_new["update_seconds"]) / np.median(new["update_seconds"])
            bad = r_new < r_old * (1 - tol.ratio_drop)
            out.append(Finding(name, "speed / large batch", f"{r_old:.2f}", f"{r_new:.2f}",
                               f">= {r_old * (1 - tol.ratio_drop):.2f}",
                               "REGRESSION" if bad else "ok", "within each run"))
        ref_mem_old = (ref_old or {}).get("memory") or {}
        ref_mem_new = (ref_new or {}).get("memory") or {}
        # the first probe that measured (as in the report): allocator counters where they exist.
        # Process RSS is not gated beside them: a fresh clone on the baseline's own machine read
        # every configuration's RSS peak ~28 MiB higher while the allocator's did not move
        primary = next((p for p in PROBE_ORDER if p in old["memory"]), None)
        for probe, peak in old["memory"].items():
            cur = new["memory"].get(probe)
            if cur is None or probe != primary:
                continue
            # process RSS includes per-thread memory (TensorFlow's pools grow with the cores),
            # so its ratios move between machines: gated on the baseline's machine only
            machine_free = same or probe != "process_rss"
            if (old["accum"] > 1 and machine_free and ref_mem_old.get(probe)
                    and ref_mem_new.get(probe)):
                s_old, s_new = peak / ref_mem_old[probe], cur / ref_mem_new[probe]
                # a rise of saving_rise, or of half the saving where the saving is small (0.92
                # may not become 1.0: that is the whole saving lost)
                allowed = s_old + min(tol.saving_rise, max(0.0, 1 - s_old) / 2)
                bad = s_new > allowed
                out.append(Finding(name, f"peak / large batch [{probe}]", f"{s_old:.2f}",
                                   f"{s_new:.2f}", f"<= {allowed:.2f}",
                                   "REGRESSION" if bad else "ok", "within each run"))
            if same:
                rel, slack = ((tol.memory_rel, 2 * MIB) if probe == "tf_allocator"
                              else (tol.rss_rel, 16 * MIB))
                limit = peak * (1 + rel) + slack
                out.append(Finding(name, f"peak MiB [{probe}]", f"{peak / MIB:.1f}",
                                   f"{cur / MIB:.1f}", f"<= {limit / MIB:.1f}",
                                   "REGRESSION" if cur > limit else "ok", "same machine"))
    if old["purpose"] == "outcome" and old.get("accuracy") is not None and new.get("accuracy") is not None:
        p0, p1 = old["accuracy"], new["accuracy"]
        n0, n1 = old.get("test_samples") or 1, new.get("test_samples") or 1
        se = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
        limit = p0 - max(0.01, tol.accuracy_z * se)
        out.append(Finding(name, "test accuracy", f"{p0:.4f}", f"{p1:.4f}", f">= {limit:.4f}",
                           "REGRESSION" if p1 < limit else "ok",
                           f"{tol.accuracy_z:g} standard errors of {n1} test samples"))
    return out


def _equivalence_findings(name, old, new, tol) -> list[Finding]:
    out = []
    if old["verdict"] != new["verdict"]:
        out.append(Finding(name, "verdict", old["verdict"], new["verdict"], "unchanged",
                           "REGRESSION"))
    e0, e1 = old.get("gradient_rel_error"), new.get("gradient_rel_error")
    if e0 is not None and e1 is not None:
        limit = max(e0, 1e-7 if old.get("dtype") != "float64" else 1e-15) * tol.l1_factor
        out.append(Finding(name, "L1 gradient error", f"{e0:.2e}", f"{e1:.2e}",
                           f"<= {limit:.1e}", "REGRESSION" if e1 > limit else "ok"))
    return out


def render(findings: list[Finding], baseline: dict, current: dict, verbose: bool = False) -> str:
    same = same_machine(baseline, current)
    env_b, env_c = baseline.get("environment") or {}, current.get("environment") or {}
    head = [f"profile {current['profile']}: {len(current['configurations'])} configurations, "
            f"current on {env_c.get('device')} ({env_c.get('cpu_allocator')} allocator) vs "
            f"baseline {baseline.get('source', '')} on {env_b.get('device')} "
            f"({env_b.get('cpu_allocator')} allocator)",
            "speed compared as: update times / the calibration step timed in each sweep ("
            + ("same machine)" if same else "another machine; raw peaks are not gated)")]
    shown = [f for f in findings if verbose or f.result not in ("ok",)]
    table = (tabulate([[f.configuration, f.metric, f.baseline, f.current, f.limit, f.result, f.basis]
                       for f in shown],
                      ["configuration", "metric", "baseline", "current", "limit", "result", "basis"],
                      disable_numparse=True) if shown else "every gate passed")
    regressions = [f for f in findings if f.result == "REGRESSION"]
    summary = (f"{len(regressions)} regression(s): " + ", ".join(
        sorted({f'{f.configuration} [{f.metric}]' for f in regressions}))
        if regressions else f"no regressions ({len(findings)} checks)")
    return "\n".join(head) + "\n\n" + table + "\n\n" + summary
