"""Regression check: compare a sweep with a baseline of the same profile (asv's compare is the
model: this module classifies, the caller picks the exit code).

One current run is checked against a baseline of one or more clean runs of the same profile
(`bench.report.baseline`): every limit starts from the worst the baseline's runs showed, so a
configuration's own process-to-process spread is allowed and only what lies beyond it fires.
Speed and memory are gated only against a baseline of the *same machine identity*
(`bench.results.machine`: CPU family and instruction set, cores, TensorFlow, Keras, oneDNN,
allocator). Across identities none of them is a property of the code alone: on another core
of the same name the calibration step sped up less than the models, and within-run ratios and
even the CNN's allocator peaks moved (README: Record of measurements). A run from another or an unknown identity is therefore checked on what does not
depend on the machine (presence, status, settings, held state, level 1, outcome accuracy),
and the output says what was not compared and why. Configurations are matched by name; the
same name with another key is the same configuration with changed settings: *not comparable*
(reported, and failing unless accepted). Gates, each a small rule:

- status: a configuration that succeeded and now fails or is missing;
- speed, per configuration, from its steady-state update times divided by the calibration
  step timed in the same sweep (a plain Keras step that uses none of the harness's code, so a
  slower harness still shows while a busier machine does not): slower when a one-sided
  Mann-Whitney test finds the current times larger (p < 0.01) *and* the median grew by more
  than `speed_same`, against the times of the baseline's slowest run of that configuration,
  each run over its own calibration step. Raw times only for a sweep without a calibration
  step; the output says which basis was used;
- speed of each strategy relative to its model's other strategies, pooled over its
  configurations per strategy (any identity), per model and strategy (same identity: one
  strategy slower on one model), and a model's update times over the calibration step
  (bench.report.pooled);
- speed relative to the large batch of the same run: the ratio may not drop by more than
  `ratio_drop` below the lowest of the baseline's runs (a memory run of a model timed side by
  side has no speed figure: its few updates are not gated, bench.report.baseline);
- memory saving: an accumulating configuration's peak as a share of its large batch's peak may
  not rise by more than `saving_rise` above the highest of the baseline's runs (it cannot
  quietly lose what accumulation is for), nor by less than the memory peak's slack allows;
- memory peak, for the first probe that measured (`bench.config.names.PROBES`, the report's
  order), tightly for a probe whose peaks repeat exactly (an allocator's counter), loosely
  for the others: process RSS moved between two checkouts on one machine where the
  allocator's peaks did not;
- level 1: a verdict change, or the gradient error rising `l1_factor`-fold (from at least
  1e-7) even while under the tolerance;
- outcome accuracy (outcome runs only): a drop larger than `accuracy_z` binomial standard
  errors of the two test-set estimates — on a small test set that is wide, by design;
- exact figures, same identity: where the baseline's runs repeated an accuracy, a level-1
  error or a level-2 ratio to the bit, the current run must too (`_exact_finding`);
- held state (weights, slots, accumulators), any identity: exact;
- a probe every baseline run had that gave no reading, same identity.

Nothing passes in silence: a changed profile digest, changed settings ("not comparable") and
configurations the baseline lacks fail the check unless `accept_changes` (`failing`).
"""
from __future__ import annotations

import numpy as np
from tabulate import tabulate

from bench.errors import BenchError
from bench.report import pooled
from bench.report.baseline import run_count
from bench.report.gates import (
    Finding,
    Tolerances,
    equivalence_findings,
    held_findings,
    identity_differences,
    run_findings,
    span,
    status_of,
)
from bench.results import machine


