"""The one door from the controller into the training layer within a process: what the
commands that train here (`run`, `equivalence`, `list`) and the Python API call. Everything
else reaches the training layer through a worker process (`bench.execute.client`)."""
from __future__ import annotations

from bench.engine.equivalence.analysis import analyse
from bench.engine.inventory import inventory
from bench.engine.worker.child import run_here

__all__ = ["analyse", "inventory", "run_here"]
