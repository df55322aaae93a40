"""One writer per results file: `<results>.lock`, held with `flock` for the sweep's lifetime.

The kernel releases an `flock` when its holder dies, however it dies, so a lock left by a
killed sweep is simply taken over (the file still names the dead holder, which is said). The
file's text names the holder for the one-line refusal a second sweep gets.
"""
from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path

from bench.errors import BenchError

#: Environment variable through which `bench sweep` hands its held lock to its pytest.
INHERITED_FD = "ACCUMBENCH_RESULTS_LOCK_FD"


class ResultsBusy(BenchError):
    """Another live sweep writes this results file."""


def lock_path(results: Path) -> Path:
    return Path(str(results) + ".lock")


def _holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode() or "{}")
    except (OSError, ValueError):
        return {}


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, TypeError, ValueError):
        return False


def acquire(results: Path, say=print) -> int:
    """Take the lock of `results` (an fd, held until closed or the process ends).

    Raises `ResultsBusy` naming the holder if a live sweep has it, or `BenchError` if the
    lock file cannot be created (a read-only folder)."""
    path = lock_path(results)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise BenchError(f"cannot write next to {results}: {e.strerror} ({path})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise ResultsBusy(
            f"{results} is being written by another sweep (pid {holder.get('pid', '?')}, "
            f"started {holder.get('started', '?')}: {holder.get('command', '?')}); wait for it to "
            f"finish, or give this sweep another --results file") from None
    previous = _holder(fd)
    if previous.get("pid") and not _alive(previous["pid"]):
        say(f"taking over the lock of an earlier sweep of {results} that is no longer running "
            f"(pid {previous['pid']})")
    text = json.dumps({"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                       "command": " ".join(sys.argv)[:300]}).encode()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, text, 0)
    except OSError:
        pass  # the flock itself is the lock; the text only names the holder
    return fd


def inherited_or_acquire(results: Path, say=print) -> int:
    """The lock fd `bench sweep` passed down for this file, or a newly taken one."""
    fd = os.environ.get(INHERITED_FD)
    if fd:
        try:
            if os.path.samefile(f"/proc/self/fd/{fd}", lock_path(results)):
                fcntl.flock(int(fd), fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours already: a no-op
                return int(fd)
        except OSError:
            pass
    return acquire(results, say)
