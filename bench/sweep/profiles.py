"""Profiles are data: TOML files (bench/sweep/profiles/*.toml, or any path).

A profile has three kinds of work, each sized for what it needs:
- `[measure]`: short runs (a few dozen updates) for throughput and peak memory, for every
  (model, strategy, pair), plus speed references (plain training at the micro-batch size);
- `[outcome]`: trained models, paired seeds, the level-3 verdict against a stated margin;
- `[equivalence]`: levels 1 and 2 (gradient and trajectory).
Model-level settings go in `[defaults]` and `[models.NAME]`; any section can be overridden per
model (`[models.cnn_bn.outcome]`), limited to some models (`[outcome] models = ["cnn"]`) or
switched off for one (`enabled = false`). The dataclasses below *are* the schema: defaults and help
live on their fields, unknown keys are errors that list the known ones, and values are checked
on construction. Single values can be overridden on the command line:
`--accumbench-set measure.updates=30`, `--accumbench-set models.cnn.outcome.seeds=[0,1,2,3,4]`.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomllib

from bench.config.names import PRECISIONS
from bench.config.plan import pairs_down_to
from bench.errors import BenchError
from models.registry import MODELS

PROFILE_DIR = Path(__file__).parent / "profiles"


def _help(text: str, default: Any = MISSING, factory: Any = MISSING):
    if factory is not MISSING:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


def _ints(value, name: str) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and v > 0 for v in value):
        raise BenchError(f"{name} must be a list of positive integers, got {value!r}")
    return tuple(value)


def _strs(value, name: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise BenchError(f"{name} must be a list of names, got {value!r}")
    return tuple(value)


@dataclass(frozen=True, kw_only=True)
class MeasureSettings:
    strategies: tuple[str, ...] = _help(
        "strategies measured at every pair (large_batch at B x1, the others at k > 1)",
        factory=lambda: ("large_batch", "accumulate", "keras_builtin", "naive"))
    references: tuple[str, ...] = _help(
        "speed references at every micro-batch, not judged (plain_micro: plain training at b)",
        factory=lambda: ("plain_micro",))
    updates: int = _help("updates per run (the first `warmup` are not timed)", 24)
    warmup: int = _help("updates excluded from the timing (tracing, first touch)", 3)
    seeds: tuple[int, ...] = _help("seeds per configuration", factory=lambda: (0,))
    micros: tuple[int, ...] | None = _help(
        "micro-batch sizes measured (default: every pair of the model); levels 1-2 keep the "
        "model's pairs", None)
    rounds: int = _help(
        "processes per configuration, interleaved: round 1 of every configuration, then round "
        "2, ... A process's speed is a draw (tight within it, spread between processes), so "
        "ratios are taken within a round and their spread between rounds gives the interval",
        1)
    limit_test: int = _help("test samples evaluated at the end (a sanity check, not judged)", 512)
    speed_processes: int = _help(
        "processes per model that build every measure configuration once and time them side "
        "by side, in rounds of shuffled blocks (bench.config.speed); speed ratios and their "
        "rerun intervals then come from these, and the measure runs give memory and the first "
        "update. 1: intervals from the block rounds of the one process (a process adds no "
        "measurable variance to a side-by-side ratio; README: Numbers that hold). 0: speed "
        "from the measure runs' own update times, round by round", 0)
    speed_rounds: int = _help("rounds of blocks in each speed process", 6)
    block_seconds: float = _help("a speed block's target length in seconds", 0.5)
    precisions: tuple[str, ...] = _help(
        "precisions measured besides float32 (mixed_float16, mixed_bfloat16), for "
        "`variant_strategies` at B x1 and the smallest pair", factory=tuple)
    jit: bool = _help("also measure `variant_strategies` XLA-compiled (jit_compile) at B x1 and "
                      "the smallest pair", False)
    variant_strategies: tuple[str, ...] = _help(
        "strategies measured in the extra precisions and with XLA",
        factory=lambda: ("large_batch", "accumulate"))
    smallest_only: tuple[str, ...] = _help(
        "strategies measured at the smallest pair only (their cost at one k answers what "
        "they are there for)", factory=tuple)
    timed_variants: bool = _help(
        "time the precision and XLA variants side by side too (false: their memory only)",
        True)
    timed_smallest_only: tuple[str, ...] = _help(
        "strategies timed side by side at the smallest pair only, their memory still read at "
        "every pair (plain training's peaks at every b fit the memory model)", factory=tuple)
    untimed: tuple[str, ...] = _help(
        "strategies and references whose memory is read but that are not timed side by side "
        "(their speed beside the harness's accumulation: `make bench-overhead`)", factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategies", _strs(self.strategies, "measure.strategies"))
        object.__setattr__(self, "timed_smallest_only",
                           _strs(self.timed_smallest_only, "measure.timed_smallest_only"))
        object.__setattr__(self, "references", _strs(self.references, "measure.references"))
        object.__setattr__(self, "untimed", _strs(self.untimed, "measure.untimed"))
        object.__setattr__(self, "precisions", _strs(self.precisions, "measure.precisions"))
        object.__setattr__(self, "variant_strategies",
                           _strs(self.variant_strategies, "measure.variant_strategies"))
        object.__setattr__(self, "smallest_only", _strs(self.smallest_only, "measure.smallest_only"))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.micros is not None:
            object.__setattr__(self, "micros", _ints(self.micros, "measure.micros"))
        if "large_batch" in self.untimed:
            raise BenchError("measure.untimed cannot hold large_batch: every speed ratio is "
                             "against it")
        if not isinstance(self.rounds, int) or self.rounds < 1:
            raise BenchError(f"measure.rounds must be a positive integer, got {self.rounds!r}")
        if not isinstance(self.speed_processes, int) or self.speed_processes < 0:
            raise BenchError(f"measure.speed_processes must be a non-negative integer, got "
                             f"{self.speed_processes!r}")
        if self.updates < 2 * self.warmup + 2:
            raise BenchError(f"measure.updates must be at least 2 x warmup + 2, got {self.updates}")


@dataclass(frozen=True, kw_only=True)
class OutcomeSettings:
    strategies: tuple[str, ...] = _help(
        "strategies trained to the end and judged against the large batch (level 3)",
        factory=lambda: ("large_batch", "accumulate", "naive", "keras_builtin"))
    micros: tuple[int, ...] | None = _help(
        "micro-batch sizes judged (default: the model's smallest)", None)
    seeds: tuple[int, ...] = _help("paired seeds: seed s of every strategy starts from the same "
                                   "weights and data order as seed s of the large batch",
                                   factory=lambda: (0, 1, 2))
    epochs: int = _help("epochs over the training data (limit_train samples)", 1)
    limit_train: int | None = _help("training samples (default: all)", None)
    limit_test: int | None = _help("test samples (default: all)", None)
    lr_schedule: str = _help("learning-rate schedule over the run, the same for every strategy",
                             "cosine")
    learning_rate: float | None = _help("peak learning rate (default: the model's recipe)", None)
    eval_every: int | None = _help("test accuracy every N updates, for the learning curves", None)
    margin: float = _help("equivalence margin on the paired accuracy difference (0.005 = half "
                          "an accuracy point)", 0.01)
    bar: float | None = _help("test accuracy the large batch must reach for the level to judge "
                              "(a model that learned nothing makes everything 'equal')", None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategies", _strs(self.strategies, "outcome.strategies"))
        if self.micros is not None:
            object.__setattr__(self, "micros", _ints(self.micros, "outcome.micros"))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.strategies and "large_batch" not in self.strategies:
            raise BenchError("outcome.strategies must include large_batch (the reference)")
        if not 0 < self.margin < 1:
            raise BenchError(f"outcome.margin must be between 0 and 1, got {self.margin}")


@dataclass(frozen=True, kw_only=True)
class EquivalenceSettings:
    strategies: tuple[str, ...] = _help("strategies analysed (levels 1 and 2)",
                                        factory=lambda: ("accumulate", "keras_builtin", "naive"))
    updates: int = _help("updates of the level-2 trajectory", 10)
    dtypes: tuple[str, ...] = _help("float32 and/or float64", factory=lambda: ("float32",))
    float64_strategies: tuple[str, ...] | None = _help(
        "strategies re-checked in float64 (default: all analysed)", None)
    all_pairs: tuple[str, ...] = _help(
        "strategies analysed at every pair; the others at the smallest pair only",
        factory=lambda: ("accumulate",))
    schedule_pitfall: bool = _help(
        "also run keras_builtin and accumulate with a decaying schedule at the smallest pair",
        False)
    jit: bool = _help("also analyse the strategies XLA-compiled (jit_compile), float32, at the "
                      "smallest pair", False)
    ema: float | None = _help(
        "also run keras_builtin and accumulate at the smallest pair with an EMA of the weights "
        "(use_ema, this momentum) for the large batch and both", None)
    partial_window: bool = _help(
        "also probe the strategies at the smallest pair with a partial window at an epoch's end",
        False)
    keras2_strategies: tuple[str, ...] = _help(
        "strategies written for Keras 2 (package.module:factory), analysed at every pair in the "
        "Keras 2 lane (tf_keras, float32, constant rate)", factory=tuple)
    timeout: float = _help("seconds per analysis process", 900.0)

    def __post_init__(self) -> None:
        for name in ("strategies", "dtypes", "all_pairs", "keras2_strategies"):
            object.__setattr__(self, name, _strs(getattr(self, name), f"equivalence.{name}"))
        if self.float64_strategies is not None:
            object.__setattr__(self, "float64_strategies",
                               _strs(self.float64_strategies, "equivalence.float64_strategies"))

        bad = [d for d in self.dtypes if d not in PRECISIONS]
        if bad:
            raise BenchError(f"equivalence.dtypes: {', '.join(bad)} (one of {', '.join(PRECISIONS)})")


SECTIONS = {"measure": MeasureSettings, "outcome": OutcomeSettings,
            "equivalence": EquivalenceSettings}


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    model: str
    dataset: str | None = _help("data set (default: the model's seed data set if available, "
                                "else the offline default)", None)
    preset: str | None = _help("model preset (default: the seed's)", None)
    effective_batch: int = _help("effective batch B", 128)
    smallest_fraction: int = _help("pairs B x1, B/2 x2, ... down to B/this", 8)
    micros: tuple[int, ...] | None = _help("micro-batch sizes instead of smallest_fraction", None)
    timeout: float = _help("seconds per run", 900.0)
    model_output: str | None = _help("a user's model (package.module:builder): logits or "
                                     "probability", None)
    measure: MeasureSettings = field(default_factory=MeasureSettings)
    outcome: OutcomeSettings | None = None
    equivalence: EquivalenceSettings | None = None

    def __post_init__(self) -> None:
        if self.micros is None:
            if self.effective_batch % self.smallest_fraction:
                raise BenchError(f"{self.model}'s effective batch {self.effective_batch} is not "
                                 f"divisible by smallest_fraction {self.smallest_fraction}; "
                                 f"list `micros` instead")
            object.__setattr__(self, "micros", tuple(
                p.micro for p in pairs_down_to(self.effective_batch, self.smallest_fraction)))
        else:
            object.__setattr__(self, "micros", _ints(self.micros, f"{self.model}.micros"))
        if self.effective_batch not in self.micros:
            object.__setattr__(self, "micros", (self.effective_batch, *self.micros))

    @property
    def accumulating(self) -> tuple[int, ...]:
        """Micro-batch sizes with k > 1, largest first."""
        return tuple(sorted((m for m in self.micros if m != self.effective_batch), reverse=True))

    def measure_micros(self) -> tuple[int, ...]:
        """The accumulating micro-batch sizes measured for speed and memory."""
        chosen = self.measure.micros
        return tuple(m for m in self.accumulating if chosen is None or m in chosen)

    def outcome_micros(self) -> tuple[int, ...]:
        if self.outcome is None or not self.accumulating:
            return ()
        return self.outcome.micros or (min(self.accumulating),)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    models: dict[str, ModelSettings]
    jobs: int | None = None  # jobs that may share the machine (outcome, equivalence)

    def digest(self) -> str:
        """Identity of the effective settings: results and baselines say which made them.
        Settings added later count only when set, so the profiles' existing records, reports and
        baselines keep the digest they were made with."""
        models = asdict(self)["models"]
        for settings in models.values():
            for section, added in ADDED_LATER.items():
                for name, default in added.items():
                    if (settings.get(section) or {}).get(name, default) == default:
                        (settings.get(section) or {}).pop(name, None)
        blob = json.dumps({"name": self.name, "models": models}, sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


#: section -> setting -> its default: settings added after records were made with the profiles
ADDED_LATER = {"equivalence": {"keras2_strategies": (), "ema": None, "partial_window": False},
               "measure": {"speed_processes": 0, "speed_rounds": 6, "block_seconds": 0.5,
                           "smallest_only": (), "timed_smallest_only": (), "timed_variants": True,
                           "untimed": ()}}


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def _read(name_or_path: str) -> tuple[str, dict]:
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PROFILE_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise BenchError(f"unknown profile {name_or_path!r} (profiles: "
                         f"{', '.join(available_profiles())}, or a path to a .toml file)")
    try:
        return path.stem, tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BenchError(f"profile {path} is not valid TOML: {e}") from None


def _apply_override(data: dict, assignment: str) -> None:
    if "=" not in assignment:
        raise BenchError(f"override {assignment!r} is not KEY=VALUE (e.g. measure.updates=30)")
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


def load_profile(name_or_path: str, overrides: list[str] | None = None) -> Profile:
    name, data = _read(name_or_path)
    data = copy.deepcopy(data)
    for assignment in overrides or []:
        _apply_override(data, assignment)
    return _build(name, data)


def _keys(cls) -> set[str]:
    return {f.name for f in fields(cls)}


def _construct(cls, values: dict, where: str):
    unknown = set(values) - _keys(cls)
    if unknown:
        raise BenchError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(_keys(cls)))})")
    try:
        return cls(**values)
    except BenchError as e:
        raise BenchError(f"{where}: {e}") from None
    except (TypeError, ValueError) as e:
        raise BenchError(f"{where}: bad setting: {e}") from None


def _build(name: str, data: dict) -> Profile:
    top = {"description", "defaults", "models", "jobs", *SECTIONS}
    unknown = set(data) - top
    if unknown:
        raise BenchError(f"profile {name}: unknown table(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(top))})")
    defaults = data.get("defaults", {})
    models = {}
    for model, own in (data.get("models") or {}).items():
        if model not in MODELS and ":" not in model:
            raise BenchError(f"profile {name}: unknown model {model!r} (models: "
                             f"{', '.join(MODELS)}, or a builder as \"package.module:function\")")
        own = dict(own or {})
        values = {**defaults, **{k: v for k, v in own.items() if k not in SECTIONS}}
        for section, cls in SECTIONS.items():
            shared = dict(data.get(section, {}))
            only = shared.pop("models", None)  # e.g. [outcome] models = ["cnn", "cnn_bn"]
            merged = {**shared, **own.get(section, {})}
            included = section in own or (section in data and (only is None or model in only))
            if section != "measure" and (not included or merged.get("enabled") is False):
                continue
            merged.pop("enabled", None)
            values[section] = _construct(cls, merged, f"profile {name}, {model}, [{section}]")
        models[model] = _construct(ModelSettings, {"model": model, **values},
                                   f"profile {name}, [models.{model}]")
    jobs = data.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise BenchError(f"profile {name}: jobs must be a positive integer, got {jobs!r}")
    return Profile(name, str(data.get("description", "")), models, jobs)
