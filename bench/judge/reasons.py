"""An equivalence record's verdict and reasons: each reason names a bug with its measured size,
from the figures the analysis stored (levels 1-2, the controls' diagnostics, the learning-rate
steps, the reported losses). Pure logic over the record: no TensorFlow."""
from __future__ import annotations

import numpy as np

from bench.config.plan import AccumulationPlan
from bench.config.request import EquivalenceRequest
from bench.judge.verdict import LEVEL2_FACTOR, PER_VARIABLE_SLACK, level2_passed


def judge(record: dict, req: EquivalenceRequest, plan: AccumulationPlan) -> None:
    """The verdict and its reasons, from what `_measure` and `_diagnose` put in the record."""
    k, reasons = plan.accum, []
    l1_ok = record["level1_passed"]
    ratio = record["trajectory_ratio"]
    l2_ok = level2_passed(record["trajectory"], record["noise_floor"])
    record["levels"] = {"gradient": "pass" if l1_ok else "fail",
                        "trajectory": "pass" if l2_ok else "fail"}
    diag, tol = record["diagnostics"], record["gradient_tolerance"]
    close = lambda key, limit=tol: diag.get(key) is not None and diag[key] <= limit  # noqa: E731
    if not l1_ok:
        if close("last_micro_batch_rel_error"):
            reasons.append(
                f"only 1/{k} of the samples reach the weights: the applied gradient equals the "
                f"gradient of the last micro-batch alone (relative difference "
                f"{diag['last_micro_batch_rel_error']:.1e}); {plan.global_micro} of every "
                f"{req.effective_batch} samples count")
        elif close("summed_rel_error"):
            reasons.append(
                f"gradients are summed, not averaged: the applied gradient is {k}x the large "
                f"batch's (relative difference {diag['summed_rel_error']:.1e}); Adam's steps are "
                f"nearly scale-invariant, so the weights drift only slowly (level 2: "
                f"{ratio:.2g}x the noise floor) — SGD would step {k}x too far")
        elif close("mean_of_means_rel_error") or (record["strategy"] == "accumulate_mean_of_means"
                                                   and diag.get("micro_batch_factors")):
            reasons.append(_mean_of_means_reason(record, diag, k))
        elif diag.get("norm_ratio") is not None and diag["norm_ratio"] <= tol:
            late = (f"; the second update applied the first window's gradient (relative "
                    f"difference {diag['late_rel_error']:.1e}): every window is applied one "
                    f"update late") if close("late_rel_error") else ""
            reasons.append(f"the first update applied a zero gradient (its norm "
                           f"{diag['norm_ratio']:.1e}x the large batch's){late}")
        elif close("scaled_rel_error") and abs(diag["scale"] * k - 1) <= 1e-3:
            reasons.append(
                f"the applied gradient is 1/{k} of the large batch's mean (relative difference "
                f"{diag['scaled_rel_error']:.1e} after scaling by {diag['scale']:.4g}): the mean "
                f"is divided by k = {k} again; Adam's steps hide most of it, SGD steps {k}x "
                f"too short")
        elif close("scaled_rel_error") and 0 < diag["scale"] < 1:
            reasons.append(
                f"the applied gradient points the large batch's way but is {diag['scale']:.3g}x "
                f"as long (relative difference {diag['scaled_rel_error']:.1e} after scaling): "
                f"clipped (the large batch's was not), or divided by the wrong count")
        elif close("batch_norm_inference_rel_error"):
            reasons.append(
                f"BatchNormalization uses per-micro-batch statistics (and updates its moving "
                f"averages {k} times per update): gradient error {record['gradient_rel_error']:.1e}, "
                f"{diag['batch_norm_inference_rel_error']:.1e} with BatchNormalization in "
                f"inference mode")
        else:
            reasons.append(f"the applied gradient differs from the large-batch gradient by "
                           f"{record['gradient_rel_error']:.1e} (tolerance {tol:.0e}; worst "
                           f"variable {record['gradient_worst_variable']}: "
                           f"{record['gradient_max_variable_rel_error']:.1e}, limit "
                           f"{tol * PER_VARIABLE_SLACK:.0e})")
    steps, ref_steps = record.get("optimizer_steps"), record.get("reference_optimizer_steps")
    stepping = None
    if steps is not None and ref_steps and steps != ref_steps:
        stepping = (f"the optimizer stepped {steps} times in {req.updates} updates "
                    f"({steps / ref_steps:.3g}x the large batch's {ref_steps}): momentum, "
                    f"Adam's moments and its iteration count advance on micro-steps that should "
                    f"not update")
        reasons.append(stepping)
    if close("not_reset_rel_error", max(10 * tol, 1e-4)) and not close("second_update_rel_error"):
        reasons.append(
            f"accumulators are not reset between updates: the second update applied the first "
            f"update's gradient again plus its own (relative difference "
            f"{diag['not_reset_rel_error']:.1e}; to its own gradient alone "
            f"{diag['second_update_rel_error']:.1e})")
    ema = record.get("ema")
    ema_ok = ema is None or ema["passed"]
    if ema is not None:
        record["levels"]["ema"] = "pass" if ema_ok else "fail"
    if not ema_ok:
        reasons.append(_ema_reason(ema, k))
    lr_note = _lr_reason(record, k)
    if lr_note and not l2_ok:
        reasons.append(lr_note)
    # where nothing else explains a drift: a step counter ahead of the updates, by any factor
    counter_note = None if lr_note or stepping or reasons else _counter_reason(record, k)
    if counter_note and not l2_ok:
        reasons.append(counter_note)
    if not l2_ok and l1_ok and not lr_note and not stepping and not counter_note \
            and len(reasons) == 0:
        reasons.append(f"weights drift {ratio:.0f}x further from the large batch than float "
                       f"rounding alone (limit {LEVEL2_FACTOR:.0f}x the noise floor)")
    if l1_ok and l2_ok and ema_ok:
        reasons.append(
            f"gradient matches the large batch to {record['gradient_rel_error']:.1e} "
            f"({req.dtype} rounding) and the weights stay within {ratio:.2g}x the noise floor "
            f"over {req.updates} updates")
    exact = record.get("exact_reference") or {}
    if exact.get("used"):
        reasons.append(
            f"note: level 1 compared with the large batch's gradient computed in float64 from the "
            f"same weights and data: the float32 large batch is itself "
            f"{exact['large_batch_float32_rel_error']:.1e} from it (its rounding, beyond the "
            f"tolerance); against the float32 large batch the error is "
            f"{exact['float32_large_batch_rel_error']:.1e}")
        if record["lr_steps"] != record["reference_lr_steps"]:
            reasons.append(f"note: the schedule was evaluated at steps {_steps(record['lr_steps'])} "
                           f"instead of {_steps(record['reference_lr_steps'])}; harmless with a "
                           f"{req.lr_schedule} learning rate, not with a decaying one")
    loss_note = _loss_reason(record)
    record["loss_reported_correctly"] = loss_note is None
    if loss_note:
        reasons.append(loss_note)
    partial = record.get("partial_window")
    partial_ok = partial is None or partial["passed"]
    if partial is not None:
        record["levels"]["partial_window"] = "pass" if partial_ok else "fail"
        reasons += partial["reasons"]
    scaling = record.get("loss_scaling")
    scaling_ok = scaling is None or scaling["composes"]
    if scaling is not None:
        reasons += scaling["reasons"]
        record["levels"]["loss_scaling"] = "pass" if scaling_ok else "fail"
    lane = record.get("keras2_lane")
    if lane:
        reasons.append(f"note: run as Keras 2 code (tf_keras, the Keras 2 lane); level 2 compares "
                       f"with the large batch trained in tf_keras, which ends "
                       f"{lane['large_batch_vs_keras3'][-1]:.1e} from Keras 3's "
                       f"({lane['large_batch_vs_keras3_floors']:.2g}x the noise floor)")
    backend = record.get("backend_lane")
    if backend:
        reasons.append(_backend_note(backend, record.get("reference")))
    record["verdict"] = ("equivalent" if l1_ok and l2_ok and scaling_ok and ema_ok and partial_ok
                         else "not equivalent")
    record["reasons"] = reasons


