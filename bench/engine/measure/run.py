"""One measured run: train one configuration and return one JSON-ready record.

Two purposes share this code. A *measure* run is short (a few dozen updates): steady-state
throughput and peak memory, nothing else that needs a trained model. An *outcome* run trains the
model (the test accuracy that level 3 judges), with a learning curve; it measures no memory.

Order matters for honest numbers: data, model, optimizer, accumulators and the epoch buffer are
all built before the memory baselines are taken; a measure run evaluates at the micro-batch
size, so evaluation can never raise the peak above training's; throughput counts only the
update steps (timed with the device synchronised), warm-up excluded.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from typing import Any

import tensorflow as tf

from bench.config.run import RunConfig, base_record
from bench.data import Sources, load_dataset
from bench.data.registry import resolve_dataset
from bench.engine.launch import launch
from bench.engine.measure.environment import describe
from bench.engine.measure.probes import make_probes
from bench.engine.runtime import distribution, multiworker_strategy
from bench.engine.training.evaluate import Evaluator
from bench.engine.training.feed import WindowFeed, epoch_permutation
from bench.engine.training.setup import build_trainer
from bench.errors import BenchError, one_line
from bench.judge.memory_model import state_bytes
from bench.judge.timing import Throughput
from bench.process import data_dtype, pin_malloc_trim_threshold
from bench.results.identity import arrays_digest
from models.specs import SequenceSpec


class NonFiniteLoss(Exception):
    pass


def measured_run(cfg: RunConfig, sources=None) -> dict[str, Any]:
    """Train `cfg` in this process; failures become the record's status, never an exception
    (except BenchError: bad input or a data set that is not available)."""
    if cfg.workers > 1:
        if "TF_CONFIG" not in os.environ:
            return _multiworker_run(cfg, sources)

        multiworker_strategy()  # a cluster's node: the collective context comes before any op
    record = base_record(cfg)
    record["malloc_trim_threshold"] = pin_malloc_trim_threshold()
    started = time.perf_counter()
    try:
        _train(cfg, record, sources)
        record["status"] = "ok"
    except NonFiniteLoss as e:
        record.update(status="nan", error=str(e))
    except BenchError:
        raise
    except Exception as e:
        record.update(status=failure_status(e), error=one_line(e))
    finally:
        seconds = record.setdefault("seconds", {})
        seconds["total"] = round(time.perf_counter() - started, 3)
    return record


def _multiworker_run(cfg: RunConfig, sources) -> dict[str, Any]:
    """Start `cfg.workers` local workers; the chief's record, with every worker's figures."""
    started = time.perf_counter()
    data_dir = str(sources.data_dirs[0]) if sources is not None and sources.data_dirs else None
    results, failure = launch("run", {"config": cfg.to_json()}, cfg.workers, data_dir=data_dir)
    if failure:
        record = base_record(cfg)
        record.update(status="error", error=failure,
                      seconds={"total": round(time.perf_counter() - started, 3)})
        return record
    record = results[0]
    record["workers"] = [{"worker": r["worker"], "status": r["status"], "error": r.get("error"),
                          "throughput_samples_per_s": r.get("throughput_samples_per_s"),
                          "memory": {n: m.get("peak_bytes") for n, m in (r.get("memory") or {}).items()
                                     if m.get("available")},
                          "seconds": r.get("seconds")} for r in results]
    bad = [w for w in record["workers"] if w["status"] != "ok"]
    if bad:
        record.update(status=bad[0]["status"], error=f"worker {bad[0]['worker']}: {bad[0]['error']}")
    record["seconds"]["total"] = round(time.perf_counter() - started, 3)
    return record


def failure_status(e: BaseException) -> str:
    """A failed configuration's status: out of memory, or another error."""
    if isinstance(e, (tf.errors.ResourceExhaustedError, MemoryError)) or "OOM" in str(e)[:2000]:
        return "oom"
    return "error"


class _Curve:
    """Test-set evaluations during training (outcome runs) and after each epoch."""

    def __init__(self, evaluator, data, plan, eval_every: int | None) -> None:
        self.evaluator, self.data, self.plan, self.every = evaluator, data, plan, eval_every
        self.points: list[dict[str, Any]] = []
        self.seconds = 0.0

    def evaluate(self, updates: int) -> dict[str, Any]:
        if self.points and self.points[-1]["update"] == updates:
            return self.points[-1]
        start = time.perf_counter()
        e = self.evaluator(self.data.test)
        self.seconds += time.perf_counter() - start
        point = {"update": updates, "samples_seen": updates * self.plan.effective_batch,
                 "test_loss": e.loss, "test_accuracy": e.accuracy, "test_auc": e.auc}
        self.points.append(point)
        return point

    def maybe(self, updates: int) -> None:
        if self.every and updates % self.every == 0:
            self.evaluate(updates)


