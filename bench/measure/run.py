"""One measured run: train one configuration and return one JSON-ready record.

Order matters for honest numbers: data, model, optimizer, accumulators and the epoch buffer are
all built before the memory baselines are taken; evaluation runs at the micro-batch size, so it
can never raise the peak above training's; throughput counts only the update steps.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import Any

from bench.errors import BenchError, one_line


@dataclass(frozen=True)
class RunConfig:
    model: str
    strategy: str
    effective_batch: int
    micro: int
    dataset: str | None = None
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
    probes: tuple[str, ...] | None = None  # None: every probe
    warmup: int = 3
    eval_train_samples: int = 5000

    def plan(self):
        from bench.training.plan import AccumulationPlan

        return AccumulationPlan.of(self.effective_batch, self.micro, replicas=self.replicas)

    def validate(self) -> None:
        """All input checks that need neither data nor TensorFlow."""
        from bench.data.registry import get_dataset_entry
        from bench.measure.probes import check_probe_names
        from bench.training.setup import TrainingConfig

        TrainingConfig(self.model, self.strategy, self.plan(), self.preset,
                       self.lr_schedule).validate()
        if self.dataset is not None:
            get_dataset_entry(self.dataset)
        for name in ("epochs", "warmup", "eval_train_samples"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (1 if name == "epochs" else 0):
                raise BenchError(f"{name} must be a {'positive' if name == 'epochs' else 'non-negative'} "
                                 f"integer, got {value!r}")
        for name in ("limit_train", "limit_test"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise BenchError(f"{name} must be a positive integer, got {value!r}")
        check_probe_names(self.probes or ())

    def key(self) -> str:
        """Stable identity for resuming a sweep: same key, same configuration."""
        blob = json.dumps(asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

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
        d = dict(d)
        if d.get("probes") is not None:
            d["probes"] = tuple(d["probes"])
        return cls(**d)


class NonFiniteLoss(Exception):
    pass


def base_record(cfg: RunConfig) -> dict[str, Any]:
    plan = cfg.plan()
    return {"kind": "run", "key": cfg.key(), "status": "error", "error": None,
            "config": {**cfg.to_json(), "accum": plan.accum, "pair": plan.label},
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def measured_run(cfg: RunConfig, sources=None) -> dict[str, Any]:
    """Train `cfg` in this process; failures become the record's status, never an exception
    (except BenchError: bad input or a data set that is not available)."""
    from bench.runtime import pin_malloc_trim_threshold

    cfg.validate()
    record = base_record(cfg)
    record["malloc_trim_threshold"] = pin_malloc_trim_threshold()
    started = time.perf_counter()
    probes: list = []
    try:
        _train(cfg, record, sources, probes)
        record["status"] = "ok"
    except NonFiniteLoss as e:
        record.update(status="nan", error=str(e))
    except BenchError:
        raise
    except Exception as e:
        record.update(status=_status_of(e), error=one_line(e))
    finally:
        for p in probes:  # stop samplers even on failure; keep readings if the run got that far
            if p.name not in record.get("memory", {}):
                try:
                    record.setdefault("memory", {})[p.name] = p.stop().to_dict()
                except Exception:
                    pass
        record["wall_seconds"] = round(time.perf_counter() - started, 3)
    return record


def _status_of(e: BaseException) -> str:
    import tensorflow as tf

    if isinstance(e, (tf.errors.ResourceExhaustedError, MemoryError)) or "OOM" in str(e)[:2000]:
        return "oom"
    return "error"


def _train(cfg: RunConfig, record: dict, sources, probes: list) -> None:
    from bench.data import Sources, load_dataset
    from bench.data.registry import resolve_dataset
    from bench.measure.environment import describe
    from bench.measure.memory_model import state_bytes
    from bench.measure.probes import make_probes
    from bench.measure.timing import throughput
    from bench.runtime import distribution
    from bench.training.evaluate import Evaluator
    from bench.training.feed import WindowFeed
    from bench.training.setup import TrainingConfig, build_trainer
    from models.registry import get_model

    entry = get_model(cfg.model)
    sources = sources or Sources.from_env()
    name, why = resolve_dataset(entry.data_kind, entry.recipe.dataset, cfg.dataset, sources)
    data = load_dataset(name, sources=sources, seed=cfg.seed, limit_train=cfg.limit_train,
                        limit_test=cfg.limit_test)
    record["dataset"] = data.provenance.to_dict()
    record["dataset_choice"] = why
    record["environment"] = describe()
    plan = cfg.plan()
    feed = WindowFeed(data.train, plan, cfg.seed)
    total_updates = cfg.epochs * feed.updates_per_epoch
    trainer = build_trainer(
        TrainingConfig(cfg.model, cfg.strategy, plan, cfg.preset, cfg.lr_schedule,
                       cfg.learning_rate, cfg.seed, cfg.jit, cfg.fused),
        data.spec, total_updates, distribution(cfg.replicas))
    evaluator = Evaluator(trainer.p.model, entry.output, batch_size=plan.micro)
    train_eval = data.train.head(cfg.eval_train_samples)
    record["model_state"] = state_bytes(trainer)
    events, epochs = [], []

    def on_update(event) -> None:
        events.append(event)
        if not math.isfinite(event.loss):
            raise NonFiniteLoss(f"loss became {event.loss} at update {event.index + 1}")

    probes.extend(make_probes(list(cfg.probes) if cfg.probes is not None else None))
    for p in probes:
        p.start()
    for epoch in range(cfg.epochs):
        first = len(events)
        trainer.run_epoch(feed.windows(epoch), epoch, on_update)
        eval_start = time.perf_counter()
        test_loss, test_acc = evaluator(data.test)
        train_loss_eval, train_acc = evaluator(train_eval)
        epoch_events = events[first:]
        epochs.append({
            "epoch": epoch + 1,
            "train_loss": sum(e.loss for e in epoch_events) / max(1, len(epoch_events)),
            "train_loss_eval": train_loss_eval, "train_accuracy": train_acc,
            "test_loss": test_loss, "test_accuracy": test_acc,
            "update_seconds": sum(e.seconds for e in epoch_events),
            "eval_seconds": time.perf_counter() - eval_start,
            "samples_seen": len(events) * plan.effective_batch,
        })
    record["memory"] = {p.name: p.stop().to_dict() for p in probes}
    stats = throughput([e.seconds for e in events], plan.effective_batch, cfg.warmup)
    record.update(
        throughput_samples_per_s=stats.pop("samples_per_s"), throughput=stats,
        final_test_accuracy=epochs[-1]["test_accuracy"], final_test_loss=epochs[-1]["test_loss"],
        epochs=epochs, updates=len(events), samples_seen=len(events) * plan.effective_batch,
        update_losses=[e.loss for e in events], update_seconds=[e.seconds for e in events],
        learning_rate={"first": events[0].lr, "last": events[-1].lr,
                       "first_step": events[0].lr_step, "last_step": events[-1].lr_step},
        end_of_training=trainer.finish())
