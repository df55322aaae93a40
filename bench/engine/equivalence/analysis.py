"""Levels 1 and 2 for one model and effective batch, for any number of (strategy, micro-batch)
combinations, with controls, diagnosis and a verdict each.

Everything runs in comparable mode (random layers as the identity) from the same initial
weights and the same data order. The reference is `large_batch` at the same effective batch and
replica count; the noise floor is the reference against itself started one ulp away. Both are
computed once and shared by every combination; each combination is one real training run whose
first update gives level 1 and whose N updates give level 2.
"""
from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import Any

import keras
import numpy as np

from bench.config.names import DEFAULT_BACKEND
from bench.config.plan import AccumulationPlan
from bench.config.request import EquivalenceRequest
from bench.config.training import TrainingConfig
from bench.data import Sources, load_dataset
from bench.data.registry import resolve_dataset
from bench.engine.equivalence import gradient, keras2, loss_scale, partial_window, trajectory
from bench.engine.launch import launch
from bench.engine.runtime import distribution
from bench.engine.training.feed import WindowFeed
from bench.errors import BenchError, one_line
from bench.execute.lane import run_lane
from bench.judge.distance import relative_distances
from bench.judge.reasons import judge
from bench.judge.verdict import level1, level2_passed, level2_ratio, level_fields
from bench.portable.comparable import batch_norm_layers, make_comparable
from bench.portable.precision import precision_policy
from bench.process import data_dtype
from models.registry import get_model
from models.specs import SequenceSpec


def analyse(req: EquivalenceRequest, sources: Sources | None = None) -> list[dict[str, Any]]:
    """Levels 1 and 2 for every combination; one JSON-ready record each."""
    combos = req.combinations()
    entry = get_model(req.model, req.model_output)
    sources = sources or Sources.from_env()
    dataset_name, dataset_note = resolve_dataset(entry.data_kind, entry.recipe.dataset,
                                                 req.dataset, sources)
    data = load_dataset(dataset_name, sources=sources, seed=req.seed,
                        limit_train=req.updates * req.effective_batch)
    if req.backend != DEFAULT_BACKEND:
        return _backend_lane(req, data, sources)
    built_before = len(_REFERENCES) and _reference_key(req, data) in _REFERENCES
    shared = _reference(req, data)
    share = 0.0 if built_before else shared.seconds  # a reused reference cost nothing now
    records = []
    for strategy, plan in combos:
        started = time.perf_counter()
        record = {
            **req.record_head(strategy, plan, data.provenance.to_dict(), data.name, dataset_note),
            "random_layers_disabled": shared.random_layers,
            "batch_norm_layers": shared.batch_norm_layers,
        }
        try:
            _measure(record, shared, strategy, plan)
            if req.dtype == "mixed_float16" and plan.accum > 1:
                _probe_loss_scaling(record, shared, strategy, plan)
            if req.partial_window and plan.accum > 1:
                feed = WindowFeed(shared.data.train, plan, req.seed, data_dtype(req.dtype))
                record["partial_window"] = partial_window.probe(
                    req.training(strategy, plan), shared.config, shared.data.spec, feed,
                    shared.initial, shared.run_dist, make_comparable)
            judge(record, req, plan)
        except BenchError:
            raise
        except Exception as e:  # a strategy that cannot run here is a result, not a crash
            record.update(verdict="failed", reasons=[one_line(e, 300)], levels={})
        record["seconds"] = {"total": round(time.perf_counter() - started + share, 2)}
        records.append(record)
    return records


_REFERENCES: dict[tuple, "_Reference"] = {}


def _reference_key(req: EquivalenceRequest, data) -> tuple:
    return (req.model, req.model_output, id(data), req.effective_batch, req.replicas,
            req.ref_replicas, req.dtype, req.jit, req.updates, req.lr_schedule, req.seed,
            req.preset, req.ema)


def _reference(req: EquivalenceRequest, data) -> "_Reference":
    """The large-batch reference of `req`, computed once per process for the same model, data
    and settings: a test suite that checks several strategies pays for it once."""
    key = _reference_key(req, data)
    if key not in _REFERENCES:
        _REFERENCES.clear()  # one at a time: a reference holds a trajectory of weights
        _REFERENCES[key] = _Reference(req, data)
    return _REFERENCES[key]


