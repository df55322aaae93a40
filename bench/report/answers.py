"""What the report says about one model (`ModelAnswer`), and the small formatters every part
of the report shares (points, ratios per k, the level-1/2 and level-3 cells)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bench.config.names import MIB
from bench.judge.memory_model import ActivationFit, fit_activations
from bench.report.frames import Results, short_label
from bench.report.rows import (
    MeasureRow,
    OutcomeLevel,
    equivalence_rows,
    measure_rows,
    outcome_level,
)


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


def answer_of(res: Results, model: str) -> ModelAnswer:
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


@dataclass(frozen=True)
class MemorySplit:
    """A model's peak above the held state, split: a constant workspace and a part that scales
    with the batch (fitted to plain training at b and at B: one code path, no accumulators),
    and what accumulating adds at each measured b (the accumulation runs' measured peak above
    the line)."""

    fit: ActivationFit
    plain: list[tuple[int, int]]                 # (batch, peak above baseline), plain training
    accumulate: list[tuple[int, int]]            # (micro-batch, peak above baseline)

    def extra(self, micro: int, above: float) -> float:
        """What accumulation at `micro` needs beyond plain training at that batch."""
        return above - self.fit.transient(micro)


def memory_split(a: ModelAnswer) -> MemorySplit | None:
    """None without plain training at two batch sizes."""
    if not a.probe:
        return None
    pick = lambda strategies: [(r.micro, int(r.memory[a.probe]["above"])) for r in a.rows  # noqa: E731
                               if r.strategy in strategies and r.memory.get(a.probe)]
    plain = pick(("large_batch", "plain_micro"))
    if len({b for b, _ in plain}) < 2:
        return None
    return MemorySplit(fit_activations(plain), plain, pick(("accumulate",)))


def mib(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{v / MIB:,.1f}"


def sci(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{v:.1e}"


def pts(v: float) -> str:
    return f"{v * 100:+.2f}"


def accumulating(rows: list[MeasureRow], strategy: str) -> list[MeasureRow]:
    return sorted([r for r in rows if r.strategy == strategy and r.accum > 1], key=lambda r: r.accum)


def ks_of(rows: list[MeasureRow]) -> list[int]:
    return sorted({r.accum for r in rows if r.accum > 1})


def per_k(rows: list[MeasureRow], strategy: str, value) -> str:
    by_k = {r.accum: r for r in accumulating(rows, strategy)}
    return " · ".join(value(by_k[k]) if k in by_k else "—" for k in ks_of(rows))


def speed_text(r: MeasureRow) -> str:
    if r.status != "ok":
        return r.status
    return "—" if r.speed is None else (("≈" if r.speed.within_noise else "") + f"{r.speed.value:.2f}")


def memory_text(r: MeasureRow, probe: str | None, key: str = "total_ratio") -> str:
    if r.status != "ok":
        return r.status
    v = (r.memory.get(probe) or {}).get(key) if probe else None
    return "—" if v is None else f"{v:.2f}"


def level12(res: Results, model: str, strategy: str = "accumulate") -> tuple[str, str]:
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


def l3_text(a: ModelAnswer, strategy: str = "accumulate") -> str:
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
    return f"{word}: {pts(v.mean_difference)} pts {v.interval}, {v.seeds} seeds at {row.pair}"
