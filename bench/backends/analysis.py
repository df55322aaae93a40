"""Levels 1 and 2 on a backend, judged against that backend's own large batch and noise floor,
with the TensorFlow analysis's levels, diagnostics and reasons (`bench.judge`).

Every combination starts from the same initial weights (built here from the seed, or handed
over by the TensorFlow analysis so that its large batch can be compared), in comparable mode,
on the same windows. What the record adds to TensorFlow's: `backend_lane` (backend, versions,
device, TensorFlow blocked); the TensorFlow analysis adds how far this backend's large batch
ends from TensorFlow's, where it ran.
"""
from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np

from bench.backends import train
from bench.backends.block import tensorflow_loaded
from bench.backends.kit import Kit
from bench.backends.recipes import run_recipe
from bench.config.plan import AccumulationPlan
from bench.config.request import EquivalenceRequest
from bench.data import Sources, load_dataset
from bench.data.registry import resolve_dataset
from bench.data.windows import Windows
from bench.errors import BenchError, one_line
from bench.judge import distance
from bench.judge.reasons import judge
from bench.judge.verdict import level1, level2_passed, level_fields
from bench.portable.comparable import batch_norm_layers, make_comparable
from bench.portable.objective import output_width, summed_loss
from bench.portable.precision import precision_policy
from bench.process import data_dtype
from bench.results.machine import label, machine_identity
from models.registry import get_model
from models.specs import SequenceSpec


def analyse(kit: Kit, req: EquivalenceRequest, sources: Sources,
            initial: list[np.ndarray] | None = None) -> dict[str, Any]:
    """Every combination's record, and the large batch's weights after each update (for the
    distance to another backend's)."""
    combos = req.combinations()
    entry = get_model(req.model, req.model_output)
    dataset_name, note = resolve_dataset(entry.data_kind, entry.recipe.dataset, req.dataset,
                                         sources)
    data = load_dataset(dataset_name, sources=sources, seed=req.seed,
                        limit_train=req.updates * req.effective_batch)
    kit.prepare(req.dtype)
    dtype = data_dtype(req.dtype)
    started = time.perf_counter()
    keras.utils.set_random_seed(req.seed)
    with precision_policy(req.dtype):
        probe = entry.build(data.spec, req.preset)
    given = initial is not None
    initial = initial if given else probe.get_weights()
    lane = {"backend": kit.name, "versions": kit.versions(), "device": device_label(kit),
            "machine": machine_identity(f"{kit.name} lane"),
            "initial_weights": "given by the TensorFlow analysis" if given else "built here",
            "tensorflow_loaded": tensorflow_loaded(),
            "lr_source": "the optimizer's counter after each update"}
    ref = _Reference(kit, req, data, initial, dtype, bool(batch_norm_layers(probe)))
    share = (time.perf_counter() - started) / len(combos)
    records = []
    for strategy, plan in combos:
        began = time.perf_counter()
        record = {**req.record_head(strategy, plan, data.provenance.to_dict(), data.name, note),
                  "random_layers_disabled": make_comparable(probe) if not records
                  else records[0]["random_layers_disabled"],
                  "batch_norm_layers": batch_norm_layers(probe), "backend_lane": dict(lane)}
        try:
            _measure(record, ref, strategy, plan)
            judge(record, req, plan)
        except BenchError:
            raise
        except Exception as e:  # a strategy that cannot run on this backend is a result
            record.update(verdict="failed", reasons=[one_line(e, 300)], levels={})
        record["seconds"] = {"total": round(time.perf_counter() - began + share, 2)}
        records.append(record)
    return {"records": records, "large_batch_weights": ref.trajectory.weights}


def device_label(kit: Kit) -> str:
    """The accelerator, or the machine identity of the processor, in words (README: machine identity)."""
    device = kit.device()
    return label(machine_identity(f"{kit.name} lane")) if device == "cpu" else device


class _Reference:
    """The large batch from the initial weights, its two one-ulp neighbours (the noise floor),
    and a probe for gradients at the initial weights (the diagnostics)."""

    def __init__(self, kit: Kit, req: EquivalenceRequest, data, initial, dtype: str,
                 batch_norm: bool) -> None:
        self.kit, self.req, self.data, self.initial, self.dtype = kit, req, data, initial, dtype
        self.batch_norm = batch_norm
        self.token = isinstance(data.spec, SequenceSpec)
        self.plan = AccumulationPlan.of(req.effective_batch, req.effective_batch)
        self.config = req.training("large_batch", self.plan)
        self.trajectory = self.run(self.config, initial)
        self.noise_floor = distance.noise_floor(*(
            distance.relative_distances(self.run(self.config, distance.one_ulp(
                initial, d, req.dtype)).weights, self.trajectory.weights)
            for d in (np.inf, -np.inf)))
        self._probe = None
        self._recipes: dict[str, tuple] = {}

    def recipe_reference(self, path: str):
        """A recipe's own large batch (`accum_steps=1` at B) and its noise floor, once."""
        if path not in self._recipes:
            run = lambda initial: run_recipe(  # noqa: E731
                path, self.req.training(path, self.plan), self.data.spec,
                self.windows(self.plan), self.req.updates, initial, 1, make_comparable)
            reference = run(self.initial)
            floor = distance.noise_floor(*(distance.relative_distances(
                run(distance.one_ulp(self.initial, d, self.req.dtype)).weights,
                reference.weights) for d in (np.inf, -np.inf)))
            self._recipes[path] = (reference, floor)
        return self._recipes[path]

    def windows(self, plan: AccumulationPlan) -> Windows:
        return Windows(self.data.train, plan, self.req.seed, self.dtype)

    def run(self, config, initial, updates: int | None = None, prepare=make_comparable):
        return train.run_updates(self.kit, config, self.data.spec, self.windows(config.plan),
                                 updates or self.req.updates, initial, prepare)

    def gradient(self, x, y, w, divisor: float) -> list[np.ndarray]:
        """The gradient of (summed loss / divisor) at the initial weights, no optimizer."""
        if self._probe is None:
            entry = get_model(self.req.model, self.req.model_output)
            with precision_policy(self.req.dtype):
                model = entry.build(self.data.spec, self.req.preset)
            make_comparable(model)
            self._probe = (model, self.kit.gradients(model, summed_loss(entry.output,
                                                                         output_width(model))))
        model, grads_of = self._probe
        model.set_weights(self.initial)
        return [keras.ops.convert_to_numpy(g) for g in grads_of(x, y, w, divisor)[1]]


