"""What the backend lane is asked to measure of one model on one backend: memory per
configuration (one process each) or speed side by side (one process times them all), validated
without importing any framework."""
from __future__ import annotations

from dataclasses import dataclass, replace

from bench.config.names import DEFAULT_BACKEND, check_backend
from bench.config.plan import AccumulationPlan
from bench.config.training import TrainingConfig
from bench.errors import BenchError
from bench.results.identity import Identity, make_identity
from models.registry import get_model

#: what the lane measures by default beside the large batch, at every micro-batch: the
#: harness's accumulation, Keras' built-in, and plain training at b (the reference that splits
#: the cost)
COST_STRATEGIES = ("accumulate", "keras_builtin", "plain_micro")


@dataclass(frozen=True, kw_only=True)
class LaneCostRequest:
    model: str
    backend: str
    effective_batch: int
    micros: tuple[int, ...] = ()
    configs: tuple[tuple[str, int], ...] = ()  # (strategy, micro) pairs; default: every
                                              # COST_STRATEGIES at every micro
    preset: str | None = None
    dataset: str | None = None
    seed: int = 0
    rounds: int = 6                 # rounds of blocks (every configuration once each)
    block_seconds: float = 0.25     # a block's target length
    warmup: int = 2                 # untimed updates per configuration before round 1
    memory_updates: int = 4         # updates a memory process trains after its warm-up
    process: int = 0                # which speed process this is (the replicate)
    memory_of: tuple[str, int] | None = None  # (strategy, micro): this process measures memory

    def __post_init__(self) -> None:
        object.__setattr__(self, "micros", tuple(self.micros))
        object.__setattr__(self, "configs", tuple(tuple(c) for c in self.configs))
        if self.backend == DEFAULT_BACKEND:
            raise BenchError("the lane measures jax or torch; TensorFlow's costs are the sweep's")
        check_backend(self.backend)
        entry = get_model(self.model)
        if entry.tensorflow_only:
            raise BenchError(f"{self.model} runs on TensorFlow only: {entry.tensorflow_only}")
        if self.rounds < 2 or self.block_seconds <= 0 or self.warmup < 1:
            raise BenchError("the lane's speed needs rounds >= 2, block_seconds > 0, warmup >= 1")
        self.configurations()

    def training(self, strategy: str, micro: int) -> TrainingConfig:
        return TrainingConfig(self.model, strategy, AccumulationPlan.of(self.effective_batch,
                                                                        micro),
                              self.preset, seed=self.seed)

    def configurations(self) -> list[TrainingConfig]:
        """The large batch, then `configs` (or each of COST_STRATEGIES at each micro-batch
        smaller than B)."""
        wanted = self.configs or tuple((s, m) for m in sorted(set(self.micros), reverse=True)
                                       if m < self.effective_batch for s in COST_STRATEGIES)
        configs = [self.training("large_batch", self.effective_batch)]
        configs += [self.training(s, m) for s, m in wanted if s != "large_batch"]
        for c in configs:
            c.validate()
        if self.memory_of is not None and self.memory_of not in [
                (c.strategy, c.plan.micro) for c in configs]:
            raise BenchError(f"{self.memory_of} is not one of this request's configurations")
        return configs

    def identity(self) -> Identity:
        """A memory record's (one configuration) or a speed process's identity."""
        kind = "backend_memory" if self.memory_of else "backend_speed"
        fields = {"analysis": kind, "model": self.model, "backend": self.backend,
                  "effective_batch": self.effective_batch, "preset": self.preset,
                  "dataset": self.dataset, "seed": self.seed}
        if self.memory_of:
            strategy, micro = self.memory_of
            fields.update(strategy=strategy, pair=self.training(strategy, micro).plan.label)
            label = ["model", "analysis", "backend", "strategy", "pair", "seed"]
        else:
            fields.update(configs=[[c.strategy, c.plan.micro] for c in self.configurations()],
                          rounds=self.rounds, block_seconds=self.block_seconds,
                          round=self.process + 1)
            label = ["model", "analysis", "backend", "seed"]
        return make_identity(kind, fields, label)

    def memory_requests(self) -> list["LaneCostRequest"]:
        """One request per configuration, each measured in a process of its own."""
        return [replace(self, memory_of=(c.strategy, c.plan.micro)) for c in self.configurations()]
