"""What one timed block cost: wall time, this process's CPU time, and the CPU time the
hypervisor gave to other tenants meanwhile (steal, from /proc/stat).

Wall time alone cannot tell a slower configuration from a block during which another tenant
had the machine; steal says so directly, where the kernel reports it (Linux guests)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_steal_seconds() -> float | None:
    """CPU seconds stolen from this machine since boot, summed over its CPUs (None: not Linux,
    or a kernel without the field)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    return int(fields[8]) / _TICK


@dataclass
class BlockClock:
    """Start before a block, `stop()` after it: wall and CPU seconds, and the share of the
    machine's CPU time stolen while it ran."""

    cpus: int
    wall: float = 0.0
    cpu: float = 0.0
    steal: float | None = None

    def __post_init__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        self._steal = machine_steal_seconds()

    def stop(self) -> "BlockClock":
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        end = machine_steal_seconds()
        if end is not None and self._steal is not None and self.wall > 0:
            self.steal = (end - self._steal) / (self.wall * max(1, self.cpus))
        return self

    def to_dict(self) -> dict[str, float | None]:
        return {"wall": round(self.wall, 6), "cpu": round(self.cpu, 6),
                "steal_share": None if self.steal is None else round(self.steal, 4)}