class _Reference:
    """What every combination is compared with: initial weights, the large batch's first
    gradient and trajectory, and the two-sided noise floor."""

    def __init__(self, req: EquivalenceRequest, data) -> None:
        started = time.perf_counter()
        self.req, self.data = req, data
        self.dist = distribution(req.ref_replicas)          # the reference's devices
        self.run_dist = distribution(req.replicas)          # the strategies' devices
        entry = get_model(req.model, req.model_output)
        keras.utils.set_random_seed(req.seed)
        with self.dist.scope(), precision_policy(req.dtype):
            probe_model = entry.build(data.spec, req.preset)
        self.initial = probe_model.get_weights()
        self.random_layers = make_comparable(probe_model)
        self.batch_norm_layers = batch_norm_layers(probe_model)
        self.plan = AccumulationPlan.of(req.effective_batch, req.effective_batch // req.ref_replicas,
                                        replicas=req.ref_replicas)
        self.config = req.training("large_batch", self.plan)
        self.feed = WindowFeed(data.train, self.plan, req.seed, data_dtype(req.dtype))
        run = partial(trajectory.run_updates, self.config, data.spec, self.feed, req.updates,
                      self.dist, prepare_model=make_comparable)
        self.trajectory = run(self.initial, record_first_gradient=True)
        perturbed = [run(trajectory.one_ulp(self.initial, d, req.dtype)) for d in (np.inf, -np.inf)]
        self.noise_floor = trajectory.noise_floor(
            *(trajectory.distances(p, self.trajectory) for p in perturbed))
        # with an EMA axis: the moving averages' own floor (they drift apart like the weights)
        self.ema_noise_floor = trajectory.noise_floor(
            *(trajectory.distances(p, self.trajectory, of="ema") for p in perturbed)) \
            if req.ema is not None else None
        self._bn_gradient: list[np.ndarray] | None = None
        self._exact: tuple[list[np.ndarray] | None, str] | None = None
        # the reference's cost is shared by every combination; each record carries its share
        self.seconds = (time.perf_counter() - started) / max(1, len(req.combinations()))

    def capture(self, config: TrainingConfig, window, prepare_model=make_comparable,
                trainable: list[np.ndarray] | None = None):
        dist = self.dist if config.plan.replicas == self.req.ref_replicas else self.run_dist
        return gradient.captured_gradient(config, self.data.spec, window, dist, self.initial,
                                          prepare_model, trainable)

    def exact_gradient(self) -> tuple[list[np.ndarray] | None, str]:
        """The large batch's first gradient computed in float64 from the same (float32) weights
        and window, and why not where it cannot be: how far the float32 reference itself is from
        the exact gradient. A float32 sum over many positions (a token model's output bias
        sums B x T of them) carries rounding that no accumulation can match bit for bit."""
        if self._exact is None:
            window = _first_windows(self, self.plan, 1)[0]
            as64 = lambda a: a.astype(np.float64) if a.dtype.kind == "f" else a  # noqa: E731
            window = tuple({k: as64(v) for k, v in part.items()} if isinstance(part, dict)
                           else as64(part) for part in window)
            try:
                self._exact = (gradient.captured_gradient(
                    replace(self.config, precision="float64"), self.data.spec, window, self.dist,
                    [w.astype(np.float64) for w in self.initial], make_comparable), "")
            except Exception as e:  # a model that cannot be built in float64
                self._exact = (None, one_line(e, 200))
        return self._exact

    def batch_norm_inference_gradient(self, window) -> list[np.ndarray]:
        if self._bn_gradient is None:
            self._bn_gradient = self.capture(self.config, gradient.as_large_batch(window),
                                             _bn_inference)
        return self._bn_gradient


def _bn_inference(model):
    return make_comparable(model, batch_norm_inference=True)


def _measure(record: dict, ref: _Reference, strategy: str, plan: AccumulationPlan) -> None:
    req = ref.req
    config = req.training(strategy, plan)
    lane = None
    if strategy == "large_batch" and req.replicas == req.ref_replicas and req.workers == 1:
        mine = ref.trajectory
    elif req.workers > 1:
        mine = _multiworker_trajectory(ref, config)
    elif req.keras == 2:
        lane = _keras2_lane(record, ref, config)
        mine = lane["strategy"]
    else:
        feed = WindowFeed(ref.data.train, plan, req.seed, data_dtype(req.dtype))
        mine = trajectory.run_updates(config, ref.data.spec, feed, req.updates, ref.run_dist,
                                      ref.initial, make_comparable, record_first_gradient=True)
    names = ref.trajectory.variable_names
    cmp = gradient.compare(mine.first_gradient, ref.trajectory.first_gradient, names)
    result = level1(cmp.overall_rel_error, cmp.max_rel_error, cmp.worst_variable, req.dtype)
    if not result.passed and req.dtype == "float32" and cmp.overall_rel_error <= \
            EXACT_REFERENCE_WITHIN * result.tolerance and req.workers == 1 and req.keras == 3:
        cmp, result = _against_exact(record, ref, mine, cmp, result, names)
    # Keras 2: level 2 against the large batch trained in tf_keras, with its own noise floor
    distances = trajectory.distances(mine, lane["large_batch"] if lane else ref.trajectory)
    floor = lane["noise_floor"] if lane else ref.noise_floor
    record.update(
        **level_fields(cmp, result, distances, floor),
        lr_steps=[e.lr_step for e in mine.events],
        reference_lr_steps=[e.lr_step for e in ref.trajectory.events],
        lr=[e.lr for e in mine.events], reference_lr=[e.lr for e in ref.trajectory.events],
        losses=[e.loss for e in mine.events] if mine.reports_loss else None,
        reference_losses=[e.loss for e in ref.trajectory.events],
        optimizer_steps=mine.optimizer_steps,
        reference_optimizer_steps=ref.trajectory.optimizer_steps,
        end_of_training=mine.finish, diagnostics={})
    if isinstance(ref.data.spec, SequenceSpec):  # the token counts the windows carried
        record["window_tokens"] = WindowFeed(ref.data.train, plan, req.seed).window_weights(
            req.updates)
    if req.ema is not None and mine.ema:
        _measure_ema(record, ref, mine, plan)
    passed = (result.passed and level2_passed(distances, floor)
              and record.get("ema", {}).get("passed", True))
    if plan.accum > 1 and not passed and req.workers == 1:
        _diagnose(record, ref, config, plan, mine, names)


