"""More than one machine, on TensorFlow's own engine: `MultiWorkerMirroredStrategy`.

`launch` starts N worker processes on this machine (`TF_CONFIG` with free localhost ports,
collective ops over loopback), each running one task, and watches them: if any worker dies,
the others are stopped at once (a collective op would otherwise wait forever) and the task
fails with the dead worker's last lines. Every worker writes its own result; the chief's
(task 0) is the main one. On a real cluster, run the same command on every node with that
node's `TF_CONFIG` instead: `bench.engine.worker.multiworker` is then what each node runs.

Tasks: "run" (a measured run; each worker measures its own memory and speed) and "trajectory"
(the updates of an equivalence analysis, from given initial weights; the chief saves the
trajectory for the analysis to compare with its single-process reference).
"""
from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.execute.lifecycle import child_preexec

#: the module each worker process runs (a process boundary: started by name, never imported here)
WORKER_MODULE = "bench.engine.worker.multiworker"


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _tail(path: Path, lines: int = 4) -> str:
    try:
        kept = [ln for ln in path.read_text(errors="replace").splitlines()
                if ln.strip() and not ln.startswith(("WARNING:", "I0000", "E0000"))]
    except OSError:
        return ""
    return " | ".join(kept[-lines:])[-800:]


def launch(task: str, payload: dict[str, Any], workers: int, timeout: float | None = None,
           data_dir: str | None = None) -> tuple[list[Any] | None, str | None]:
    """Run `task` on `workers` local processes; (per-worker results, None), or (None, why)."""
    ports = free_ports(workers)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    tmp = Path(tempfile.mkdtemp(prefix="accumbench-workers-"))
    (tmp / "payload.pkl").write_bytes(pickle.dumps(payload))
    procs = []
    threads = max(1, (os.cpu_count() or 1) // workers)
    for i in range(workers):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                      "task": {"type": "worker", "index": i}})}
        cmd = [sys.executable, "-m", WORKER_MODULE, "--task", task,
               "--payload", str(tmp / "payload.pkl"), "--out", str(tmp / f"result{i}.pkl"),
               "--threads", str(threads)]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        log = open(tmp / f"worker{i}.log", "wb")
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                      preexec_fn=child_preexec()))
        log.close()
    started = time.monotonic()
    failure = None
    try:
        while any(p.poll() is None for p in procs):
            dead = [(i, p) for i, p in enumerate(procs) if p.poll() not in (None, 0)]
            if dead:
                i, p = dead[0]
                failure = (f"worker {i} of {workers} died ({_how(p.returncode)}): "
                           f"{_tail(tmp / f'worker{i}.log')}")
                break
            if timeout and time.monotonic() - started > timeout:
                failure = f"the {workers} workers gave no result within {timeout:.0f} s"
                break
            time.sleep(0.2)
        else:
            bad = [(i, p.returncode) for i, p in enumerate(procs) if p.returncode != 0]
            if bad:
                i, code = bad[0]
                failure = f"worker {i} of {workers} died ({_how(code)}): {_tail(tmp / f'worker{i}.log')}"
    finally:
        for p in procs:  # no orphans: a worker left behind would block in a collective forever
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()
    if failure:
        return None, failure
    return [pickle.loads((tmp / f"result{i}.pkl").read_bytes()) for i in range(workers)], None


def _how(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
