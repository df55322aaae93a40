"""The per-configuration gates of the regression check (`bench.report.check` says what each
gate compares and why): the tolerances, one finding per gate, and the small rules behind them."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from bench.config.names import MIB, PROBES, probe_order
from bench.report import pooled
from bench.results import machine


@dataclass(frozen=True)
class Tolerances:
    # each set wider than what clean runs of one machine identity moved, each run checked
    # against the others (README: Record of measurements, regression check)
    speed_same: float = 1.60        # calibrated median update time factor, same machine
    speed_p: float = 0.01           # Mann-Whitney one-sided p-value
    ratio_drop: float = 0.35        # relative drop of samples/s as a share of the large batch's
    saving_rise: float = 0.10       # rise of peak / large batch's peak (absolute, e.g. 0.45 -> 0.55)
    memory_rel: float = 0.10        # same machine: allocator peak growth (+ memory_slack_mib)
    memory_slack_mib: float = 2.0
    rss_rel: float = 0.15           # same machine: process RSS growth (+ rss_slack_mib)
    rss_slack_mib: float = 16.0
    exact_rel: float = 1e-9         # "repeated to the bit": float noise only
    l1_factor: float = 5.0
    accuracy_z: float = 3.0
    # pooled gates (bench.report.pooled): wider across machine identities, where strategies'
    # relative speeds differ by a property of the CPU (README: Record of measurements)
    pooled_same: float = 1.20       # a strategy's pooled relative speed, same machine identity
    pooled_other: float = 1.45      # the same, another machine identity
    pooled_model: float = 1.45      # a model's pooled calibrated speed, same machine identity
    pooled_pair: float = 1.10       # one strategy on one model, relative speed, same identity

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


# -- comparison ----------------------------------------------------------------------------------
@dataclass
class Finding:
    configuration: str
    metric: str
    baseline: str
    current: str
    limit: str
    result: str   # ok | REGRESSION | not comparable | not compared | new | info
    basis: str = ""


def identity_differences(baseline: dict, current: dict) -> list[str]:
    """Why the two summaries are not the same machine ([] when they are)."""
    return machine.differences(machine.of_environment(baseline.get("environment")),
                               machine.of_environment(current.get("environment")))


def status_of(entry: dict) -> str:
    """A baseline configuration is ok only if it was ok in every run that has it."""
    return next((r["status"] for r in entry["runs"] if r and r["status"] != "ok"), "ok")


def _present(entry: dict) -> list[dict]:
    """The baseline runs that have this configuration."""
    return [r for r in entry["runs"] if r]


def _pairs(old: dict, ref: dict | None) -> list[tuple[dict, dict]]:
    """(configuration, its large batch) of each baseline run that has both."""
    return [(o, r) for o, r in zip(old["runs"], ref["runs"]) if o and r] if ref else []


def span(values: list[float], fmt: str = "{:.2f}") -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if math.isclose(lo, hi) else f"{fmt.format(lo)}-{fmt.format(hi)}"


def _deterministic(values: list[float]) -> bool:
    """The baseline's runs gave one value, to the bit: a figure this run must repeat."""
    return len(values) > 1 and len(set(values)) == 1


def _exact_finding(name: str, metric: str, values: list[float], current: float,
                   fmt: str) -> Finding:
    """A figure the baseline's runs repeated to the bit on this machine identity (outcome
    accuracy, level-1 error, level-2 ratio: single-threaded and seeded; repeated quick runs of
    one identity, a fresh clone among them, gave identical figures). Any change beyond float
    noise is a finding, with its size."""
    old = values[0]
    same = math.isclose(current, old, rel_tol=Tolerances.exact_rel, abs_tol=0.0)
    change = "" if same else f" ({current - old:+.3g})"
    return Finding(name, metric, fmt.format(old), fmt.format(current) + change,
                   "the same (deterministic here)", "ok" if same else "REGRESSION",
                   f"same machine identity: {len(values)} runs gave this value exactly")


def held_findings(name, old, new) -> list[Finding]:
    """Held state (weights, optimizer slots, accumulators, in bytes from the built objects) is
    exact on any machine: any change is a finding. Against a CNN's 50-70 MB peak a quarter more
    held state is under 1% of the total, so the peak alone cannot show it."""
    values = [r.get("held_bytes") for r in _present(old)]
    current = new["runs"][0].get("held_bytes")
    if current is None or not values or any(v is None for v in values):
        return []
    result = "ok" if current in values else "REGRESSION"
    return [Finding(name, "held state bytes", span(values, "{:.0f}"), f"{current:.0f}",
                    "the same (exact)", result, "any machine: computed from the built objects")]


