"""The report's tables: the answer per model, each model's measured rows, its level-3 rows,
and the paragraphs beside them."""
from __future__ import annotations

import math

from tabulate import tabulate

from bench.config.names import MIB, strategy_entry, strategy_rank
from bench.report.answers import (
    ModelAnswer,
    accumulating,
    ks_of,
    l3_text,
    level12,
    memory_split,
    memory_text,
    mib,
    per_k,
    pts,
    speed_text,
)
from bench.report.frames import Results
from bench.report.prose import caveat
from bench.report.rows import equivalence_rows


def answer_table(res: Results, answers: list[ModelAnswer]) -> str:
    rows = []
    for a in answers:
        l1, l2 = level12(res, a.model)
        ks = f" (k = {' · '.join(map(str, ks_of(a.rows)))})" if ks_of(a.rows) else ""
        memory = per_k(a.rows, "accumulate", lambda r, probe=a.probe: memory_text(r, probe))
        speed = per_k(a.rows, "accumulate", speed_text)
        measured = ((memory + ks, speed + ks) if ks else ("—", "—")) if a.rows else (
            ("not measured in this profile",) * 2)
        data = a.data.split(" (")[0] + (" (SYNTHETIC)" if a.synthetic else "")
        rows.append([f"**{a.model}**", data + (f", B = {a.B}" if a.B else ""), l1, l2,
                     l3_text(a), *measured,
                     caveat(res, a)])
    return tabulate(rows, ["model", "data", "L1 gradient", "L2 trajectory", "L3 outcome",
                           "peak memory vs B×1", "speed vs B×1", "caveat"],
                    tablefmt="github", disable_numparse=True)


def model_table(res: Results, a: ModelAnswer) -> str:
    rows = []
    for r in [*sorted(a.rows, key=lambda r: (r.accum, strategy_rank(r.strategy))),
              *sorted(a.variants, key=lambda r: (r.variant, r.accum, strategy_rank(r.strategy)))]:
        precision = (r.record or {}).get("config", {}).get("precision") or "float32"
        e = equivalence_rows(res, a.model, r.strategy, dtype=precision, jit="XLA" in r.variant)
        e = e[e.pair == r.pair] if len(e) else e
        l1 = l2 = "reference" if r.strategy == "large_batch" else (
            "speed reference" if not strategy_entry(r.strategy).judged else "—")
        if len(e):
            x = e.iloc[0]
            l1 = "failed" if x.verdict == "failed" else f"{x.gradient_level} {x.gradient_rel_error:.1e}"
            l2 = "failed" if x.verdict == "failed" else f"{x.trajectory_level} {x.trajectory_ratio:.2g}×"
        name = f"{r.strategy} · {r.variant}" if r.variant else r.strategy
        if r.status != "ok":
            rows.append([r.pair, name, r.status.upper(), "—", "—", "—", "—", l1, l2,
                         (r.error or "")[:70]])
            continue
        m = r.memory.get(a.probe, {}) if a.probe else {}
        speed = ("memory only" if math.isnan(r.throughput)  # not timed in this profile
                 else f"{r.throughput:,.0f}" + (f" ({r.speed.text()})" if r.speed else ""))
        split = ""
        if r.small_batch and r.strategy not in ("large_batch",):
            split = f"b alone {r.small_batch.text()}"
            if r.accumulation:
                split += f"; accumulating {r.accumulation.text()}"
        total = (f"{mib(m.get('total'))} ({m['total_ratio']:.2f}×)" if "total_ratio" in m
                 else mib(m.get("total")))
        above = (f"{mib(m.get('above'))} ({m['above_ratio']:.2f}×)" if "above_ratio" in m
                 else mib(m.get("above")))
        note = f"{r.vs_float32.text()} the float32 run's samples/s" if r.vs_float32 else ""
        rows.append([r.pair, name, speed, split, total, above, mib(m.get("held")), l1, l2, note])
    interval = "95% rerun" if res.rerun_intervals else "95%, one process"
    return tabulate(rows, ["pair b×k", "strategy", f"samples/s (× B×1 [{interval}])",
                           "speed split: plain training at b × B×1; accumulation × plain at b",
                           f"total MiB ({a.probe})", "above baseline MiB", "held MiB",
                           "L1 gradient", "L2 trajectory", "note"],
                    tablefmt="github", disable_numparse=True)


