"""Write a report directory from stored results: README.md (the answer first), CSVs, figures,
and a compressed copy of the results it was made from. Never trains.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.equivalence.verdict import LEVEL2_FACTOR
from bench.errors import BenchError
from bench.measure.memory_model import fit_activations, leave_one_out_errors
from bench.report import figures
from bench.report.frames import MIB, Results, load, short_label, write_compressed
from bench.report.rows import (
    MeasureRow,
    OutcomeLevel,
    equivalence_rows,
    measure_rows,
    outcome_level,
)
from bench.results import machine, store


@dataclass
class ModelAnswer:
    """Everything the report says about one model."""

    model: str
    data: str
    synthetic: bool
    B: int | None
    rows: list[MeasureRow]              # float32, not compiled: what the answer is about
    outcome: OutcomeLevel | None
    probe: str | None
    variants: list[MeasureRow] = field(default_factory=list)  # mixed precision, XLA


def build_report(results_paths: list[Path], out_dir: Path) -> Path:
    res = load(results_paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    answers = [_answer(res, m) for m in res.models]
    figs = _figures(res, answers, out_dir)
    files = _csvs(res, answers, out_dir)
    write_compressed(res.records + res.sessions + ([res.plan] if res.plan else []),
                     out_dir / "results.jsonl.gz")
    path = out_dir / "README.md"
    path.write_text(readme(res, answers, figs, files))
    return path


def _answer(res: Results, model: str) -> ModelAnswer:
    runs = res.runs[res.runs.model == model] if len(res.runs) else res.runs
    data = runs.dataset.dropna() if len(runs) else pd.Series(dtype=object)
    if not len(data) and len(res.eq):
        data = res.eq[res.eq.model == model].dataset.dropna()
    declared = res.model_settings(model).get("dataset")
    label = data.iloc[0] if len(data) else f"{declared or 'data'} (not run yet)"
    B = res.model_settings(model).get("effective_batch")
    probe = next((p for p in res.probes() if f"mem_{p}" in runs and runs[f"mem_{p}"].notna().any()),
                 None)
    rows = measure_rows(res, model)
    return ModelAnswer(model, short_label(label), "SYNTHETIC" in label, B,
                       [r for r in rows if not r.variant], outcome_level(res, model), probe,
                       [r for r in rows if r.variant])


# -- formatting helpers --------------------------------------------------------------------------
def _mib(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{v / MIB:,.1f}"


def _e(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{v:.1e}"


def _pts(v: float) -> str:
    return f"{v * 100:+.2f}"


def _accumulating(rows: list[MeasureRow], strategy: str) -> list[MeasureRow]:
    return sorted([r for r in rows if r.strategy == strategy and r.accum > 1], key=lambda r: r.accum)


def _ks(rows: list[MeasureRow]) -> list[int]:
    return sorted({r.accum for r in rows if r.accum > 1})


def _per_k(rows: list[MeasureRow], strategy: str, value) -> str:
    by_k = {r.accum: r for r in _accumulating(rows, strategy)}
    return " · ".join(value(by_k[k]) if k in by_k else "—" for k in _ks(rows))


def _speed_text(r: MeasureRow) -> str:
    if r.status != "ok":
        return r.status
    return "—" if r.speed is None else (("≈" if r.speed.within_noise else "") + f"{r.speed.value:.2f}")


def _memory_text(r: MeasureRow, probe: str | None, key: str = "total_ratio") -> str:
    if r.status != "ok":
        return r.status
    v = (r.memory.get(probe) or {}).get(key) if probe else None
    return "—" if v is None else f"{v:.2f}"


# -- levels 1 and 2 ------------------------------------------------------------------------------
def _level12(res: Results, model: str, strategy: str = "accumulate") -> tuple[str, str]:
    e = equivalence_rows(res, model, strategy)
    if not len(e):
        return "not analysed", "not analysed"
    failed = e[e.verdict == "failed"]
    if len(failed) == len(e):
        return "failed to run", "failed to run"
    e = e[e.verdict != "failed"]
    f64 = equivalence_rows(res, model, strategy, dtype="float64")
    f64 = f64[f64.gradient_rel_error.notna()] if len(f64) else f64
    l1_ok = (e.gradient_level == "pass").all()
    l1 = (f"{'pass' if l1_ok else '**FAIL**'} ({'≤' if l1_ok else 'up to'} "
          f"{e.gradient_rel_error.max():.1e}")
    if len(f64):
        l1 += f"; float64 {f64.gradient_rel_error.max():.0e}"
    l1 += ")"
    l2_ok = (e.trajectory_level == "pass").all()
    l2 = f"{'pass' if l2_ok else '**FAIL**'} ({'≤' if l2_ok else 'up to'} {e.trajectory_ratio.max():.2g}× floor)"
    return l1, l2


def _l3_text(a: ModelAnswer, strategy: str = "accumulate") -> str:
    if a.outcome is None:
        return "not trained in this profile"
    row = next((r for r in a.outcome.rows if r.strategy == strategy), None)
    if row is None:
        return "not judged"
    v = row.verdict
    if v.verdict == "not judged":
        return f"not judged ({v.reason})"
    word = {"equivalent": "equivalent", "different": "**different**",
            "inconclusive": "inconclusive"}[v.verdict]
    return f"{word}: {_pts(v.mean_difference)} pts {v.interval}, {v.seeds} seeds at {row.pair}"


def _caveat(res: Results, a: ModelAnswer) -> str:
    notes = []
    e = equivalence_rows(res, a.model, "accumulate")
    bad = e[e.verdict == "not equivalent"] if len(e) else e
    if len(bad):
        reason = bad.reasons.iloc[0]
        notes.append("BatchNormalization normalises each micro-batch with its own statistics "
                     "and updates its moving statistics k times per update"
                     if "BatchNormalization" in reason else reason.split(";")[0])
    warmup = bn_warmup_note(res, a)
    if warmup:
        notes.append(warmup)
    worse = [r for r in _accumulating(a.rows, "accumulate")
             if (r.memory.get(a.probe) or {}).get("total_ratio", 0) > 1]
    if worse:
        r = worse[-1]
        m = r.memory[a.probe]
        notes.append(f"accumulation needs more memory than B×1 here ({r.pair}: "
                     f"{m['held_difference'] / MIB:+.2f} MiB of accumulators, "
                     f"{m['above_difference'] / MIB:+.1f} MiB above the baseline)")
    if a.synthetic:
        notes.append("synthetic data")
    if a.outcome is not None and not a.outcome.learned:
        notes.append(a.outcome.learned_note)
    return "; ".join(notes) or "—"


#: Keras' BatchNormalization default: moving = momentum * moving + (1 - momentum) * batch
BN_MOMENTUM = 0.99


def bn_warmup_note(res: Results, a: ModelAnswer) -> str | None:
    """For a model with BatchNormalization trained briefly: how much of the moving statistics'
    initial values (mean 0, variance 1) the inference statistics still hold after the large
    batch's updates, and after accumulation's k times as many moving-average updates. A short
    run compares half-warmed inference statistics with warmed ones, not the training."""
    from models.registry import get_model

    try:
        config = get_model(a.model).config(res.model_settings(a.model).get("preset"))
    except (KeyError, TypeError):
        return None
    if not getattr(config, "batch_norm", False) or not a.outcome or not a.outcome.rows:
        return None
    runs = res.runs
    lb = runs[(runs.model == a.model) & (runs.phase == "outcome")
              & (runs.strategy == "large_batch") & (runs.status == "ok")]
    if not len(lb):
        return None
    updates = int(lb.updates.iloc[0])
    left = BN_MOMENTUM ** updates
    if left < 0.01:
        return None
    k = max(int(r.pair.split("x")[1]) for r in a.outcome.rows)
    return (f"BN warm-up: after {updates} updates the large batch's moving statistics "
            f"(momentum {BN_MOMENTUM}) still hold {left:.1%} of their initial values, "
            f"accumulation's ({k}x as many moving-average steps) {BN_MOMENTUM ** (k * updates):.1%}"
            f": L3 here partly measures warm inference statistics, not training")


def answer_table(res: Results, answers: list[ModelAnswer]) -> str:
    rows = []
    for a in answers:
        l1, l2 = _level12(res, a.model)
        ks = f" (k = {' · '.join(map(str, _ks(a.rows)))})" if _ks(a.rows) else ""
        memory = _per_k(a.rows, "accumulate", lambda r, probe=a.probe: _memory_text(r, probe))
        speed = _per_k(a.rows, "accumulate", _speed_text)
        data = a.data.split(" (")[0] + (" (SYNTHETIC)" if a.synthetic else "")
        rows.append([f"**{a.model}**", data + (f", B = {a.B}" if a.B else ""), l1, l2,
                     _l3_text(a), memory + ks if ks else "—", speed + ks if ks else "—",
                     _caveat(res, a)])
    return tabulate(rows, ["model", "data", "L1 gradient", "L2 trajectory", "L3 outcome",
                           "peak memory vs B×1", "speed vs B×1", "caveat"],
                    tablefmt="github", disable_numparse=True)


def _schedule_name(updates: int) -> str:
    steps = max(1, updates // 5)
    return (f"`ExponentialDecay(lr, decay_steps={steps}, decay_rate=0.5)` (halves the rate every "
            f"{steps} updates over a {updates}-update run)")


def keras_line(res: Results, answers: list[ModelAnswer]) -> str | None:
    const = (equivalence_rows(res, None, "keras_builtin", dtype=None, jit=None) if len(res.eq)
             else res.eq)
    pitfall = equivalence_rows(res, None, "keras_builtin", schedule=None) if len(res.eq) else res.eq
    if len(pitfall):
        pitfall = pitfall[pitfall.lr_schedule != "constant"]
    parts = []
    if len(const):
        acc = equivalence_rows(res, None, "accumulate", dtype=None, jit=None)
        where = lambda r: (r.model, r.pair, r.dtype, bool(r.jit))  # noqa: E731
        harness = {where(r): r.verdict for r in acc.itertuples()}
        differ = [r for r in const.itertuples() if where(r) in harness
                  and r.verdict != harness[where(r)]]
        compared = sum(where(r) in harness for r in const.itertuples())
        if not differ:
            parts.append(f"with a constant learning rate it averages correctly: the same verdict "
                         f"as the harness's accumulation in all {compared} analyses that ran both")
        else:
            parts.append(f"with a constant learning rate its verdict matches the harness's "
                         f"accumulation in {compared - len(differ)} of {compared} analyses; not "
                         + ", ".join(f"{r.model} {r.pair} {r.dtype}{' XLA' if r.jit else ''} "
                                     f"({r.verdict}; the harness's: {harness[where(r)]})"
                                     for r in differ))
    for _, p in pitfall.iterrows():
        if p.verdict != "not equivalent":
            parts.append(f"with {_schedule_name(p.updates)} on {p.model} at {p.pair} it was "
                         f"{p.verdict}")
            continue
        lr_reason = next((x for x in p.reasons.split(" / ") if "schedule" in x), p.reasons)
        parts.append(f"**a schedule runs k× fast**: with {_schedule_name(p.updates)}, {p.model} "
                     f"at {p.pair}: {lr_reason}")
    for a in answers:
        row = next((r for r in (a.outcome.rows if a.outcome else []) if r.strategy == "keras_builtin"), None)
        if row is not None and row.verdict.mean_difference is not None:
            parts.append(f"trained on {a.model} with cosine decay, test accuracy "
                         f"{_pts(row.verdict.mean_difference)} points {row.verdict.interval} at "
                         f"{row.pair} ({row.verdict.verdict})")
    speeds = [(a.model, r.pair, r.speed.value / acc.speed.value) for a in answers
              for r in _accumulating(a.rows, "keras_builtin") for acc in _accumulating(a.rows, "accumulate")
              if acc.pair == r.pair and r.speed and acc.speed]
    if speeds:
        lo, hi = min(s[2] for s in speeds), max(s[2] for s in speeds)
        parts.append(f"it ran at {lo:.2f}–{hi:.2f}× the harness's accumulation's speed")
    if not parts:
        return None
    return ("**Keras' built-in accumulation** (`optimizer(gradient_accumulation_steps=k)`): "
            + "; ".join(parts) + ".")


def variants_line(res: Results, answers: list[ModelAnswer]) -> str | None:
    """What mixed precision and XLA cost here, and whether accumulation stays equivalent."""
    parts = []
    for a in answers:
        for variant in sorted({r.variant for r in a.variants}):
            rows = [r for r in a.variants if r.variant == variant and r.vs_float32]
            if not rows:
                continue
            cost = ", ".join(f"{r.strategy} {r.pair} {r.vs_float32.text()}" for r in rows)
            precision = "float32" if variant == "XLA" else variant.split(" + ")[0]
            e = equivalence_rows(res, a.model, "accumulate", dtype=precision,
                                 jit="XLA" in variant)
            verdict = (f"; the harness's accumulation {e.iloc[0].verdict} (L1 "
                       f"{e.iloc[0].gradient_rel_error:.1e}, tolerance "
                       f"{e.iloc[0].gradient_tolerance:.0e})") if len(e) else ""
            parts.append(f"{variant} on {a.model}: samples/s × the float32 run: {cost}{verdict}")
    if not parts:
        return None
    return "**Mixed precision and XLA on this device**: " + "; ".join(parts) + "."


def _outcome_text(row) -> str:
    v = row.verdict
    if v.mean_difference is None:
        return f"{row.pair}: {v.verdict}"
    if v.low is None:
        return (f"{row.pair} {_pts(v.mean_difference)} pts, {v.seeds} seed"
                f"{'s' if v.seeds != 1 else ''} so far: {v.verdict}")
    side = (" (better)" if v.verdict == "different" and v.low is not None and v.low > 0 else "")
    return (f"{row.pair} {_pts(v.mean_difference)} pts {v.interval}, {v.seeds} seeds: "
            f"{v.verdict}{side}")


def _outcome_rows(a: ModelAnswer, strategy: str) -> list:
    return [r for r in (a.outcome.rows if a.outcome else []) if r.strategy == strategy]


def followups_line(res: Results, answers: list[ModelAnswer]) -> list[str]:
    """The questions that follow the answer, where the profile trained them: Keras' built-in
    accumulation with the schedule fixed, and plain training at b with a scaled rate."""
    fixed = [f"{a.model} {_outcome_text(r)}" for a in answers
             for r in _outcome_rows(a, "keras_builtin_fixed")]
    lines = []
    if fixed:
        lines.append("**Keras' built-in accumulation with the schedule fixed** (the schedule "
                     "evaluated at `iterations // k`, the update index: one line, a "
                     "`LearningRateSchedule` whose `__call__` divides its step by k): "
                     + "; ".join(fixed) + ".")
    plain = [f"{a.model}, rate × {'b/B' if rule == 'linear' else '√(b/B)'}: {_outcome_text(r)}"
             for a in answers for rule in ("linear", "sqrt")
             for r in _outcome_rows(a, f"plain_micro_{rule}_lr")]
    if plain:
        lines.append("**Do I need accumulation at all?** Plain training at the micro-batch b, "
                     "same epochs, k times more updates, the rate scaled from the large "
                     "batch's, against the large batch: " + "; ".join(plain) + ".")
    return lines


def recommendations(res: Results, answers: list[ModelAnswer]) -> list[str]:
    """One line per model that has outcome rows: what to use, from the numbers."""
    out = []
    for a in answers:
        if not a.outcome or not a.outcome.learned:
            continue
        verdicts = {(r.strategy, r.pair): r.verdict for r in a.outcome.rows}
        parts = []
        acc = [(p, v) for (s, p), v in verdicts.items() if s == "accumulate"]
        if acc:
            ok = [p for p, v in acc if v.verdict == "equivalent"]
            k = max((int(p.split("x")[1]) for p in ok), default=None)
            level12 = equivalence_rows(res, a.model, "accumulate") if len(res.eq) else res.eq
            l12 = (", and at levels 1 and 2" if len(level12) and
                   (level12.verdict == "equivalent").all() else "")
            memory = next((r for r in a.rows if r.strategy == "accumulate" and r.accum == k), None)
            cost = ""
            if memory is not None and a.probe and memory.memory.get(a.probe, {}).get("total_ratio"):
                speed = f" at {memory.speed.value:.2f}× the speed" if memory.speed else ""
                env = (memory.record or {}).get("environment")
                where = machine.label(machine.of_environment(env), (env or {}).get("device"))
                cost = (f": {memory.memory[a.probe]['total_ratio']:.2f} of the memory{speed} "
                        f"on {where}")
            parts.append(f"accumulate with k ≤ {k}{cost}, equivalent at the trained outcome{l12}"
                         if k else "accumulate: not shown equivalent at the trained outcome ("
                         + ", ".join(f"{p} {v.verdict}" + (
                             f", {_pts(v.mean_difference)} pts {v.interval}; about "
                             f"{v.seeds_to_decide} seeds would decide"
                             if v.verdict == "inconclusive" and v.seeds_to_decide else "")
                             for p, v in acc) + ")")
        builtin = [v.verdict for (s, _), v in verdicts.items() if s == "keras_builtin"]
        fixed = [v.verdict for (s, _), v in verdicts.items() if s == "keras_builtin_fixed"]
        if builtin and any(v == "different" for v in builtin):
            parts.append("Keras' built-in: only with a constant rate"
                         + (" or the fixed schedule (equivalent here)"
                            if fixed and all(v == "equivalent" for v in fixed) else "")
                         + " — with the schedule as given it lost accuracy")
        if any(v.verdict == "different" for (s, _), v in verdicts.items() if s == "naive"):
            parts.append("never the naive loop")
        plain = [(s, p, v) for (s, p), v in verdicts.items() if s.startswith("plain_micro_")
                 and v.mean_difference is not None]
        good = [f"{'√' if 'sqrt' in s else 'linear'} rule at {p}" for s, p, v in plain
                if v.low is not None and v.low > -v.margin]
        if good:
            parts.append("no accumulation needed for accuracy: plain training at b with the "
                         + " or ".join(good) + " matched or beat the large batch")
        if parts:
            out.append(f"**{a.model}**: " + "; ".join(parts) + ".")
    return out


def naive_line(res: Results, answers: list[ModelAnswer]) -> str | None:
    e = equivalence_rows(res, None, "naive", dtype=None, jit=None) if len(res.eq) else res.eq
    if not len(e):
        return None
    ok = e[e.verdict == "equivalent"]
    parts = [f"never equivalent ({len(e) - len(ok)} of {len(e)} analyses fail, every precision "
             f"and XLA included)" if not len(ok) else
             f"{len(e) - len(ok)} of {len(e)} analyses fail"]
    last = e.reasons[e.reasons.str.contains("last micro-batch", regex=False)]
    if len(last):
        parts.append(last.iloc[0].split(" / ")[0])
    for a in answers:
        row = next((r for r in (a.outcome.rows if a.outcome else []) if r.strategy == "naive"), None)
        if row is not None and row.verdict.mean_difference is not None:
            parts.append(f"trained on {a.model}: test accuracy {_pts(row.verdict.mean_difference)} "
                         f"points {row.verdict.interval} at {row.pair} ({row.verdict.verdict})")
    return "**The naive blog loop**: " + "; ".join(parts) + "."


# -- the run -------------------------------------------------------------------------------------
def timing(res: Results) -> dict[str, Any]:
    """The sweep's wall time and what share of it trained (timed updates + evaluation of every
    run; runs that shared the machine count by their share of it).

    A session writes its record (its wall time) when it ends; one stopped outright never does.
    Only runs that started inside a recorded session count towards the share, so the share
    stays a share; the others are counted apart (`unrecorded_runs`)."""
    per_shard: dict = {}
    for s in res.sessions:  # sessions of one shard add up; shards ran side by side
        per_shard[s.get("shard")] = per_shard.get(s.get("shard"), 0.0) + s["wall_seconds"]
    wall = max(per_shard.values(), default=0.0)
    jobs = max((s.get("jobs", 1) for s in res.sessions), default=1)
    spans = [(s["started_at"], s["finished_at"]) for s in res.sessions
             if s.get("started_at") and s.get("finished_at")]
    train = analyses = 0.0
    unrecorded = 0
    for r in res.records:
        if r["kind"] not in ("run", "equivalence"):
            continue
        started = r.get("started_at")
        if spans and started and not any(a <= started <= b for a, b in spans):
            unrecorded += 1
            continue
        share = 1.0 if not r.get("threads") else 1.0 / jobs
        seconds = r.get("seconds") or {}
        if r["kind"] == "run":
            train += share * ((seconds.get("updates") or 0) + (seconds.get("evaluation") or 0))
        else:
            analyses += share * (seconds.get("total") or 0)
    gpus = max((len(s.get("gpus") or []) for s in res.sessions), default=0)
    return {"wall_seconds": wall, "training_seconds": train, "analysis_seconds": analyses,
            "sessions": len(res.sessions), "jobs": jobs, "gpus": gpus,
            "shards": len([k for k in per_shard if k]),
            "machine_seconds": sum(per_shard.values()), "unrecorded_runs": unrecorded,
            "training_share": train / sum(per_shard.values()) if wall else None,
            "analysis_share": analyses / sum(per_shard.values()) if wall else None}


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"


def incomplete_line(res: Results) -> str | None:
    """How many of the configurations the profile declares have no result yet (None: all do)."""
    stored = {store.record_key(r) for r in res.records}
    judged = [c for c in res.declared if c.get("phase") != "calibrate"]
    missing = [c for c in judged if c["key"] not in stored]
    if not missing:
        return None
    return (f"**Incomplete**: {len(judged) - len(missing)} of the {len(judged)} configurations "
            f"the profile declares have results; {len(missing)} have not run yet (e.g. "
            f"{', '.join(c['name'] for c in missing[:3])}). Resume the sweep to complete it; "
            "what is missing is left out, not guessed.")


def run_facts(res: Results) -> list[str]:
    env = res.environment()
    t = timing(res)
    data = sorted({short_label(d) for d in res.runs.dataset.dropna()}) if len(res.runs) else []
    notes = {}
    for r in res.records:
        for name, m in (r.get("memory") or {}).items():
            notes.setdefault(name, (m.get("available"), m.get("reason")))
    machines = res.machines()
    lines = [f"- **Machine**: {res.device}; TensorFlow {env.get('tensorflow', '?')}, Keras "
             f"{env.get('keras', '?')}, Python {env.get('python', '?')}; CPU allocator "
             f"`{env.get('cpu_allocator', '?')}`."]
    if machines:
        measured = len(res.runs) and (res.runs.phase == "measure").any()
        mixed = (" Speed and memory figures mix these identities: compare them within one."
                 if len(machines) > 1 and measured else "")
        lines.append("- **Machine identity** (CPU family and instruction set, cores): "
                     + "; ".join(f"{name}: {n} run(s)" for name, n in machines) + "." + mixed)
    incomplete = incomplete_line(res)
    if incomplete:
        lines.append(f"- {incomplete}")
    if t["wall_seconds"]:
        share = (f"; training (timed updates + evaluation) {t['training_share']:.0%} of it, "
                 f"equivalence analyses {t['analysis_share']:.0%}") if t["training_share"] is not None else ""
        how = (f"up to {t['jobs']} configurations at once, one per GPU" if t["gpus"] > 1 else
               f"up to {t['jobs']} outcome runs or analyses at once (measure runs always alone)")
        shards = (f" in {t['shards']} shards run side by side ({_clock(t['machine_seconds'])} "
                  f"of machine time)" if t["shards"] > 1 else "")
        unrecorded = (f" {t['unrecorded_runs']} further configuration(s) ran in sessions that "
                      f"were stopped before recording their time, and are not in these figures."
                      if t["unrecorded_runs"] else "")
        lines.append(f"- **Sweep**: {_clock(t['wall_seconds'])} of wall time over "
                     f"{t['sessions']} recorded session(s){shards}, {how}{share}.{unrecorded}")
    lines.append("- **Data**: " + ("; ".join(data) or "?") + ".")
    lines.append("- **Memory probes**: " + ("; ".join(
        f"`{n}` " + ("measured" if ok else f"not available ({why})") for n, (ok, why) in notes.items())
        + ". Memory columns use the first that measured, in the order tf_allocator, nvml, "
          "process_rss." if notes else "none ran: this profile has no speed or memory runs "
                                       "(the default profile measures those)."))
    if len(res.runs) and (res.runs.phase == "measure").any():
        lines.append("- **Speed**: effective batch / median seconds per update after 3 warm-up "
                     "updates; the timed region holds taking the window from the feed (a gather "
                     "from the training tensors), the update and the wait for the device, for every "
                     "strategy alike. Ratios carry 95% bootstrap intervals over update times; ≈ "
                     "marks a ratio whose interval contains 1 (not ranked).")
    return lines


# -- per model -----------------------------------------------------------------------------------
def model_table(res: Results, a: ModelAnswer) -> str:
    rows = []
    order = {"large_batch": 0, "accumulate": 1, "keras_builtin": 2, "keras_builtin_fixed": 3,
             "naive": 4, "plain_micro_linear_lr": 5, "plain_micro_sqrt_lr": 6, "plain_micro": 7}
    for r in [*sorted(a.rows, key=lambda r: (r.accum, order.get(r.strategy, 9))),
              *sorted(a.variants, key=lambda r: (r.variant, r.accum, order.get(r.strategy, 9)))]:
        precision = (r.record or {}).get("config", {}).get("precision") or "float32"
        e = equivalence_rows(res, a.model, r.strategy, dtype=precision, jit="XLA" in r.variant)
        e = e[e.pair == r.pair] if len(e) else e
        l1 = l2 = "reference" if r.strategy == "large_batch" else (
            "speed reference" if r.strategy == "plain_micro" else "—")
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
        speed = f"{r.throughput:,.0f}" + (f" ({r.speed.text()})" if r.speed else "")
        split = ""
        if r.small_batch and r.strategy not in ("large_batch",):
            split = f"b alone {r.small_batch.text()}"
            if r.accumulation:
                split += f"; accumulating {r.accumulation.text()}"
        total = (f"{_mib(m.get('total'))} ({m['total_ratio']:.2f}×)" if "total_ratio" in m
                 else _mib(m.get("total")))
        above = (f"{_mib(m.get('above'))} ({m['above_ratio']:.2f}×)" if "above_ratio" in m
                 else _mib(m.get("above")))
        note = f"{r.vs_float32.text()} the float32 run's samples/s" if r.vs_float32 else ""
        rows.append([r.pair, name, speed, split, total, above, _mib(m.get("held")), l1, l2, note])
    return tabulate(rows, ["pair b×k", "strategy", "samples/s (× B×1 [95%])",
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
             "—" if r.verdict.mean_difference is None else _pts(r.verdict.mean_difference),
             r.verdict.interval, r.verdict.verdict,
             "; ".join(r.failed + [f"seed {s} not paired" for s in r.unpaired]) or ""]
            for r in o.rows]
    return tabulate(rows, ["strategy", "pair", "paired seeds", "test accuracy (min–max)",
                           "B×1, same seeds", "Δ points", "95% interval", "verdict", "note"],
                    tablefmt="github", disable_numparse=True)


def _outcome_paragraph(a: ModelAnswer) -> str:
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
    if not o.learned:
        text += f"**Not judged**: {o.learned_note}. "
    for r in o.rows:
        text += f"{r.strategy} {r.pair}: {r.verdict.reason}. "
    return text.strip()


def _memory_paragraph(a: ModelAnswer, res: Results) -> str | None:
    acc = _accumulating(a.rows, "accumulate")
    if not acc or not a.probe or not any(r.memory.get(a.probe) for r in acc):
        return None
    smallest = acc[-1]
    m = smallest.memory.get(a.probe)
    if not m or "total_ratio" not in m:
        return None
    s = smallest.record["model_state"]
    text = (f"Memory ({a.probe}) at {smallest.pair}: total {_mib(m['total'])} MiB = held "
            f"{_mib(m['held'])} MiB (weights {s['weights'] / MIB:.2f}, optimizer slots "
            f"{s['optimizer_slots'] / MIB:.2f}, accumulators {s['accumulators'] / MIB:.2f}) + "
            f"{_mib(m['above'])} MiB above it (gradients, activations, workspace) — "
            f"{m['total_ratio']:.2f}× the large batch's total, {m['above_ratio']:.2f}× its part "
            f"above the baseline.")
    points = [(r.micro, int(r.memory[a.probe]["above"])) for r in acc if r.memory.get(a.probe)]
    if len({p[0] for p in points}) >= 2:
        fit = fit_activations(points)
        loo = [abs(e["relative_error"]) for e in leave_one_out_errors(points)
               if e["relative_error"] is not None]
        text += (f" Memory model: {fit.intercept_bytes / MIB:.1f} MiB + "
                 f"{fit.bytes_per_sample / 1024:.0f} KiB per sample of micro-batch"
                 + (f" (leave-one-out error at most {max(loo):.0%})" if loo else "") + ".")
    return text


def _declared_missing(res: Results, model: str) -> list[str]:
    have = {r["id"]["name"] for r in res.records if r["kind"] in ("run", "equivalence")}
    return [c["name"] for c in res.declared if c["model"] == model and c["name"] not in have]


# -- figures and files -----------------------------------------------------------------------------
def _figures(res: Results, answers: list[ModelAnswer], out: Path) -> list[tuple[str, Path, str]]:
    device = res.device
    figs = []
    speed = {a.model: {st: [(r.accum, r.speed.value, r.speed.low, r.speed.high)
                            for r in _accumulating(a.rows, st) if r.speed]
                       for st in ("accumulate", "keras_builtin", "naive", "plain_micro")}
             for a in answers}
    speed = {m: {s: p for s, p in d.items() if p} for m, d in speed.items() if any(d.values())}
    if speed:
        cap = ("Samples per second relative to the large batch (B×1) of the same model, against "
               "k; bars: 95% bootstrap intervals over update times. Plain training at b (gray) "
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
                   for r in _accumulating(a.rows, st) if "total_ratio" in r.memory.get(a.probe, {})]
            if pts:
                series[st] = pts
        if series:
            memory[a.model] = series
    if memory:
        probe = answers[0].probe
        cap = (f"Total memory (held state + peak above the baseline, probe {probe}) relative to "
               f"the large batch's, against k; one run each, no error bars. Between two clean "
               "runs of the quick profile (AMD EPYC AVX2, 2 cores, 2026-11-27), allocator peaks "
               "moved by -3.6% to +6.8% and process RSS by up to +10%; on AMD EPYC family 25 "
               "(AVX-512, 2026-11-29) one process in ten read a CNN configuration's allocator "
               "peak 10% higher (TensorFlow's per-process execution order): differences "
               "smaller than that are noise, on any machine.")
        figs.append(("Memory against the large batch", figures.ratio_panels(
            memory, "total peak memory / B×1", f"Peak memory relative to the large batch — {device}",
            out / "memory.png", cap), cap))
    mm = {}
    for a in answers:
        pts = [(r.micro, int(r.memory[a.probe]["above"])) for r in _accumulating(a.rows, "accumulate")
               if a.probe and r.memory.get(a.probe)]
        lb = next((r for r in a.rows if r.strategy == "large_batch" and r.status == "ok"), None)
        if len({p[0] for p in pts}) >= 2:
            mm[a.model] = {"points": pts, "B": a.B or max(p[0] for p in pts), "probe": a.probe,
                           "large_batch": lb.memory[a.probe]["above"] if lb and lb.memory.get(a.probe) else None}
    if mm:
        cap = ("The memory model fitted to the accumulation runs (peak above baseline = intercept "
               "+ slope × b), on a linear axis; the square is the large batch, which the model "
               "predicts with the error in the legend.")
        figs.append(("Memory model", figures.memory_model(
            mm, f"Memory model: peak above baseline against the micro-batch — {device}",
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
        cap = ("Test accuracy during training, mean over paired seeds (shaded: the seeds' range); "
               "colour and marker: the strategy, line: the pair (solid: the smallest k, dashed: "
               "the next). Where the accumulation's line lies on the large batch's, the overlap *is* the "
               "result: same trained model. The naive loop is drawn apart, with the large batch "
               "repeated for reference.")
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
    for line in (keras_line(res, answers), *followups_line(res, answers), naive_line(res, answers),
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
            para = _memory_paragraph(a, res)
            if para:
                out += [para, ""]
        f64 = equivalence_rows(res, a.model, dtype="float64")
        if len(f64):
            out += ["float64 (level 1, tolerance 1e-12): " + ", ".join(
                f"{r.strategy} {r.pair}: {_e(r.gradient_rel_error)} ({r.verdict})"
                for _, r in f64.iterrows()), ""]
        for _, e in equivalence_rows(res, a.model).iterrows():
            if e.verdict != "equivalent":
                out += [f"- {e.strategy} {e.pair}: {e.verdict} — {e.reasons}"]
        if a.outcome is not None:
            out += ["", "### Outcome (level 3)", "", outcome_table(a), "", _outcome_paragraph(a), ""]
        missing = _declared_missing(res, a.model)
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
