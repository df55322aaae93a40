"""Process lifetime: nothing the harness starts outlives what started it.

Every process the harness starts (the sweep's pytest, fork servers, their children, the
workers of a multi-worker run) asks the kernel to signal it when its parent dies
(`PR_SET_PDEATHSIG`), so a sweep killed outright (SIGKILL) takes its training with it. Ctrl-C
and SIGTERM are turned into one orderly stop: the in-flight work's process groups are killed
at once, nothing half-done is recorded, and the sweep says how to resume.
"""
from __future__ import annotations

import ctypes
import os
import signal
from typing import Callable

import psutil

PR_SET_PDEATHSIG = 1
#: Marks the processes of a sweep so a later sweep can tell its leftovers from other Pythons.
SWEEP_MARK = "ACCUMBENCH_SWEEP"


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send `sig` to this process when its parent exits (no-op elsewhere).

    The parent may already be gone by the time this runs; then exit at once. Call it only in a
    process whose parent is single-threaded at the fork (the kernel ties the signal to the
    parent *thread*)."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent or parent == 1:
        os._exit(128 + int(sig))


def child_preexec(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """A `preexec_fn` for `subprocess.Popen` that makes the child die with this process."""
    return lambda: die_with_parent(sig)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: the sweep stops; what finished is stored, the in-flight work is not."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SignalStop:
    """While installed, SIGINT and SIGTERM call `stop_now` (kill what is running, at once) and
    then raise `exception(signum)` in the main thread; a second signal while stopping is ignored.
    """

    def __init__(self, stop_now: Callable[[], None],
                 exception: Callable[[int], BaseException] = Interrupted) -> None:
        self.stop_now, self.exception = stop_now, exception
        self.signum: int | None = None
        self._previous: dict = {}

    def _handler(self, signum, frame) -> None:
        if self.signum is not None:
            return
        self.signum = signum
        self.stop_now()
        raise self.exception(signum)

    def install(self) -> "SignalStop":
        self._previous = {s: signal.signal(s, self._handler)
                          for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def uninstall(self) -> None:
        for s, h in self._previous.items():
            signal.signal(s, h)
        self._previous = {}


def leftovers(mark: str = SWEEP_MARK) -> list[int]:
    """Processes of an earlier sweep still running (marked, and not ours or our ancestors')."""
    mine = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for p in psutil.process_iter(["pid"]):
        if p.info["pid"] in mine:
            continue
        try:
            if mark in p.environ():
                found.append(p.info["pid"])
        except (psutil.Error, OSError):
            continue
    return sorted(found)


def warn_about_leftovers(say: Callable[[str], None] = print) -> list[int]:
    pids = leftovers()
    if pids:
        shown = " ".join(map(str, pids[:10])) + (" ..." if len(pids) > 10 else "")
        say(f"warning: {len(pids)} process(es) of an earlier sweep are still running "
            f"(pids {shown}): this sweep's timings would share the CPU with them. "
            f"Stop them with: kill {shown}")
    return pids