def compare(baseline: dict, current: dict, tol: Tolerances = Tolerances()) -> list[Finding]:
    """Gate one run (`current`) against a baseline of one or more runs."""
    if baseline["profile"] != current["profile"]:
        raise BenchError(f"the baseline is from profile {baseline['profile']!r}, the current results "
                         f"from {current['profile']!r}: compare runs of the same profile")
    if run_count(current) != 1:
        raise BenchError(f"check one run at a time: the current results hold {run_count(current)}")
    same = not identity_differences(baseline, current)
    calibration = ([np.median(c) if c else np.nan for c in baseline["calibration_seconds"]],
                   np.median(current["calibration_seconds"][0] or [np.nan]))
    out: list[Finding] = []
    if baseline.get("profile_digest") != current.get("profile_digest"):
        out.append(Finding("(profile)", "profile digest", str(baseline.get("profile_digest")),
                           str(current.get("profile_digest")), "same settings", CHANGED,
                           "the profile's settings changed: configurations whose keys still "
                           "match are compared, the rest are counted"))
    b, c = baseline["configurations"], current["configurations"]
    for name in sorted(set(b) | set(c)):
        old, new = b.get(name), c.get(name)
        if new is None:
            out.append(Finding(name, "present", "yes", "missing", "must run",
                               "REGRESSION" if status_of(old) == "ok" else "info"))
            continue
        if old is None:
            out.append(Finding(name, "present", "not in the baseline", "yes", "in the baseline",
                               "new"))
            continue
        if old["key"] != new["key"]:
            out.append(Finding(name, "settings", old["key"], new["key"], "same key",
                               "not comparable"))
            continue
        status_old, status_new = status_of(old), new["runs"][0]["status"]
        if status_old != status_new:
            out.append(Finding(name, "status", status_old, status_new, "ok stays ok",
                               "REGRESSION" if status_old == "ok" else "info"))
        if status_old != "ok" or status_new != "ok":
            continue
        if old["kind"] == "run":
            out += run_findings(name, old, new, b, c, same, calibration, tol)
            out += held_findings(name, old, new)
        else:
            out += equivalence_findings(name, old, new, tol, same)
    comparable = [n for n in sorted(set(b) & set(c)) if b[n]["key"] == c[n]["key"]
                  and status_of(b[n]) == "ok" and c[n]["runs"][0]["status"] == "ok"]
    return out + _pooled_findings(b, c, comparable, same, calibration, tol)


def _pooled_findings(b, c, names, same, calibration, tol) -> list[Finding]:
    """A strategy's, and (same identity) a model's, speed over all its configurations
    (bench.report.pooled); each limit is the larger of its floor and what the baseline's own
    runs showed against each other."""
    runs = len(calibration[0])
    out = []
    statistics = [("strategy", "pooled speed vs its model's other strategies",
                   "each round against the model's other strategies in it",
                   [pooled.relative_speed(b, j) for j in range(runs)],
                   pooled.relative_speed(c, 0), tol.pooled_same if same else tol.pooled_other)]
    if same:
        statistics.append(("model strategy", "pooled speed vs the model's other strategies",
                           "each round against the model's other strategies in it",
                           statistics[0][3], statistics[0][4], tol.pooled_pair))
        statistics.append(("model", "pooled update time / calibration step",
                           "best rounds over each sweep's calibration step",
                           [pooled.calibrated_speed(b, j, calibration[0][j]) for j in range(runs)],
                           pooled.calibrated_speed(c, 0, calibration[1]), tol.pooled_model))
    for by, metric, how, base, cur, floor in statistics:
        for group, members in sorted(pooled.groups(b, names, by).items()):
            value = pooled.pooled(cur, base, members)
            if value is None:
                continue
            loo = pooled.leave_one_out(base, members)
            limit = max([floor, *loo]) if same else floor
            basis = (f"same machine: {len(members)} configurations, {how}; baseline: its "
                     f"runs each pooled against the others"
                     if same else f"another machine identity: {len(members)} configurations; "
                     f"the limit allows what the strategies' relative speeds differ between "
                     f"CPUs")
            label = "model-strategy" if by == "model strategy" else by
            out.append(Finding(f"{label} {group}", metric, span(loo) if loo else "-",
                               f"{value:.2f}x", f"<= {limit:.2f}x",
                               "REGRESSION" if value > limit else "ok", basis))
    return out