#: a float32 level-1 error within this many tolerances may be the reference's own rounding
EXACT_REFERENCE_WITHIN = 100


def _against_exact(record: dict, ref: _Reference, mine, cmp, result, names):
    """Where the float32 large batch's own gradient is further than the tolerance from the
    exact (float64) one, level 1 compares with the exact gradient instead: the record keeps
    both figures and says which decided."""
    exact, why_not = ref.exact_gradient()
    if exact is None:
        record["exact_reference"] = {"unavailable": why_not}
        return cmp, result
    own = gradient.compare(ref.trajectory.first_gradient, exact, names).overall_rel_error
    against = gradient.compare(mine.first_gradient, exact, names)
    record["exact_reference"] = {
        "large_batch_float32_rel_error": own,
        "strategy_rel_error": against.overall_rel_error,
        "float32_large_batch_rel_error": cmp.overall_rel_error,
        "used": own > result.tolerance}
    if own <= result.tolerance:
        return cmp, result
    return against, level1(against.overall_rel_error, against.max_rel_error,
                           against.worst_variable, "float32")


def _measure_ema(record: dict, ref: _Reference, mine, plan: AccumulationPlan) -> None:
    """The EMA of the weights against the large batch's, over its own noise floor; and which
    EMA the strategy's is: the one updated once per update, or on every micro-batch (each
    simulated from the large batch's weights)."""
    m, k = ref.req.ema, plan.accum
    distances = trajectory.distances(mine, ref.trajectory, of="ema")
    last = mine.ema[-1]
    apart = lambda other: float(np.linalg.norm(last - other) / np.linalg.norm(other))  # noqa: E731
    record["ema"] = {
        "momentum": m, "trajectory": distances, "noise_floor": ref.ema_noise_floor,
        "ratio": level2_ratio(distances, ref.ema_noise_floor),
        "passed": level2_passed(distances, ref.ema_noise_floor),
        "per_update_rel_error": apart(trajectory.simulated_ema(ref.trajectory.weights, m)),
        "per_micro_batch_rel_error": apart(trajectory.simulated_ema(ref.trajectory.weights, m, k)),
    }


def _keras2_lane(record: dict, ref: _Reference, config: TrainingConfig) -> dict:
    """The strategy's updates in the Keras 2 lane, with the lane's own large batch and noise
    floor; how far the lane's large batch ends from the Keras 3 one is recorded: the
    difference between the two Kerases, nothing the strategy did."""
    req = ref.req
    lane = keras2.run_lane(config, ref.data.name, req.updates, ref.initial,
                           req.updates * req.effective_batch)
    apart = trajectory.distances(lane["large_batch"], ref.trajectory)
    record["keras2_lane"] = {
        "large_batch_vs_keras3": apart,
        "large_batch_vs_keras3_floors": level2_ratio(apart, lane["noise_floor"])}
    return lane


def _backend_lane(req: EquivalenceRequest, data, sources: Sources) -> list[dict[str, Any]]:
    """Every combination on another backend (the lane, a process of its own), judged there
    against that backend's large batch and noise floor, from TensorFlow's initial weights; each
    record gains how far that large batch ends from TensorFlow's (the backends' difference,
    nothing the strategy did), in TensorFlow's noise floors."""
    tf_req = replace(req, backend=DEFAULT_BACKEND, strategies=("large_batch",),
                     micros=(req.effective_batch,))
    shared = _reference(tf_req, data)
    result = run_lane(req.backend, {"task": "equivalence", "request": req, "sources": sources,
                                    "initial": shared.initial})
    apart = relative_distances(result["large_batch_weights"], shared.trajectory.weights)
    for record, (_, plan) in zip(result["records"], req.combinations()):
        record["backend_lane"].update(large_batch_vs_tensorflow=apart,
                                      large_batch_vs_tensorflow_floors=level2_ratio(
                                          apart, shared.noise_floor))
        if record["verdict"] != "failed":
            judge(record, req, plan)
    return result["records"]