def _speed_finding(name, old, new, calibration, tol) -> Finding | None:
    """The current run's best round against the baseline's slowest run's best round (each over
    its own run's calibration step), and a one-sided Mann-Whitney test of all their update
    times: like every other limit, the speed limit starts from the worst the baseline's runs
    showed. One process's speed is a draw (a clean configuration can time 1.7x the slowest of
    several clean runs; README: Record of measurements); the best of two rounds fires only
    when both processes are slow draws."""
    cal_old, cal_new = calibration
    timed = [(r["rounds"], cal) for r, cal in zip(old["runs"], cal_old) if r and r["rounds"]]
    rounds = new["runs"][0]["rounds"]
    if not timed or not rounds:
        return None
    if np.isfinite(cal_new) and all(np.isfinite(cal) for _, cal in timed):
        basis = "same machine: update times / calibration step, best round, slowest baseline run"
    else:  # a sweep without its calibration step: raw times
        basis = "same machine: raw update times, best round, slowest baseline run"
        cal_new, timed = 1.0, [(t, 1.0) for t, _ in timed]
    values = [pooled.best_round(t) / cal for t, cal in timed]
    worst = int(np.argmax(values))
    current = pooled.best_round(rounds) / cal_new
    ratio = current / values[worst]
    x = np.concatenate(rounds) / cal_new
    y = np.concatenate(timed[worst][0]) / timed[worst][1]
    p = mann_whitney_greater(x, y)
    bad = ratio > tol.speed_same and p < tol.speed_p
    return Finding(name, "median update time", span(values, "{:.4g}"),
                   f"{current:.4g} ({ratio:.2f}x, p={p:.1g})",
                   f"<= {tol.speed_same:.2f}x or p >= {tol.speed_p}",
                   "REGRESSION" if bad else "ok", basis)


def _round_ratios(run: dict, ref: dict) -> list[float]:
    """Samples/s as a share of the large batch's, round by round (round i of both)."""
    return [float(np.median(r) / np.median(x)) for x, r in zip(run["rounds"], ref["rounds"])]


NOT_COMPARED = "another machine identity"


def run_findings(name, old, new, b, c, same, calibration, tol) -> list[Finding]:
    cur = new["runs"][0]
    if old["purpose"] == "measure" and not same:
        out = [Finding(name, "speed", "", "", "same machine identity", "not compared",
                       NOT_COMPARED)] if cur["rounds"] else []
        if cur["memory"]:
            out.append(Finding(name, "memory", "", "", "same machine identity", "not compared",
                               NOT_COMPARED))
        return out + _accuracy_findings(name, old, new, tol, same)
    out = []
    ref_old, ref_new = b.get(old.get("reference") or ""), c.get(new.get("reference") or "")
    cur_ref = ref_new["runs"][0] if ref_new else None
    if old["purpose"] == "measure":
        speed = _speed_finding(name, old, new, calibration, tol)
        out += [speed] if speed else []
        pairs = [(o, r) for o, r in _pairs(old, ref_old) if o["rounds"] and r["rounds"]]
        if (old["strategy"] != "large_batch" and pairs and cur["rounds"]
                and cur_ref and cur_ref["rounds"]):
            r_old = [max(_round_ratios(o, r)) for o, r in pairs]
            r_new = max(_round_ratios(cur, cur_ref))
            limit = min(r_old) * (1 - tol.ratio_drop)
            out.append(Finding(name, "speed / large batch", span(r_old), f"{r_new:.2f}",
                               f">= {limit:.2f}", "REGRESSION" if r_new < limit else "ok",
                               "within each round, the best round"))
    # the first probe that measured (as in the report): allocator counters where they exist.
    # Process RSS is not gated beside them: a fresh clone on the baseline's own machine read
    # every configuration's RSS peak ~28 MiB higher while the allocator's did not move
    runs_old = _present(old)
    had = set.intersection(*(set(r["memory"]) for r in runs_old)) if runs_old else set()
    lost = sorted(had - set(cur["memory"]))
    if lost and old["purpose"] == "measure":
        out.append(Finding(name, "memory probes", ", ".join(sorted(had)),
                           ", ".join(sorted(cur["memory"])) or "none", "every probe the "
                           "baseline's runs had", "REGRESSION",
                           f"same machine identity: {', '.join(lost)} gave no reading"))
    primary = next((p for p in probe_order() if all(p in r["memory"] for r in runs_old)), None)
    if primary and primary in cur["memory"]:
        peak_new = cur["memory"][primary]
        shares = [o["memory"][primary] / r["memory"][primary]
                  for o, r in _pairs(old, ref_old) if r["memory"].get(primary)]
        rel, slack = ((tol.memory_rel, tol.memory_slack_mib) if PROBES[primary].exact
                      else (tol.rss_rel, tol.rss_slack_mib))
        if old["accum"] > 1 and shares and cur_ref and cur_ref["memory"].get(primary):
            s_old, s_new = max(shares), peak_new / cur_ref["memory"][primary]
            # a rise of saving_rise, or of half the saving where the saving is small (0.92
            # may not become 1.0: that is the whole saving lost); never less than the peak
            # gate's slack allows (where there is no saving, a share of 1.0003 is not one)
            allowed = s_old + max(min(tol.saving_rise, max(0.0, 1 - s_old) / 2),
                                  slack * MIB / cur_ref["memory"][primary])
            out.append(Finding(name, f"peak / large batch [{primary}]", span(shares),
                               f"{s_new:.2f}", f"<= {allowed:.2f}",
                               "REGRESSION" if s_new > allowed else "ok", "within each run"))
        peaks = [r["memory"][primary] / MIB for r in runs_old]
        limit = max(peaks) * (1 + rel) + slack
        out.append(Finding(name, f"peak MiB [{primary}]", span(peaks, "{:.1f}"),
                           f"{peak_new / MIB:.1f}", f"<= {limit:.1f}",
                           "REGRESSION" if peak_new / MIB > limit else "ok", "same machine"))
    return out + _accuracy_findings(name, old, new, tol, same)


