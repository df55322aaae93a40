"""Memory and speed on a backend, measured as on TensorFlow.

Memory, one configuration per process (`memory_of`): the process's resident peak above its
baseline (VmHWM after a reset, once the data and the model exist), the accelerator allocator's
peak where there is one (JAX's cannot be reset: one configuration per process is what makes it
per configuration), and under JAX what XLA planned for the compiled steps: deterministic for a
model, batch and jax version, so exact per machine identity.

Speed, every configuration in one process: built from the same weights, warmed up, then timed
in rounds of blocks in a shuffled order, as `bench.engine.measure.speed` does on TensorFlow;
the records have the same `blocks`, so the report takes the same ratios and intervals.
"""
from __future__ import annotations

import time
from itertools import islice
from typing import Any

import keras
import numpy as np

from bench.backends import train
from bench.backends.analysis import device_label
from bench.backends.kit import Kit
from bench.config.lane_costs import LaneCostRequest
from bench.config.speed import block_updates
from bench.config.training import TrainingConfig
from bench.data import Sources, load_dataset
from bench.data.registry import resolve_dataset
from bench.data.windows import Windows
from bench.errors import BenchError, one_line
from bench.host import memory
from bench.host.clock import BlockClock
from bench.portable.objective import output_width, summed_loss
from bench.results.machine import machine_identity, usable_cpus
from models.specs import SequenceSpec

#: a block that lost more than this share of the machine's CPU time to other tenants is retried
STEAL_LIMIT = 0.05
MAX_BLOCK_UPDATES = 32


class _Timed:
    """One configuration, built and warmed up, and what it needs to train on."""

    def __init__(self, kit: Kit, cfg: TrainingConfig, data, initial, total: int,
                 warmup: int) -> None:
        self.cfg = cfg
        self.windows = Windows(data.train, cfg.plan, cfg.seed)
        self.run = train.build(kit, cfg, data.spec, initial, total, record=False)
        self.stream = self.windows.endless()
        self.warmup = self.updates(warmup)

    def updates(self, n: int) -> list[float]:
        seconds = []
        for window in islice(self.stream, n):
            started = time.perf_counter()
            self.run.update(window)  # returns a Python float: the device has finished
            seconds.append(time.perf_counter() - started)
        return seconds


def measure(kit: Kit, req: LaneCostRequest, sources: Sources) -> dict[str, Any]:
    entry = req.training("large_batch", req.effective_batch).entry()
    name, why = resolve_dataset(entry.data_kind, entry.recipe.dataset, req.dataset, sources)
    data = load_dataset(name, sources=sources, seed=req.seed,
                        limit_train=req.effective_batch * MAX_BLOCK_UPDATES)
    kit.prepare("float32")
    keras.utils.set_random_seed(req.seed)
    initial = entry.build(data.spec, req.preset).get_weights()
    facts = {"backend": kit.name, "versions": kit.versions(), "device": device_label(kit),
             "machine": machine_identity(f"{kit.name} lane"), "dataset": data.provenance.to_dict(),
             "dataset_choice": why, "model": req.model, "preset": req.preset or
             entry.default_preset, "effective_batch": req.effective_batch,
             "parameters": int(sum(np.prod(w.shape) for w in initial))}
    if req.memory_of is not None:
        return {**facts, "memory": _memory(kit, req, data, initial)}
    return {**facts, "speed": _speed(kit, req, data, initial)}


def _config_fields(cfg: TrainingConfig) -> dict[str, Any]:
    return {"strategy": cfg.strategy, "micro": cfg.plan.micro, "accum": cfg.plan.accum,
            "pair": cfg.plan.label}


def _memory(kit: Kit, req: LaneCostRequest, data, initial) -> dict[str, Any]:
    strategy, micro = req.memory_of
    cfg = req.training(strategy, micro)
    out: dict[str, Any] = _config_fields(cfg)
    peak = kit.accelerator_peak()
    reset = memory.reset_hwm()
    baseline = memory.rss_bytes()
    if peak is not None:
        peak.reset()
    try:
        timed = _Timed(kit, cfg, data, initial, req.warmup + req.memory_updates, req.warmup)
        timed.updates(req.memory_updates)
    except BenchError:
        raise
    except Exception as e:  # noqa: BLE001 - a configuration that cannot run is a row
        return {**out, "status": "error", "error": one_line(e, 300)}
    out.update(status="ok", rss_peak_above_baseline=(memory.hwm_bytes() or 0) - baseline
               if reset else None, rss_baseline=baseline,
               rss_method="VmHWM after a reset via /proc/self/clear_refs" if reset else
               "not measured: /proc/self/clear_refs could not be written here",
               accelerator_peak=peak.read() if peak is not None else None,
               accelerator_probe=type(peak).__name__ if peak is not None else None)
    if kit.name == "jax":
        out["compiled"] = _compiled(kit, timed, data)
    return out


