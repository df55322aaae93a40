"""What to use, per model: the advice, from the trained outcomes and every caveat the harness
measured elsewhere.

An outcome-only profile (the study) judges level 3, but its advice must not contradict what
levels 1 and 2 found for the same model and strategy in another profile's records (`levels`:
the default profile's), at any precision, compiler, EMA or partial window; nor quote one
memory share where mixed precision or XLA change it. So every strategy the advice names
carries its level-1/2 failures with their reasons, and accumulation's cost carries each
variant's memory, all with the machine and profile they were measured on.
"""
from __future__ import annotations

import pandas as pd

from bench.config.names import strategy_entry
from bench.report.answers import ModelAnswer, answer_of, pts
from bench.report.frames import Results
from bench.report.rows import MeasureRow, equivalence_rows
from bench.results import machine


def _condition(e) -> str:
    """The analysis' axis in words: 'float32', 'mixed_float16 under XLA', 'with an EMA'."""
    parts = [e["dtype"]]  # a row's `.dtype` is pandas' own
    if bool(e.get("jit")):
        parts.append("under XLA")
    if pd.notna(e.get("ema")):
        parts.append("with an EMA")
    if bool(e.get("partial_window")):
        parts.append("with a partial window")
    if e["lr_schedule"] != "constant":
        parts.append(f"with the {e['lr_schedule']} schedule")
    return " ".join(parts)


def short_reason(reasons: str) -> str:
    """The failing part of an analysis' reasons, to its first colon or semicolon (the passing
    levels' sentence, 'gradient matches ...', is left out)."""
    parts = [p for p in reasons.split(" / ") if p and not p.startswith("gradient matches")]
    first = (parts or [reasons])[0]
    return first.split(": ")[0].split("; ")[0].strip()


def level12_failures(levels: Results | None, model: str, strategy: str) -> list[str]:
    """Each level-1/2 failure of `strategy` on `model`, one per reason with the conditions and
    pairs it failed under: 'only 1/8 of the samples reach the weights (float32, mixed_float16
    at 16x8)'."""
    if levels is None or not len(levels.eq):
        return []
    e = equivalence_rows(levels, model, strategy, dtype=None, schedule=None, jit=None,
                         ema=None, partial_window=None)
    groups: dict[str, dict[str, list[str]]] = {}
    for _, row in e[e.verdict == "not equivalent"].iterrows():
        where = groups.setdefault(short_reason(row["reasons"]), {})
        where.setdefault(_condition(row), []).append(row["pair"])
    out = []
    for why, where in groups.items():
        pairs = {", ".join(dict.fromkeys(p)) for p in where.values()}
        conditions = (f"{', '.join(where)} at {pairs.pop()}" if len(pairs) == 1 else
                      "; ".join(f"{c} at {', '.join(dict.fromkeys(p))}" for c, p in where.items()))
        out.append(f"{why} ({conditions})")
    return out


def _failures_text(levels: Results | None, model: str, strategy: str) -> str:
    """'not equivalent at levels 1-2 (profile `default`): ...', or '' where none failed."""
    failures = level12_failures(levels, model, strategy)
    if not failures:
        return ""
    return f"not equivalent at levels 1-2 (profile `{levels.profile}`): " + "; ".join(failures)


def _levels_note(levels: Results | None, model: str, strategy: str, trained_ok: bool) -> str:
    failed = _failures_text(levels, model, strategy)
    if not failed:
        return ""
    tail = "; the trained accuracy matched, the training did not" if trained_ok else ""
    return f" — but {failed}{tail}"


def _cost(levels: Results | None, model: str) -> str:
    """Accumulation's memory and speed at its largest measured k, float32 and every variant
    measured at that pair, on the machine that measured them."""
    if levels is None:
        return ""
    a = answer_of(levels, model)
    acc = [r for r in a.rows if r.strategy == "accumulate" and r.status == "ok"]
    if not acc or not a.probe:
        return ""
    row = max(acc, key=lambda r: r.accum)
    variants = [r for r in a.variants if r.strategy == "accumulate" and r.pair == row.pair]

    def memory(r: MeasureRow) -> str | None:
        total = (r.memory.get(a.probe) or {}).get("total_ratio")
        return None if total is None else f"{total:.2f}"

    shares = [f"{memory(row)} in float32"] if memory(row) else []
    shares += [f"{memory(r)} under {r.variant}" for r in variants if memory(r)]
    if not shares:
        return ""
    speed = f"; {row.speed.text()} its speed in float32" if row.speed else ""
    env = (row.record or {}).get("environment")
    where = machine.label(machine.of_environment(env), (env or {}).get("device"))
    return (f" (profile `{levels.profile}`, B = {a.B} at {row.pair}, {a.probe}, on {where}: "
            f"the large batch's memory × {', '.join(shares)}{speed})")


def recommendations(res: Results, answers: list[ModelAnswer],
                    levels: Results | None = None) -> list[str]:
    """One line per model that has outcome rows: what to use, from the numbers. `levels`: the
    records whose levels 1-2, memory and speed the advice must carry (default: `res` itself
    where it has equivalence records)."""
    levels = levels if levels is not None else (res if len(res.eq) else None)
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
            note = _levels_note(levels, a.model, "accumulate", bool(k))
            l12 = ", and at levels 1 and 2" if levels is not None and not note else ""
            parts.append(f"accumulate with k ≤ {k}{_cost(levels, a.model)}, equivalent at the "
                         f"trained outcome{l12}{note}"
                         if k else "accumulate: not shown equivalent at the trained outcome ("
                         + ", ".join(f"{p} {v.verdict}" + (
                             f", {pts(v.mean_difference)} pts {v.interval}; about "
                             f"{v.seeds_to_decide} seeds would decide"
                             if v.verdict == "inconclusive" and v.seeds_to_decide else "")
                             for p, v in acc) + ")" + note)
        builtin = [v.verdict for (s, _), v in verdicts.items() if s == "keras_builtin"]
        fixed = [v.verdict for (s, _), v in verdicts.items() if s == "keras_builtin_fixed"]
        if builtin and any(v == "different" for v in builtin):
            parts.append("Keras' built-in: only with a constant rate"
                         + (" or the fixed schedule (equivalent here)"
                            if fixed and all(v == "equivalent" for v in fixed) else "")
                         + " — with the schedule as given it lost accuracy"
                         + _levels_note(levels, a.model, "keras_builtin", False))
        elif builtin_failed := _failures_text(levels, a.model, "keras_builtin"):
            parts.append("Keras' built-in: " + builtin_failed)
        shown = {"accumulate", "naive", "keras_builtin",
                 *(["keras_builtin_fixed"] if builtin else [])}
        for s, p, v in [(s, p, v) for (s, p), v in verdicts.items() if s not in shown
                        and not s.startswith("plain_micro_") and v.verdict != "equivalent"]:
            decide = (f"; about {v.seeds_to_decide} seeds would decide"
                      if v.verdict == "inconclusive" and v.seeds_to_decide else "")
            parts.append(f"{strategy_entry(s).label}: not shown equivalent at the trained "
                         f"outcome ({p} {v.verdict}, {pts(v.mean_difference)} pts "
                         f"{v.interval}{decide}){_levels_note(levels, a.model, s, False)}")
        naive_failed = _failures_text(levels, a.model, "naive")
        if naive_failed or any(v.verdict == "different" for (s, _), v in verdicts.items()
                               if s == "naive"):
            parts.append("never the naive loop" + (f": {naive_failed}" if naive_failed else ""))
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
