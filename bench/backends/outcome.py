"""Level 3 on a backend: train the large batch and each strategy of a request to the end, from
the seed's initial weights on the seed's data order, and measure each on the test set.

As users train (random layers on, the request's schedule), unlike levels 1-2's comparable
mode. The record carries the hashes that pair seeds (initial weights, the first epoch's
order), the same as TensorFlow's outcome runs; `bench.report.backend_outcome` judges the paired
differences with `bench.judge.outcome`.
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
from bench.config.lane_outcome import LaneOutcomeRequest
from bench.data import Sources, load_dataset
from bench.data.base import Split
from bench.data.registry import resolve_dataset
from bench.data.windows import Windows, cast_split, epoch_permutation
from bench.errors import BenchError, one_line
from bench.portable.objective import correct, output_width, summed_loss
from bench.results.identity import arrays_digest
from bench.results.machine import machine_identity


def outcome(kit: Kit, req: LaneOutcomeRequest, sources: Sources) -> dict[str, Any]:
    entry = req.training("large_batch", req.effective_batch).entry()
    name, why = resolve_dataset(entry.data_kind, entry.recipe.dataset, req.dataset, sources)
    data = load_dataset(name, sources=sources, seed=req.seed, limit_train=req.limit_train,
                        limit_test=req.limit_test)
    kit.prepare("float32")
    keras.utils.set_random_seed(req.seed)
    initial = entry.build(data.spec, req.preset).get_weights()
    test = cast_split(data.test, "float32")
    runs = [_train(kit, cfg, data, test, initial, req) for cfg in req.configurations()]
    return {"backend": kit.name, "versions": kit.versions(), "device": device_label(kit),
            "machine": machine_identity(f"{kit.name} lane"),
            "dataset": data.provenance.to_dict(), "dataset_choice": why, "model": req.model,
            "preset": req.preset or entry.default_preset, "effective_batch": req.effective_batch,
            "seed": req.seed, "updates": req.updates, "lr_schedule": req.lr_schedule,
            "learning_rate": req.learning_rate or entry.recipe.learning_rate,
            "margin": req.margin, "bar": req.bar, "test_samples": len(test),
            "initial_weights_sha": arrays_digest(initial),
            "data_order_sha": arrays_digest([epoch_permutation(len(data.train), req.seed, 0)]),
            "runs": runs}


def _train(kit: Kit, cfg, data, test: Split, initial, req: LaneOutcomeRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"strategy": cfg.strategy, "micro": cfg.plan.micro,
                           "accum": cfg.plan.accum, "pair": cfg.plan.label}
    started = time.perf_counter()
    try:
        run = train.build(kit, cfg, data.spec, initial, req.updates, record=False)
        windows = Windows(data.train, cfg.plan, cfg.seed)
        losses = [run.update(w) for w in islice(windows.endless(), req.updates)]
        if not np.all(np.isfinite(losses)):
            raise FloatingPointError(f"the training loss became {losses[-1]}")
        loss, accuracy = evaluate(run.model, cfg.entry().output, test, req.eval_batch)
    except BenchError:
        raise
    except Exception as e:  # noqa: BLE001 - a strategy that cannot train is a row
        return {**out, "status": "error", "error": one_line(e, 300),
                "seconds": round(time.perf_counter() - started, 2)}
    tail = losses[-max(1, len(losses) // 10):]
    return {**out, "status": "ok", "accuracy": accuracy, "test_loss": loss,
            "train_loss_last_tenth": float(np.mean(tail)), "epochs": req.updates /
            windows.updates_per_epoch, "optimizer_steps": int(keras.ops.convert_to_numpy(
                run.optimizer._iterations)), "seconds": round(time.perf_counter() - started, 2)}


def evaluate(model, output: str, split: Split, batch: int) -> tuple[float, float]:
    """Inference-mode loss and accuracy over `split`, in batches: per sample, or for token
    data (a weight per target) per weighted token, as TensorFlow's evaluator defines them."""
    loss = summed_loss(output, output_width(model))
    token = np.ndim(split.weight) > 1
    total_loss = hits = 0.0
    for start in range(0, len(split), batch):
        part = split.take(np.arange(start, min(len(split), start + batch)))
        pred = model(part.x, training=False)
        total_loss += float(keras.ops.convert_to_numpy(loss(part.y, pred,
                                                            sample_weight=part.weight)))
        hits += float(keras.ops.convert_to_numpy(correct(output, part.y, pred,
                                                         part.weight if token else None)))
    count = float(np.sum(split.weight, dtype=np.float64)) if token else float(len(split))
    return total_loss / count, hits / count
