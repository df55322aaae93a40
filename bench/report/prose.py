"""The report's sentences: the caveats, the lines about Keras' built-in accumulation, the naive
loop, mixed precision and XLA, the follow-up questions, what to use per model, and the facts
about the run (machine, sweep time, data, probes). Each reads stored results only."""
from __future__ import annotations

from bench.config.names import MIB
from bench.report.answers import ModelAnswer, accumulating, pts
from bench.report.frames import Results
from bench.report.rows import equivalence_rows
from models.registry import get_model


def speed_intervals(rounds: int, side_by_side: dict | None = None) -> str:
    """What a speed ratio's interval means, for a sweep of `rounds` processes per configuration
    (`side_by_side`: a speed record's `interleaving`, where speed was timed side by side)."""
    if side_by_side and rounds == 1 and side_by_side["rounds"] > 1:
        return (f"Timed side by side: in one process per model, every configuration is built "
                f"once from the same weights and data and timed in {side_by_side['rounds']} "
                f"rounds of blocks of about {side_by_side['block_seconds']:g} s, in a shuffled "
                f"order per round; a ratio is the geometric mean of its rounds' block ratios, "
                f"and its interval a 95% *rerun* interval — where the same figure of another "
                f"sweep on this machine lands, from the spread between block rounds pooled over "
                f"the model's ratios (a process adds no measurable variance to such a ratio: "
                f"README, Numbers that hold). ≈ marks a ratio whose interval contains 1 (not "
                f"ranked).")
    if side_by_side and rounds > 1:
        return (f"Timed side by side: in each of {rounds} processes per model (minutes apart), "
                f"every configuration is built once from the same weights and data and timed "
                f"in {side_by_side['rounds']} rounds of blocks of about "
                f"{side_by_side['block_seconds']:g} s, in a shuffled order per round; a ratio "
                f"is the geometric mean of its rounds' block ratios in each process, then over "
                f"processes, and its interval a 95% *rerun* interval — where the same "
                f"figure of another sweep on this machine lands, from the spread between "
                f"processes pooled over the model's ratios. ≈ marks a ratio whose interval "
                f"contains 1 (not ranked).")
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


def token_models(res: Results) -> list[str]:
    """Models whose analyses carried token counts: a token loss (masked, padding weighted 0)."""
    return sorted({r["model"] for r in res.records
                   if r["kind"] == "equivalence" and r.get("window_tokens")})


def token_line(res: Results) -> str | None:
    """Token losses: which accumulation divides by the window's tokens, which averages
    micro-batch means (with the factor it gave each micro-batch's tokens), and what to use."""
    parts = []
    for model in token_models(res):
        said = []
        rows = equivalence_rows(res, model)
        for strategy in ("accumulate", "accumulate_mean_of_means", "keras_builtin"):
            mine = rows[rows.strategy == strategy] if len(rows) else rows
            if not len(mine):
                continue
            worst = mine.loc[mine.gradient_rel_error.idxmax()]
            record = next(r for r in res.records if r["kind"] == "equivalence"
                          and r["id"]["name"] == worst["name"])
            factors = [f for f in record.get("diagnostics", {}).get("micro_batch_factors") or []
                       if f is not None]
            spread = (f"; a micro-batch's tokens weighed {min(factors):.2f}–{max(factors):.2f}× "
                      f"their weight in the large batch" if factors else "")
            label = {"accumulate": "the harness's accumulation (summed token losses, divided "
                                   "once by the window's token count)",
                     "accumulate_mean_of_means": "the mean of micro-batch means",
                     "keras_builtin": "Keras' built-in accumulation"}[strategy]
            said.append(f"{label}: {worst.verdict} (L1 up to {worst.gradient_rel_error:.1e} "
                        f"at {worst.pair}{spread if worst.verdict != 'equivalent' else ''})")
        if said:
            parts.append(f"on {model}, " + "; ".join(said))
    if not parts:
        return None
    return ("**Token losses with padding** (a masked loss, normalised by each batch's own count "
            "of valid tokens): " + "; ".join(parts) + ". What to use for a masked or "
            "weight-normalised loss: accumulate the gradients of the summed losses and divide "
            "once by the window's total weight (the harness's `accumulate`), or weigh each "
            "micro-batch's mean by its share of the window's tokens. Keras' built-in "
            "accumulation has no one-line fix: it averages the k micro-batches' losses as `fit` "
            "computes them, each normalised by its own count.")


def ema_line(res: Results) -> str | None:
    """The EMA axis: every run kept an EMA of its weights; which strategies' EMA stayed with the
    large batch's, and why not."""
    rows = equivalence_rows(res, None, ema=True)
    if not len(rows):
        return None
    parts = []
    for r in rows.itertuples():
        why = "" if r.verdict == "equivalent" else " — " + next(
            (x for x in r.reasons.split(" / ") if "EMA" in x), r.reasons)
        parts.append(f"{r.strategy} on {r.model} at {r.pair} (momentum {r.ema:g}): {r.verdict}{why}")
    return ("**An EMA of the weights** (`use_ema`, for the large batch and every strategy; level 2 "
            "compares the EMAs over their own noise floor): " + "; ".join(parts) + ".")


def partial_window_line(res: Results) -> str | None:
    """The partial-window probe: what each strategy did with a window of fewer than k
    micro-batches at an epoch's end."""
    rows = equivalence_rows(res, None, partial_window=True)
    parts = []
    for r in rows.itertuples():
        record = next(x for x in res.records if x["kind"] == "equivalence"
                      and x["id"]["name"] == r.name)
        facts = record.get("partial_window") or {}
        if facts.get("reasons"):
            parts.append(f"{r.strategy} on {r.model} at {r.pair}: " + facts["reasons"][0])
    if not parts:
        return None
    return "**A partial window at an epoch's end**: " + "; ".join(parts) + "."


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


def _direction(rows) -> str:
    """Slower or faster where every interval says so; otherwise what each interval says, so
    the sentence never contradicts a ratio it quotes."""
    said = ["slower" if r.vs_float32.high is not None and r.vs_float32.high < 1
            else "faster" if r.vs_float32.low is not None and r.vs_float32.low > 1
            else "within noise" for r in rows]
    if len(set(said)) == 1:
        return {"slower": "slower than float32", "faster": "faster than float32"}.get(
            said[0], "not clearly faster or slower than float32")
    return "mixed against float32 (" + ", ".join(
        f"{r.strategy} {r.pair} {word}" for r, word in zip(rows, said)) + ")"


def _xla_note(rows) -> str:  # whether the records say XLA compiled (older records do not)
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
