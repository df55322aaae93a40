"""The report's sentences: the caveats, the lines about Keras' built-in accumulation, the naive
loop, mixed precision and XLA, the follow-up questions, what to use per model, and the facts
about the run (machine, sweep time, data, probes). Each reads stored results only."""
from __future__ import annotations

from typing import Any

from bench.report.answers import ModelAnswer, accumulating, pts
from bench.report.frames import MIB, Results, short_label
from bench.report.rows import equivalence_rows
from bench.results import machine, store
from models.registry import get_model


def speed_intervals(rounds: int) -> str:
    """What a speed ratio's interval means, for a sweep of `rounds` processes per configuration."""
    if rounds > 1:
        return (f"Measured in {rounds} rounds (a process per configuration and round; round 2 "
                f"starts after round 1 of every configuration): a ratio is the geometric mean of "
                f"its within-round ratios, and its interval a 95% *rerun* interval — where the "
                f"same figure of another sweep on this machine lands, from the spread between "
                f"rounds pooled over the model's ratios. ≈ marks a ratio whose interval "
                f"contains 1 (not ranked).")
    return ("Measured in one round: ratios carry 95% bootstrap intervals over one process's "
            "update times, which say nothing about a rerun (a process's speed is a draw; "
            "`measure.rounds` > 1 gives rerun intervals). ≈ marks a ratio whose interval "
            "contains 1 (not ranked).")


def caveat(res: Results, a: ModelAnswer) -> str:
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
    worse = [r for r in accumulating(a.rows, "accumulate")
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
                         f"{pts(row.verdict.mean_difference)} points {row.verdict.interval} at "
                         f"{row.pair} ({row.verdict.verdict})")
    speeds = [(a.model, r.pair, r.speed.value / acc.speed.value) for a in answers
              for r in accumulating(a.rows, "keras_builtin") for acc in accumulating(a.rows, "accumulate")
              if acc.pair == r.pair and r.speed and acc.speed]
    if speeds:
        lo, hi = min(s[2] for s in speeds), max(s[2] for s in speeds)
        parts.append(f"it ran at {lo:.2f}–{hi:.2f}× the harness's accumulation's speed")
    if not parts:
        return None
    return ("**Keras' built-in accumulation** (`optimizer(gradient_accumulation_steps=k)`): "
            + "; ".join(parts) + ".")


def variants_line(res: Results, answers: list[ModelAnswer]) -> str | None:
    """What mixed precision and XLA do to speed here (faster, slower or within noise, read
    from the intervals), whether XLA really compiled, and whether accumulation stays
    equivalent under them."""
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
            verdict = (f"; the harness's accumulation stays {e.iloc[0].verdict} under it (L1 "
                       f"{e.iloc[0].gradient_rel_error:.1e}, tolerance "
                       f"{e.iloc[0].gradient_tolerance:.0e})") if len(e) else ""
            parts.append(f"{variant} on {a.model} is {_direction(rows)} here: samples/s × the "
                         f"float32 run {cost}{_xla_note(rows) if 'XLA' in variant else ''}{verdict}")
    if not parts:
        return None
    return "**Mixed precision and XLA on this device**: " + "; ".join(parts) + "."


def _direction(rows) -> str:  # slower or faster where every interval says so
    if all(r.vs_float32.high is not None and r.vs_float32.high < 1 for r in rows):
        return "slower than float32"
    if all(r.vs_float32.low is not None and r.vs_float32.low > 1 for r in rows):
        return "faster than float32"
    return "not clearly faster or slower than float32"


def _xla_note(rows) -> str:  # whether the records say XLA compiled (none before 2026-11-30)
    used = [(r.record or {}).get("end_of_training", {}).get("xla_used") for r in rows]
    if any(u is False for u in used):
        return " (XLA was NOT used by every one of them: Keras fell back without it)"
    if used and all(u is True for u in used):
        return " (the records confirm XLA compiled each step)"
    return ""


def outcome_text(row) -> str:
    v = row.verdict
    if v.mean_difference is None:
        return f"{row.pair}: {v.verdict}"
    if v.low is None:
        return (f"{row.pair} {pts(v.mean_difference)} pts, {v.seeds} seed"
                f"{'s' if v.seeds != 1 else ''} so far: {v.verdict}")
    side = (" (better)" if v.verdict == "different" and v.low is not None and v.low > 0 else "")
    return (f"{row.pair} {pts(v.mean_difference)} pts {v.interval}, {v.seeds} seeds: "
            f"{v.verdict}{side}")


def outcome_rows(a: ModelAnswer, strategy: str) -> list:
    return [r for r in (a.outcome.rows if a.outcome else []) if r.strategy == strategy]


def followup_lines(res: Results, answers: list[ModelAnswer]) -> list[str]:
    """The questions that follow the answer, where the profile trained them: Keras' built-in
    accumulation with the schedule fixed, and plain training at b with a scaled rate."""
    fixed = [f"{a.model} {outcome_text(r)}" for a in answers
             for r in outcome_rows(a, "keras_builtin_fixed")]
    lines = []
    if fixed:
        lines.append("**Keras' built-in accumulation with the schedule fixed** (the schedule "
                     "evaluated at `iterations // k`, the update index: one line, a "
                     "`LearningRateSchedule` whose `__call__` divides its step by k): "
                     + "; ".join(fixed) + ".")
    plain = [f"{a.model}, rate × {'b/B' if rule == 'linear' else '√(b/B)'}: {outcome_text(r)}"
             for a in answers for rule in ("linear", "sqrt")
             for r in outcome_rows(a, f"plain_micro_{rule}_lr")]
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
                             f", {pts(v.mean_difference)} pts {v.interval}; about "
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
            parts.append(f"trained on {a.model}: test accuracy {pts(row.verdict.mean_difference)} "
                         f"points {row.verdict.interval} at {row.pair} ({row.verdict.verdict})")
    return "**The naive blog loop**: " + "; ".join(parts) + "."


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


def clock(seconds: float) -> str:
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
        if measured:
            lines.append("- **What depends on the machine**: speed and every speed ratio, and "
                         "memory peaks and shares (a convolutional model's constant workspace "
                         "most: about 52 MiB on an AVX2 core, about 0 on AVX-512 ones); held "
                         "state, level-1 and level-2 verdicts and trained accuracies do not "
                         "(within float reordering). Compare a figure with one measured on the "
                         "same machine identity.")
    incomplete = incomplete_line(res)
    if incomplete:
        lines.append(f"- {incomplete}")
    if t["wall_seconds"]:
        share = (f"; training (timed updates + evaluation) {t['training_share']:.0%} of it, "
                 f"equivalence analyses {t['analysis_share']:.0%}") if t["training_share"] is not None else ""
        how = (f"up to {t['jobs']} configurations at once, one per GPU" if t["gpus"] > 1 else
               f"up to {t['jobs']} outcome runs or analyses at once (measure runs always alone)")
        shards = (f" in {t['shards']} shards run side by side ({clock(t['machine_seconds'])} "
                  f"of machine time)" if t["shards"] > 1 else "")
        unrecorded = (f" {t['unrecorded_runs']} further configuration(s) ran in sessions that "
                      f"were stopped before recording their time, and are not in these figures."
                      if t["unrecorded_runs"] else "")
        lines.append(f"- **Sweep**: {clock(t['wall_seconds'])} of wall time over "
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
                     "strategy alike. " + speed_intervals(res.rounds))
    return lines
