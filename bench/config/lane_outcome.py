"""What the backend lane is asked to train to the end (level 3, the trained outcome): on one
backend, one model and one seed, the large batch and each strategy from that seed's initial
weights and data order for the same number of updates under the same schedule, then the test
accuracy of each. One process per seed (its record holds every strategy's run), validated
without importing any framework."""
from __future__ import annotations

from dataclasses import dataclass

from bench.config.names import DEFAULT_BACKEND, SCHEDULES, check_backend
from bench.config.plan import AccumulationPlan
from bench.config.training import TrainingConfig
from bench.errors import BenchError
from bench.results.identity import Identity, make_identity
from models.registry import get_model


@dataclass(frozen=True, kw_only=True)
class LaneOutcomeRequest:
    model: str
    backend: str
    effective_batch: int
    configs: tuple[tuple[str, int], ...]   # (strategy, micro) trained beside the large batch
    seed: int
    updates: int                           # optimizer updates per run (crossing epochs)
    lr_schedule: str = "cosine"            # as users train: the rate decays over the run
    learning_rate: float | None = None     # None: the model's recipe
    preset: str | None = None
    dataset: str | None = None
    limit_train: int | None = None
    limit_test: int | None = None
    eval_batch: int = 500
    margin: float = 0.01                   # judged against (not part of the identity): stated
    bar: float = 0.0                       # in advance, carried by the record to the report

    def __post_init__(self) -> None:
        object.__setattr__(self, "configs", tuple(tuple(c) for c in self.configs))
        if self.backend == DEFAULT_BACKEND:
            raise BenchError("the lane trains on jax or torch; TensorFlow's outcome is the "
                             "study profile's")
        check_backend(self.backend)
        entry = get_model(self.model)
        if entry.tensorflow_only:
            raise BenchError(f"{self.model} runs on TensorFlow only: {entry.tensorflow_only}")
        if self.updates < 1 or self.eval_batch < 1 or not 0 < self.margin < 1:
            raise BenchError("the lane's outcome needs updates >= 1, eval_batch >= 1 and a "
                             "margin between 0 and 1")
        if self.lr_schedule not in SCHEDULES:
            raise BenchError(f"unknown learning-rate schedule {self.lr_schedule!r} "
                             f"(schedules: {', '.join(SCHEDULES)})")
        self.configurations()

    def training(self, strategy: str, micro: int) -> TrainingConfig:
        return TrainingConfig(self.model, strategy,
                              AccumulationPlan.of(self.effective_batch, micro), self.preset,
                              lr_schedule=self.lr_schedule, learning_rate=self.learning_rate,
                              seed=self.seed)

    def configurations(self) -> list[TrainingConfig]:
        """The large batch first (every difference is taken against it), then `configs`."""
        configs = [self.training("large_batch", self.effective_batch)]
        configs += [self.training(s, m) for s, m in self.configs if s != "large_batch"]
        for c in configs:
            c.validate()
        return configs

    def identity(self) -> Identity:
        fields = {"analysis": "backend_outcome", "model": self.model, "backend": self.backend,
                  "effective_batch": self.effective_batch, "preset": self.preset,
                  "dataset": self.dataset, "seed": self.seed, "updates": self.updates,
                  "lr_schedule": self.lr_schedule, "learning_rate": self.learning_rate,
                  "limit_train": self.limit_train, "limit_test": self.limit_test,
                  "configs": [[c.strategy, c.plan.micro] for c in self.configurations()]}
        return make_identity("backend_outcome", fields, ["model", "analysis", "backend", "seed"])
