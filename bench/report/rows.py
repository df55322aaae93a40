"""The numbers of a report, computed once from stored records: speed ratios with intervals,
memory as totals and above the baseline, level-3 verdicts from paired seeds.

Speed: a ratio of two configurations' update times (same effective batch, so the inverse ratio
of their samples per second), taken between replicates measured alike: the rounds of blocks of
one side-by-side speed process (`measure.speed_processes = 1`), the speed processes (>= 2), or
the measure runs' rounds (`measure.rounds`, a process per configuration and round). The figure
is the geometric mean over replicates, and its interval a 95% *rerun* (prediction) interval:
where the same figure of another sweep will land, from the spread between replicates pooled
over the model's ratios. Block rounds of one process stand for a rerun because a process adds
no measurable variance to a side-by-side ratio (README: Numbers that hold); separate processes
per configuration do (one process's speed is a draw), so there the replicates are processes.
With one process per configuration and no blocks, a 95% bootstrap interval of that process's
update times, which says nothing about a rerun. An interval that contains 1 is "within noise"
and is not ranked. Memory: the lowest round's peak (a process's allocator peak is a draw of
TensorFlow's executor order, up to +1.2 MB on the CNN). *Above
baseline* is a probe's peak over the allocation after model, optimizer and accumulators were
built; *total* adds that held state (weights, optimizer slots, accumulators — gradients are
transient, so they are inside the peak above baseline).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.judge.outcome import OutcomeVerdict, judge, not_judged
from bench.report.frames import Results, held_bytes, variant_of
from bench.report.speed_ratios import (
    Ratio,
    pooled_spread,
    process_block_logs,
    replicate_logs,
    rerun_ratio,
    speed_ratio,
    within_floor,
)
from bench.results.identity import configuration_name


@dataclass
class MeasureRow:
    model: str
    strategy: str
    pair: str
    micro: int
    accum: int
    status: str
    error: str | None
    record: dict | None                   # the first round that finished (else the first)
    throughput: float | None = None       # median over rounds
    iqr: float | None = None
    speed: Ratio | None = None            # vs the large batch
    small_batch: Ratio | None = None      # plain_micro vs the large batch (the cost of b alone)
    accumulation: Ratio | None = None     # this strategy vs plain_micro (the cost of accumulating)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)  # probe -> numbers
    variant: str = ""                     # "" (float32), or e.g. "mixed_float16", "XLA"
    vs_float32: Ratio | None = None       # a variant's speed vs the float32 run of its strategy
    rounds: dict[int, dict] = field(default_factory=dict)  # process -> its finished speed record
    memory_rounds: dict[int, dict] = field(default_factory=dict)  # process -> measure record


def _measure_records(results: Results, model: str, purpose: str) -> dict[str, dict[int, dict]]:
    """Configuration name (as its measure run is named) -> round -> record, for `model`'s
    runs of `purpose` (measure or speed)."""
    out: dict[str, dict[int, dict]] = {}
    for r in results.records:
        c = r.get("config") or {}
        if r["kind"] == "run" and c.get("model") == model and c.get("purpose", "measure") == purpose:
            name = configuration_name(r["id"]["name"]).replace(f"{model}:{purpose}:", f"{model}:", 1)
            out.setdefault(name, {})[c.get("round", 1)] = r
    return out


def _peak(rounds: dict[int, dict], probe: str) -> float | None:
    """The lowest round's peak of `probe` (every round that read it)."""
    peaks = _peaks(rounds, probe)
    return min(peaks) if peaks else None


def _peaks(rounds: dict[int, dict], probe: str) -> list[float]:
    return [float(m["peak_bytes"]) for r in rounds.values()
            for m in [(r.get("memory") or {}).get(probe) or {}]
            if m.get("available") and m.get("peak_bytes") is not None]


def peak_spread(rows: list[MeasureRow], probe: str) -> list[float]:
    """For each configuration read in two rounds or more: (highest - lowest) / lowest of its
    `probe` peaks, how much a peak moves between processes in this sweep."""
    return [max(p) / min(p) - 1 for row in rows for p in [_peaks(row.memory_rounds, probe)]
            if len(p) >= 2 and min(p) > 0]


def measure_rows(results: Results, model: str) -> list[MeasureRow]:
    """One row per declared measure configuration of `model` (failed and missing ones too),
    its rounds folded into one."""
    if not len(results.runs):
        return []
    found = _measure_records(results, model, "measure")
    timed = _measure_records(results, model, "speed")
    declared = [configuration_name(c["name"]) for c in results.declared
                if c["model"] == model and c["phase"] == "measure"]
    rows = []
    for name in dict.fromkeys([*declared, *found, *timed]):
        recs, speed = found.get(name, {}), timed.get(name, {})
        if not recs and not speed:
            strategy, pair = name.split(":")[1:3]
            micro, accum = (int(x) for x in pair.split("x")[:2])
            rows.append(MeasureRow(model, strategy, pair, micro, accum, "not run", None, None))
            continue
        ok = {i: r for i, r in sorted(recs.items()) if r["status"] == "ok"}
        fast = {i: r for i, r in sorted(speed.items()) if r["status"] == "ok"}
        every = [*recs.values(), *speed.values()]
        first = next(iter(ok.values()), None) or next(iter(fast.values()), None) or every[0]
        failed = [f"{'speed process' if r['config'].get('purpose') == 'speed' else 'round'} "
                  f"{r['config'].get('round', 1)}: {r['status']} — {r.get('error')}"
                  for r in every if r["status"] != "ok"]
        c = first["config"]
        rows.append(MeasureRow(model, c["strategy"], c["pair"], c["micro"], c["accum"],
                               first["status"], "; ".join(failed) or first.get("error"), first,
                               variant=variant_of(c.get("precision"), c.get("jit")),
                               rounds=fast if speed or timed else ok, memory_rounds=ok))
    partners = _lookup(rows)
    _ratios(rows, partners)
    for row in rows:
        if row.status == "ok":
            _memory(row, partners(row)[0])
    return rows


