"""Memory probes by name; `make_probes` builds those asked for (each says if it cannot run)."""
from __future__ import annotations

from bench.config.names import PROBE_NAMES, check_probe_names
from bench.engine.measure.probes.base import MemoryProbe, ProbeReading
from bench.engine.measure.probes.nvml import NvmlProbe
from bench.engine.measure.probes.process import ProcessMemoryProbe
from bench.engine.measure.probes.tf_allocator import TFAllocatorProbe

PROBES = {"tf_allocator": TFAllocatorProbe, "nvml": NvmlProbe, "process_rss": ProcessMemoryProbe}
assert tuple(PROBES) == PROBE_NAMES, "bench.config.names is out of date"


def make_probes(names: list[str] | None = None) -> list[MemoryProbe]:
    names = list(PROBES) if names is None else names
    check_probe_names(names)
    return [PROBES[n]() for n in names]


__all__ = ["PROBES", "MemoryProbe", "ProbeReading", "check_probe_names", "make_probes"]
