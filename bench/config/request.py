"""What an equivalence analysis is asked, validated without importing Keras: a sweep's
controller expands and checks every analysis of a profile before any runs."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.config.names import check_strategy
from bench.config.plan import AccumulationPlan
from bench.config.training import TrainingConfig
from bench.errors import BenchError
from bench.judge.verdict import TOLERANCE
from bench.results.identity import Identity, make_identity
from models.registry import get_model


@dataclass(frozen=True, kw_only=True)
class EquivalenceRequest:
    """Levels 1 and 2 for one model and effective batch: every (strategy, micro-batch) pair
    against one shared large-batch reference. Validated on construction."""

    model: str
    strategies: tuple[str, ...]
    effective_batch: int
    micros: tuple[int, ...]
    replicas: int = 1
    dataset: str | None = None
    dtype: str = "float32"
    updates: int = 20
    lr_schedule: str = "constant"
    seed: int = 0
    preset: str | None = None
    reference_replicas: int | None = None  # None: the reference runs on as many replicas
    smallest_only: tuple[str, ...] = ()      # strategies analysed at the smallest micro only
    model_output: str | None = None          # a user's model: logits (default) or probability
    jit: bool = False                        # XLA-compile the training steps
    workers: int = 1                         # MultiWorkerMirroredStrategy worker processes

    def __post_init__(self) -> None:
        for name in ("strategies", "micros", "smallest_only"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self.combinations()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "strategies": list(self.strategies), "micros": list(self.micros),
                "smallest_only": list(self.smallest_only)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "EquivalenceRequest":
        return cls(**d)

    def identity(self, strategy: str, plan: AccumulationPlan) -> Identity:
        """The identity of one combination's record."""
        fields = {"analysis": "equivalence", "model": self.model, "strategy": strategy,
                  "effective_batch": self.effective_batch, "micro": plan.micro,
                  "pair": plan.label, "replicas": self.replicas,
                  "reference_replicas": self.ref_replicas, "dtype": self.dtype,
                  "lr_schedule": self.lr_schedule, "updates": self.updates,
                  "dataset": self.dataset, "preset": self.preset, "seed": self.seed}
        if self.jit:  # settings added later are in the key only when set: old keys stay valid
            fields["jit"] = True
        if self.workers > 1:
            fields["workers"] = self.workers
        return make_identity("equivalence", fields, ["model", "analysis", "strategy", "pair",
                                                     "dtype", "jit", "lr_schedule", "replicas",
                                                     "workers", "seed"])

    def training(self, strategy: str, plan: AccumulationPlan) -> TrainingConfig:
        return TrainingConfig(self.model, strategy, plan, self.preset, self.lr_schedule,
                              seed=self.seed, model_output=self.model_output,
                              precision=self.dtype, jit=self.jit)

    def identities(self) -> list[Identity]:
        return [self.identity(s, p) for s, p in self.combinations()]

    @property
    def ref_replicas(self) -> int:
        """Replicas of the reference: one process, as many replicas as asked (workers or not)."""
        if self.reference_replicas is not None:
            return self.reference_replicas
        return 1 if self.workers > 1 else self.replicas

    def combinations(self) -> list[tuple[str, AccumulationPlan]]:
        """Every (strategy, plan), validated with no data and no training: bad input fails here."""
        try:
            get_model(self.model, self.model_output)
        except KeyError as e:
            raise BenchError(e.args[0]) from None
        if self.dtype not in TOLERANCE:
            raise BenchError(f"precision must be one of {', '.join(TOLERANCE)}, "
                             f"got {self.dtype!r}")
        if not isinstance(self.updates, int) or self.updates < 1:
            raise BenchError(f"updates must be a positive integer, got {self.updates!r}")
        AccumulationPlan.of(self.effective_batch, self.effective_batch // self.ref_replicas,
                            replicas=self.ref_replicas)
        combos = []
        for strategy in self.strategies:
            if not check_strategy(strategy):
                raise BenchError(f"{strategy} is a speed reference, not a strategy to judge")
            micros = ((min(self.micros),) if strategy in self.smallest_only and self.micros
                      else self.micros)
            for micro in micros:
                plan = AccumulationPlan.of(self.effective_batch, micro,
                                           replicas=self.replicas * self.workers)
                self.training(strategy, plan).validate()
                combos.append((strategy, plan))
        if not combos:
            raise BenchError("give at least one strategy and one micro-batch size")
        return combos