#: Results that fail the check unless `--accept-changes` accepts them: a changed profile, a
#: configuration whose settings changed, one the baseline lacks. None is passed in silence.
CHANGED = "changed"
ACCEPTABLE = (CHANGED, "not comparable", "new")


def failing(findings: list[Finding], accept_changes: bool = False) -> list[Finding]:
    """The findings that make the check exit 1."""
    return [f for f in findings if f.result == "REGRESSION"
            or (f.result in ACCEPTABLE and not accept_changes)]


def render(findings: list[Finding], baseline: dict, current: dict, verbose: bool = False,
           accept_changes: bool = False) -> str:
    diffs = identity_differences(baseline, current)
    env_b, env_c = baseline.get("environment") or {}, current.get("environment") or {}
    id_b, id_c = (machine.of_environment(e) for e in (env_b, env_c))
    named = lambda i, env: (f"{machine.label(i, env.get('device'))}, "  # noqa: E731
                            f"{env.get('cpu_allocator')} allocator"
                            + (f" [identity {i['id']}]" if i else ""))
    head = [f"profile {current['profile']}: {len(current['configurations'])} configurations",
            f"current:  {named(id_c, env_c)}",
            f"baseline: {named(id_b, env_b)}; {run_count(baseline)} run(s) "
            f"({', '.join(baseline['sources'])}); a range is the spread of its runs; each limit "
            f"starts from the worst of them"]
    if diffs:
        skipped = [f for f in findings if f.result == "not compared"]
        count = lambda metric: len({f.configuration for f in skipped if f.metric == metric})  # noqa: E731
        head += [f"machine identities differ: {'; '.join(diffs)}",
                 "compared: presence, status, settings, held state, level-1 gradient checks, "
                 "outcome accuracy (none of them depends on the machine), and each strategy's "
                 "pooled speed relative to its model's other strategies (with a wider limit)",
                 f"NOT compared: speed of {count('speed')} and memory of {count('memory')} "
                 f"configurations (speed, ratios between strategies and allocator peaks all move "
                 f"between CPU generations); to gate them here, write a baseline for this machine "
                 f"from several clean runs (make baseline BASELINE_RUNS='run1.jsonl run2.jsonl ...')"]
    else:
        head.append("same machine identity: speed as update times / the calibration step timed "
                    "in each sweep (a run's best round), ratios within each round, pooled per "
                    "strategy and per model, memory peaks and shares")
    shown = [f for f in findings if verbose or f.result not in ("ok", "not compared")]
    table = (tabulate([[f.configuration, f.metric, f.baseline, f.current, f.limit, f.result, f.basis]
                       for f in shown],
                      ["configuration", "metric", "baseline", "current", "limit", "result", "basis"],
                      disable_numparse=True) if shown else "every gate passed")
    bad = failing(findings, accept_changes)
    accepted = [f for f in findings if f.result in ACCEPTABLE and accept_changes]
    counts = {r: sum(f.result == r for f in findings) for r in ("not compared", "not comparable",
                                                                  "new", CHANGED)}
    compared = len(findings) - sum(counts.values())
    tally = (f"{compared} checks; " + "; ".join(
        f"{n} {what}" for what, n in (("not compared: another machine identity",
                                       counts["not compared"]),
                                      ("not comparable: changed settings",
                                       counts["not comparable"]),
                                      ("not in the baseline", counts["new"]),
                                      ("profile digest changed", counts[CHANGED])) if n)).rstrip("; ")
    if accepted:
        tally += f"; {len(accepted)} accepted by --accept-changes"
    summary = (f"{len(bad)} finding(s) that fail the check: " + ", ".join(
        sorted({f'{f.configuration} [{f.metric}]' for f in bad})) + f" ({tally})"
        if bad else f"no regressions ({tally})")
    return "\n".join(head) + "\n\n" + table + "\n\n" + summary
