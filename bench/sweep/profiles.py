"""Profiles are data: TOML files (bench/sweep/profiles/*.toml, or any path) with defaults, per-model
settings and the equivalence settings. Single values can be overridden on the command line:
`--set defaults.epochs=3`, `--set models.cnn.seeds=[0,1]`, `--set equivalence.updates=5`.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomllib

from bench.errors import BenchError
from bench.training.plan import pairs_down_to

PROFILE_DIR = Path(__file__).parent / "profiles"
MODEL_KEYS = {"dataset", "effective_batch", "smallest_fraction", "micros", "strategies", "seeds",
              "epochs", "preset", "limit_train", "limit_test", "lr_schedule", "learning_rate",
              "timeout", "eval_train_samples"}
EQUIVALENCE_KEYS = {"strategies", "updates", "dtypes", "float64_strategies", "schedule_pitfall",
                    "timeout"}


@dataclass(frozen=True)
class ModelSettings:
    model: str
    dataset: str | None
    effective_batch: int
    micros: tuple[int, ...]
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    epochs: int
    preset: str | None
    limit_train: int | None
    limit_test: int | None
    lr_schedule: str
    learning_rate: float | None
    timeout: float
    eval_train_samples: int  # training samples evaluated after each epoch (train accuracy)


@dataclass(frozen=True)
class EquivalenceSettings:
    strategies: tuple[str, ...]
    updates: int
    dtypes: tuple[str, ...]
    float64_strategies: tuple[str, ...]  # float64 re-checks level 1 where equivalence is expected
    schedule_pitfall: tuple[str, ...]    # models that also run keras_builtin under a decaying rate
    timeout: float


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    models: dict[str, ModelSettings]
    equivalence: EquivalenceSettings

    def digest(self) -> str:
        """Identity of the effective settings: baselines and results say which profile made them."""
        blob = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def _read(name_or_path: str) -> tuple[str, dict]:
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PROFILE_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise BenchError(f"unknown profile {name_or_path!r} (profiles: {', '.join(available_profiles())}, "
                         f"or a path to a .toml file)")
    try:
        return path.stem, tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BenchError(f"profile {path} is not valid TOML: {e}") from None


def _apply_override(data: dict, assignment: str) -> None:
    if "=" not in assignment:
        raise BenchError(f"override {assignment!r} is not KEY=VALUE (e.g. defaults.epochs=3)")
    key, raw = assignment.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: a string (e.g. models.cnn.dataset=mnist)
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise BenchError(f"override {key!r}: {part!r} is not a table")
    node[parts[-1]] = value


def load_profile(name_or_path: str, overrides: list[str] | None = None,
                 only_models: list[str] | None = None) -> Profile:
    name, data = _read(name_or_path)
    data = copy.deepcopy(data)
    for assignment in overrides or []:
        _apply_override(data, assignment)
    return _build(name, data, only_models)


def _build(name: str, data: dict, only_models: list[str] | None) -> Profile:
    from models.registry import MODELS

    defaults = data.get("defaults", {})
    unknown = set(defaults) - MODEL_KEYS
    models_data = data.get("models", {})
    if unknown:
        raise BenchError(f"profile {name}: unknown setting(s) in [defaults]: {', '.join(sorted(unknown))}")
    if only_models:
        missing = [m for m in only_models if m not in models_data]
        if missing:
            raise BenchError(f"profile {name} has no model(s) {', '.join(missing)} "
                             f"(it has {', '.join(models_data)})")
        models_data = {m: models_data[m] for m in only_models}
    models = {}
    for model, own in models_data.items():
        if model not in MODELS:
            raise BenchError(f"profile {name}: unknown model {model!r} (models: {', '.join(MODELS)})")
        unknown = set(own) - MODEL_KEYS
        if unknown:
            raise BenchError(f"profile {name}: unknown setting(s) for {model}: {', '.join(sorted(unknown))}")
        models[model] = _model_settings(name, model, {**defaults, **own})
    eq = data.get("equivalence", {})
    unknown = set(eq) - EQUIVALENCE_KEYS
    if unknown:
        raise BenchError(f"profile {name}: unknown setting(s) in [equivalence]: {', '.join(sorted(unknown))}")
    try:
        strategies = tuple(eq.get("strategies", ()))
        equivalence = EquivalenceSettings(strategies, int(eq.get("updates", 20)),
                                          tuple(eq.get("dtypes", ("float32",))),
                                          tuple(eq.get("float64_strategies", strategies)),
                                          _model_list(eq.get("schedule_pitfall", False), models),
                                          float(eq.get("timeout", 900)))
    except (TypeError, ValueError) as e:
        raise BenchError(f"profile {name}: bad [equivalence] setting: {e}") from None
    return Profile(name, str(data.get("description", "")), models, equivalence)


def _model_list(value, models: dict) -> tuple[str, ...]:
    """true: every model of the profile; false: none; a list: those of them."""
    if isinstance(value, bool):
        return tuple(models) if value else ()
    return tuple(m for m in value if m in models)


def _model_settings(profile: str, model: str, s: dict[str, Any]) -> ModelSettings:
    try:
        batch = int(s["effective_batch"])
        if "micros" in s:
            micros = tuple(int(m) for m in s["micros"])
        else:
            fraction = int(s.get("smallest_fraction", 1))
            if batch % fraction:
                raise BenchError(f"profile {profile}: {model}'s effective batch {batch} is not "
                                 f"divisible by smallest_fraction {fraction}; list `micros` instead")
            micros = tuple(p.micro for p in pairs_down_to(batch, fraction))
        opt_int = lambda k: None if s.get(k) is None else int(s[k])  # noqa: E731
        return ModelSettings(
            model, s.get("dataset"), batch, micros, tuple(s["strategies"]),
            tuple(int(x) for x in s.get("seeds", [0])), int(s.get("epochs", 1)), s.get("preset"),
            opt_int("limit_train"), opt_int("limit_test"), str(s.get("lr_schedule", "constant")),
            None if s.get("learning_rate") is None else float(s["learning_rate"]),
            float(s.get("timeout", 600)), int(s.get("eval_train_samples", 5000)))
    except KeyError as e:
        raise BenchError(f"profile {profile}: {model} needs a value for {e.args[0]}") from None
    except (TypeError, ValueError) as e:
        raise BenchError(f"profile {profile}: bad setting for {model}: {e}") from None
