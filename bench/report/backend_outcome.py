"""Level 3 on the backends page: per backend, model, strategy and pair, each seed's test
accuracy minus the same backend's large batch's on that seed (one lane process trains both from
the same weights and data order), judged by `bench.judge.outcome` against the margin and bar
the records carry (stated in the backends profile before the runs)."""
from __future__ import annotations

from collections import defaultdict

from tabulate import tabulate

from bench.config.names import strategy_entry, strategy_rank
from bench.judge.outcome import judge, not_judged
from bench.report.rows import OutcomeRow, large_batch_learned


def outcome_rows(records: list[dict]) -> list[OutcomeRow]:
    processes = defaultdict(list)
    for r in records:
        if r["kind"] == "backend_outcome":
            processes[(r["backend"], r["model"])].append(r)
    rows = []
    for (backend, model), procs in processes.items():
        ok = [p for p in procs if p["status"] == "ok"]
        reference = {p["seed"]: run["accuracy"] for p in ok for run in p["runs"]
                     if run["strategy"] == "large_batch" and run["status"] == "ok"}
        margin = ok[-1]["margin"] if ok else 0.0
        learned, note = large_batch_learned(list(reference.values()), [None] * len(reference),
                                             ok[-1]["bar"] if ok else None)
        configs: dict[tuple[str, str], dict[str, list]] = defaultdict(
            lambda: {"acc": [], "ref": [], "failed": []})
        for p in procs:
            if p["status"] != "ok":
                configs[("*", "*")]["failed"].append(f"{p['id']['name']}: "
                                                     f"{p.get('error', 'failed')}")
                continue
            for run in p["runs"]:
                if run["strategy"] == "large_batch":
                    continue
                c = configs[(run["strategy"], run["pair"])]
                if run["status"] != "ok":
                    c["failed"].append(f"seed {p['seed']}: {run['error']}")
                elif p["seed"] in reference:
                    c["acc"].append(run["accuracy"])
                    c["ref"].append(reference[p["seed"]])
        lost = configs.pop(("*", "*"), {"failed": []})["failed"]
        for (strategy, pair), c in configs.items():
            diffs = [a - b for a, b in zip(c["acc"], c["ref"])]
            verdict = judge(diffs, margin) if learned else not_judged(note, margin, len(diffs))
            rows.append(OutcomeRow(model, strategy, pair, c["acc"], c["ref"], verdict,
                                   lost + c["failed"], backend=backend))
    return sorted(rows, key=lambda r: (r.model, strategy_rank(r.strategy), r.pair, r.backend))


def _epochs(n: float) -> str:
    return f"{n:.2g} epoch" + ("" if n == 1 else "s")


def _mean(values: list[float]) -> str:
    return f"{sum(values) / len(values):.3f}" if values else "—"


def outcome_section(records: list[dict]) -> str:
    """The page's level-3 section: how the runs trained, the table, where backends differ."""
    rows = outcome_rows(records)
    if not rows:
        return ""
    procs = [r for r in records if r["kind"] == "backend_outcome" and r["status"] == "ok"]
    how = sorted({f"{p['model']} on {p['dataset']['label']}, B = {p['effective_batch']}, "
                  f"{p['updates']} updates ({_epochs(p['runs'][0]['epochs'])}) under a "
                  f"{p['lr_schedule']} schedule from {p['learning_rate']:g}, test accuracy on "
                  f"{p['test_samples']:,} samples; margin ±{p['margin'] * 100:.2g} points, bar "
                  f"{p['bar']:.2f}" for p in procs if p["runs"] and "epochs" in p["runs"][0]})
    table = [[r.model, strategy_entry(r.strategy).label, r.pair, r.backend, len(r.accuracy),
              _mean(r.reference), _mean(r.accuracy),
              "—" if r.verdict.mean_difference is None else
              f"{r.verdict.mean_difference * 100:+.2f} {r.verdict.interval}",
              r.verdict.verdict + (f" ({len(r.failed)} failed)" if r.failed else "")]
             for r in rows]
    differ = defaultdict(dict)
    for r in rows:
        differ[(r.model, r.strategy, r.pair)][r.backend] = r.verdict.verdict
    split = [f"- {m} {strategy_entry(s).label} {p}: " + ", ".join(f"{b} {v}" for b, v in
                                                                     by.items())
             for (m, s, p), by in differ.items() if len(set(by.values())) > 1]
    reasons = [f"- {r.model} {strategy_entry(r.strategy).label} {r.pair} on {r.backend}: "
               f"{r.verdict.reason}" + (f"; failed: {'; '.join(r.failed)}" if r.failed else "")
               for r in rows]
    return ("## Level 3: the trained outcome\n\nEach strategy trained to the end beside the "
            "large batch on the same backend, from the same initial weights and data order per "
            "seed (one lane process per seed), as users train (random layers on); per seed its "
            "test accuracy minus the large batch's, and over the seeds the mean difference with "
            "its 95% interval in points (`bench.judge.outcome`, as on TensorFlow). "
            + "; ".join(how) + ". TensorFlow's level 3 is the study profile's "
            "([reports/study/README.md](../study/README.md)), at its own settings.\n\n"
            + tabulate(table, ["model", "strategy", "pair", "backend", "seeds",
                               "large batch accuracy", "strategy accuracy",
                               "difference, points (95% interval)", "verdict"],
                       tablefmt="github", disable_numparse=True)
            + "\n\n" + "\n".join(reasons) + "\n\nWhere the backends' verdicts differ: "
            + ("\n\n" + "\n".join(split) if split else "nowhere."))


def outcome_summary(records: list[dict]) -> str:
    """One sentence for the README's block: level 3's verdicts per backend."""
    rows = outcome_rows(records)
    if not rows:
        return ""
    by = defaultdict(list)
    for r in rows:
        by[(r.model, r.strategy, r.pair)].append(f"{r.backend} {r.verdict.verdict}")
    return ("Level 3 (trained outcome, paired seeds, on the page): " + "; ".join(
        f"{m} {strategy_entry(s).label} {p}: {', '.join(v)}" for (m, s, p), v in by.items())
        + ".")
