"""The report's figures: which ones the results at hand can draw, and their captions (every
figure in a caption comes from these results).

To add a figure: a function here, `(results, answers, out) -> (title, png, caption) | None`,
that picks its data from the records and writes its caption, listed in `report_figures`'s
tuple (the report's order), with its drawing in `bench.report.figures`. The report embeds
every figure the list returns; nothing else lists figures. Strategies and probes come from
`bench.config.names`: a registered one appears in every figure that has data for it."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.config.names import strategy_rank
from bench.judge.verdict import LEVEL2_FACTOR
from bench.report import figures
from bench.report.answers import ModelAnswer, accumulating, memory_split
from bench.report.frames import Results
from bench.report.rows import equivalence_rows, peak_spread
from bench.results import machine


def _peak_noise(answers: list[ModelAnswer], probe: str) -> str:
    """How far a peak moved between rounds in these results: the noise the figure carries."""
    spread = [s for a in answers for s in peak_spread(a.rows, probe)]
    if not spread:
        return ("With one process per configuration these results cannot say how far a peak "
                "moves between processes (measure.rounds >= 2 would).")
    return (f"Between rounds of this sweep, a configuration's {probe} peak moved by a median "
            f"{np.median(spread):.1%} (at most {max(spread):.1%}, over the {len(spread)} "
            "configurations read in two rounds or more): a difference within that range may be "
            "noise here.")


Figure = tuple[str, Path, str]  # (title in the report, the PNG, its caption)


def report_figures(res: Results, answers: list[ModelAnswer], out: Path) -> list[Figure]:
    """Every figure these results can draw, in the report's order; a figure with nothing to
    draw is left out. Each figure's function picks its data and writes its caption."""
    figs = (_speed, _memory, _memory_model, _level1, _level2, _curves, _time_figure, _outcome)
    return [f for f in (fig(res, answers, out) for fig in figs) if f is not None]


def _timed_strategies(answers: list[ModelAnswer]) -> list[str]:
    """Every strategy with accumulating rows, in the registry's order (the large batch is the
    reference every ratio is taken against, so it is not a series of its own)."""
    present = {r.strategy for a in answers for r in a.rows} - {"large_batch"}
    return sorted(present, key=strategy_rank)


def _speed(res: Results, answers: list[ModelAnswer], out: Path) -> Figure | None:
    speed = {a.model: {st: [(r.accum, r.speed.value, r.speed.low, r.speed.high)
                            for r in accumulating(a.rows, st) if r.speed]
                       for st in _timed_strategies(answers)}
             for a in answers}
    speed = {m: {s: p for s, p in d.items() if p} for m, d in speed.items() if any(d.values())}
    if not speed:
        return None
    side = res.interleaving
    if not res.rerun_intervals:
        bars = "95% intervals of one process"
    elif side:
        bars = (f"95% rerun intervals ({side['rounds']} rounds of blocks timed side by side in "
                f"{res.rounds} process{'es' if res.rounds > 1 else ''} per model)")
    else:
        bars = f"95% rerun intervals ({res.rounds} rounds)"
    plain = any("plain_micro" in series for series in speed.values())
    cap = ("Samples per second relative to the large batch (B×1) of the same model, against "
           f"k; bars: {bars}." + (" Plain training at b (gray) is the cost of the small batch "
                                  "alone; the gap from it to accumulation is the cost of "
                                  "accumulating." if plain else ""))
    return ("Speed against the large batch", figures.ratio_panels(
        speed, "throughput / B×1", f"Speed relative to the large batch — {res.device}",
        out / "speed.png", cap), cap)


def _memory(res: Results, answers: list[ModelAnswer], out: Path) -> Figure | None:
    memory = {}
    for a in answers:
        if not a.probe:
            continue
        series = {}
        for st in _timed_strategies(answers):
            pts = [(r.accum, r.memory[a.probe]["total_ratio"], None, None)
                   for r in accumulating(a.rows, st) if "total_ratio" in r.memory.get(a.probe, {})]
            if pts:
                series[st] = pts
        if series:
            memory[a.model] = series
    if not memory:
        return None
    probe = answers[0].probe
    each = (f"the lowest of {res.measure_rounds} rounds" if res.measure_rounds > 1
            else "one run each")
    cap = (f"Total memory (held state + peak above the baseline, probe {probe}) relative to "
           f"the large batch's, against k; {each}, no error bars. {_peak_noise(answers, probe)}")
    return ("Memory against the large batch", figures.ratio_panels(
        memory, "total peak memory / B×1", f"Peak memory relative to the large batch — {res.device}",
        out / "memory.png", cap), cap)


def _memory_model(res: Results, answers: list[ModelAnswer], out: Path) -> Figure | None:
    mm = {a.model: {"split": split, "B": a.B, "probe": a.probe}
          for a in answers for split in [memory_split(a)] if split is not None}
    if not mm:
        return None
    cap = ("Peak above the held state against the batch: plain training at b and at B "
           "(circles) fit a constant + bytes per sample × b (dashed; the legend gives the largest "
           "residual); triangles are the "
           "harness's accumulation at b, labelled with what accumulating adds beyond plain "
           "training at that b. The constant is the part that depends most on the machine.")
    return ("Memory model", figures.memory_model(
        mm, f"Memory split: peak above the held state against the batch — {res.device}",
        out / "memory_model.png", cap), cap)


