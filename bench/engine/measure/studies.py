"""Two measurements that need more than one run: accumulation overhead and repeatability.

Overhead compares configurations *in the same process, interleaved in rounds*, so machine drift
hits all of them alike, and reports ratios of throughput taken within each round: for every
model, without and with XLA, the harness's accumulation against Keras' built-in accumulation,
plain training at the micro-batch size and the large batch (and itself with XLA against
without); on the first model, the fused update against one traced call per micro-batch, and
the cost of the memory probes.
Repeatability runs one configuration several times, each isolated, and reports the spread.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from tabulate import tabulate

from bench.config.job import Job
from bench.config.plan import AccumulationPlan
from bench.config.run import RunConfig
from bench.config.training import TrainingConfig
from bench.data import Sources, load_dataset
from bench.data.registry import resolve_dataset
from bench.engine.measure.probes.process import ProcessMemoryProbe
from bench.engine.runtime import distribution
from bench.engine.training.feed import WindowFeed
from bench.engine.training.setup import build_trainer
from bench.execute.client import Worker


@dataclass(frozen=True)
class OverheadSpec:
    """Every model, without and with XLA, at the default profile's 16x8 of B=128."""

    models: tuple[str, ...] = ("cnn", "cnn_bn", "mlp_mixer", "fnet", "gmlp", "grn_vsn")
    xla: tuple[bool, ...] = (False, True)
    dataset: str | None = None  # None: each model's seed data set, else the offline default
    effective_batch: int = 128
    micro: int = 16
    preset: str | None = "small"
    rounds: int = 3
    updates_per_round: int = 20
    seed: int = 0


#: compared with the harness's accumulation in every (model, XLA) cell
ALTERNATIVES = ("keras_builtin", "plain_micro", "large_batch")
#: measured once, on the first model without XLA: the unfused form and the probes' cost
EXTRAS = ("accumulate_per_micro", "accumulate_probe_hwm", "accumulate_probe_sampler")


def cell(model: str, xla: bool) -> str:
    return f"{model}{':xla' if xla else ''}"


def cell_name(model: str, xla: bool, variant: str) -> str:
    return f"{cell(model, xla)}:{variant}"


def overhead(spec: OverheadSpec = OverheadSpec()) -> dict[str, Any]:
    """Every variant built once in this process, then timed in interleaved rounds (each variant
    once per round), so drift hits all alike; ratios are taken within a round."""

    B, b = spec.effective_batch, spec.micro
    total = spec.rounds * spec.updates_per_round
    runners, datasets, xla_used = {}, {}, {}
    for model in spec.models:
        base = TrainingConfig(model, "accumulate", AccumulationPlan.of(B, b), spec.preset,
                              seed=spec.seed)
        entry = base.entry()
        name, _ = resolve_dataset(entry.data_kind, entry.recipe.dataset, spec.dataset,
                                  Sources.from_env())
        data = load_dataset(name, limit_train=spec.updates_per_round * B, seed=spec.seed)
        datasets[model] = data.provenance.to_dict()
        for xla in spec.xla:
            variants = {"accumulate": (replace(base, jit=xla), None)}
            variants.update({alt: (replace(base, strategy=alt, jit=xla,
                                           plan=AccumulationPlan.of(B, B) if alt == "large_batch"
                                           else base.plan), None) for alt in ALTERNATIVES})
            if model == spec.models[0] and not xla:
                variants.update({
                    "accumulate_per_micro": (replace(base, fused=False), None),
                    "accumulate_probe_hwm": (base, lambda: ProcessMemoryProbe("hwm")),
                    "accumulate_probe_sampler": (base, lambda: ProcessMemoryProbe("sampler"))})
            for variant, (config, probe) in variants.items():
                trainer = build_trainer(config, data.spec, total + 3, distribution(1))
                feed = WindowFeed(data.train, config.plan, spec.seed, tensors=True)
                trainer.run_epoch(feed.epoch(0).head(3), 0, lambda e: None)  # trace, warm up
                name = cell_name(model, xla, variant)
                runners[name] = (trainer, feed, probe, [])
                if xla:
                    xla_used[name] = trainer.finish().get("xla_used")
    order, per_round = [], {n: [] for n in runners}
    for r in range(spec.rounds):  # interleaved: every variant once per round
        for name, (trainer, feed, probe, seconds) in runners.items():
            order.append(name)
            p = probe() if probe else None
            if p:
                p.start()
            this_round: list[float] = []
            trainer.run_epoch(feed.epoch(r + 1).head(spec.updates_per_round), r + 1,
                              lambda e, s=this_round: s.append(e.seconds))
            if p:
                p.stop()
            seconds.extend(this_round)
            per_round[name].append(B / float(np.median(this_round)))
    throughput = {n: B / float(np.median(s)) for n, (_, _, _, s) in runners.items()}
    spread = {n: float(np.subtract(*np.percentile(s, [75, 25])) / np.median(s))
              for n, (_, _, _, s) in runners.items()}
    cells = {}
    for model in spec.models:
        for xla in spec.xla:
            acc = per_round[cell_name(model, xla, "accumulate")]
            cells[cell(model, xla)] = {
                "model": model, "xla": xla, "dataset": datasets[model]["label"],
                "ratios": {f"accumulate_vs_{alt}": _ratio(acc, per_round[cell_name(model, xla, alt)])
                           for alt in ALTERNATIVES}}
        if True in spec.xla and False in spec.xla:
            cells[f"{model}:xla"]["ratios"]["xla_vs_without"] = _ratio(
                per_round[cell_name(model, True, "accumulate")],
                per_round[cell_name(model, False, "accumulate")])
    first = spec.models[0]
    extras = {}
    if all(cell_name(first, False, e) in per_round for e in EXTRAS):
        acc = per_round[cell_name(first, False, "accumulate")]
        extras = {"model": first,
                  "fused_vs_per_micro": _ratio(acc, per_round[cell_name(first, False, EXTRAS[0])]),
                  "probe_hwm_cost": 1 - _ratio(per_round[cell_name(first, False, EXTRAS[1])], acc)["median"],
                  "probe_sampler_cost": 1 - _ratio(per_round[cell_name(first, False, EXTRAS[2])], acc)["median"]}
    targets = {f"{c}: accumulate >= 1.0x keras_builtin": v["ratios"]["accumulate_vs_keras_builtin"]["median"] >= 1.0
               for c, v in cells.items()}
    return {"kind": "overhead", "spec": {**spec.__dict__}, "pair": f"{b}x{B // b}",
            "throughput_samples_per_s": throughput, "per_round_samples_per_s": per_round,
            "iqr_relative": spread, "cells": cells, "extras": extras, "xla_used": xla_used,
            "targets_met": targets, "updates_timed": total, "order": order}