def _backend_note(lane: dict, reference: str | None) -> str:
    """Where a backend-lane record was judged, and how far its large batch is from TensorFlow's."""
    versions = ", ".join(f"{p} {v}" for p, v in lane["versions"].items())
    apart = lane.get("large_batch_vs_tensorflow")
    tf = (f" {apart[-1]:.1e} from TensorFlow's from the same weights "
          f"({lane['large_batch_vs_tensorflow_floors']:.2g}x TensorFlow's noise floor)"
          if apart else " at a distance from TensorFlow's that was not measured (the "
          "TensorFlow analysis did not run)")
    against = reference or (f"the large batch trained on {lane['backend']}, with its own noise "
                            f"floor")
    return (f"note: run on {lane['backend']} ({versions}; {lane['device']}), TensorFlow "
            f"{'loaded' if lane['tensorflow_loaded'] else 'blocked'} in the lane; levels 1-2 "
            f"compare with {against}; the lane's Keras large batch ends{tf}")


def _mean_of_means_reason(record: dict, diag: dict, k: int) -> str:
    """A token loss normalised per micro-batch: the factor each micro-batch's tokens got."""
    counts, factors = diag["micro_batch_tokens"], diag["micro_batch_factors"]
    same = (f" (it equals that to {diag['mean_of_means_rel_error']:.1e})"
            if diag.get("mean_of_means_rel_error") is not None else "")
    shown = ", ".join(f"{f:.2f}x" for f in factors if f is not None)
    return (f"the mean of micro-batch means: each micro-batch's token loss is normalised by its "
            f"own token count{same}, not by the window's. The first window's {k} micro-batches "
            f"held {', '.join(f'{c:.0f}' for c in counts)} tokens, so a token in each weighed "
            f"{shown} what it weighs in the large batch (gradient error "
            f"{record['gradient_rel_error']:.1e}). Fix: accumulate the gradients of the summed "
            f"token losses and divide once by the window's total token count")


