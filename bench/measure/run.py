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
import hashlib
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from bench.errors import BenchError, one_line
from bench.results.identity import SCHEMA, Identity, make_identity

PURPOSES = ("measure", "outcome")


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything that defines one measured run. Validated on construction: a bad value is a
    BenchError naming it, before anything loads or trains."""

    model: str
    strategy: str
    effective_batch: int
    micro: int
    dataset: str | None = None
    purpose: str = "measure"
    replicas: int = 1
    epochs: int = 1
    seed: int = 0
    limit_train: int | None = None
    limit_test: int | None = None
    preset: str | None = None
    lr_schedule: str = "constant"
    learning_rate: float | None = None
    jit: bool = False
    fused: bool = True
    probes: tuple[str, ...] | None = field(default=None, metadata={
        "help": "memory probes to read (None: every probe; () for none)"})
    warmup: int = 3
    eval_train_samples: int = 0
    eval_every: int | None = field(default=None, metadata={
        "help": "outcome runs: test accuracy every N updates as well as after each epoch"})
    eval_batch: int | None = field(default=None, metadata={
        "help": "evaluation batch (default: the micro-batch for measure runs, 500 for outcome)"})
    model_output: str | None = field(default=None, metadata={
        "help": "a user's model (package.module:builder): logits (default) or probability"})
    precision: str = field(default="float32", metadata={
        "help": "float32, float64, mixed_float16 (with loss scaling) or mixed_bfloat16"})
    workers: int = field(default=1, metadata={
        "help": "MultiWorkerMirroredStrategy workers: B = micro x accum x replicas x workers"})
    round: int = field(default=1, metadata={
        "help": "which repetition of a measure configuration this is (each round is another "
                "process; it changes nothing that trains, only the record's identity)"})

    def __post_init__(self) -> None:
        if self.probes is not None and not isinstance(self.probes, tuple):
            object.__setattr__(self, "probes", tuple(self.probes))
        self._validate()

    def plan(self):
        from bench.training.plan import AccumulationPlan

        return AccumulationPlan.of(self.effective_batch, self.micro,
                                   replicas=self.replicas * self.workers)

    def training(self):
        from bench.training.config import TrainingConfig

        return TrainingConfig(self.model, self.strategy, self.plan(), self.preset,
                              self.lr_schedule, self.learning_rate, self.seed, self.jit,
                              self.fused, self.model_output, self.precision)

    def _validate(self) -> None:
        from bench.data.registry import get_dataset_entry
        from bench.measure.probes import check_probe_names

        if self.purpose not in PURPOSES:
            raise BenchError(f"purpose must be one of {', '.join(PURPOSES)}, got {self.purpose!r}")
        self.training().validate()
        if self.dataset is not None:
            get_dataset_entry(self.dataset)
        for name in ("epochs", "warmup", "eval_train_samples"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (1 if name == "epochs" else 0):
                raise BenchError(f"{name} must be a {'positive' if name == 'epochs' else 'non-negative'} "
                                 f"integer, got {value!r}")
        for name in ("workers", "round"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise BenchError(f"{name} must be a positive integer, got {value!r}")
        for name in ("limit_train", "limit_test", "eval_every", "eval_batch"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise BenchError(f"{name} must be a positive integer, got {value!r}")
        check_probe_names(self.probes or ())

    def identity(self) -> Identity:
        # fields at their defaults are left out of the key, so that a field added later (with
        # a default) does not change the identity of configurations stored before it existed
        defaults = {f.name: f.default for f in fields(self)}
        defining = {k: v for k, v in self.to_json().items()
                    if k in ("model", "strategy", "effective_batch", "micro", "seed")
                    or v != defaults[k]}
        return make_identity("run", {**defining, "pair": self.plan().label},
                             ["model", "purpose", "strategy", "pair", "precision", "jit",
                              "lr_schedule", "replicas", "workers", "seed", "round"])

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["probes"] = list(self.probes) if self.probes is not None else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "RunConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise BenchError(f"unknown run configuration field(s): {', '.join(sorted(unknown))}")
        return cls(**d)


class NonFiniteLoss(Exception):
    pass


def base_record(cfg: RunConfig) -> dict[str, Any]:
    """The part of a record known before anything runs (also the body of a failure record)."""
    plan = cfg.plan()
    return {"kind": "run", "schema": SCHEMA, "id": cfg.identity().to_dict(), "status": "error",
            "error": None, "config": {**cfg.to_json(), "accum": plan.accum, "pair": plan.label},
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def measured_run(cfg: RunConfig, sources=None) -> dict[str, Any]:
    """Train `cfg` in this process; failures become the record's status, never an exception
    (except BenchError: bad input or a data set that is not available)."""
    from bench.runtime import pin_malloc_trim_threshold

    if cfg.workers > 1:
        if "TF_CONFIG" not in os.environ:
            return _multiworker_run(cfg, sources)
        from bench.runtime import multiworker_strategy

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
        record.update(status=_status_of(e), error=one_line(e))
    finally:
        seconds = record.setdefault("seconds", {})
        seconds["total"] = round(time.perf_counter() - started, 3)
    return record


def _multiworker_run(cfg: RunConfig, sources) -> dict[str, Any]:
    """Start `cfg.workers` local workers; the chief's record, with every worker's figures."""
    from bench.execute.multiworker import launch

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


def _status_of(e: BaseException) -> str:
    import tensorflow as tf

    if isinstance(e, (tf.errors.ResourceExhaustedError, MemoryError)) or "OOM" in str(e)[:2000]:
        return "oom"
    return "error"


def _sha(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(memoryview(a).cast("B") if a.flags.c_contiguous else a.tobytes())
    return h.hexdigest()[:16]


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
    from bench.data import Sources, load_dataset
    from bench.data.registry import resolve_dataset
    from bench.measure.environment import describe
    from bench.measure.memory_model import state_bytes
    from bench.measure.probes import make_probes
    from bench.measure.timing import Throughput
    from bench.runtime import data_dtype, distribution
    from bench.training.evaluate import Evaluator
    from bench.training.feed import WindowFeed, epoch_permutation
    from bench.training.setup import build_trainer
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
        "initial_weights_sha": _sha(trainer.p.model.get_weights()),
        "data_order_sha": _sha([epoch_permutation(len(data.train), cfg.seed, 0)])}
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
