"""The mini sweep: a real, tiny sweep through pytest-benchmark (the quick profile, CNN only),
interrupted with SIGINT, SIGTERM and SIGKILL while configurations run (the last while two run at
once), resumed after each, run to its end, then run once more (everything skipped). What each
step printed and stored goes to `<root>/mini_sweep/done.json` for the tests to read.

Run once per test session: `run_once` takes a lock, so whichever process comes first (the xdist
controller, in the background, via `python -m tests.mini_sweep ROOT`, or a test's fixture) runs
it and the others wait for its result.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.commands.sweep_cmd import command as sweep_command
from bench.results import store
from tests.helpers import ROOT, outside_env

SWEEP_ARGS = ["--accumbench-only-models", "cnn",
              "--accumbench-set", "measure.updates=12",
              "--accumbench-set", "equivalence.updates=4",
              "--accumbench-set", "outcome.limit_train=1280",
              "--accumbench-set", "outcome.limit_test=200",
              "--accumbench-set", "outcome.strategies=['large_batch', 'accumulate']"]


def _sweep(results, *extra) -> subprocess.CompletedProcess:
    cmd = sweep_command("quick", str(results), [*SWEEP_ARGS, *extra])
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env=outside_env())


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _running_a_job(tree: list[psutil.Process]) -> bool:
    for p in tree:
        try:
            if "bench.engine.worker.server" in " ".join(p.cmdline()) and p.children():
                return True
        except psutil.Error:
            continue
    return False


def _interrupt(results, sig: signal.Signals, stored: int) -> dict:
    """Start `bench sweep` (resuming), and once `stored` configurations are in the results file
    and a job is running, send `sig` to the sweep's own process (as `kill`, `timeout` or a
    scheduler would). What was left running 10 s later, and what the sweep said."""
    cmd = [sys.executable, "-m", "bench", "sweep", "--profile", "quick", "--results", str(results),
           "--no-report", "--", *SWEEP_ARGS]
    sweep = subprocess.Popen(cmd, cwd=ROOT, env=outside_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    tree: list[psutil.Process] = []
    while time.monotonic() < deadline and sweep.poll() is None:
        done = [r for r in store.read(results, drop_truncated_tail=True)
                if r["kind"] in ("run", "calibration", "equivalence")] if results.exists() else []
        tree = _tree(sweep.pid)
        if len(done) >= stored and _running_a_job(tree):
            break
        time.sleep(0.2)
    tree = _tree(sweep.pid)  # again: a job started after the snapshot is in the tree now
    running = len(tree)
    os.kill(sweep.pid, sig)
    out = sweep.communicate(timeout=120)[0]
    _, alive = psutil.wait_procs(tree, timeout=10)
    left = []
    for p in alive:
        try:
            left.append(" ".join(p.cmdline()))
        except psutil.Error:
            pass
    return {"signal": sig.name, "returncode": sweep.returncode, "output": out[-3000:],
            "processes_when_sent": running, "left_running": left}


def run_once(root: Path) -> Path:
    out = root / "mini_sweep"
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    with open(root / "mini_sweep.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = out / "done.json"
        if not done.exists():
            interrupts = [_interrupt(results, sig, stored) for sig, stored in (
                (signal.SIGINT, 1), (signal.SIGTERM, 2), (signal.SIGKILL, 13))]
            interrupted = store.read(results)
            first = _sweep(results, "--benchmark-json", str(out / "bench.json"))
            snapshot = store.read(results)
            second = _sweep(results)
            done.write_text(json.dumps({"first": [first.returncode, first.stdout],
                                        "second": [second.returncode, second.stdout],
                                        "records": snapshot, "interrupts": interrupts,
                                        "interrupted_records": interrupted}))
    return out


if __name__ == "__main__":
    run_once(Path(sys.argv[1]))