def _loss_reason(record: dict) -> str | None:
    """The loss a strategy reports for its first update against the window's true mean loss
    (the large batch's, at the same weights and data)."""
    losses, true = record.get("losses"), record.get("reference_losses")
    if not losses or not true or not np.isfinite(losses[0]):
        return None
    reported, window = losses[0], true[0]
    if abs(reported - window) <= 1e-3 * max(abs(window), 1e-12):
        return None
    return (f"the loss it reports is not the window's mean loss: {reported:.6g} for the first "
            f"update, where the mean over its {record['effective_batch']} samples is "
            f"{window:.6g} ({reported / window:.3g}x)")


def _steps(steps: list[int]) -> str:
    return ", ".join(map(str, steps[:4])) + (", ..." if len(steps) > 4 else "")


def _ema_reason(ema: dict, k: int) -> str:
    """The EMA of the weights apart from the large batch's: updated per micro-batch, or not."""
    m, last = ema["momentum"], ema["trajectory"][-1]
    per_micro, per_update = ema["per_micro_batch_rel_error"], ema["per_update_rel_error"]
    if per_micro < per_update / 10:
        return (f"the EMA of the weights is updated on every micro-batch, not once per update: "
                f"its momentum is {m:g}^{k} = {m ** k:.3g} per update instead of {m:g}. It ends "
                f"{last:.1e} from the large batch's EMA ({ema['ratio']:.3g}x its noise floor) "
                f"and {per_micro:.1e} from an EMA updated {k} times per window (once per "
                f"update: {per_update:.1e})")
    return (f"the EMA of the weights drifts {ema['ratio']:.3g}x its noise floor from the large "
            f"batch's (it ends {last:.1e} apart; an EMA updated once per update would end "
            f"{per_update:.1e} from it, one updated on every micro-batch {per_micro:.1e})")


def _counter_reason(record: dict, k: int) -> str | None:
    """The step counter the schedule reads, advancing more than once per update by any factor
    (where the optimizer's own step count is not recorded, the only trace of a wrapper that
    steps its optimizer more often than it updates)."""
    steps, ref = record.get("lr_steps") or [], record.get("reference_lr_steps") or []
    if len(steps) < 2 or len(steps) != len(ref) or steps == ref or ref[-1] == ref[0]:
        return None
    factor = (steps[-1] - steps[0]) / (ref[-1] - ref[0])
    if abs(factor - 1) < 1e-9:
        return None
    per_micro = " (once per micro-batch)" if abs(factor - k) < 1e-9 else ""
    return (f"the step counter its schedule reads advanced {factor:.3g}x per update{per_micro}: "
            f"steps {_steps(steps)} where the large batch's ran {_steps(ref)}; a decaying rate "
            f"falls {factor:.3g}x too fast, and where the optimizer's iteration count runs with "
            f"it, so do Adam's bias correction and weight decay (level 2: "
            f"{record['trajectory_ratio']:.3g}x the noise floor)")


def _lr_reason(record: dict, k: int) -> str | None:
    """A schedule that advanced differently from the large batch's, with a visible effect."""
    lr, ref = np.asarray(record["lr"]), np.asarray(record["reference_lr"])
    steps, ref_steps = record["lr_steps"], record["reference_lr_steps"]
    if steps == ref_steps or not len(lr) or np.allclose(lr, ref, rtol=1e-6, atol=0):
        return None
    pattern = ("schedule(k*n + k-1)" if steps == [k * n + k - 1 for n in range(len(steps))]
               else f"steps {_steps(steps)}")
    return (f"learning-rate schedule advanced per micro-batch: update n used {pattern} with "
            f"k={k} instead of schedule(n); after {len(lr)} updates the rate is {lr[-1]:.2e} "
            f"instead of {ref[-1]:.2e}")
