"""Levels 1 and 2 for one (model, strategy, pair), with controls, diagnosis and a verdict.

Everything runs in comparable mode (random layers as the identity) from the same initial
weights and the same data order. The reference is `large_batch` at the same effective batch and
replica count; the noise floor is the reference against itself started one ulp away.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from bench.data import Sources, load_dataset
from bench.data.registry import resolve_dataset
from bench.equivalence import gradient, trajectory
from bench.equivalence.controls import batch_norm_layers, make_comparable
from bench.equivalence.verdict import (LEVEL2_FACTOR, PER_VARIABLE_SLACK, level1, level2_passed,
                                       level2_ratio)
from bench.errors import BenchError
from bench.runtime import distribution, float_policy
from bench.training.feed import WindowFeed
from bench.training.optim import SCHEDULES
from bench.training.plan import AccumulationPlan
from bench.training.setup import TrainingConfig
from bench.training.strategies import get_strategy
from models.registry import get_model


@dataclass(frozen=True)
class EquivalenceRequest:
    model: str
    strategy: str
    effective_batch: int
    micro: int
    replicas: int = 1
    dataset: str | None = None
    dtype: str = "float32"
    updates: int = 20
    lr_schedule: str = "constant"
    seed: int = 0
    preset: str | None = None

    def validate(self) -> AccumulationPlan:
        """Every check that needs no data and no TensorFlow: fail before anything trains."""
        try:
            get_model(self.model)
        except KeyError as e:
            raise BenchError(e.args[0]) from None
        get_strategy(self.strategy)
        plan = AccumulationPlan.of(self.effective_batch, self.micro, replicas=self.replicas)
        if self.dtype not in gradient.TOLERANCE:
            raise BenchError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if self.lr_schedule not in SCHEDULES:
            raise BenchError(f"unknown learning-rate schedule {self.lr_schedule!r} "
                             f"(schedules: {', '.join(SCHEDULES)})")
        if not isinstance(self.updates, int) or self.updates < 1:
            raise BenchError(f"updates must be a positive integer, got {self.updates!r}")
        TrainingConfig(self.model, self.strategy, plan, self.preset).validate()
        return plan


def analyse(req: EquivalenceRequest, sources: Sources | None = None) -> dict[str, Any]:
    """Run levels 1 and 2 and return a JSON-ready record with the verdict and its reasons."""
    plan = req.validate()
    started = time.perf_counter()
    entry = get_model(req.model)
    sources = sources or Sources.from_env()
    dataset_name, dataset_note = resolve_dataset(entry.data_kind, entry.recipe.dataset,
                                                 req.dataset, sources)
    data = load_dataset(dataset_name, sources=sources, seed=req.seed,
                        limit_train=req.updates * req.effective_batch)
    reference_plan = AccumulationPlan.of(req.effective_batch, req.effective_batch // req.replicas,
                                         replicas=req.replicas)
    dist = distribution(req.replicas)
    config = partial(TrainingConfig, req.model, preset=req.preset, lr_schedule=req.lr_schedule,
                     seed=req.seed)
    ref_cfg, run_cfg = config("large_batch", reference_plan), config(req.strategy, plan)
    record: dict[str, Any] = {
        "kind": "equivalence", "model": req.model, "strategy": req.strategy,
        "effective_batch": req.effective_batch, "micro": plan.micro, "accum": plan.accum,
        "replicas": req.replicas, "pair": plan.label, "dtype": req.dtype,
        "lr_schedule": req.lr_schedule, "updates": req.updates, "seed": req.seed,
        "preset": req.preset or entry.default_preset, "dataset": data.provenance.to_dict(),
        "dataset_choice": dataset_note,
    }
    with float_policy(req.dtype):
        import keras

        keras.utils.set_random_seed(req.seed)
        with dist.scope():
            probe_model = entry.build(data.spec, req.preset)
        initial = probe_model.get_weights()
        record["random_layers_disabled"] = make_comparable(probe_model)
        record["batch_norm_layers"] = batch_norm_layers(probe_model)
        feed = WindowFeed(data.train, plan, req.seed, req.dtype)
        ref_feed = WindowFeed(data.train, reference_plan, req.seed, req.dtype)
        window = next(feed.windows(0))
        try:
            _level1(record, req, plan, ref_cfg, run_cfg, data.spec, window, dist, initial)
            _level2(record, req, ref_cfg, run_cfg, data.spec, feed, ref_feed, dist, initial)
        except BenchError:
            raise
        except Exception as e:  # a strategy that cannot run here is a result, not a crash
            record.update(verdict="failed", reasons=[_one_line(e)], levels={})
            record["seconds"] = time.perf_counter() - started
            return record
    _judge(record, req, plan)
    record["seconds"] = round(time.perf_counter() - started, 2)
    return record


def _one_line(e: Exception) -> str:
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(e)).split())
    return f"{e.__class__.__name__}: {text[:300]}"


def _level1(record, req, plan, ref_cfg, run_cfg, spec, window, dist, initial) -> None:
    capture = partial(gradient.captured_gradient, spec=spec, distribution=dist,
                      initial_weights=initial)
    comparable = make_comparable
    g_ref, names = capture(ref_cfg, window=gradient.as_large_batch(window, plan),
                           prepare_model=comparable)
    g_run, _ = capture(run_cfg, window=window, prepare_model=comparable)
    cmp = gradient.compare(g_run, g_ref, names)
    worst = max(cmp.per_variable, key=cmp.per_variable.get)
    result = level1(cmp.overall_rel_error, cmp.max_rel_error, worst, req.dtype)
    record.update(gradient_rel_error=cmp.overall_rel_error,
                  gradient_max_variable_rel_error=cmp.max_rel_error,
                  gradient_worst_variable=worst, gradient_tolerance=result.tolerance,
                  gradient_per_variable=cmp.per_variable)
    diagnostics: dict[str, Any] = {}
    if not result.passed and plan.accum > 1:
        # does the applied gradient equal the last micro-batch's alone? (the naive loop)
        last_plan = AccumulationPlan.of(plan.global_micro, plan.micro, replicas=plan.replicas)
        g_last, _ = capture(replace(ref_cfg, plan=last_plan),
                            window=gradient.last_micro_batch(window), prepare_model=comparable)
        diagnostics["last_micro_batch_rel_error"] = gradient.compare(g_run, g_last, names).overall_rel_error
        if record["batch_norm_layers"]:
            bn_off = partial(make_comparable, batch_norm_inference=True)
            g_ref_bn, _ = capture(ref_cfg, window=gradient.as_large_batch(window, plan),
                                  prepare_model=bn_off)
            g_run_bn, _ = capture(run_cfg, window=window, prepare_model=bn_off)
            diagnostics["batch_norm_inference_rel_error"] = gradient.compare(
                g_run_bn, g_ref_bn, names).overall_rel_error
    record["level1_passed"] = bool(result.passed)
    record["diagnostics"] = diagnostics


def _level2(record, req, ref_cfg, run_cfg, spec, feed, ref_feed, dist, initial) -> None:
    run = partial(trajectory.run_updates, spec=spec, updates=req.updates, distribution=dist,
                  prepare_model=make_comparable)
    ref = run(ref_cfg, feed=ref_feed, initial_weights=initial)
    ups, downs = (trajectory.distances(run(ref_cfg, feed=ref_feed,
                                           initial_weights=trajectory.one_ulp(initial, d)), ref)
                  for d in (np.inf, -np.inf))
    mine = ref if req.strategy == "large_batch" else run(run_cfg, feed=feed, initial_weights=initial)
    record.update(
        trajectory=trajectory.distances(mine, ref), noise_floor=trajectory.noise_floor(ups, downs),
        lr_steps=[e.lr_step for e in mine.events], reference_lr_steps=[e.lr_step for e in ref.events],
        lr=[e.lr for e in mine.events], reference_lr=[e.lr for e in ref.events],
        losses=[e.loss for e in mine.events], reference_losses=[e.loss for e in ref.events],
        end_of_training=mine.finish)


def _judge(record: dict, req: EquivalenceRequest, plan: AccumulationPlan) -> None:
    k, reasons = plan.accum, []
    l1_ok = record["level1_passed"]
    ratio = level2_ratio(record["trajectory"], record["noise_floor"])
    l2_ok = level2_passed(record["trajectory"], record["noise_floor"])
    record["trajectory_ratio"] = ratio
    record["levels"] = {"gradient": "pass" if l1_ok else "fail",
                        "trajectory": "pass" if l2_ok else "fail"}
    diag, tol = record["diagnostics"], record["gradient_tolerance"]
    if not l1_ok:
        last = diag.get("last_micro_batch_rel_error")
        bn = diag.get("batch_norm_inference_rel_error")
        if last is not None and last <= tol:
            reasons.append(
                f"only 1/{k} of the samples reach the weights: the applied gradient equals the "
                f"gradient of the last micro-batch alone (relative difference {last:.1e}); "
                f"{plan.global_micro} of every {req.effective_batch} samples count")
        elif bn is not None and bn <= tol * PER_VARIABLE_SLACK:
            reasons.append(
                f"BatchNormalization uses per-micro-batch statistics (and updates its moving "
                f"averages {k} times per update): gradient error {record['gradient_rel_error']:.1e}, "
                f"{bn:.1e} with BatchNormalization in inference mode")
        else:
            reasons.append(f"the applied gradient differs from the large-batch gradient by "
                           f"{record['gradient_rel_error']:.1e} (tolerance {tol:.0e}; worst "
                           f"variable {record['gradient_worst_variable']}: "
                           f"{record['gradient_max_variable_rel_error']:.1e})")
    lr_note = _lr_reason(record, k)
    if lr_note and not l2_ok:
        reasons.append(lr_note)
    if not l2_ok and l1_ok and not lr_note:
        reasons.append(f"weights drift {ratio:.0f}x further from the large batch than float "
                       f"rounding alone (limit {LEVEL2_FACTOR:.0f}x the noise floor)")
    if l1_ok and l2_ok:
        reasons.append(
            f"gradient matches the large batch to {record['gradient_rel_error']:.1e} "
            f"({req.dtype} rounding) and the weights stay within {ratio:.2g}x the noise floor "
            f"over {req.updates} updates")
        steps = record["lr_steps"]
        if steps != record["reference_lr_steps"]:
            reasons.append(f"note: the schedule was evaluated at steps {_steps(steps)} instead of "
                           f"{_steps(record['reference_lr_steps'])}; harmless with a "
                           f"{req.lr_schedule} learning rate, not with a decaying one")
    record["verdict"] = "equivalent" if l1_ok and l2_ok else "not equivalent"
    record["reasons"] = reasons


def _steps(steps: list[int]) -> str:
    return ", ".join(map(str, steps[:4])) + (", ..." if len(steps) > 4 else "")


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
