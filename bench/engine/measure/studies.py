"""The accumulation-overhead study: measurements that need every variant in one process.

It compares configurations *in the same process, interleaved in rounds*, so machine drift
hits all of them alike, and reports ratios of throughput taken within each round: for every
model, without and with XLA, the harness's accumulation against Keras' built-in accumulation,
plain training at the micro-batch size and the large batch (and itself with XLA against
without); on the first model, the fused update against one traced call per micro-batch, and
the cost of the memory probes. `bench.report.studies` renders its result;
`bench.commands.studies_cmd` holds the repeatability study, which starts workers.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bench.config.plan import AccumulationPlan
from bench.config.training import TrainingConfig
from bench.data import Sources, load_dataset
from bench.data.registry import resolve_dataset
from bench.engine.measure.environment import describe
from bench.engine.runtime import distribution
from bench.engine.training.feed import WindowFeed
from bench.engine.training.setup import build_trainer
from bench.host.rss_probe import ProcessMemoryProbe
from models.registry import MODELS


@dataclass(frozen=True)
class OverheadSpec:
    """Every registered model, without and with XLA, at the default profile's 16x8 of B=128."""

    models: tuple[str, ...] = field(default_factory=lambda: tuple(MODELS))
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


def overhead(spec: OverheadSpec | None = None) -> dict[str, Any]:
    """Every variant built once in this process, then timed in interleaved rounds (each variant
    once per round), so drift hits all alike; ratios are taken within a round."""
    spec = spec or OverheadSpec()
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
            "targets_met": targets, "updates_timed": total, "order": order,
            "environment": describe()}  # the machine identity its figures are quoted with


def _ratio(a: list[float], b: list[float]) -> dict[str, Any]:
    """Throughput a over b, round by round (each pair measured in the same round)."""
    per = [x / y for x, y in zip(a, b)]
    return {"median": float(np.median(per)), "min": float(min(per)), "max": float(max(per)),
            "rounds": per}
