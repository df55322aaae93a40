"""The backends profile (`bench/config/backends.toml`): which models, backends and
configurations the backend lane measures, expanded into requests and validated without
importing any framework."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from bench.config.lane_costs import LaneCostRequest
from bench.config.lane_outcome import LaneOutcomeRequest
from bench.config.names import check_backend
from bench.config.request import EquivalenceRequest
from bench.errors import BenchError

DEFAULT_PROFILE = Path(__file__).with_name("backends.toml")


@dataclass(frozen=True)
class LaneProfile:
    settings: dict[str, Any]

    @classmethod
    def load(cls, path: Path = DEFAULT_PROFILE) -> "LaneProfile":
        try:
            settings = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise BenchError(f"cannot read the backends profile {path}: {e}") from None
        profile = cls(settings)
        profile.equivalence()
        profile.costs(0)
        profile.outcome()
        return profile

    def _get(self, *keys: str) -> Any:
        node = self.settings
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                raise BenchError(f"the backends profile lacks {'.'.join(keys)}")
            node = node[key]
        return node

    @property
    def backends(self) -> list[str]:
        names = list(self._get("backends"))
        for name in names:
            check_backend(name)
        return names

    @property
    def models(self) -> list[str]:
        return list(self._get("models"))

    def model_setting(self, model: str, key: str, default: Any) -> Any:
        return self._get("models").get(model, {}).get(key, self.settings.get(key, default))

    def equivalence(self) -> list[EquivalenceRequest]:
        """Per backend and model: the strategies at the profile's pair; then the schedule
        pitfall (Keras' built-in, exponential schedule) where the profile asks for it."""
        eq = self._get("equivalence")
        out = []
        for backend in self.backends:
            for model in self.models:
                common = dict(model=model, effective_batch=self._get("effective_batch"),
                              micros=(eq["micro"],), updates=eq["updates"], backend=backend,
                              preset=self.model_setting(model, "preset", None),
                              dataset=self.model_setting(model, "dataset", None))
                out.append(EquivalenceRequest(strategies=tuple(
                    self.model_setting(model, "strategies", eq["strategies"])), **common))
                if model in eq.get("schedule_pitfall", []):
                    out.append(EquivalenceRequest(strategies=("keras_builtin",),
                                                  lr_schedule="exponential", **common))
        return out

    def costs(self, process: int) -> list[LaneCostRequest]:
        """Per backend and model, the speed request of speed process `process` (its memory
        requests come from `LaneCostRequest.memory_requests`)."""
        speed, memory = self._get("speed"), self._get("memory")
        return [LaneCostRequest(model=model, backend=backend,
                                effective_batch=self._get("effective_batch"),
                                configs=tuple(tuple(c) for c in memory["configs"]),
                                preset=self.model_setting(model, "preset", None),
                                dataset=self.model_setting(model, "dataset", None),
                                rounds=speed["rounds"], block_seconds=speed["block_seconds"],
                                memory_updates=memory["updates"], process=process)
                for backend in self.backends for model in self.models]

    @property
    def speed_processes(self) -> int:
        return int(self._get("speed", "processes"))

    def outcome(self) -> list[LaneOutcomeRequest]:
        """Level 3, per backend, model of `outcome.models` and seed: one process training the
        large batch and every configuration (none without an `outcome` section)."""
        out = self.settings.get("outcome")
        if out is None:
            return []
        try:
            return [LaneOutcomeRequest(
                model=model, backend=backend, effective_batch=self._get("effective_batch"),
                configs=tuple(tuple(c) for c in out["configs"]), seed=seed,
                updates=out["updates"], lr_schedule=out.get("lr_schedule", "cosine"),
                learning_rate=out.get("learning_rate"),
                preset=self.model_setting(model, "preset", None),
                dataset=self.model_setting(model, "dataset", None),
                limit_train=out.get("limit_train"), limit_test=out.get("limit_test"),
                margin=out["margin"], bar=out.get("bar", 0.0))
                for backend in self.backends for model in out["models"]
                for seed in out["seeds"]]
        except KeyError as e:
            raise BenchError(f"the backends profile's outcome section lacks {e.args[0]}") from None