def _accuracy_findings(name, old, new, tol, same: bool = False) -> list[Finding]:
    """Outcome runs: on the baseline's machine identity, where its runs repeated the accuracy
    to the bit, the same accuracy; otherwise it may not drop beyond the test set's sampling
    error (on any machine: within float reordering, a trained model's accuracy is the code's)."""
    out = []
    runs_old, cur = _present(old), new["runs"][0]
    accuracies = [r["accuracy"] for r in runs_old if r["accuracy"] is not None]
    if (same and old["purpose"] == "outcome" and cur.get("accuracy") is not None
            and len(accuracies) == len(runs_old) and _deterministic(accuracies)):
        return [_exact_finding(name, "test accuracy", accuracies, cur["accuracy"], "{:.4f}")]
    if old["purpose"] == "outcome" and accuracies and cur.get("accuracy") is not None:
        p0, p1 = min(accuracies), cur["accuracy"]
        n0, n1 = old.get("test_samples") or 1, new.get("test_samples") or 1
        se = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
        limit = p0 - max(0.01, tol.accuracy_z * se)
        out.append(Finding(name, "test accuracy", span(accuracies, "{:.4f}"), f"{p1:.4f}",
                           f">= {limit:.4f}", "REGRESSION" if p1 < limit else "ok",
                           f"{tol.accuracy_z:g} standard errors of {n1} test samples"))
    return out


def equivalence_findings(name, old, new, tol, same: bool) -> list[Finding]:
    out = []
    runs_old, cur = _present(old), new["runs"][0]
    verdicts = sorted({r["verdict"] for r in runs_old})
    if cur["verdict"] not in verdicts:
        out.append(Finding(name, "verdict", "/".join(verdicts), cur["verdict"], "unchanged",
                           "REGRESSION"))
    errors = [r["gradient_rel_error"] for r in runs_old if r.get("gradient_rel_error") is not None]
    e1 = cur.get("gradient_rel_error")
    if errors and e1 is not None:
        if same and _deterministic(errors):
            out.append(_exact_finding(name, "L1 gradient error", errors, e1, "{:.6e}"))
        else:
            floor = 1e-7 if old.get("dtype") != "float64" else 1e-15
            limit = max(max(errors), floor) * tol.l1_factor
            out.append(Finding(name, "L1 gradient error", span(errors, "{:.2e}"), f"{e1:.2e}",
                               f"<= {limit:.1e}", "REGRESSION" if e1 > limit else "ok"))
    ratios = [r.get("trajectory_ratio") for r in runs_old]
    e2 = cur.get("trajectory_ratio")
    # level 2 across machine identities: only its verdict (the same code's ratios differ by
    # identity where the executor's order does; README: Record of measurements)
    if same and e2 is not None and None not in ratios and _deterministic(ratios):
        out.append(_exact_finding(name, "L2 trajectory ratio", ratios, e2, "{:.6g}"))
    return out