def _measure(record: dict, ref: _Reference, strategy: str, plan: AccumulationPlan) -> None:
    req = ref.req
    config = req.training(strategy, plan)
    if ":" in strategy:  # a recipe from another ecosystem, against its own large batch
        reference, floor = ref.recipe_reference(strategy)
        mine = run_recipe(strategy, config, ref.data.spec, ref.windows(plan), req.updates,
                          ref.initial, plan.accum, make_comparable)
        record["reference"] = ("the same code with accum_steps=1 on the large batch (its "
                               "ecosystem's own optimizer), with that run's noise floor")
    else:
        reference, floor = ref.trajectory, ref.noise_floor
        mine = reference if strategy == "large_batch" else ref.run(config, ref.initial)
    names = ref.trajectory.variable_names
    cmp = distance.compare(mine.gradients[0], reference.gradients[0], names)
    result = level1(cmp.overall_rel_error, cmp.max_rel_error, cmp.worst_variable, req.dtype)
    distances = distance.relative_distances(mine.weights, reference.weights)
    record.update(
        **level_fields(cmp, result, distances, floor),
        lr_steps=mine.lr_steps, reference_lr_steps=reference.lr_steps,
        lr=mine.lr, reference_lr=reference.lr, losses=mine.losses,
        reference_losses=reference.losses, optimizer_steps=mine.optimizer_steps,
        reference_optimizer_steps=reference.optimizer_steps, end_of_training={},
        diagnostics={}, update_seconds=mine.seconds)
    if ref.token:
        record["window_tokens"] = ref.windows(plan).window_weights(req.updates)
    if plan.accum > 1 and not (result.passed and level2_passed(distances, floor)):
        record["diagnostics"] = _diagnose(ref, config, plan, mine, reference, names)


def _diagnose(ref: _Reference, config, plan: AccumulationPlan, mine, reference,
              names) -> dict:
    """The TensorFlow analysis's controls that need no second update: is the applied gradient
    the last micro-batch's alone, k times the large batch's, a scaled copy, the mean of
    micro-batch means (a token loss)? Does BatchNormalization in inference mode remove it?"""
    k = plan.accum
    x, y, w = next(iter(ref.windows(plan).windows(0)))
    applied, g_ref = mine.gradients[0], reference.gradients[0]
    compare = lambda a, b: distance.compare(a, b, names).overall_rel_error  # noqa: E731
    g_last = ref.gradient(x[-1], y[-1], w[-1], train.normaliser(w[-1], ref.token))
    scale, norm_ratio = distance.scale_fit(applied, g_ref)
    diag = {"last_micro_batch_rel_error": compare(applied, g_last),
            "summed_rel_error": compare(applied, [k * g for g in g_ref]),
            "scale": scale, "norm_ratio": norm_ratio,
            "scaled_rel_error": compare(applied, [scale * g for g in g_ref])}
    if ref.token:
        counts = [train.normaliser(wi, True) for wi in w]
        parts = [ref.gradient(x[i], y[i], w[i], k * counts[i]) for i in range(k)]
        if config.strategy != "accumulate_mean_of_means":
            diag["mean_of_means_rel_error"] = compare(applied, [sum(g) for g in zip(*parts)])
        diag["micro_batch_tokens"] = counts
        diag["micro_batch_factors"] = [sum(counts) / k / c if c else None for c in counts]
    if ref.batch_norm:  # one update of each again, BatchNormalization in inference mode
        inference = lambda m: make_comparable(m, batch_norm_inference=True)  # noqa: E731
        if ":" in config.strategy:
            strategy_bn, large_bn = (run_recipe(
                config.strategy, c, ref.data.spec, ref.windows(c.plan), 1, ref.initial,
                c.plan.accum, inference).gradients[0]
                for c in (config, ref.req.training(config.strategy, ref.plan)))
        else:
            strategy_bn = ref.run(config, ref.initial, 1, inference).gradients[0]
            large_bn = ref.run(ref.config, ref.initial, 1, inference).gradients[0]
        diag["batch_norm_inference_rel_error"] = compare(strategy_bn, large_bn)
    return diag

