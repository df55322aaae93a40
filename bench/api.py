"""The Python API: is *my* accumulation equivalent, from a script, a notebook or a test.

    from bench.api import check_equivalence, assert_equivalent

    record = check_equivalence(model=build_model, data=(x_train, y_train, x_test, y_test),
                               strategy=my_accumulation, effective_batch=256, micro=64)
    record["verdict"], record["reasons"]

`model`, `data` and `strategy` are what the command line takes — import paths
(`package.module:name`), an `.npz` path, a registered name — or the Python objects themselves:
a model builder, arrays (a tuple or dict, as an .npz holds them) or a data loader, and a
strategy factory (the contracts are in `bench.engine.training.strategies.user` and the README). The
analysis runs in this process (levels 1 and 2, with the controls and reasons of the built-in
strategies); nothing is written to disk.
"""
from __future__ import annotations

import itertools
import sys
import types
from typing import Any, Callable

from bench.config.request import EquivalenceRequest
from bench.data import Sources

_MODULE = "accumbench_user_objects"
_counter = itertools.count()


def _as_name(value: Any, kind: str) -> str | None:
    """A name the harness resolves: strings pass through, objects are published under a
    synthetic module so the import-path machinery finds them."""
    if value is None or isinstance(value, str):
        return value
    module = sys.modules.get(_MODULE)
    if module is None:
        module = sys.modules[_MODULE] = types.ModuleType(_MODULE)
    name = f"{kind}_{next(_counter)}"
    if kind == "data" and not callable(value):
        arrays = value
        value = lambda: arrays  # noqa: E731 - a loader that returns the arrays
    setattr(module, name, value)
    return f"{_MODULE}:{name}"


def check_equivalence(*, model: str | Callable, data: Any, strategy: str | Callable,
                      effective_batch: int, micro: int, updates: int = 10,
                      dtype: str = "float32", lr_schedule: str = "constant", seed: int = 0,
                      model_output: str | None = None, preset: str | None = None,
                      keras: int = 3, ema: float | None = None,
                      partial_window: bool = False) -> dict:
    """Levels 1 and 2 of one strategy at one pair; the verdict record (as `bench equivalence
    --json` prints it): `verdict`, `reasons`, `levels`, `gradient_rel_error`, ... `keras=2`:
    the strategy is Keras 2 code, run in the Keras 2 lane; `ema`: every run keeps an EMA of
    its weights with this momentum, and level 2 compares the EMAs too; `partial_window`: also
    probe a partial window at an epoch's end."""
    # the training layer, entered here only: the analysis runs in the caller's process
    from bench.engine.entry import analyse

    req = EquivalenceRequest(model=_as_name(model, "model"),
                             strategies=(_as_name(strategy, "strategy"),),
                             effective_batch=effective_batch, micros=(micro,),
                             dataset=_as_name(data, "data"), dtype=dtype, updates=updates,
                             lr_schedule=lr_schedule, seed=seed, preset=preset,
                             model_output=model_output, keras=keras, ema=ema,
                             partial_window=partial_window)
    return analyse(req, Sources.from_env())[0]


def explain(record: dict) -> str:
    lines = [f"{record['strategy']} at {record['pair']} (B={record['effective_batch']}, "
             f"{record['dtype']}): {record['verdict'].upper()}"]
    lines += [f"  - {reason}" for reason in record.get("reasons", [])]
    return "\n".join(lines)


def assert_equivalent(*, check_loss: bool = True, **kwargs: Any) -> dict:
    """`check_equivalence`, raising AssertionError with the reasons unless the strategy is
    equivalent (and, with `check_loss`, reports the true mean loss of each window)."""
    record = check_equivalence(**kwargs)
    ok = record["verdict"] == "equivalent"
    if check_loss:
        ok = ok and record.get("loss_reported_correctly", True)
    if not ok:
        raise AssertionError("gradient accumulation is not equivalent to the large batch:\n"
                             + explain(record))
    return record
