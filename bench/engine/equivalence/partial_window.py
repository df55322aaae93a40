"""A partial window at the end of an epoch, measured: applied as the large batch applies its
last, smaller batch, dropped, or applied with the wrong weight.

An epoch whose samples do not fill a whole number of effective batches ends with a remainder.
Plain training at B applies it as one more, smaller batch (its own mean); accumulation then has
a window of m < k micro-batches, which a correct loop applies as the mean over its m x b
samples. The probe trains one full window and then a partial one of m = k // 2 micro-batches,
from the reference's weights, and compares with the large batch doing the same (a full batch,
then the m x b samples as one batch): the final weights over a noise floor (the large batch
started one ulp away), how many updates the optimizer applied, and, where it applied two, the
second update's gradient against the large batch's gradient of those samples at the same
weights (a scale of m/k: the window's sum divided by k instead of m, Accelerate's #1847).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from bench.config.plan import AccumulationPlan
from bench.engine.equivalence import gradient, trajectory
from bench.engine.training.feed import WindowFeed
from bench.engine.training.optim import inner
from bench.engine.training.setup import build_trainer
from bench.judge.verdict import LEVEL2_FACTOR


def _windows(feed: WindowFeed, k: int) -> list:
    """The feed's first window and the first m = k // 2 micro-batches of its second."""
    first, second = feed.copied(2)
    m = max(1, k // 2)
    cut = lambda a: {c: v[:m] for c, v in a.items()} if isinstance(a, dict) else a[:m]  # noqa: E731
    return [first, tuple(cut(a) for a in second)]


def _train(config, spec, windows, distribution, initial, prepare_model):
    """The weights after each window, the optimizer's applied steps, and the gradient of the
    last update it applied (with the weights before it)."""
    trainer = build_trainer(config, spec, len(windows), distribution, initial_weights=initial,
                            record_gradients=True, prepare_model=prepare_model)
    after, before_last = [], None
    for i, window in enumerate(windows):
        if i == len(windows) - 1:
            before_last = [np.asarray(v.numpy()) for v in trainer.vars]
        trainer.run_epoch([window], 0, lambda event: None)
        after.append(trajectory.flat_weights(trainer.p.model))
    steps = getattr(inner(trainer.p.optimizer), "steps", None)
    return after, int(steps.numpy()) if steps is not None else None, \
        gradient.captured(trainer), before_last


def probe(config, reference_config, spec, feed: WindowFeed, initial, distribution,
          prepare_model) -> dict[str, Any]:
    k, b = config.plan.accum, config.plan.global_micro
    windows = _windows(feed, k)
    m = len(windows[1][1])
    as_batch = lambda w: tuple(gradient.as_large_batch(w))  # noqa: E731
    ref_windows = [as_batch(w) for w in windows]
    ref_after, _, _, _ = _train(reference_config, spec, ref_windows, distribution, initial,
                                prepare_model)
    floor = max(
        float(np.linalg.norm(w[-1] - ref_after[-1]) / np.linalg.norm(ref_after[-1]))
        for w in (_train(reference_config, spec, ref_windows, distribution,
                         trajectory.one_ulp(initial, d), prepare_model)[0]
                  for d in (np.inf, -np.inf)))
    mine, steps, applied, before_last = _train(config, spec, windows, distribution, initial,
                                               prepare_model)
    apart = lambda w, r: float(np.linalg.norm(w - r) / np.linalg.norm(r))  # noqa: E731
    facts: dict[str, Any] = {
        "k": k, "partial_micro_batches": m, "samples": m * b,
        "optimizer_steps": steps, "noise_floor": floor,
        "final_distance": apart(mine[-1], ref_after[-1]),
        "distance_to_first_update_only": apart(mine[-1], ref_after[0])}
    facts["ratio"] = facts["final_distance"] / floor if floor > 0 else (
        0.0 if facts["final_distance"] == 0 else float("inf"))
    if steps == 2 and before_last is not None:
        # the large batch's gradient of the partial window's samples at the strategy's weights
        last_plan = AccumulationPlan.of(m * b, m * b // config.plan.replicas,
                                        replicas=config.plan.replicas)
        g = gradient.captured_gradient(replace(reference_config, plan=last_plan), spec,
                                       ref_windows[1], distribution, initial, prepare_model,
                                       trainable=before_last)
        facts["scale"], _ = gradient.scale_fit(applied, g)
        facts["scaled_rel_error"] = gradient.compare(
            applied, [facts["scale"] * x for x in g], [str(i) for i in range(len(g))]
        ).overall_rel_error
    facts["passed"] = facts["ratio"] <= LEVEL2_FACTOR
    facts["reasons"] = _reasons(facts)
    return facts


def _reasons(f: dict) -> list[str]:
    k, m = f["k"], f["partial_micro_batches"]
    where = f"a partial window of {m} of {k} micro-batches ({f['samples']} samples) at the epoch's end"
    if f["passed"]:
        return [f"{where} is applied as the large batch applies its last, smaller batch (weights "
                f"{f['ratio']:.2g}x the noise floor apart)"]
    if f["optimizer_steps"] == 1:
        return [f"{where} is never applied: the optimizer stepped once in two windows, and the "
                f"weights are those of the first update ({f['distance_to_first_update_only']:.1e} "
                f"from the large batch's after its first), {f['ratio']:.3g}x the noise floor from "
                f"the large batch's after both"]
    scale = f.get("scale")
    if scale is not None and f["scaled_rel_error"] <= 1e-3:
        hint = (f" = {m}/{k}: its sum divided by k instead of by its {m} micro-batches"
                if abs(scale - m / k) <= 1e-3 * m / k else "")
        return [f"{where} is applied with the wrong weight: its gradient is {scale:.3g}x the "
                f"large batch's mean over those samples{hint} (weights {f['ratio']:.3g}x the "
                f"noise floor apart)"]
    return [f"{where}: the weights end {f['ratio']:.3g}x the noise floor from the large batch's "
            f"(the optimizer stepped {f['optimizer_steps']} times)"]
