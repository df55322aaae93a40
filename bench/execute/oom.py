"""Was a SIGKILL the kernel's out-of-memory killer? Count OOM kills before and after.

A child killed by SIGKILL is an out-of-memory kill only if the kernel's OOM-kill counter rose
while it ran; anything else (a user's `kill -9`, a batch system's limit) is reported as killed,
not guessed to be memory. Counters, first found wins: the cgroup v2 `memory.events`, the cgroup
v1 `memory.oom_control` (both `oom_kill N`; they count kills inside this container), then the
system-wide `/proc/vmstat`.
"""
from __future__ import annotations

import re
from pathlib import Path

COUNTERS = (Path("/sys/fs/cgroup/memory.events"),
            Path("/sys/fs/cgroup/memory/memory.oom_control"),
            Path("/proc/vmstat"))


def oom_kill_count(paths: tuple[Path, ...] = COUNTERS) -> int | None:
    """The first readable OOM-kill counter, or None where the kernel offers none."""
    for path in paths:
        try:
            match = re.search(r"^oom_kill\s+(\d+)$", path.read_text(), re.MULTILINE)
        except OSError:
            continue
        if match:
            return int(match.group(1))
    return None
