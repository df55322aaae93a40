"""Every shared name, defined once, without importing Keras: strategies, memory probes,
precisions, learning-rate schedules and byte units.

A sweep's controller validates a whole profile against these without TensorFlow, the report
takes a strategy's label, style and order and a probe's rank from here, and the training layer
builds the implementations named here by import path (so this module imports none of them).

Adding a built-in strategy or probe is one registration here (`register_strategy`,
`register_probe`, or an entry in the tuples below) plus the implementation it names; nothing in
the report, the gates, the memory model or the command line lists them again.
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.errors import BenchError
from bench.plugins import resolve

# units ------------------------------------------------------------------------------------
#: byte multiples as users write them (upper case); `MIB` is what the report prints in
BYTE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
              "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
MIB = BYTE_UNITS["MIB"]

# precisions and schedules -----------------------------------------------------------------
PRECISIONS = ("float32", "float64", "mixed_float16", "mixed_bfloat16")
SCHEDULES = ("constant", "exponential", "cosine")


# strategies -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StrategyName:
    """A built-in strategy: its implementation by import path (a `Strategy` instance, class or
    factory in the training layer, `module:attribute`) and how the report shows it.

    The order of registration is the report's order (tables, legends). `judged` is False for
    speed references, which are timed and shown but never called equivalent. `panel` is where
    the learning curves draw it: "main", "apart" (a control whose curves lie far below, drawn
    beside the large batch) or "follow_up" (the study's follow-up questions)."""

    name: str
    implementation: str
    label: str
    color: str
    marker: str
    line: str = "-"
    judged: bool = True
    panel: str = "main"


_STRATEGIES = "bench.engine.training.strategies"
STRATEGIES: dict[str, StrategyName] = {}


def register_strategy(entry: StrategyName) -> StrategyName:
    """Make `entry` a built-in strategy: profiles accept it, the training layer builds it, the
    report draws and tabulates it."""
    if entry.name in STRATEGIES:
        raise BenchError(f"strategy {entry.name!r} is registered already")
    STRATEGIES[entry.name] = entry
    return entry


for _entry in (
    StrategyName("large_batch", f"{_STRATEGIES}.large_batch:LargeBatch", "large batch (B×1)",
                 "black", "s"),
    StrategyName("accumulate", f"{_STRATEGIES}.accumulate:Accumulate", "accumulate (harness)",
                 "tab:blue", "o"),
    StrategyName("accumulate_mean_of_means", f"{_STRATEGIES}.accumulate:MeanOfMeans",
                 "accumulate, mean of micro-batch means", "tab:pink", "D", ":"),
    StrategyName("keras_builtin", f"{_STRATEGIES}.keras_builtin:KerasBuiltin", "Keras built-in",
                 "tab:orange", "^", "--"),
    StrategyName("keras_builtin_fixed", f"{_STRATEGIES}.keras_builtin:KerasBuiltinFixedSchedule",
                 "Keras built-in, schedule fixed", "tab:brown", "v", "--", panel="follow_up"),
    StrategyName("naive", f"{_STRATEGIES}.naive:Naive", "naive blog loop", "tab:red", "x", ":",
                 panel="apart"),
    StrategyName("plain_micro_linear_lr", f"{_STRATEGIES}.plain_micro:linear_lr",
                 "no accumulation: b, rate × b/B", "tab:olive", "P", "-.", panel="follow_up"),
    StrategyName("plain_micro_sqrt_lr", f"{_STRATEGIES}.plain_micro:sqrt_lr",
                 "no accumulation: b, rate × √(b/B)", "tab:cyan", "*", "-.", panel="follow_up"),
    StrategyName("plain_micro", f"{_STRATEGIES}.plain_micro:PlainMicro",
                 "plain training at b (reference)", "tab:gray", "d", "-.", judged=False),
):
    register_strategy(_entry)

#: how the report draws a strategy it does not know (a user's, by import path)
OTHER_STRATEGY = StrategyName("", "", "", "goldenrod", "v")


def strategy_entry(name: str) -> StrategyName:
    """The registered entry, or one for a user's strategy labelled with its import path."""
    known = STRATEGIES.get(name)
    return known or StrategyName(name, name, name, OTHER_STRATEGY.color, OTHER_STRATEGY.marker)


def strategy_rank(name: str) -> int:
    """Position in the report's order; a user's strategy comes after every built-in one."""
    return list(STRATEGIES).index(name) if name in STRATEGIES else len(STRATEGIES)


def speed_references() -> tuple[str, ...]:
    return tuple(n for n, e in STRATEGIES.items() if not e.judged)


def unknown_strategy(name: str) -> BenchError:
    return BenchError(f"unknown strategy {name!r} (strategies: {', '.join(STRATEGIES)}, or a "
                      f"factory as package.module:function)")


def check_strategy(name: str) -> bool:
    """Whether strategy `name` is judged (False: a speed reference); an unknown name raises. A
    user's `package.module:factory` is imported to check it (and with it whatever it imports)
    and is always judged."""
    if name in STRATEGIES:
        return STRATEGIES[name].judged
    if ":" in name:
        resolve(name, "strategy")
        return True
    raise unknown_strategy(name)


# memory probes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ProbeName:
    """A memory probe: its implementation by import path (a `MemoryProbe` subclass in the
    training layer). The order of registration is the order of preference: the report, the
    memory model and the regression check use the first probe that measured. `exact` says its
    peaks repeat to the byte for a repeated configuration (an allocator's counter), so the
    check gates it tightly; a sampled or kernel reading gets the looser resident-memory gate."""

    name: str
    implementation: str
    exact: bool
    summary: str


PROBES: dict[str, ProbeName] = {}


def register_probe(entry: ProbeName) -> ProbeName:
    """Make `entry` a memory probe: configurations accept it, measured runs enter it, the report
    and the check choose it by its rank."""
    if entry.name in PROBES:
        raise BenchError(f"memory probe {entry.name!r} is registered already")
    PROBES[entry.name] = entry
    return entry


for _probe in (
    ProbeName("tf_allocator", "bench.engine.measure.probes.tf_allocator:TFAllocatorProbe", True,
              "TensorFlow's allocator peak above its baseline"),
    ProbeName("nvml", "bench.host.nvml:NvmlProbe", False,
              "device-wide GPU memory from NVML, polled"),
    ProbeName("process_rss", "bench.host.rss_probe:ProcessMemoryProbe", False,
              "the process's resident peak (VmHWM) above its baseline"),
):
    register_probe(_probe)


def probe_order() -> tuple[str, ...]:
    """The probes, most preferred first."""
    return tuple(PROBES)


def check_probe_names(names) -> None:
    unknown = [n for n in names if n not in PROBES]
    if unknown:
        raise BenchError(f"unknown memory probe(s) {', '.join(unknown)} "
                         f"(probes: {', '.join(PROBES)})")


# backends ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BackendName:
    """A Keras 3 backend the lane runs on besides TensorFlow: its kit by import path (a `Kit` in
    `bench.backends`, the backend's own gradient, apply and memory code) and the packages whose
    versions every record names. The TensorFlow analysis is the default and is not listed."""

    name: str
    kit: str
    packages: tuple[str, ...]
    summary: str


DEFAULT_BACKEND = "tensorflow"
BACKENDS: dict[str, BackendName] = {}


def register_backend(entry: BackendName) -> BackendName:
    """Make `entry` a backend of the lane: `--backend` accepts it, the lane builds its kit, the
    backends page shows it."""
    if entry.name in BACKENDS or entry.name == DEFAULT_BACKEND:
        raise BenchError(f"backend {entry.name!r} is registered already")
    BACKENDS[entry.name] = entry
    return entry


for _backend in (
    BackendName("jax", "bench.backends.jax_kit:JaxKit", ("jax", "jaxlib"),
                "JAX: jitted value_and_grad of model.stateless_call, optimizer.stateless_apply"),
    BackendName("torch", "bench.backends.torch_kit:TorchKit", ("torch",),
                "PyTorch: eager autograd on the model's parameters, optimizer.apply"),
):
    register_backend(_backend)

#: the strategies the lane implements on every backend (in keras.ops, `bench.backends.train`)
LANE_STRATEGIES = ("large_batch", "accumulate", "accumulate_mean_of_means", "keras_builtin",
                   "naive", "plain_micro")


def check_backend(name: str) -> None:
    if name != DEFAULT_BACKEND and name not in BACKENDS:
        raise BenchError(f"unknown backend {name!r} (backends: {DEFAULT_BACKEND}, "
                         f"{', '.join(BACKENDS)})")
