"""How the results were made, as the report's first facts say it: the sweep's wall time and
training share, what is incomplete, the settings, data, probes and machine identities."""
from __future__ import annotations

from typing import Any

from bench.config.names import probe_order
from bench.report.frames import Results, short_label
from bench.report.prose import speed_intervals
from bench.results import store


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


def crossed_pairs(res: Results) -> list[str]:
    """Outcome comparisons whose two sides ran on different machine identities: each judged
    (strategy, pair) whose seeds' runs and their large batches' runs name different
    identities (an unknown identity counts as its own). A trained accuracy can move by a few
    test samples between identities (float reordering); the report says which pairs mix them."""
    runs = res.runs
    if not len(runs) or "machine" not in runs:
        return []
    o = runs[(runs.phase == "outcome") & (runs.status == "ok")]
    named = o.machine.fillna(o.device.fillna("unknown device") + " [identity unknown]")
    o = o.assign(where=named)
    out = []
    for model, m in o.groupby("model", sort=False):
        lb = m[m.strategy == "large_batch"].set_index("seed")["where"]
        for (strategy, pair), g in m[m.strategy != "large_batch"].groupby(["strategy", "pair"],
                                                                            sort=False):
            crossed = [(int(r.seed), r.where, lb[r.seed]) for r in g.itertuples()
                       if r.seed in lb.index and r.where != lb[r.seed]]
            if crossed:
                sides = sorted({(a, b) for _, a, b in crossed})
                out.append(f"{model} {strategy} {pair} ({len(crossed)} seed"
                           f"{'s' if len(crossed) != 1 else ''}: "
                           + "; ".join(f"on {a}, its large batch on {b}" for a, b in sides) + ")")
    return out


def machines_line(machines: list[tuple[str, int]], crossed: list[str]) -> str | None:
    """Which identities made the records, and which outcome pairs cross them."""
    if len(machines) < 2:
        return None
    text = ("Records from " + str(len(machines)) + " machine identities: "
            + "; ".join(f"{name}: {n} run(s)" for name, n in machines) + ".")
    if crossed:
        text += (" Pairs whose two sides ran on different identities (float reordering differs "
                 "between cores, so an accuracy can move by a few test samples from one to "
                 "another; these pairs mix them): "
                 + "; ".join(crossed) + ".")
    return text


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
        crossed = crossed_pairs(res)
        if crossed:
            lines.append("- **Outcome pairs across identities** (float reordering differs between "
                         "cores, so an accuracy can move by a few test samples from one to "
                         "another; these pairs mix them): "
                         + "; ".join(crossed) + ".")
        if measured:
            lines.append("- **What depends on the machine**: speed and every speed ratio, and "
                         "memory peaks and shares (a convolutional model's constant workspace "
                         "most); held "
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
        + ". Memory columns use the first that measured, in the order "
        + ", ".join(probe_order()) + "." if notes else "none ran: this profile has no speed or memory runs "
                                       "(the default profile measures those)."))
    if len(res.runs) and (res.runs.phase == "measure").any():
        warmups = sorted({(r.get("throughput") or {}).get("warmup_updates", 0)
                          for r in res.records if r.get("kind") == "run"
                          and (r.get("config") or {}).get("purpose") == "measure"})
        measure = ("each block's fastest update (bench.report.speed_ratios.block_time), after "
                   if res.interleaving else "effective batch / median seconds per update after ")
        lines.append("- **Speed**: " + measure
                     + " or ".join(map(str, warmups)) + " warm-up "
                     "updates; the timed region holds taking the window from the feed (a gather "
                     "from the training tensors), the update and the wait for the device, for every "
                     "strategy alike. " + speed_intervals(res.rounds, res.interleaving))
    return lines
