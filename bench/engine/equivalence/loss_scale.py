"""Loss scaling under accumulation (mixed_float16), measured with an injected overflow.

A correct composition uses one loss scale for all k micro-batches of an update, accumulates
in float32, and lets the LossScaleOptimizer decide once per update: a non-finite gradient in any
micro-batch skips the whole update and halves the scale once; the scale grows after
`dynamic_growth_steps` clean *updates*. The probe starts from the reference's weights and runs
three updates — clean, overflow, clean — with growth switched off, the inputs of one micro-batch
of the second update set beyond float16's range (1e5 > 65504: inf once the model casts them);
it records after each update the scale, whether the weights moved and the optimizer's raw
iteration counter. A second run takes one clean update with growth every 2 steps: a scale that
doubles inside it grows per micro-batch.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from bench.engine.training.feed import WindowFeed
from bench.engine.training.optim import inner
from bench.engine.training.setup import build_trainer

GROWTH = 2
OVERFLOW = 1e5  # beyond float16's largest value, 65504


def _poison(window, micro_batch: int):
    x, y, w = window
    x = {k: v.copy() for k, v in x.items()} if isinstance(x, dict) else x.copy()
    target = next(iter(x.values())) if isinstance(x, dict) else x
    if target.dtype.kind == "f":
        target[micro_batch] = OVERFLOW
    return x, y, w


def _trainer(config, spec, distribution, initial, prepare_model, growth: int):
    return build_trainer(replace(config, precision="mixed_float16", loss_scale_growth=growth),
                         spec, 3, distribution, initial_weights=initial, record_gradients=True,
                         prepare_model=prepare_model)


def probe(config, spec, feed: WindowFeed, initial, distribution, prepare_model) -> dict[str, Any]:
    """What `config`'s strategy does with the loss scale: an overflow run (clean, overflow,
    clean; growth off) and a growth run (one clean update, growth every 2 steps)."""
    k = config.plan.accum
    windows = feed.copied(3)
    bad_micro = min(1, k - 1)
    windows[1] = _poison(windows[1], bad_micro)
    trainer = _trainer(config, spec, distribution, initial, prepare_model, growth=10**9)
    opt = trainer.p.optimizer
    scales, moved, micro_steps = [], [], []
    before = [np.asarray(v.numpy()) for v in trainer.vars]
    for i, window in enumerate(windows):
        trainer.run_epoch([window], i, lambda event: None)
        after = [np.asarray(v.numpy()) for v in trainer.vars]
        moved.append(any(not np.array_equal(a, b) for a, b in zip(after, before)))
        before = after
        scales.append(float(opt.dynamic_scale.numpy()))
        micro_steps.append(int(inner(opt)._iterations.numpy()))
    grower = _trainer(config, spec, distribution, initial, prepare_model, growth=GROWTH)
    grower.run_epoch(windows[:1], 0, lambda event: None)
    start = float(grower.p.optimizer.initial_scale)
    doublings = float(np.log2(float(grower.p.optimizer.dynamic_scale.numpy()) / start))
    facts = {"k": k, "growth_steps": GROWTH, "overflow_at": f"update 2, micro-batch {bad_micro + 1} of {k}",
             "scale_after_update": scales, "weights_moved": moved,
             "raw_iterations_after_update": micro_steps,
             "halvings_at_overflow": float(np.log2(scales[0] / scales[1])),
             "iterations_advanced_at_overflow": micro_steps[1] - micro_steps[0],
             "growth_doublings_in_a_clean_update": doublings}
    facts["whole_update_skipped"] = (not moved[1]) and facts["iterations_advanced_at_overflow"] == 0
    facts["reasons"] = _reasons(facts)
    return facts


def _reasons(f: dict) -> list[str]:
    k, out = f["k"], []
    advanced, halvings = f["iterations_advanced_at_overflow"], f["halvings_at_overflow"]
    if f["whole_update_skipped"] and halvings == 1:
        out.append(f"loss scaling composes: an overflow in {f['overflow_at']} skipped the whole "
                   f"update (weights unchanged, iteration counter unchanged) and halved the scale "
                   f"once")
    elif not f["weights_moved"][1] and advanced == k - 1:
        out.append(f"an overflow in {f['overflow_at']} skipped that micro-batch only (the raw "
                   f"iteration counter advanced {advanced} of {k}): the update boundary moved, "
                   f"so the next update mixes {k - 1} micro-batches of this window with the next "
                   f"window's first; the scale was halved {halvings:g} time(s)")
    else:
        state = "moved" if f["weights_moved"][1] else "did not move"
        out.append(f"an overflow in {f['overflow_at']}: the weights {state}, the raw iteration "
                   f"counter advanced {advanced}, the scale was halved {halvings:g} time(s)")
    doublings = f["growth_doublings_in_a_clean_update"]
    if doublings > 0:
        out.append(f"the loss scale grows per micro-batch: with dynamic_growth_steps="
                   f"{f['growth_steps']} it doubled {doublings:g} time(s) within one clean update "
                   f"of k={k} micro-batches")
    else:
        out.append(f"the scale grows per update (after dynamic_growth_steps={f['growth_steps']} "
                   f"clean updates), not per micro-batch")
    return out
