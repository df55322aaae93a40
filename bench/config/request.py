"""What an equivalence analysis is asked, validated without importing Keras: a sweep's
controller expands and checks every analysis of a profile before any runs."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.config.names import (
    DEFAULT_BACKEND,
    LANE_STRATEGIES,
    PRECISIONS,
    check_backend,
    check_strategy,
)
from bench.config.plan import AccumulationPlan
from bench.config.training import TrainingConfig
from bench.errors import BenchError
from bench.results.identity import SCHEMA, Identity, make_identity
from models.registry import get_model

#: built-in models whose builders use only what Keras 2 and 3 share (`models.backend`)
KERAS2_MODELS = ("cnn", "cnn_bn", "char_lm")


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
    keras: int = 3                           # 2: the strategies are Keras 2 code (the lane)
    ema: float | None = None                 # every run keeps an EMA of its weights (momentum)
    partial_window: bool = False             # also probe a partial window at an epoch's end
    backend: str = DEFAULT_BACKEND           # jax | torch: the strategies run in the backend lane

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
        if self.keras != 3:
            fields["keras"] = self.keras
        if self.ema is not None:
            fields["ema"] = self.ema
        if self.partial_window:
            fields["partial_window"] = True
        if self.backend != DEFAULT_BACKEND:
            fields["backend"] = self.backend
        return make_identity("equivalence", fields, ["model", "analysis", "backend", "strategy",
                                                     "pair", "dtype", "jit", "lr_schedule",
                                                     "ema", "partial_window", "replicas",
                                                     "workers", "seed"])

    def record_head(self, strategy: str, plan: AccumulationPlan, dataset: dict,
                    dataset_name: str, dataset_choice: str) -> dict[str, Any]:
        """What every record of one combination starts with, on every backend."""
        head = {
            "kind": "equivalence", "schema": SCHEMA,
            "id": self.identity(strategy, plan).to_dict(), "status": "ok",
            "model": self.model, "strategy": strategy,
            "effective_batch": self.effective_batch, "micro": plan.micro, "accum": plan.accum,
            "replicas": self.replicas, "reference_replicas": self.ref_replicas,
            "pair": plan.label, "dtype": self.dtype,
            "lr_schedule": self.lr_schedule, "updates": self.updates, "seed": self.seed,
            "preset": self.preset or get_model(self.model, self.model_output).default_preset,
            "dataset": dataset, "dataset_name": dataset_name, "dataset_choice": dataset_choice}
        if self.backend != DEFAULT_BACKEND:
            head["backend"] = self.backend
        return head

    def training(self, strategy: str, plan: AccumulationPlan) -> TrainingConfig:
        return TrainingConfig(self.model, strategy, plan, self.preset, self.lr_schedule,
                              seed=self.seed, model_output=self.model_output,
                              precision=self.dtype, jit=self.jit, ema_momentum=self.ema)

    def _check_keras2_lane(self) -> None:
        """What the Keras 2 lane runs: a user's (or a published) strategy by import path, on a
        model built with what Keras 2 and 3 share, float32, a constant rate, one process."""
        if self.model not in KERAS2_MODELS and ":" not in self.model:
            raise BenchError(f"{self.model} is built with Keras 3 only; the Keras 2 lane "
                             f"builds {', '.join(KERAS2_MODELS)} or a model by import path")
        built_in = [s for s in self.strategies if ":" not in s]
        if built_in:
            raise BenchError(f"{', '.join(built_in)}: built-in strategies are Keras 3 code; the "
                             f"Keras 2 lane runs strategies given as package.module:factory")
        unsupported = {"dtype": (self.dtype, "float32"), "lr_schedule": (self.lr_schedule,
                       "constant"), "replicas": (self.replicas, 1), "workers": (self.workers, 1),
                       "jit": (self.jit, False), "ema": (self.ema, None),
                       "partial_window": (self.partial_window, False)}
        for name, (value, only) in unsupported.items():
            if value != only:
                raise BenchError(f"the Keras 2 lane runs {name} {only!r} only, got {value!r}")

    def _check_backend_lane(self) -> None:
        """What the backend lane runs: the built-in models that build on every backend, the
        lane's strategies, float32 or float64, one device, no EMA or partial-window probe."""
        check_backend(self.backend)
        entry = get_model(self.model, self.model_output)
        if entry.tensorflow_only:
            raise BenchError(f"{self.model} runs on TensorFlow only: {entry.tensorflow_only}")
        if ":" in self.model:
            raise BenchError("the backend lane runs the registered models, not a user's builder")
        other = [s for s in self.strategies if s not in LANE_STRATEGIES and ":" not in s]
        if other:
            raise BenchError(f"{', '.join(other)}: the backend lane runs "
                             f"{', '.join(LANE_STRATEGIES)}, or a recipe by import path "
                             f"(bench/backends/recipes.py)")
        if self.dtype not in ("float32", "float64"):
            raise BenchError(f"the backend lane runs float32 or float64, got {self.dtype!r}")
        unsupported = {"replicas": (self.replicas, 1), "workers": (self.workers, 1),
                       "keras": (self.keras, 3), "jit": (self.jit, False),
                       "ema": (self.ema, None), "partial_window": (self.partial_window, False)}
        for name, (value, only) in unsupported.items():
            if value != only:
                raise BenchError(f"the backend lane runs {name} {only!r} only, got {value!r}"
                                 + (" (JAX compiles every step; --jit is TensorFlow's XLA)"
                                    if name == "jit" else ""))

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
        if self.dtype not in PRECISIONS:
            raise BenchError(f"precision must be one of {', '.join(PRECISIONS)}, "
                             f"got {self.dtype!r}")
        if not isinstance(self.updates, int) or self.updates < 1:
            raise BenchError(f"updates must be a positive integer, got {self.updates!r}")
        AccumulationPlan.of(self.effective_batch, self.effective_batch // self.ref_replicas,
                            replicas=self.ref_replicas)
        if self.keras not in (2, 3):
            raise BenchError(f"keras must be 2 or 3, got {self.keras!r}")
        if self.ema is not None and not (isinstance(self.ema, (int, float)) and 0 < self.ema < 1):
            raise BenchError(f"ema must be a momentum between 0 and 1, got {self.ema!r}")
        if self.keras == 2:
            self._check_keras2_lane()
        if self.backend != DEFAULT_BACKEND:
            self._check_backend_lane()
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
