"""The fork server: `python -m bench.engine.worker.server [--data-dir DIR]`.

It imports TensorFlow and the harness (without initialising TensorFlow's runtime: no device,
no thread pool, no allocator exists yet), loads the data sets it is asked to preload, returns
freed heap to the kernel, and then forks one child per job. Every child therefore starts from
the same state, initialises TensorFlow itself (threads, memory growth, logical devices), and
its peak memory does not depend on what ran before it.

Protocol: JSON lines on stdin (requests) and stdout (replies); everything else the process
prints goes to stderr.
  {"op": "preload", "datasets": [...]}              -> {"op": "ready", "seconds": s}
  {"op": "start", "id": n, "job": {...}, "out": path, "log": path}
                                                     -> later {"op": "done", "id": n, ...}
  {"op": "quit"}                                     -> children are killed, the server exits
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import selectors
import signal
import sys
import time
import traceback
from typing import Callable

from bench.config.job import Job
from bench.errors import BenchError
from bench.execute.lifecycle import die_with_parent
from bench.execute.oom import oom_kill_count
from bench.process import import_tensorflow_quietly, malloc_trim
from bench.results import store
from models.registry import MODELS


def _child(job_json: dict, out: str, log: str, data_dir: str | None, execute: Callable) -> None:
    """Runs in the forked child; never returns."""
    code = 1
    try:
        die_with_parent()  # a server killed outright takes its jobs with it
        os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        job = Job.from_json(job_json)
        started = time.perf_counter()
        try:
            execute(job, out, data_dir)
            code = 0
        except BenchError as e:  # bad input or unavailable data: the job's rows say so
            print(f"error: {e}", file=sys.stderr)
            for r in job.failure_records("error", str(e), time.perf_counter() - started):
                store.append(out, r)
            code = 3
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class Server:
    def __init__(self, data_dir: str | None, reply, child) -> None:
        """`child`: the module that loads data and runs jobs (`bench.engine.worker.child`)."""
        self.data_dir, self.reply, self.child = data_dir, reply, child
        self.children: dict[int, dict] = {}

    def handle(self, request: dict) -> bool:
        op = request.get("op")
        if op == "preload":
            seconds = self.child.preload(request.get("datasets", []), self.data_dir)
            gc.collect()
            malloc_trim()
            self.reply({"op": "ready", "seconds": round(seconds, 3), "pid": os.getpid()})
        elif op == "start":
            self.start(request)
        elif op == "quit":
            return False
        return True

    def start(self, request: dict) -> None:
        oom_before = oom_kill_count()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request["job"], request["out"], request["log"], self.data_dir,
                   self.child.execute)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child already did (or already ended)
        timeout = request["job"].get("timeout")
        now = time.monotonic()
        self.children[pid] = {"id": request["id"], "started": now, "oom_before": oom_before,
                              "deadline": now + timeout if timeout else None, "timed_out": False}

    def reap(self) -> None:
        now = time.monotonic()
        for pid, c in self.children.items():
            if c["deadline"] is not None and now > c["deadline"] and not c["timed_out"]:
                c["timed_out"] = True
                _kill_group(pid)
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            c = self.children.pop(pid, None)
            if c is None:
                continue
            _kill_group(pid)  # anything the child started dies with it: no orphans
            after = oom_kill_count()
            self.reply({"op": "done", "id": c["id"], "pid": pid,
                        "returncode": os.waitstatus_to_exitcode(status),
                        "timed_out": c["timed_out"],
                        "seconds": round(time.monotonic() - c["started"], 3),
                        "oom_kills": (None if after is None or c["oom_before"] is None
                                      else after - c["oom_before"])})

    def shutdown(self) -> None:
        for pid in list(self.children):
            _kill_group(pid)
        for pid in list(self.children):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine.worker.server")
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints must not corrupt the protocol
    sys.stdout = sys.stderr

    def reply(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    import_tensorflow_quietly()  # the modules only: the runtime starts in each child
    # imported here, not at the top: only after stdout is redirected can nothing printed while
    # TensorFlow and the training layer import reach the protocol; imported once, shared by
    # every child
    from bench.engine.worker import child

    for entry in MODELS.values():  # the built-in builders (the registry names them lazily)
        entry.load_builder()

    server = Server(args.data_dir, reply, child)
    signal.signal(signal.SIGTERM, lambda *_: (server.shutdown(), os._exit(0)))
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    buffer = b""
    running = True
    reply({"op": "started", "pid": os.getpid()})
    while running:
        if selector.select(timeout=0.02):
            chunk = os.read(0, 1 << 16)
            if not chunk:  # the client went away
                break
            buffer += chunk
            while b"\n" in buffer and running:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    running = server.handle(json.loads(line))
        server.reap()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