def _ratio(a: list[float], b: list[float]) -> dict[str, Any]:
    """Throughput a over b, round by round (each pair measured in the same round)."""
    per = [x / y for x, y in zip(a, b)]
    return {"median": float(np.median(per)), "min": float(min(per)), "max": float(max(per)),
            "rounds": per}


def repeatability(cfg: RunConfig, times: int = 3, timeout: float = 600) -> dict[str, Any]:
    """The same configuration `times` times, each a fresh child of one worker: spread of peak
    memory per probe and of throughput (max - min, relative to the median)."""

    started = time.perf_counter()
    job = Job.run(cfg, timeout=timeout)
    with Worker() as worker:
        records = [worker.wait(worker.submit(job))[0] for _ in range(times)]
    ok = [r for r in records if r["status"] == "ok"]
    out: dict[str, Any] = {"kind": "repeatability", "config": cfg.to_json(), "times": times,
                           "statuses": [r["status"] for r in records]}
    if ok:
        thr = np.array([r["throughput_samples_per_s"] for r in ok])
        out["throughput_samples_per_s"] = thr.tolist()
        out["throughput_spread_relative"] = float(np.ptp(thr) / np.median(thr))
        out["memory"] = {}
        for probe in ok[0]["memory"]:
            peaks = [r["memory"][probe]["peak_bytes"] for r in ok if r["memory"][probe]["available"]]
            if peaks:
                out["memory"][probe] = {"peak_bytes": peaks,
                                        "spread_relative": float(np.ptp(peaks) / np.median(peaks)),
                                        "spread_bytes": int(np.ptp(peaks))}
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def render(result: dict[str, Any]) -> str:
    """A study's figures as text (what `make bench-overhead` prints)."""
    if result["kind"] == "overhead":
        return _render_overhead(result)
    mem = [[p, ", ".join(f"{b / 2**20:.1f}" for b in m["peak_bytes"]), f"{m['spread_relative']:.1%}"]
           for p, m in result.get("memory", {}).items()]
    thr = ", ".join(f"{t:,.0f}" for t in result.get("throughput_samples_per_s", []))
    return "\n".join([
        f"Repeatability: {result['config']['model']} {result['config']['strategy']} "
        f"{result['config']['micro']}/{result['config']['effective_batch']}, {result['times']} "
        f"isolated runs ({', '.join(result['statuses'])})",
        f"throughput samples/s: {thr} (spread {result.get('throughput_spread_relative', float('nan')):.1%})",
        tabulate(mem, ["probe", "peak MiB per run", "spread"], disable_numparse=True)])


def _render_overhead(result: dict[str, Any]) -> str:
    def cell(r):
        return f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})"

    alts = ["accumulate_vs_" + a for a in ALTERNATIVES]
    rows = [[v["model"], "XLA" if v["xla"] else "-",
             f"{result['throughput_samples_per_s'][c + ':accumulate']:,.0f}",
             *[cell(v["ratios"][a]) for a in alts],
             cell(v["ratios"]["xla_vs_without"]) if "xla_vs_without" in v["ratios"] else "",
             {True: "yes", False: "NO", None: "?"}[result["xla_used"].get(c + ":keras_builtin")]
             if v["xla"] else ""]
            for c, v in result["cells"].items()]
    rounds = len(next(iter(result["per_round_samples_per_s"].values())))
    out = [f"Accumulation overhead at {result['pair']}: every variant built once in one process, "
           f"timed in {rounds} interleaved rounds of {result['spec']['updates_per_round']} "
           f"updates; ratios of throughput within a round, median (min-max over rounds)",
           tabulate(rows, ["model", "XLA", "accumulate samples/s", "/ keras_builtin",
                           "/ plain at b", "/ large batch", "XLA / without", "built-in used XLA"],
                    disable_numparse=True)]
    e = result.get("extras")
    if e:
        out.append(f"{e['model']} without XLA: fused / one call per micro-batch "
                   f"{cell(e['fused_vs_per_micro'])}; memory probes cost "
                   f"{e['probe_hwm_cost']:.1%} (hwm), {e['probe_sampler_cost']:.1%} (sampler)")
    out.append(tabulate([[n, "met" if ok else "MISSED"] for n, ok in result["targets_met"].items()],
                        ["target", "result"]))
    return "\n\n".join(out)


if __name__ == "__main__":
    import json
    import sys

    for path in sys.argv[1:]:
        with open(path) as f:
            print(render(json.load(f)), end="\n\n")