def _lookup(rows: list[MeasureRow]):
    """row -> (its large batch, plain training at its b, its float32 run), among `rows`."""
    ok = {(x.strategy, x.micro, x.record["config"]["seed"], x.variant): x for x in rows
          if x.status == "ok" and x.record}

    def partners(row: MeasureRow):
        seed, B = row.record["config"]["seed"], row.record["config"]["effective_batch"]
        return (ok.get(("large_batch", B, seed, row.variant)),  # each variant against its own
                ok.get(("plain_micro", row.micro, seed, row.variant)),
                ok.get((row.strategy, row.micro, seed, "")))
    return partners


def _ratios(rows: list[MeasureRow], partners) -> None:
    """Every speed ratio of the model's rows: between replicates (`replicate_logs`) with a
    rerun interval from the spread pooled over all of them, or (one process without blocks)
    bootstrapped within the one process."""
    wanted: list[tuple[MeasureRow, str, MeasureRow, MeasureRow]] = []
    for row in rows:
        if row.status != "ok":
            continue
        row.throughput = float(np.median([r["throughput_samples_per_s"] for r in row.rounds.values()
                                          if r.get("throughput_samples_per_s") is not None]
                                         or [np.nan]))
        timed = next(iter(row.rounds.values()), None) or {}
        row.iqr = (timed.get("throughput") or {}).get("iqr_relative")
        lb, plain, base = partners(row)
        if row.variant and base is not None:
            wanted.append((row, "vs_float32", row, base))
        if lb is not None and row.strategy != "large_batch":
            wanted.append((row, "speed", row, lb))
        if plain is not None and lb is not None:
            wanted.append((row, "small_batch", plain, lb))
            if row.strategy not in ("plain_micro", "large_batch"):
                wanted.append((row, "accumulation", row, plain))
    # a configuration read for memory only (not timed where the model was timed side by side)
    wanted = [w for w in wanted if w[2].rounds and w[3].rounds]
    found = [replicate_logs(a.rounds, b.rounds) for _, _, a, b in wanted]
    # pooled among replicates of one kind: a block round's spread is not a process's
    spread = {kind: pooled_spread([x for x, k in found if k == kind]) for _, kind in found}
    # processes timed side by side: their block rounds bound a process mean's spread below
    floor = within_floor([logs for (_, _, a, b), (_, kind) in zip(wanted, found)
                          if kind == "processes"
                          for logs in process_block_logs(a.rounds, b.rounds)])
    for (row, attr, a, b), (x, kind) in zip(wanted, found):
        ratio = (rerun_ratio(x, spread[kind], floor if kind == "processes" else None)
                 if len(x) > 1
                 else speed_ratio(next(iter(a.rounds.values()), a.record),
                                  next(iter(b.rounds.values()), b.record)))
        setattr(row, attr, ratio)


def _memory(row: MeasureRow, lb: MeasureRow | None) -> None:
    held = _held(row.record)
    probes = {p for r in row.memory_rounds.values() for p in (r.get("memory") or {})}
    for probe in sorted(probes):
        above = _peak(row.memory_rounds, probe)
        if above is None:
            continue
        numbers = {"above": above, "held": held, "total": above + held}
        ref = _peak(lb.memory_rounds, probe) if lb is not None else None
        if ref:
            ref_held = _held(lb.record)
            numbers["above_ratio"] = above / ref
            numbers["total_ratio"] = (above + held) / (ref + ref_held)
            numbers["held_difference"] = held - ref_held
            numbers["above_difference"] = above - ref
        row.memory[probe] = numbers


def _held(record: dict) -> float:
    return float(held_bytes(record) or 0)


@dataclass
class OutcomeRow:
    """One judged (strategy, pair) of level 3: TensorFlow's sweeps, and the backend lane's page
    (`backend` set, bench.report.backend_outcome)."""
    model: str
    strategy: str
    pair: str
    accuracy: list[float]                 # per paired seed
    reference: list[float]                # the large batch, same seeds
    verdict: OutcomeVerdict
    failed: list[str] = field(default_factory=list)
    unpaired: list[int] = field(default_factory=list)
    auc: list[float] = field(default_factory=list)
    backend: str = ""                     # the lane's backend; empty on TensorFlow


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
    learned, note = large_batch_learned(ref_acc, majorities, bar)
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


def large_batch_learned(accuracy: list[float], majority: list[float | None],
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
                     jit: bool | None = False, ema: bool | None = False,
                     partial_window: bool | None = False) -> pd.DataFrame:
    """Equivalence rows, filtered (None: any model / strategy / dtype / schedule / jit / EMA
    axis / partial-window probe; `ema=False`: the analyses without an EMA of the weights, True:
    those with one; `partial_window` likewise)."""
    eq = results.eq
    if not len(eq):
        return eq
    m = eq.model.notna() if model is None else eq.model == model
    if ema is not None and "ema" in eq:
        m &= eq.ema.notna() == ema
    if partial_window is not None and "partial_window" in eq:
        m &= eq.partial_window == partial_window
    if jit is not None and "jit" in eq:
        m &= eq.jit == jit
    if strategy is not None:
        m &= eq.strategy == strategy
    if dtype is not None:
        m &= eq.dtype == dtype
    if schedule is not None:
        m &= eq.lr_schedule == schedule
    return eq[m]