def _level1(res: Results, answers: list[ModelAnswer], out: Path) -> Figure | None:
    l1 = {}
    for a in answers:
        e = equivalence_rows(res, a.model, dtype=None)
        e = e[e.gradient_rel_error.notna() & (e.lr_schedule == "constant")] if len(e) else e
        if len(e):
            l1[a.model] = e.to_dict("records")
    if not l1:
        return None
    exact = sorted({f"{r['model']} (the float32 large batch itself "
                    f"{r['exact_reference']['large_batch_float32_rel_error']:.1e} from it)"
                    for r in res.records if r["kind"] == "equivalence"
                    and (r.get("exact_reference") or {}).get("used")})
    cap = ("Relative error between the gradient each strategy applies and the large batch's, "
           "at the same weights and data (level 1); hollow markers are float64 runs."
           + (" Where the float32 large batch's own rounding exceeds the tolerance, against the "
              "large batch's gradient computed in float64: " + "; ".join(exact) + "."
              if exact else ""))
    return ("Level 1: gradient", figures.level1(
        l1, f"Level 1: gradient error against k — {res.device}", out / "level1.png", cap), cap)


def _level2(res: Results, answers: list[ModelAnswer], out: Path) -> Figure | None:
    l2 = {}
    eq_records = [r for r in res.records if r["kind"] == "equivalence" and r.get("trajectory")]
    for a in answers:
        rows = [r for r in eq_records if r["model"] == a.model and r["dtype"] == "float32"
                and ":jit:" not in r["id"]["name"]]
        smallest = min((r["micro"] for r in rows), default=None)
        rows = [r for r in rows if r["micro"] == smallest]
        if rows:
            l2[a.model] = rows
    if not l2:
        return None
    cap = ("Distance of the weights to the large batch's after each update, over the noise "
           "floor (the large batch against itself started one ulp away); hollow markers: a "
           "decaying learning-rate schedule (the Keras pitfall; the legend names it). Below "
           f"{LEVEL2_FACTOR:g}× counts as equivalent. Where "
           "Keras' built-in accumulation hides under the harness's line, that is the result: "
           "with a constant rate both apply the same update.")
    return ("Level 2: trajectory", figures.level2(
        l2, f"Level 2: distance to the large batch / noise floor, smallest pair — {res.device}",
        out / "level2.png", cap), cap)


def _outcome_runs(res: Results, model: str) -> list[dict]:
    return [r for r in res.records if r["kind"] == "run" and r["status"] == "ok"
            and r["config"]["model"] == model and r["config"].get("purpose") == "outcome"]


def _curves(res: Results, answers: list[ModelAnswer], out: Path) -> Figure | None:
    curves = {}
    for a in answers:
        groups: dict[str, list] = {}
        for r in _outcome_runs(res, a.model):
            groups.setdefault(f"{r['config']['strategy']} {r['config']['pair']}", []).append(r["curve"])
        if groups:
            curves[a.model] = groups
    if not curves:
        return None
    apart = any(label.startswith("naive") for g in curves.values() for label in g)
    cap = ("Test accuracy during training, mean over paired seeds (shaded: the seeds' range); "
           "colour and marker: the strategy, line: the pair (solid: the smallest k, dashed: "
           "the next). Where the accumulation's line lies on the large batch's, the overlap *is* the "
           "result: same trained model." + (" The naive loop is drawn apart, with the large "
                                            "batch repeated for reference." if apart else ""))
    return ("Learning curves", figures.learning_curves(
        curves, f"Test accuracy while training — {res.device}", out / "curves.png", cap), cap)


def _sharing(res: Results) -> str:
    """How many outcome runs shared the machine, as the sweep's session records say."""
    jobs = sorted({s["jobs"] for s in res.sessions if s.get("jobs")})
    if not jobs:
        return "how many at a time is not recorded"
    return (" or ".join(map(str, jobs)) + " at a time, the cores shared among them")


def _time_figure(res: Results, answers: list[ModelAnswer], out: Path) -> Figure | None:
    timed, identities = _time_to_accuracy(res, answers)
    if not timed:
        return None
    cap = ("Test accuracy against the seconds of timed training updates (evaluation "
           "excluded), mean over seeds, per strategy and pair: what accumulation costs in "
           "time to a given accuracy. Outcome runs share the machine (" + _sharing(res)
           + "), so these times are rougher than the measure runs'. Wall time "
           "compares only within one machine identity: "
           "each panel uses the runs of one (named in its title); models without a large "
           "batch of a known identity are left out (" + (", ".join(identities) or "none")
           + ").")
    return ("Time to accuracy", figures.time_to_accuracy(
        timed, "Test accuracy against training time, one machine identity per panel",
        out / "time_to_accuracy.png", cap), cap)


def _outcome(res: Results, answers: list[ModelAnswer], out: Path) -> Figure | None:
    outcome = {a.model: {"margin": a.outcome.margin, "rows": [
        {"strategy": r.strategy, "pair": r.pair, "accuracy": r.accuracy, "reference": r.reference,
         "verdict": r.verdict} for r in a.outcome.rows]} for a in answers
        if a.outcome and a.outcome.rows}
    if not outcome:
        return None
    cap = ("Each dot is one seed's test accuracy minus the large batch's with the same initial "
           "weights and data order; the bar is the mean with its 95% t-interval; shaded: the "
           "equivalence margin stated in the profile.")
    return ("Level 3: outcome", figures.outcome_intervals(
        outcome, f"Level 3: paired accuracy differences — {res.device}", out / "outcome.png", cap), cap)


def _time_to_accuracy(res: Results, answers: list[ModelAnswer]) -> tuple[dict, list[str]]:
    """Per model, the outcome runs of the machine identity that ran its large batch most often:
    {model: {"identity": label, "curves": {"strategy pair": [[(seconds, accuracy), ...]]}}},
    and the models left out (no large batch of a known identity)."""
    panels, left_out = {}, []
    for a in answers:
        runs = _outcome_runs(res, a.model)
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
