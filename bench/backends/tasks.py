"""What a lane process can be asked: the levels (`equivalence`), the costs (`measure`) or the
trained outcome (`outcome`), on the backend its environment names."""
from __future__ import annotations

from typing import Any

import keras

from bench.backends.kit import Kit
from bench.config.names import BACKENDS
from bench.errors import BenchError
from bench.plugins import resolve


def kit_for(backend: str) -> Kit:
    if keras.backend.backend() != backend or backend not in BACKENDS:
        raise BenchError(f"this lane process runs Keras on {keras.backend.backend()!r}, "
                         f"asked for {backend!r}: start it with KERAS_BACKEND set to one of "
                         f"{', '.join(BACKENDS)}")
    return resolve(BACKENDS[backend].kit, "backend kit")()


def run_task(backend: str, payload: dict[str, Any]) -> dict[str, Any]:
    kit = kit_for(backend)
    task = payload["task"]
    if task == "equivalence":
        from bench.backends.analysis import analyse  # one task's modules per process

        return analyse(kit, payload["request"], payload["sources"], payload.get("initial"))
    if task == "measure":
        from bench.backends.measure import measure  # one task's modules per process

        return measure(kit, payload["request"], payload["sources"])
    if task == "outcome":
        from bench.backends.outcome import outcome  # one task's modules per process

        return outcome(kit, payload["request"], payload["sources"])
    raise BenchError(f"unknown lane task {task!r}")
