"""Expand a profile into sweep items: isolated measured runs and equivalence analyses.

Runs: per model and seed, `large_batch` at B x1, then every other strategy at every pair with
k > 1. Equivalence: per model and dtype, one analysis process for all strategies and pairs (they
share the reference); plus, if asked, Keras' built-in accumulation under an exponential schedule
(the learning-rate pitfall) at the smallest pair.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from bench.equivalence.analysis import EquivalenceRequest
from bench.measure.run import RunConfig
from bench.sweep.profiles import Profile


@dataclass(frozen=True)
class SweepItem:
    kind: str                       # "run" | "equivalence"
    id: str                         # readable, unique within a sweep (pytest id)
    key: str                        # resume identity
    timeout: float
    run: RunConfig | None = None
    equivalence: EquivalenceRequest | None = None

    @property
    def model(self) -> str:
        return (self.run or self.equivalence).model


def _equivalence_key(req: EquivalenceRequest) -> str:
    blob = json.dumps(req.__dict__, sort_keys=True, default=list)
    return "eq-" + hashlib.sha256(blob.encode()).hexdigest()[:16]


def expand(profile: Profile) -> list[SweepItem]:
    items: list[SweepItem] = []
    for model, s in profile.models.items():
        accumulating = [m for m in s.micros if m != s.effective_batch]
        for seed in s.seeds:
            pairs = ([("large_batch", s.effective_batch)] if "large_batch" in s.strategies else [])
            pairs += [(st, m) for m in accumulating for st in s.strategies if st != "large_batch"]
            for strategy, micro in pairs:
                cfg = RunConfig(model, strategy, s.effective_batch, micro, s.dataset,
                                epochs=s.epochs, seed=seed, limit_train=s.limit_train,
                                limit_test=s.limit_test, preset=s.preset,
                                lr_schedule=s.lr_schedule, learning_rate=s.learning_rate,
                                eval_train_samples=s.eval_train_samples)
                cfg.validate()
                plan = cfg.plan()
                items.append(SweepItem("run", f"{model}-{strategy}-{plan.label}-seed{seed}",
                                       cfg.key(), s.timeout, run=cfg))
        eq = profile.equivalence
        if not eq.strategies or not accumulating:
            continue
        requests = [(f"{dtype}", EquivalenceRequest(
            model, eq.float64_strategies if dtype == "float64" else eq.strategies,
            s.effective_batch, tuple(accumulating), dataset=s.dataset, dtype=dtype,
            updates=eq.updates, lr_schedule="constant", preset=s.preset))
            for dtype in eq.dtypes]
        if model in eq.schedule_pitfall:
            requests.append(("exponential-lr", EquivalenceRequest(
                model, ("keras_builtin", "accumulate"), s.effective_batch, (min(accumulating),),
                dataset=s.dataset, updates=eq.updates, lr_schedule="exponential", preset=s.preset)))
        for label, req in requests:
            req.combinations()
            items.append(SweepItem("equivalence", f"{model}-equivalence-{label}",
                                   _equivalence_key(req), eq.timeout, equivalence=req))
    return items
