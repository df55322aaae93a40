"""Write a report directory from stored results: README.md (the answer first), CSVs, figures,
and a compressed copy of the results it was made from. Never trains.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.equivalence.verdict import LEVEL2_FACTOR
from bench.errors import BenchError
from bench.report import figures
from bench.report.answers import ModelAnswer, accumulating, answer_of, memory_split, sci
from bench.report.frames import Results, load, write_compressed
from bench.report.prose import (
    followup_lines,
    keras_line,
    naive_line,
    recommendations,
    run_facts,
    variants_line,
)
from bench.report.rows import (
    equivalence_rows,
)
from bench.report.tables import (
    answer_table,
    declared_missing,
    memory_paragraph,
    model_table,
    outcome_paragraph,
    outcome_table,
)
from bench.results import machine


def build_report(results_paths: list[Path], out_dir: Path) -> Path:
    res = load(results_paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    answers = [answer_of(res, m) for m in res.models]
    figs = _figures(res, answers, out_dir)
    files = _csvs(res, answers, out_dir)
    write_compressed(res.records + res.sessions + ([res.plan] if res.plan else []),
                     out_dir / "results.jsonl.gz")
    path = out_dir / "README.md"
    path.write_text(readme(res, answers, figs, files))
    return path


def _figures(res: Results, answers: list[ModelAnswer], out: Path) -> list[tuple[str, Path, str]]:
    device = res.device
    figs = []
    speed = {a.model: {st: [(r.accum, r.speed.value, r.speed.low, r.speed.high)
                            for r in accumulating(a.rows, st) if r.speed]
                       for st in ("accumulate", "keras_builtin", "naive", "plain_micro")}
             for a in answers}
    speed = {m: {s: p for s, p in d.items() if p} for m, d in speed.items() if any(d.values())}
    if speed:
        bars = "95% rerun intervals" if res.rounds > 1 else "95% intervals of one process"
        cap = ("Samples per second relative to the large batch (B×1) of the same model, against "
               f"k; bars: {bars}. Plain training at b (gray) "
               "is the cost of the small batch alone; the gap from it to accumulation is the cost "
               "of accumulating.")
        figs.append(("Speed against the large batch", figures.ratio_panels(
            speed, "throughput / B×1", f"Speed relative to the large batch — {device}",
            out / "speed.png", cap), cap))
    memory = {}
    for a in answers:
        if not a.probe:
            continue
        series = {}
        for st in ("accumulate", "keras_builtin", "naive", "plain_micro"):
            pts = [(r.accum, r.memory[a.probe]["total_ratio"], None, None)
                   for r in accumulating(a.rows, st) if "total_ratio" in r.memory.get(a.probe, {})]
            if pts:
                series[st] = pts
        if series:
            memory[a.model] = series
    if memory:
        probe = answers[0].probe
        each = f"the lowest of {res.rounds} rounds" if res.rounds > 1 else "one run each"
        cap = (f"Total memory (held state + peak above the baseline, probe {probe}) relative to "
               f"the large batch's, against k; {each}, no error bars. Between two clean "
               "runs of the quick profile (AMD EPYC AVX2, 2 cores, 2026-11-27), allocator peaks "
               "moved by -3.6% to +6.8% and process RSS by up to +10%; on AMD EPYC family 25 "
               "(AVX-512, 2026-11-29) one process in ten read a CNN configuration's allocator "
               "peak 10% higher (TensorFlow's per-process execution order): differences "
               "smaller than that are noise, on any machine.")
        figs.append(("Memory against the large batch", figures.ratio_panels(
            memory, "total peak memory / B×1", f"Peak memory relative to the large batch — {device}",
            out / "memory.png", cap), cap))
    mm = {a.model: {"split": split, "B": a.B, "probe": a.probe}
          for a in answers for split in [memory_split(a)] if split is not None}
    if mm:
        cap = ("Peak above the held state against the batch: plain training at b and at B "
               "(circles) fit a constant + bytes per sample × b (dashed); triangles are the "
               "harness's accumulation at b, labelled with what accumulating adds beyond plain "
               "training at that b. The constant is the part that depends most on the machine.")
        figs.append(("Memory model", figures.memory_model(
            mm, f"Memory split: peak above the held state against the batch — {device}",
            out / "memory_model.png", cap), cap))
    l1 = {}
    for a in answers:
        e = equivalence_rows(res, a.model, dtype=None)
        e = e[e.gradient_rel_error.notna() & (e.lr_schedule == "constant")] if len(e) else e
        if len(e):
            l1[a.model] = e.to_dict("records")
    if l1:
        cap = ("Relative error between the gradient each strategy applies and the large batch's, "
               "at the same weights and data (level 1); hollow markers are float64 runs.")
        figs.append(("Level 1: gradient", figures.level1(
            l1, f"Level 1: gradient error against k — {device}", out / "level1.png", cap), cap))
    l2 = {}
    eq_records = [r for r in res.records if r["kind"] == "equivalence" and r.get("trajectory")]
    for a in answers:
        rows = [r for r in eq_records if r["model"] == a.model and r["dtype"] == "float32"
                and ":jit:" not in r["id"]["name"]]
        smallest = min((r["micro"] for r in rows), default=None)
        rows = [r for r in rows if r["micro"] == smallest]
        if rows:
            l2[a.model] = rows
    if l2:
        cap = ("Distance of the weights to the large batch's after each update, over the noise "
               "floor (the large batch against itself started one ulp away); dotted: a decaying "
               "learning-rate schedule (the Keras pitfall). Below 10× counts as equivalent. Where "
               "Keras' built-in accumulation hides under the harness's line, that is the result: "
               "with a constant rate both apply the same update.")
        figs.append(("Level 2: trajectory", figures.level2(
            l2, f"Level 2: distance to the large batch / noise floor, smallest pair — {device}",
            out / "level2.png", cap), cap))
    curves = {}
    for a in answers:
        runs = [r for r in res.records if r["kind"] == "run" and r["status"] == "ok"
                and r["config"]["model"] == a.model and r["config"].get("purpose") == "outcome"]
        groups: dict[str, list] = {}
        for r in runs:
            groups.setdefault(f"{r['config']['strategy']} {r['config']['pair']}", []).append(r["curve"])
        if groups:
            curves[a.model] = groups
    if curves:
        apart = any(label.startswith("naive") for g in curves.values() for label in g)
        cap = ("Test accuracy during training, mean over paired seeds (shaded: the seeds' range); "
               "colour and marker: the strategy, line: the pair (solid: the smallest k, dashed: "
               "the next). Where the accumulation's line lies on the large batch's, the overlap *is* the "
               "result: same trained model." + (" The naive loop is drawn apart, with the large "
                                                "batch repeated for reference." if apart else ""))
        figs.append(("Learning curves", figures.learning_curves(
            curves, f"Test accuracy while training — {device}", out / "curves.png", cap), cap))
    timed, identities = _time_to_accuracy(res, answers)
    if timed:
        cap = ("Test accuracy against the seconds of timed training updates (evaluation "
               "excluded), mean over seeds, per strategy and pair: what accumulation costs in "
               "time to a given accuracy. Outcome runs share the machine (two at a time, one "
               "core each), so these times are rougher than the measure runs'. Wall time "
               "compares only within one machine identity: "
               "each panel uses the runs of one (named in its title); models without a large "
               "batch of a known identity are left out (" + (", ".join(identities) or "none")
               + ").")
        figs.append(("Time to accuracy", figures.time_to_accuracy(
            timed, "Test accuracy against training time, one machine identity per panel",
            out / "time_to_accuracy.png", cap), cap))
    outcome = {a.model: {"margin": a.outcome.margin, "rows": [
        {"strategy": r.strategy, "pair": r.pair, "accuracy": r.accuracy, "reference": r.reference,
         "verdict": r.verdict} for r in a.outcome.rows]} for a in answers
        if a.outcome and a.outcome.rows}
    if outcome:
        cap = ("Each dot is one seed's test accuracy minus the large batch's with the same initial "
               "weights and data order; the bar is the mean with its 95% t-interval; shaded: the "
               "equivalence margin stated in the profile.")
        figs.append(("Level 3: outcome", figures.outcome_intervals(
            outcome, f"Level 3: paired accuracy differences — {device}", out / "outcome.png", cap), cap))
    return figs


FILES = {"summary.csv": "speed and memory per measured configuration (float32, mixed precision, "
                          "XLA), with ratios and intervals",
         "outcome.csv": "level 3 per judged configuration",
         "runs.csv": "every run record, one row each",
         "equivalence.csv": "every level-1/level-2 analysis, one row each"}


def _time_to_accuracy(res: Results, answers: list[ModelAnswer]) -> tuple[dict, list[str]]:
    """Per model, the outcome runs of the machine identity that ran its large batch most often:
    {model: {"identity": label, "curves": {"strategy pair": [[(seconds, accuracy), ...]]}}},
    and the models left out (no large batch of a known identity)."""
    panels, left_out = {}, []
    for a in answers:
        runs = [r for r in res.records if r["kind"] == "run" and r["status"] == "ok"
                and r["config"]["model"] == a.model and r["config"].get("purpose") == "outcome"]
        known = [(machine.of_environment(r.get("environment")), r) for r in runs]
        lb_ids = [i["id"] for i, r in known if i and r["config"]["strategy"] == "large_batch"]
        if not lb_ids:
            if runs:
                left_out.append(a.model)
            continue
        chosen = max(set(lb_ids), key=lb_ids.count)
        curves: dict[str, list] = {}
        label = ""
        for identity, r in known:
            if not identity or identity["id"] != chosen:
                continue
            label = machine.label(identity)
            cumulative = np.cumsum(r["update_seconds"])
            points = [(float(cumulative[p["update"] - 1]), p["test_accuracy"]) for p in r["curve"]
                      if 0 < p["update"] <= len(cumulative)]
            curves.setdefault(f"{r['config']['strategy']} {r['config']['pair']}", []).append(points)
        panels[a.model] = {"identity": label, "curves": curves}
    return panels, left_out


def _csvs(res: Results, answers: list[ModelAnswer], out: Path) -> list[str]:
    """Writes the CSV files that have rows (and removes stale ones); returns their names."""
    written = []
    if len(res.runs):
        res.runs.to_csv(out / "runs.csv", index=False)
        written.append("runs.csv")
    if len(res.eq):
        res.eq.to_csv(out / "equivalence.csv", index=False)
        written.append("equivalence.csv")
    rows = []
    for a in answers:
        for r in [*a.rows, *a.variants]:
            m = r.memory.get(a.probe, {}) if a.probe else {}
            rows.append({"model": a.model, "strategy": r.strategy, "pair": r.pair,
                         "variant": r.variant or "float32", "status": r.status,
                         "samples_per_s": r.throughput,
                         "speed_ratio": r.speed.value if r.speed else None,
                         "speed_low": r.speed.low if r.speed else None,
                         "speed_high": r.speed.high if r.speed else None,
                         "probe": a.probe, "total_bytes": m.get("total"),
                         "above_baseline_bytes": m.get("above"), "held_bytes": m.get("held"),
                         "total_ratio": m.get("total_ratio"), "above_ratio": m.get("above_ratio")})
    if rows:
        pd.DataFrame(rows).to_csv(out / "summary.csv", index=False)
        written.append("summary.csv")
    outcome = [{"model": a.model, "strategy": r.strategy, "pair": r.pair, "seeds": r.verdict.seeds,
                "mean_difference": r.verdict.mean_difference, "low": r.verdict.low,
                "high": r.verdict.high, "margin": r.verdict.margin, "verdict": r.verdict.verdict}
               for a in answers if a.outcome for r in a.outcome.rows]
    if outcome:
        pd.DataFrame(outcome).to_csv(out / "outcome.csv", index=False)
        written.append("outcome.csv")
    for name in set(FILES) - set(written):  # a file of an earlier report would contradict it
        (out / name).unlink(missing_ok=True)
    return written


def readme(res: Results, answers: list[ModelAnswer], figs: list[tuple[str, Path, str]],
           files: list[str]) -> str:
    out = ["# Is gradient accumulation equivalent to the large batch?", "",
           f"Profile `{res.profile}` ({res.digest}), on {res.device}. Each row: is the harness's "
           f"accumulation (k micro-batches, one update of their exact mean) the same training as "
           f"the large batch at each level, and what does it cost at each k (ratios to B×1; "
           f"≈ = within noise)?", "", answer_table(res, answers), ""]
    for line in (keras_line(res, answers), *followup_lines(res, answers), naive_line(res, answers),
                 variants_line(res, answers)):
        if line:
            out += [f"- {line}"]
    advice = recommendations(res, answers)
    if advice:
        out += ["", "**What to use, per model** (from the trained outcomes above and, where "
                "this profile measured them, levels 1-2, memory and speed):", "",
                *(f"- {x}" for x in advice)]
    out += ["", *run_facts(res), "",
            "**Levels**: L1 — the gradient a strategy applies vs the large batch's, same weights "
            "and data (float32 tolerance 1e-5, float64 1e-12); L2 — weights after each of N "
            f"updates vs the large batch's, over the noise floor (the large batch against itself "
            f"started one ulp away), pass below {LEVEL2_FACTOR:.0f}×; L3 — trained models' test "
            "accuracy, paired seeds, 95% interval against the profile's margin. Random layers "
            "are off for L1/L2 and on for L3.", ""]
    for a in answers:
        out += [f"## {a.model}", "", f"Data: {a.data}" + (f"; effective batch {a.B}" if a.B else "")
                + f"; {res.device}.", ""]
        if a.rows:
            out += [model_table(res, a), ""]
            para = memory_paragraph(a, res)
            if para:
                out += [para, ""]
        f64 = equivalence_rows(res, a.model, dtype="float64")
        if len(f64):
            out += ["float64 (level 1, tolerance 1e-12): " + ", ".join(
                f"{r.strategy} {r.pair}: {sci(r.gradient_rel_error)} ({r.verdict})"
                for _, r in f64.iterrows()), ""]
        for _, e in equivalence_rows(res, a.model).iterrows():
            if e.verdict != "equivalent":
                out += [f"- {e.strategy} {e.pair}: {e.verdict} — {e.reasons}"]
        if a.outcome is not None:
            out += ["", "### Outcome (level 3)", "", outcome_table(a), "", outcome_paragraph(a), ""]
        missing = declared_missing(res, a.model)
        if missing:
            out += ["", f"Not run (declared by the profile, no record): {', '.join(missing)}", ""]
        out += [""]
    out += ["## Figures", ""]
    for title, path, caption in figs:
        out += [f"### {title}", "", f"![{title}]({Path(path).name})", "", f"*{caption}*", ""]
    out += ["## Files", "", *(f"- `{name}`: {FILES[name]}" for name in FILES if name in files),
            "- `results.jsonl.gz`: the stored results this report was made from "
            "(`python -m bench report --results reports/.../results.jsonl.gz` rebuilds it)", ""]
    return "\n".join(out)


__all__ = ["BenchError", "build_report"]
