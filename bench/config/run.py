"""What defines one measured run (`RunConfig`), and the part of its record known before it runs.

Validated on construction without TensorFlow: the sweep's controller builds and checks every
configuration of a profile before any worker starts.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from bench.config.names import check_probe_names
from bench.config.plan import AccumulationPlan
from bench.config.training import TrainingConfig
from bench.data.registry import get_dataset_entry
from bench.errors import BenchError
from bench.results.identity import SCHEMA, Identity, make_identity

#: measure: a process of its own (peak memory, the first update); speed: timed side by side
#: with the model's other configurations (bench.config.speed); outcome: trained
PURPOSES = ("measure", "speed", "outcome")


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

    def plan(self) -> AccumulationPlan:
        return AccumulationPlan.of(self.effective_batch, self.micro,
                                   replicas=self.replicas * self.workers)

    def training(self) -> TrainingConfig:
        return TrainingConfig(self.model, self.strategy, self.plan(), self.preset,
                              self.lr_schedule, self.learning_rate, self.seed, self.jit,
                              self.fused, self.model_output, self.precision)

    def _validate(self) -> None:
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


def base_record(cfg: RunConfig) -> dict[str, Any]:
    """The part of a record known before anything runs (also the body of a failure record)."""
    plan = cfg.plan()
    return {"kind": "run", "schema": SCHEMA, "id": cfg.identity().to_dict(), "status": "error",
            "error": None, "config": {**cfg.to_json(), "accum": plan.accum, "pair": plan.label},
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