def _compiled(kit: Kit, timed: _Timed, data) -> dict[str, Any]:
    """XLA's plan for the configuration's compiled steps: the largest step's temporaries,
    arguments and outputs (less what it aliases), plus what a strategy holds between steps
    (the harness's accumulators)."""
    # JAX's compiled analysis: imported only in a JAX lane process (torch has none)
    from bench.backends.jax_kit import compiled_memory, keras_train_step, update_step

    cfg, run = timed.cfg, timed.run
    x, y, w = next(iter(timed.windows.windows(0)))
    token = isinstance(data.spec, SequenceSpec)
    if cfg.strategy == "keras_builtin" and cfg.plan.accum > 1:
        steps = {"keras_train_step": compiled_memory(keras_train_step(run.model, x[0], y[0],
                                                                       w[0]))}
    else:
        grads = kit.gradients(run.model, summed_loss(cfg.entry().output, output_width(run.model)))
        steps = {"gradient_step": compiled_memory(grads.compiled(
            x[0], y[0], w[0], train.normaliser(w[0], token))),
                 "update_step": compiled_memory(update_step(run.optimizer, run.model))}
    held = (sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize
                for v in run.model.trainable_variables)
            if cfg.strategy.startswith("accumulate") else 0)
    largest = max(s["temp"] + s["arguments"] + s["outputs"] - s["aliased"] for s in steps.values())
    return {"steps": steps, "held_between_steps": held, "total": largest + held,
            "how": "XLA's memory_analysis of each compiled step (temp + arguments + outputs - "
                   "aliased) for the largest, plus accumulators held between micro-batches"}


def _speed(kit: Kit, req: LaneCostRequest, data, initial) -> list[dict[str, Any]]:
    total = req.warmup + req.rounds * 2 * MAX_BLOCK_UPDATES
    timed: list[_Timed] = []
    records = []
    for cfg in req.configurations():
        record = {**_config_fields(cfg), "status": "ok"}
        started = time.perf_counter()
        try:
            t = _Timed(kit, cfg, data, initial, total, req.warmup)
            t.block_updates = block_updates(req.block_seconds, t.warmup[-1], MAX_BLOCK_UPDATES)
            t.blocks, t.record = [], record
            record["warmup_seconds"] = [round(s, 6) for s in t.warmup]
            timed.append(t)
        except BenchError:
            raise
        except Exception as e:  # noqa: BLE001 - a configuration that cannot run is a row
            record.update(status="error", error=one_line(e, 300))
        record["build_seconds"] = round(time.perf_counter() - started, 3)
        records.append(record)
    cpus = usable_cpus()
    rng = np.random.default_rng([req.seed, req.process])
    for r in range(req.rounds):
        for position, i in enumerate(rng.permutation(len(timed))):
            t = timed[i]
            block = _block(t, r, position, cpus)
            if block["steal_share"] is not None and block["steal_share"] > STEAL_LIMIT:
                retried = _block(t, r, position, cpus)
                retried["retried_after_steal"] = block["steal_share"]
                block = retried
            t.blocks.append(block)
    for t in timed:
        seconds = [s for b in t.blocks for s in b["seconds"]]
        t.record.update(blocks=t.blocks, block_updates=t.block_updates,
                        update_seconds=seconds, process=req.process,
                        samples_per_s=req.effective_batch / float(np.median(seconds)))
    return records


def _block(t: _Timed, round_: int, position: int, cpus: int) -> dict[str, Any]:
    clock = BlockClock(cpus)
    seconds = t.updates(t.block_updates)
    clock.stop()
    return {"round": round_, "position": position, "seconds": [round(s, 6) for s in seconds],
            **clock.to_dict()}