def _multiworker_trajectory(ref: _Reference, config: TrainingConfig):
    """The strategy's updates on `req.workers` local worker processes, from the reference's
    initial weights; the chief's trajectory."""
    req = ref.req
    results, failure = launch("trajectory", {
        "config": config, "dataset": ref.data.name, "updates": req.updates,
        "limit_train": req.updates * req.effective_batch, "initial": ref.initial}, req.workers)
    if failure:
        raise RuntimeError(failure)
    return results[0]


def _first_windows(ref: _Reference, plan: AccumulationPlan, n: int) -> list:
    """The first `n` windows of the data order every strategy saw (crossing epochs if needed)."""
    return WindowFeed(ref.data.train, plan, ref.req.seed, data_dtype(ref.req.dtype)).copied(n)


def _diagnose(record, ref: _Reference, config, plan, mine, names) -> None:
    """Controls for a failed level 1 or 2, each a measured comparison: is the applied gradient
    the last micro-batch's alone (the blog loop), or k times the large batch's (summed, not
    averaged)? Does the error vanish with BatchNormalization in inference mode? Did the second
    update apply the first one's gradient again (accumulators never reset)?"""
    k = plan.accum
    first, second = _first_windows(ref, plan, 2)
    applied = mine.gradients[0]
    compare = lambda a, b: gradient.compare(a, b, names).overall_rel_error  # noqa: E731
    last_plan = AccumulationPlan.of(plan.global_micro, plan.micro, replicas=plan.replicas)
    g_last = ref.capture(replace(ref.config, plan=last_plan), gradient.last_micro_batch(first))
    g_ref = ref.trajectory.first_gradient
    scale, norm_ratio = gradient.scale_fit(applied, g_ref)
    diag = {"last_micro_batch_rel_error": compare(applied, g_last),
            "summed_rel_error": compare(applied, [k * g for g in g_ref]),
            "scale": scale, "norm_ratio": norm_ratio,
            "scaled_rel_error": compare(applied, [scale * g for g in g_ref])}
    if isinstance(ref.data.spec, SequenceSpec) and config.strategy != "accumulate_mean_of_means":
        # a token loss: is it the mean of micro-batch means, each over its own token count?
        mean_of_means = replace(ref.config, strategy="accumulate_mean_of_means", plan=plan)
        diag["mean_of_means_rel_error"] = compare(applied, ref.capture(mean_of_means, first))
    if isinstance(ref.data.spec, SequenceSpec):
        counts = [float(np.sum(m)) for m in first[2]]  # each micro-batch's token weight
        diag["micro_batch_tokens"] = counts
        diag["micro_batch_factors"] = [sum(counts) / len(counts) / c if c else None
                                       for c in counts]
    if ref.batch_norm_layers and ref.req.keras == 3:  # re-runs the strategy: not Keras 2 code
        g_ref_bn = ref.batch_norm_inference_gradient(first)
        diag["batch_norm_inference_rel_error"] = compare(ref.capture(config, first, _bn_inference),
                                                         g_ref_bn)
    if len(mine.gradients) >= 2 and mine.after_first is not None:
        # the large batch's gradient of window 2 at the weights the strategy had after update 1
        g2 = ref.capture(ref.config, gradient.as_large_batch(second), trainable=mine.after_first)
        diag["second_update_rel_error"] = compare(mine.gradients[1], g2)
        diag["not_reset_rel_error"] = compare(mine.gradients[1],
                                              [a + b for a, b in zip(applied, g2)])
        # one window late: the second update applies the first window's gradient (at the
        # weights the first update left, which a zero first update did not move)
        diag["late_rel_error"] = compare(mine.gradients[1], g_ref)
    record["diagnostics"] = diag


def _probe_loss_scaling(record, ref: _Reference, strategy: str, plan: AccumulationPlan) -> None:
    """mixed_float16: what the strategy does with the loss scale under an injected overflow."""
    feed = WindowFeed(ref.data.train, plan, ref.req.seed, data_dtype(ref.req.dtype))
    facts = loss_scale.probe(ref.req.training(strategy, plan), ref.data.spec, feed, ref.initial,
                             ref.run_dist, make_comparable)
    facts["composes"] = (facts["whole_update_skipped"] and facts["halvings_at_overflow"] == 1
                         and facts["growth_doublings_in_a_clean_update"] == 0)
    record["loss_scaling"] = facts