def outcome_table(a: ModelAnswer) -> str:
    o = a.outcome
    rows = [[r.strategy, r.pair, len(r.accuracy),
             f"{sum(r.accuracy) / len(r.accuracy):.4f} ({min(r.accuracy):.4f}–{max(r.accuracy):.4f})"
             if r.accuracy else "—",
             f"{sum(r.reference) / len(r.reference):.4f}" if r.reference else "—",
             "—" if r.verdict.mean_difference is None else pts(r.verdict.mean_difference),
             r.verdict.interval, r.verdict.verdict,
             "; ".join(r.failed + [f"seed {s} not paired" for s in r.unpaired]) or ""]
            for r in o.rows]
    return tabulate(rows, ["strategy", "pair", "paired seeds", "test accuracy (min–max)",
                           "B×1, same seeds", "Δ points", "95% interval", "verdict", "note"],
                    tablefmt="github", disable_numparse=True)


def outcome_paragraph(a: ModelAnswer) -> str:
    o = a.outcome
    ref = (f"The large batch reached {sum(o.reference) / len(o.reference):.4f} "
           f"({min(o.reference):.4f}–{max(o.reference):.4f}, {len(o.reference)} seeds)"
           if o.reference else "The large batch has no finished run")
    extra = []
    if o.bar is not None:
        extra.append(f"bar {o.bar:.2f}")
    if o.majority is not None:
        extra.append(f"majority class {o.majority:.3f}")
    if o.achievable is not None:
        extra.append(f"achievable (Bayes) {o.achievable:.3f}")
    if o.reference_auc:
        extra.append(f"ROC AUC {sum(o.reference_auc) / len(o.reference_auc):.3f}")
    text = ref + (f" ({'; '.join(extra)})" if extra else "") + ". "
    text += (f"Verdicts use the margin ±{o.margin * 100:.2g} accuracy points: *equivalent* when "
             f"the 95% interval of the paired difference lies inside it, *different* when it "
             f"lies outside, otherwise *inconclusive*. ")
    if not o.learned:  # one reason for every row: said once, with the rows it holds back
        runs = ", ".join(f"{r.strategy} {r.pair} ({len(r.accuracy)} seeds)" for r in o.rows)
        return (text + f"**Not judged**: {o.learned_note} ({runs}).").strip()
    for r in o.rows:
        text += f"{r.strategy} {r.pair}: {r.verdict.reason}. "
    return text.strip()


def memory_paragraph(a: ModelAnswer, res: Results) -> str | None:
    acc = accumulating(a.rows, "accumulate")
    if not acc or not a.probe or not any(r.memory.get(a.probe) for r in acc):
        return None
    smallest = acc[-1]
    m = smallest.memory.get(a.probe)
    if not m or "total_ratio" not in m:
        return None
    s = smallest.record["model_state"]
    text = (f"Memory ({a.probe}) at {smallest.pair}: total {mib(m['total'])} MiB = held "
            f"{mib(m['held'])} MiB (weights {s['weights'] / MIB:.2f}, optimizer slots "
            f"{s['optimizer_slots'] / MIB:.2f}, accumulators {s['accumulators'] / MIB:.2f}) + "
            f"{mib(m['above'])} MiB above it (gradients, activations, workspace) — "
            f"{m['total_ratio']:.2f}× the large batch's total, {m['above_ratio']:.2f}× its part "
            f"above the baseline.")
    split = memory_split(a)
    if split is not None:
        fit = split.fit
        extra = "; ".join(f"{b}: {split.extra(b, above) / MIB:+.1f} MiB"
                          for b, above in split.accumulate)
        text += (f" Split (plain training at b = {', '.join(str(b) for b, _ in sorted(split.plain))}): "
                 f"a constant {fit.intercept_bytes / MIB:.1f} MiB + "
                 f"{fit.bytes_per_sample / 1024:.0f} KiB per sample of batch"
                 + _residual_text(fit)
                 + (f"; accumulating adds beyond plain training at the same b ({extra})"
                    if extra else "") + ". On your machine: peak ≈ held state + constant + "
                 "b × bytes per sample (+ what accumulating adds); the constant is the part that "
                 "depends most on the machine.")
    rss = smallest.memory.get("process_rss") or {}
    if (a.probe != "process_rss" and "total_ratio" in rss
            and (rss["total_ratio"] > 1) != (m["total_ratio"] > 1)):
        text += (f" Process RSS disagrees in direction: {rss['total_ratio']:.2f}× the large "
                 f"batch's at {smallest.pair} (RSS holds what the allocator does not count: "
                 f"traced functions, Python objects, freed memory not returned to the system).")
    return text


def _residual_text(fit) -> str:
    worst = fit.worst_residual()
    if worst is None:
        return " (two batch sizes: the line fits them exactly, no residual to judge it by)"
    return (f" (fitted to {len(fit.points)} points; the largest residual "
            f"{worst[0] / MIB:.2f} MiB, {worst[1]:.1%} of its peak)")


def declared_missing(res: Results, model: str) -> list[str]:
    have = {r["id"]["name"] for r in res.records if r["kind"] in ("run", "equivalence")}
    return [c["name"] for c in res.declared if c["model"] == model and c["name"] not in have]
