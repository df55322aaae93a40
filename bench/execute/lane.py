"""Starts a backend-lane process (`python -m bench.backends`) with `KERAS_BACKEND` set, hands
it a task and reads its result, without importing any framework here: control and the
TensorFlow analysis both start lanes through this."""
from __future__ import annotations

import importlib.util
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.config.names import BACKENDS, check_backend
from bench.errors import BenchError

LANE_MODULE = "bench.backends"
#: what installs the lane's frameworks (README: Backends)
INSTALL_HINT = "make setup-backends (the project's `backends` extra)"


def missing_packages(backend: str) -> list[str]:
    """The packages `backend`'s lane needs that are not installed here."""
    check_backend(backend)
    return [p for p in BACKENDS[backend].packages if importlib.util.find_spec(p) is None]


def run_lane(backend: str, payload: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    """The lane's result for `payload` (a task: `equivalence` or `measure`)."""
    missing = missing_packages(backend)
    if missing:
        raise BenchError(f"the {backend} lane needs {', '.join(missing)}: {INSTALL_HINT}")
    tmp = Path(tempfile.mkdtemp(prefix=f"accumbench-{backend}-"))
    (tmp / "payload.pkl").write_bytes(pickle.dumps(payload))
    env = {**os.environ, "KERAS_BACKEND": backend}
    try:
        out = subprocess.run([sys.executable, "-m", LANE_MODULE, "--payload",
                              str(tmp / "payload.pkl"), "--out", str(tmp / "result.pkl")],
                             capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"the {backend} lane ran past {timeout:.0f} s") from None
    if out.returncode != 0:
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()
                 and not ln.startswith(("I0000", "W0000", "WARNING", "  "))]
        last = lines[-1].removeprefix("error: ") if lines else f"exit status {out.returncode}"
        raise BenchError(f"in the {backend} lane: {last}")
    return pickle.loads((tmp / "result.pkl").read_bytes())
