"""The client side of a fork server: start it, hand it jobs, turn how each child ended into
records. `run_isolated` is the one-shot form (a fresh worker for one job).

How a child ended becomes the records' status, never an exception: its own records when it
wrote them; otherwise `timeout` (killed at its deadline), `oom` (SIGKILL while the kernel's
OOM-kill counter rose), `killed` (SIGKILL from anything else), or `error` with the last lines
it printed. If the worker itself dies, the jobs it held fail the same way and the next job
starts a fresh worker.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config.job import Job
from bench.execute.lifecycle import child_preexec
from bench.results import store

#: the fork server a worker runs (a process boundary: started by name, never imported here)
SERVER_MODULE = "bench.engine.worker.server"


@dataclass
class Handle:
    """A job handed to a worker; `records` is set once it has ended."""

    id: int
    job: Job
    out: Path
    log: Path
    records: list[dict[str, Any]] | None = None
    submitted: float = field(default_factory=time.perf_counter)

    @property
    def done(self) -> bool:
        return self.records is not None


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    kept = [ln for ln in text.strip().splitlines() if ln.strip() and not ln.startswith("    ")]
    return " | ".join(kept[-lines:])[-600:]


def judge(job: Job, end: dict[str, Any], out: Path, log: Path) -> list[dict[str, Any]]:
    """The records of an ended child: what it wrote, plus a failure row for each record it
    should have written and did not."""
    records = store.read(out, drop_truncated_tail=True) if out.exists() else []
    have = {store.record_key(r) for r in records}
    missing = [i.key for i in job.identities() if i.key not in have]
    if missing:
        status, error = _classify(job, end, log)
        records += [r for r in job.failure_records(status, error, end.get("seconds") or 0.0)
                    if store.record_key(r) in missing]
    for r in records:
        r["isolation"] = {"mode": end.get("mode", "fork"), "pid": end.get("pid"),
                          "returncode": end.get("returncode"),
                          "wall_seconds": end.get("seconds")}
    return records


def _classify(job: Job, end: dict[str, Any], log: Path) -> tuple[str, str]:
    rc, tail = end.get("returncode"), _tail(log)
    if end.get("timed_out"):
        return "timeout", f"no result within {job.timeout:.0f} s; killed"
    if end.get("lost"):
        return "error", f"the worker process died ({end['lost']}) while this job ran"
    if rc == -signal.SIGKILL:
        if end.get("oom_kills"):
            return "oom", ("killed by the kernel's out-of-memory killer (its OOM-kill counter "
                           f"rose by {end['oom_kills']} while the job ran)")
        return "killed", ("killed by SIGKILL from outside (the kernel's OOM-kill counter did not "
                          "change, so not an out-of-memory kill)")
    if rc is not None and rc < 0:
        return "error", f"the process died from signal {-rc} ({signal.Signals(-rc).name}): {tail}"
    if rc:
        return "error", f"exit status {rc}: {tail}"
    return "error", f"the process ended without writing its record: {tail}"


class Worker:
    """One fork server. Start it with the data sets its jobs need; submit jobs; collect them."""

    def __init__(self, data_dir: str | None = None, *, log_dir: str | None = None) -> None:
        self.data_dir = data_dir
        self._tmp = tempfile.TemporaryDirectory(prefix="accumbench-worker-", dir=log_dir)
        self.proc: subprocess.Popen | None = None
        self.pending: dict[int, Handle] = {}
        self._next = 0
        self._buffer = b""
        self.preload_seconds = 0.0
        self.starts = 0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, preload: list[dict[str, Any]] = ()) -> None:
        """Start the server (if it is not running) and load the data sets first."""
        if self.alive:
            return
        cmd = [sys.executable, "-m", SERVER_MODULE]
        if self.data_dir:
            cmd += ["--data-dir", self.data_dir]
        err = open(Path(self._tmp.name) / "server.log", "ab")
        # its own session (a terminal's Ctrl-C reaches the sweep, which stops it in order),
        # and it dies with this process if this process is killed outright
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=err, start_new_session=True,
                                     preexec_fn=child_preexec(signal.SIGKILL))
        err.close()
        self.starts += 1
        self._buffer = b""
        self._expect("started")
        self._send({"op": "preload", "datasets": list(preload)})
        self.preload_seconds += float(self._expect("ready").get("seconds") or 0.0)

    def submit(self, job: Job, preload: list[dict[str, Any]] | None = None) -> Handle:
        self.start(preload if preload is not None else job.data_requests())
        self._next += 1
        handle = Handle(self._next, job, Path(self._tmp.name) / f"job{self._next}.jsonl",
                        Path(self._tmp.name) / f"job{self._next}.log")
        self.pending[handle.id] = handle
        self._send({"op": "start", "id": handle.id, "job": job.to_json(),
                    "out": str(handle.out), "log": str(handle.log)})
        return handle

    def poll(self, timeout: float = 0.0) -> list[Handle]:
        """Jobs that ended within `timeout` seconds (their records are set)."""
        ended = []
        deadline = time.monotonic() + timeout
        while True:
            for message in self._read(max(0.0, deadline - time.monotonic())):
                if message.get("op") == "done" and message["id"] in self.pending:
                    handle = self.pending.pop(message["id"])
                    handle.records = judge(handle.job, message, handle.out, handle.log)
                    ended.append(handle)
            if not self.alive and self.pending:
                ended += self._fail_pending()
            if ended or time.monotonic() >= deadline:
                return ended

    def wait(self, handle: Handle) -> list[dict[str, Any]]:
        while not handle.done:
            self.poll(0.5)
        return handle.records

    def kill_now(self) -> None:
        """Kill the server at once; its children die with it (they asked the kernel to)."""
        if self.alive:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def close(self) -> None:
        if self.proc is not None:
            if self.alive:
                try:
                    self._send({"op": "quit"})
                    self.proc.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if self.alive:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                stream.close()
            self.proc = None
        self._fail_pending()
        self._tmp.cleanup()

    # -- plumbing ------------------------------------------------------------------------------
    def _send(self, message: dict) -> None:
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def _read(self, timeout: float) -> list[dict]:
        messages = []
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            wait = timeout
            while sel.select(wait):
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                self._buffer += chunk
                wait = 0
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if line.strip():
                messages.append(json.loads(line))
        return messages

    def _expect(self, op: str) -> dict:
        while True:
            if not self.alive:
                raise RuntimeError(f"the worker process exited while starting: "
                                   f"{_tail(Path(self._tmp.name) / 'server.log')}")
            for message in self._read(1.0):
                if message.get("op") == op:
                    return message

    def _fail_pending(self) -> list[Handle]:
        code = None if self.proc is None else self.proc.returncode
        why = f"exit status {code}" if code is not None else "closed"
        ended = []
        for handle in self.pending.values():
            handle.records = judge(handle.job, {"lost": why, "seconds": time.perf_counter()
                                                - handle.submitted}, handle.out, handle.log)
            ended.append(handle)
        self.pending.clear()
        return ended

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_isolated(job: Job, data_dir: str | None = None) -> list[dict[str, Any]]:
    """One job in a fresh worker (import, data, fork, judge), then the worker is closed."""
    with Worker(data_dir) as worker:
        return worker.wait(worker.submit(job))