def _train(cfg: RunConfig, record: dict, sources) -> None:
    entry = cfg.training().entry()
    sources = sources or Sources.from_env()
    name, why = resolve_dataset(entry.data_kind, entry.recipe.dataset, cfg.dataset, sources)
    data = load_dataset(name, sources=sources, seed=cfg.seed, limit_train=cfg.limit_train,
                        limit_test=cfg.limit_test)
    record["dataset"] = {**data.provenance.to_dict(), **data.test_statistics()}
    record["dataset_choice"] = why
    record["environment"] = describe()
    plan = cfg.plan()
    feed = WindowFeed(data.train, plan, cfg.seed, data_dtype(cfg.precision),
                      tensors=True)  # before any baseline
    total_updates = cfg.epochs * feed.updates_per_epoch
    trainer = build_trainer(cfg.training(), data.spec, total_updates,
                            distribution(cfg.replicas, cfg.workers))
    eval_batch = cfg.eval_batch or (plan.micro if cfg.purpose == "measure" else 500)
    evaluator = Evaluator(trainer.p.model, entry.output, batch_size=eval_batch,
                          float_dtype=data_dtype(cfg.precision))
    curve = _Curve(evaluator, data, plan, cfg.eval_every if cfg.purpose == "outcome" else None)
    train_eval = data.train.head(cfg.eval_train_samples) if cfg.eval_train_samples else None
    record["model_state"] = state_bytes(trainer)
    record["pairing"] = {  # seed s of every strategy must start here (level 3 pairs on it)
        "initial_weights_sha": arrays_digest(trainer.p.model.get_weights()),
        "data_order_sha": arrays_digest([epoch_permutation(len(data.train), cfg.seed, 0)])}
    events, epochs = [], []

    def on_update(event) -> None:
        events.append(event)
        if trainer.reports_loss and not math.isfinite(event.loss):
            raise NonFiniteLoss(f"loss became {event.loss} at update {event.index + 1}")
        curve.maybe(len(events))

    probes = make_probes(list(cfg.probes) if cfg.probes is not None else None)
    tracked: list = []
    train_eval_seconds = 0.0
    try:
        with contextlib.ExitStack() as stack:  # every probe is stopped however training ends
            tracked = [stack.enter_context(p.track()) for p in probes]
            for epoch in range(cfg.epochs):
                first = len(events)
                trainer.run_epoch(feed.epoch(epoch), epoch, on_update)
                point = curve.evaluate(len(events))
                epoch_events = events[first:]
                summary = {"epoch": epoch + 1, "train_loss": sum(e.loss for e in epoch_events)
                           / max(1, len(epoch_events)), **point}
                if train_eval is not None:
                    t0 = time.perf_counter()
                    e = evaluator(train_eval)
                    train_eval_seconds += time.perf_counter() - t0
                    summary.update(train_loss_eval=e.loss, train_accuracy=e.accuracy)
                epochs.append(summary)
    finally:
        record["memory"] = {t.name: t.reading.to_dict() for t in tracked if t.reading}
        record["seconds"] = {"updates": round(sum(e.seconds for e in events), 3),
                             "evaluation": round(curve.seconds + train_eval_seconds, 3)}
    stats = Throughput.from_seconds([e.seconds for e in events], plan.effective_batch, cfg.warmup)
    final = epochs[-1]
    record.update(
        throughput_samples_per_s=stats.samples_per_s, throughput=stats.to_dict(),
        final_test_accuracy=final["test_accuracy"], final_test_loss=final["test_loss"],
        final_test_auc=final["test_auc"], epochs=epochs, curve=curve.points,
        updates=len(events), samples_seen=len(events) * plan.effective_batch,
        update_losses=[e.loss for e in events], update_seconds=[e.seconds for e in events],
        update_lr=[e.lr for e in events],
        learning_rate={"first": events[0].lr, "last": events[-1].lr,
                       "first_step": events[0].lr_step, "last_step": events[-1].lr_step},
        end_of_training=trainer.finish())
    if isinstance(data.spec, SequenceSpec):
        record["window_tokens"] = feed.window_weights(len(events))
