"""The built-in names input is validated against (strategies, the speed references among them,
learning-rate schedules), without importing Keras: a sweep's controller validates a whole
profile without TensorFlow. The registries that import Keras check they hold exactly these."""
from __future__ import annotations

from bench.errors import BenchError
from bench.plugins import resolve

STRATEGY_NAMES = ("large_batch", "accumulate", "keras_builtin", "naive", "plain_micro",
                  "keras_builtin_fixed", "plain_micro_linear_lr", "plain_micro_sqrt_lr")
#: Trained and timed beside the others, never judged for equivalence.
SPEED_REFERENCES = ("plain_micro",)
SCHEDULES = ("constant", "exponential", "cosine")
PROBE_NAMES = ("tf_allocator", "nvml", "process_rss")


def check_probe_names(names) -> None:
    unknown = [n for n in names if n not in PROBE_NAMES]
    if unknown:
        raise BenchError(f"unknown memory probe(s) {', '.join(unknown)} "
                         f"(probes: {', '.join(PROBE_NAMES)})")


def unknown_strategy(name: str) -> BenchError:
    return BenchError(f"unknown strategy {name!r} (strategies: {', '.join(STRATEGY_NAMES)}, or a "
                      f"factory as package.module:function)")


def check_strategy(name: str) -> bool:
    """Whether strategy `name` is judged (False: a speed reference); an unknown name raises. A
    user's `package.module:factory` is imported to check it (and with it whatever it imports)
    and is always judged."""
    if name in STRATEGY_NAMES:
        return name not in SPEED_REFERENCES
    if ":" in name:
        resolve(name, "strategy")
        return True
    raise unknown_strategy(name)
