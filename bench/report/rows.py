"""The numbers of a report, computed once from stored records: speed ratios with intervals,
memory as totals and above the baseline, level-3 verdicts from paired seeds.

Speed: a ratio of two runs' median update times (same effective batch, so the inverse ratio of
their samples per second), with a 95% bootstrap interval from resampling each run's steady-state
update times; an interval that contains 1 is "within noise" and is not ranked. Memory: *above
baseline* is a probe's peak over the allocation after model, optimizer and accumulators were
built; *total* adds that held state (weights, optimizer slots, accumulators — gradients are
transient, so they are inside the peak above baseline).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bench.equivalence.outcome import OutcomeVerdict, judge, not_judged
from bench.report.frames import Results, steady_seconds, variant_of


@dataclass(frozen=True)
class Ratio:
    value: float
    low: float | None = None
    high: float | None = None

    @property
    def within_noise(self) -> bool:
        return self.low is not None and self.low <= 1.0 <= self.high

    def text(self, digits: int = 2) -> str:
        mark = "≈" if self.within_noise else ""
        if self.low is None:
            return f"{mark}{self.value:.{digits}f}×"
        return f"{mark}{self.value:.{digits}f}× [{self.low:.{digits}f}–{self.high:.{digits}f}]"


def speed_ratio(record: dict, reference: dict, draws: int = 2000, seed: int = 0) -> Ratio | None:
    """Samples/s of `record` over `reference` (same B), with a bootstrap 95% interval."""
    a, b = steady_seconds(record), steady_seconds(reference)
    if not len(a) or not len(b):
        return None
    rng = np.random.default_rng(seed)
    ma = np.median(rng.choice(a, (draws, len(a))), axis=1)
    mb = np.median(rng.choice(b, (draws, len(b))), axis=1)
    boot = mb / ma
    return Ratio(float(np.median(b) / np.median(a)), float(np.percentile(boot, 2.5)),
                 float(np.percentile(boot, 97.5)))


@dataclass
class MeasureRow:
    model: str
    strategy: str
    pair: str
    micro: int
    accum: int
    status: str
    error: str | None
    record: dict | None
    throughput: float | None = None
    iqr: float | None = None
    speed: Ratio | None = None            # vs the large batch
    small_batch: Ratio | None = None      # plain_micro vs the large batch (the cost of b alone)
    accumulation: Ratio | None = None     # this strategy vs plain_micro (the cost of accumulating)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)  # probe -> numbers
    variant: str = ""                     # "" (float32), or e.g. "mixed_float16", "XLA"
    vs_float32: Ratio | None = None       # a variant's speed vs the float32 run of its strategy


def _by_name(results: Results) -> dict[str, dict]:
    return {r["id"]["name"]: r for r in results.records if r["kind"] == "run"}


def measure_rows(results: Results, model: str) -> list[MeasureRow]:
    """One row per declared measure configuration of `model` (failed and missing ones too)."""
    runs = results.runs
    if not len(runs):
        return []
    named = _by_name(results)
    m = runs[(runs.model == model) & (runs.phase == "measure")]
    declared = [c["name"] for c in results.declared if c["model"] == model and c["phase"] == "measure"]
    names = list(dict.fromkeys([*declared, *m.name]))
    rows = []
    for name in names:
        r = named.get(name)
        if r is None:
            strategy, pair = name.split(":")[1:3]
            micro, accum = (int(x) for x in pair.split("x")[:2])
            rows.append(MeasureRow(model, strategy, pair, micro, accum, "not run", None, None))
            continue
        c = r["config"]
        rows.append(MeasureRow(model, c["strategy"], c["pair"], c["micro"], c["accum"],
                               r["status"], r.get("error"), r,
                               variant=variant_of(c.get("precision"), c.get("jit"))))
    ok = {(x.strategy, x.micro, x.record["config"]["seed"], x.variant): x for x in rows
          if x.status == "ok" and x.record}
    for row in rows:
        if row.status != "ok":
            continue
        seed, B = row.record["config"]["seed"], row.record["config"]["effective_batch"]
        lb = ok.get(("large_batch", B, seed, row.variant))  # each variant against its own
        plain = ok.get(("plain_micro", row.micro, seed, row.variant))
        base = ok.get((row.strategy, row.micro, seed, ""))
        if row.variant and base is not None:
            row.vs_float32 = speed_ratio(row.record, base.record)
        row.throughput = row.record.get("throughput_samples_per_s")
        row.iqr = (row.record.get("throughput") or {}).get("iqr_relative")
        if lb is not None and row.strategy != "large_batch":
            row.speed = speed_ratio(row.record, lb.record)
        if plain is not None and lb is not None:
            row.small_batch = speed_ratio(plain.record, lb.record)
            if row.strategy not in ("plain_micro", "large_batch"):
                row.accumulation = speed_ratio(row.record, plain.record)
        held = _held(row.record)
        for probe, reading in (row.record.get("memory") or {}).items():
            if not reading.get("available") or reading.get("peak_bytes") is None:
                continue
            above = float(reading["peak_bytes"])
            numbers = {"above": above, "held": held, "total": above + held}
            ref = (lb.record.get("memory") or {}).get(probe) if lb is not None else None
            if ref and ref.get("available") and ref.get("peak_bytes"):
                ref_held = _held(lb.record)
                numbers["above_ratio"] = above / ref["peak_bytes"]
                numbers["total_ratio"] = (above + held) / (ref["peak_bytes"] + ref_held)
                numbers["held_difference"] = held - ref_held
                numbers["above_difference"] = above - ref["peak_bytes"]
            row.memory[probe] = numbers
    return rows


def _held(record: dict) -> float:
    s = record.get("model_state") or {}
    return float(s.get("weights", 0) + s.get("optimizer_slots", 0) + s.get("accumulators", 0))


@dataclass
class OutcomeRow:
    model: str
    strategy: str
    pair: str
    accuracy: list[float]                 # per paired seed
    reference: list[float]                # the large batch, same seeds
    verdict: OutcomeVerdict
    failed: list[str] = field(default_factory=list)
    unpaired: list[int] = field(default_factory=list)
    auc: list[float] = field(default_factory=list)


@dataclass
class OutcomeLevel:
    model: str
    margin: float
    bar: float | None
    reference: list[float]                # large-batch accuracy per seed
    majority: float | None
    achievable: float | None
    learned: bool
    learned_note: str
    rows: list[OutcomeRow]
    reference_auc: list[float] = field(default_factory=list)


def outcome_level(results: Results, model: str) -> OutcomeLevel | None:
    """Level 3 for `model`: every judged (strategy, pair) against the large batch, seed-paired."""
    runs = results.runs
    if not len(runs):
        return None
    o = runs[(runs.model == model) & (runs.phase == "outcome")]
    declared = [c for c in results.declared if c["model"] == model and c["phase"] == "outcome"]
    if not len(o) and not declared:
        return None
    settings = results.settings(model, "outcome")
    margin, bar = float(settings.get("margin", 0.01)), settings.get("bar")
    ok = o[o.status == "ok"]
    lb = ok[ok.strategy == "large_batch"].set_index("seed")
    ref_acc = [float(a) for a in lb.accuracy]
    majority = float(ok.majority.dropna().iloc[0]) if ok.majority.notna().any() else None
    achievable = float(ok.achievable.dropna().iloc[0]) if ok.achievable.notna().any() else None
    # each seed against its own test set's majority class: a synthetic data set is drawn per
    # seed (the census stand-in's majority rate was 0.77, 0.63 and 0.76 for seeds 0-2)
    majorities = [float(m) if m is not None and not pd.isna(m) else None for m in lb.majority]
    learned, note = _learned(ref_acc, majorities, bar)
    rows = []
    for (strategy, pair), g in o[o.strategy != "large_batch"].groupby(["strategy", "pair"], sort=False):
        good = g[g.status == "ok"]
        failed = [f"seed {s}: {st}" for s, st in zip(g.seed, g.status) if st != "ok"]
        diffs, acc, ref, unpaired, auc = [], [], [], [], []
        for _, r in good.iterrows():
            if r.seed not in lb.index:
                continue
            base = lb.loc[r.seed]
            if (r.initial_sha, r.order_sha) != (base.initial_sha, base.order_sha):
                unpaired.append(int(r.seed))
                continue
            diffs.append(float(r.accuracy) - float(base.accuracy))
            acc.append(float(r.accuracy))
            ref.append(float(base.accuracy))
            if r.auc is not None and not pd.isna(r.auc):
                auc.append(float(r.auc))
        verdict = judge(diffs, margin) if learned else not_judged(note, margin, len(diffs))
        rows.append(OutcomeRow(model, strategy, pair, acc, ref, verdict, failed, unpaired, auc))
    ref_auc = [float(a) for a in lb.auc.dropna()] if "auc" in lb else []
    return OutcomeLevel(model, margin, bar, ref_acc, majority, achievable, learned, note, rows,
                        ref_auc)


def _learned(accuracy: list[float], majority: list[float | None],
             bar: float | None) -> tuple[bool, str]:
    """Did the large batch learn? Its accuracy bar, or else every seed clearly above its own
    test set's majority class."""
    if not accuracy:
        return False, "the large batch has no finished run"
    mean = sum(accuracy) / len(accuracy)
    if bar is not None:
        if min(accuracy) >= bar:
            return True, f"the large batch reached {mean:.3f} (every seed >= the bar {bar:.2f})"
        return False, (f"the large batch reached only {min(accuracy):.3f} on its worst seed, "
                       f"below the bar {bar:.2f}: nothing is judged")
    pairs = [(a, m) for a, m in zip(accuracy, majority) if m is not None]
    if pairs:
        margin = min(a - m for a, m in pairs)
        worst = min(pairs, key=lambda p: p[0] - p[1])
        if margin > 0.02:
            return True, (f"the large batch reached {mean:.3f}, every seed at least "
                          f"{margin * 100:.1f} points above its test set's majority class")
        return False, (f"the large batch ({worst[0]:.3f}) is not clearly above its test set's "
                       f"majority class ({worst[1]:.3f}): it learned nothing to compare")
    return True, f"the large batch reached {mean:.3f}"


def equivalence_rows(results: Results, model: str | None, strategy: str | None = None,
                     dtype: str | None = "float32", schedule: str | None = "constant",
                     jit: bool | None = False) -> pd.DataFrame:
    """Equivalence rows, filtered (None: any model / strategy / dtype / schedule / jit)."""
    eq = results.eq
    if not len(eq):
        return eq
    m = eq.model.notna() if model is None else eq.model == model
    if jit is not None and "jit" in eq:
        m &= eq.jit == jit
    if strategy is not None:
        m &= eq.strategy == strategy
    if dtype is not None:
        m &= eq.dtype == dtype
    if schedule is not None:
        m &= eq.lr_schedule == schedule
    return eq[m]


def equivalence_of(results: Results, model: str, strategy: str, pair: str) -> dict[str, Any] | None:
    rows = equivalence_rows(results, model, strategy)
    rows = rows[rows.pair == pair] if len(rows) else rows
    return None if rows.empty else rows.iloc[0].to_dict()
