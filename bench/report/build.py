"""Write reports/: README.md (per-model tables and verdicts), CSV of every row, and figures."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.equivalence.verdict import LEVEL2_FACTOR
from bench.errors import BenchError
from bench.measure.memory_model import fit_activations, leave_one_out_errors, points_from_records
from bench.report import figures
from bench.report.frames import load, memory_probes
from bench.report.outcome import RULE, summarise

MIB = 2**20


def build_report(results: list[Path], out_dir: Path) -> Path:
    runs, eq, records = load(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise(runs) if len(runs) else pd.DataFrame()
    if len(runs):
        runs.to_csv(out_dir / "runs.csv", index=False)
        summary.to_csv(out_dir / "summary.csv", index=False)
    if len(eq):
        eq.to_csv(out_dir / "equivalence.csv", index=False)
    device = _device(runs)
    probes = memory_probes(runs) if len(runs) else []
    figs = []
    if len(summary):
        figs.append(("Throughput", figures.throughput(summary, runs, out_dir / "throughput.png", device)))
        for probe in probes:
            figs.append((f"Peak memory ({probe})",
                         figures.memory(summary, runs, records, probe, out_dir / f"memory_{probe}.png",
                                        device)))
        figs.append(("Loss and accuracy", figures.curves(records, out_dir / "curves.png", device)))
    if len(eq) and eq.gradient_rel_error.notna().any():
        figs.append(("Level-1 gradient error", figures.gradient_error(eq, out_dir / "gradient_error.png", device)))
    text = _readme(runs, eq, summary, records, probes, figs, device)
    path = out_dir / "README.md"
    path.write_text(text)
    return path


def _device(runs: pd.DataFrame) -> str:
    devices = sorted(set(runs["device"].dropna())) if len(runs) else []
    return ", ".join(devices) or "unknown device"


def _probe_notes(records: list[dict]) -> list[str]:
    notes = {}
    for r in records:
        for name, m in (r.get("memory") or {}).items():
            notes.setdefault(name, (m.get("available"), m.get("reason")))
    return [f"- `{n}`: " + ("**measured** — " if ok else "**not available** — ") + str(why)
            for n, (ok, why) in notes.items()]


def _fmt_mib(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{v / MIB:,.1f}"


def _ratio(v) -> str:
    return "" if v is None or pd.isna(v) else f" ({v:.2f}x)"


def _eq_lookup(eq: pd.DataFrame, model: str, strategy: str, pair: str):
    """The float32, constant-schedule analysis of one pair, or None."""
    rows = _eq_rows(eq, model, strategy)
    rows = rows[rows.pair == pair] if len(rows) else rows
    return None if rows.empty else rows.iloc[0]


def _levels(e) -> tuple[str, str]:
    if e is None:
        return "—", "—"
    if e.verdict == "failed":
        return "failed", "failed"
    l1 = f"{e.gradient_level} {e.gradient_rel_error:.1e}"
    l2 = f"{e.trajectory_level} {e.trajectory_ratio:.3g}x"
    return l1, l2


def _overall(strategy: str, e, outcome: str) -> str:
    if strategy == "large_batch":
        return "reference"
    if e is not None and e.verdict == "failed":
        return "failed"
    failed = (e is not None and e.verdict == "not equivalent") or outcome == "not equivalent"
    if failed:
        return "**not equivalent**"
    if e is None:
        return "not analysed"
    return "equivalent" if outcome in ("equivalent", "n/a (1 seed)") else outcome


def _model_table(model: str, s: pd.DataFrame, eq: pd.DataFrame, probes: list[str]) -> str:
    rows = []
    s = s.sort_values(["micro", "strategy"], ascending=[False, True])
    for _, r in s.iterrows():
        e = _eq_lookup(eq, model, r.strategy, r.pair)
        l1, l2 = _levels(e) if r.strategy != "large_batch" else ("reference", "reference")
        status = r.get("status")
        if isinstance(status, str) and status != "ok":
            rows.append([r.pair, r.strategy, status.upper(), *["—"] * len(probes), "—", "—",
                         l1, l2, status, str(r.get("error") or "")[:60]])
            continue
        acc = f"{r.acc_mean:.4f} ({r.acc_min:.4f}–{r.acc_max:.4f}, n={int(r.seeds)})"
        delta = "" if r.strategy == "large_batch" else f"{r.acc_delta:+.4f}"
        mems = [_fmt_mib(r.get(f"mem_{p}")) + _ratio(r.get(f"mem_{p}_ratio")) for p in probes]
        rows.append([r.pair, r.strategy, f"{r.throughput:,.0f}" + _ratio(r.get("throughput_ratio")),
                     *mems, acc, delta, l1, l2, r.outcome, _overall(r.strategy, e, r.outcome)])
    headers = ["pair b x k", "strategy", "samples/s (x LB)",
               *[f"peak MiB, {p} (x LB)" for p in probes], "test accuracy mean (min–max, seeds)",
               "Δ acc vs LB", "L1 gradient", "L2 trajectory", "L3 outcome", "verdict"]
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True)


def _eq_rows(eq: pd.DataFrame, model: str, strategy: str, dtype: str = "float32",
             schedule: str | None = "constant") -> pd.DataFrame:
    if not len(eq):
        return eq
    m = (eq.model == model) & (eq.strategy == strategy) & (eq.dtype == dtype)
    m &= (eq.lr_schedule == schedule) if schedule else (eq.lr_schedule != "constant")
    return eq[m]


def _accumulate_sentence(model: str, s: pd.DataFrame, eq: pd.DataFrame) -> str:
    e = _eq_rows(eq, model, "accumulate")
    acc = s[s.strategy == "accumulate"]
    outcomes = set(acc.outcome)
    if not len(e):
        return "Equivalence was not analysed for the harness's accumulation."
    if set(e.verdict) == {"equivalent"} and "not equivalent" not in outcomes:
        tail = ("final accuracy within the large batch's seed spread." if "equivalent" in outcomes
                else "the outcome level needs two or more seeds.")
        return (f"**Equivalent.** The harness's accumulation matches the large batch at every pair: "
                f"gradient error at most {e.gradient_rel_error.max():.1e}, weights within "
                f"{e.trajectory_ratio.max():.2g}x the float-rounding noise floor; {tail}")
    bad = e[e.verdict != "equivalent"]
    reason = bad.reasons.iloc[0] if len(bad) else "final accuracy outside the large batch's seed spread"
    direction = ""
    if len(acc) and acc.acc_delta.notna().any():
        d = acc.sort_values("micro").acc_delta.iloc[0]
        direction = (f" Outcome at the smallest pair: test accuracy {d:+.3f} against the large "
                     f"batch ({'higher' if d > 0 else 'lower'}; different is not worse — but it is "
                     f"a different training).")
    return f"**Not equivalent.** {reason}.{direction}"


def _cost_sentences(s: pd.DataFrame, probes: list[str]) -> list[str]:
    lb, acc = s[s.strategy == "large_batch"], s[(s.strategy == "accumulate") & s.throughput.notna()]
    if not len(lb) or not len(acc):
        return []
    lb, small = lb.iloc[0], acc.sort_values("micro").iloc[0]
    out = []
    for p in probes[:1]:
        ratio = small.get(f"mem_{p}_ratio")
        if ratio is not None and not pd.isna(ratio):
            change = f"{(1 - ratio) * 100:.0f}% less" if ratio <= 1 else f"{(ratio - 1) * 100:.0f}% more"
            out.append(f"Memory: at {small.pair} training needs {change} peak memory above baseline "
                       f"than the large batch ({_fmt_mib(small[f'mem_{p}'])} vs "
                       f"{_fmt_mib(lb[f'mem_{p}'])} MiB, probe `{p}`).")
    out.append(f"Speed: at {small.pair} it runs at {small.throughput_ratio:.2f}x the large batch's "
               f"throughput ({small.throughput:,.0f} vs {lb.throughput:,.0f} samples/s).")
    return out


def _other_strategy_sentence(model: str, strategy: str, label: str, eq: pd.DataFrame) -> str | None:
    const, decay = _eq_rows(eq, model, strategy), _eq_rows(eq, model, strategy, schedule=None)
    parts = []
    if len(const):
        bad = const[const.verdict != "equivalent"]
        parts.append("equivalent with a constant learning rate at every pair" if not len(bad) else
                     f"{bad.verdict.iloc[0]} at {len(bad)} of {len(const)} pairs with a constant "
                     f"learning rate — at {bad.pair.iloc[0]}: {bad.reasons.iloc[0]}")
    for _, d in decay.iterrows():
        parts.append(f"{d.verdict} with an {d.lr_schedule} schedule — {d.reasons}")
    return f"{label}: " + "; ".join(parts) + "." if parts else None


def _memory_model_sentence(records: list[dict], model: str, probes: list[str]) -> str | None:
    if not probes:
        return None
    try:
        probe, points, _ = points_from_records(records, model, probes[0])
        fit = fit_activations(points)
    except BenchError:
        return None
    loo = [abs(e["relative_error"]) for e in leave_one_out_errors(points)
           if e["relative_error"] is not None]
    worst = max(loo, default=0.0)
    error = (f"; leave-one-out prediction error at most {worst:.0%}" if worst >= 0.01 else
             "; leave-one-out prediction error below 1%") if loo else ""
    return (f"Memory model (`{probe}`): {fit.intercept_bytes / MIB:.1f} MiB + "
            f"{fit.bytes_per_sample / 1024:.0f} KiB per sample of micro-batch{error}.")


def _verdict_paragraph(model: str, s: pd.DataFrame, eq: pd.DataFrame, probes: list[str],
                       records: list[dict]) -> str:
    lines = [_accumulate_sentence(model, s, eq), *_cost_sentences(s, probes),
             _other_strategy_sentence(model, "keras_builtin", "Keras' built-in accumulation", eq),
             _other_strategy_sentence(model, "naive", "The naive loop", eq),
             _memory_model_sentence(records, model, probes)]
    return " ".join(x for x in lines if x)


def _readme(runs, eq, summary, records, probes, figs, device) -> str:
    profiles = sorted({r.get("profile") for r in records if r.get("profile")})
    versions = next((r["environment"] for r in records if r.get("environment")), {})
    datasets = sorted(set(runs["dataset"].dropna())) if len(runs) else []
    out = ["# Is gradient accumulation equivalent to the large batch? — results", "",
           f"Generated by `python -m bench report` from stored results (profile "
           f"{', '.join(profiles) or 'n/a'}); nothing here was trained by the report.", "",
           f"- Device: **{device}**; TensorFlow {versions.get('tensorflow', '?')}, Keras "
           f"{versions.get('keras', '?')}, Python {versions.get('python', '?')}",
           "- Data: " + "; ".join(datasets), "- Memory probes:", *["  " + n for n in _probe_notes(records)],
           "", "## How to read the verdicts", "",
           "- **L1 gradient**: relative error between the gradient the strategy applies and the "
           "large-batch gradient at the same weights and data (float32 tolerance 1e-5 overall, "
           "1e-3 for any single variable; float64 1e-12).",
           f"- **L2 trajectory**: after each of N updates from the same start and data order, the "
           f"relative distance of the weights to the large batch's, as a multiple of the noise "
           f"floor (the large batch against itself started one ulp away); pass if <= "
           f"{LEVEL2_FACTOR:.0f}x at every update.",
           f"- **L3 outcome**: {RULE}.",
           "- Random layers (dropout, augmentation) are switched off for L1/L2 and on for L3; "
           "memory is the peak above the baseline taken after model, optimizer and data were built; "
           "throughput is the effective batch / median seconds per update, warm-up excluded.", ""]
    for model in dict.fromkeys(summary.model if len(summary) else eq.model):
        s = summary[summary.model == model] if len(summary) else summary
        data = runs[runs.model == model]["dataset"].dropna()
        out += [f"## {model}", "", f"Data: {data.iloc[0] if len(data) else '?'}; effective batch "
                f"{int(s.effective_batch.iloc[0]) if len(s) else '?'}; device: {device}.", ""]
        if len(s):
            out += [_model_table(model, s, eq, probes), ""]
        out += [_verdict_paragraph(model, s, eq, probes, records), ""]
        f64 = eq[(eq.model == model) & (eq.dtype == "float64") & eq.gradient_rel_error.notna()] \
            if len(eq) else eq
        if len(f64):
            out += ["float64 check (level 1, tolerance 1e-12): "
                    + ", ".join(f"{r.strategy} {r.pair}: {r.gradient_rel_error:.1e} ({r.verdict})"
                                for _, r in f64.iterrows()), ""]
    out += ["## Figures", ""] + [f"### {title}\n\n![{title}]({Path(p).name})\n" for title, p in figs]
    out += ["## Files", "", "- `runs.csv`: every measured run (one row per configuration and seed)",
            "- `summary.csv`: per model, strategy and pair, over seeds, with ratios to the large batch",
            "- `equivalence.csv`: every equivalence analysis (levels 1 and 2, verdict, reasons)", ""]
    return "\n".join(out)
