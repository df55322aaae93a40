"""Write a report directory from stored results: README.md (the answer first), CSVs, figures,
and a compressed copy of the results it was made from. Never trains.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.judge.verdict import LEVEL2_FACTOR
from bench.report import coverage
from bench.report.answers import ModelAnswer, sci
from bench.report.frames import Results, load, write_compressed
from bench.report.gallery import report_figures
from bench.report.report_facts import ReportFacts, collect, contradictions
from bench.report.rows import equivalence_rows
from bench.report.tables import (
    answer_table,
    declared_missing,
    memory_paragraph,
    model_table,
    outcome_paragraph,
    outcome_table,
)

#: the record of coverage measurements, beside a report's results (bench.report.coverage)
COVERAGE = "coverage.json"

FILES = {"summary.csv": "speed and memory per measured configuration (float32, mixed precision, "
                          "XLA), with ratios and intervals",
         "outcome.csv": "level 3 per judged configuration",
         "runs.csv": "every run record, one row each",
         "equivalence.csv": "every level-1/level-2 analysis, one row each"}


def load_levels(path: Path | None) -> Results | None:
    """Another profile's records whose levels 1-2, memory and speed an outcome-only report's
    advice carries (bench.report.advice); None without one."""
    if path is None:
        return None
    if not path.exists():
        raise BenchError(f"--levels-from {path}: no such results file")
    return load([path])


def build_report(results_paths: list[Path], out_dir: Path, levels: Path | None = None) -> Path:
    res = load(results_paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    facts = collect(res, load_levels(levels))
    answers = facts.answers
    figs = report_figures(res, answers, out_dir)
    drawn = {Path(path).name for _, path, _ in figs}
    for stale in out_dir.glob("*.png"):  # a figure of an earlier profile's records misleads
        if stale.name not in drawn:
            stale.unlink()
    files = _csvs(res, answers, out_dir)
    write_compressed(res.records + res.sessions + ([res.plan] if res.plan else []),
                     out_dir / "results.jsonl.gz")
    path = out_dir / "README.md"
    held = coverage.lines(coverage.read_entries(out_dir / COVERAGE), res.profile)
    problems = contradictions(facts)
    path.write_text(readme(facts, figs, files, held, problems))
    for problem in problems:  # also at the top of the page
        print(f"warning: the report contradicts itself: {problem}", file=sys.stderr)
    return path


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


def readme(facts: ReportFacts, figs: list[tuple[str, Path, str]], files: list[str],
           held: list[str] | None = None, problems: list[str] | None = None) -> str:
    """The report's page, rendered from its facts; `held`: the coverage table of this
    profile's measured reruns; `problems`: its contradictions (`contradictions`)."""
    res, answers, levels = facts.res, facts.answers, facts.levels
    out = ["# Is gradient accumulation equivalent to the large batch?", "",
           f"Profile `{res.profile}` ({res.digest}), on {res.device}. Each row: is the harness's "
           f"accumulation (k micro-batches, one update of their exact mean) the same training as "
           f"the large batch at each level, and what does it cost at each k (ratios to B×1; "
           f"≈ = within noise)?", ""]
    if problems:
        out += ["**Contradictions found** (the report disagrees with its records: a bug to "
                "report): " + "; ".join(problems), ""]
    out += [answer_table(res, answers), ""]
    out += [f"- {line}" for line in facts.findings()]
    if facts.advice:
        source = (f"profile `{levels.profile}`'s records" if levels is not None
                  else "this profile's records")
        out += ["", f"**What to use, per model** (from the trained outcomes above, and levels "
                f"1-2, memory and speed from {source} where they were measured):", "",
                *(f"- {x}" for x in facts.advice)]
    out += ["", *facts.run_facts, ""]
    if held:
        out += ["**Do the speed intervals hold?** Two sweeps of this profile on one machine, back "
                "to back: the share of the second's speed ratios inside the first's intervals "
                f"(`python -m bench coverage`; record: {COVERAGE}):", "", *held, ""]
    out += [
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
