"""Memory probes by name; `make_probes` builds those asked for (each says if it cannot run)."""
from __future__ import annotations

from bench.errors import BenchError
from bench.measure.probes.base import MemoryProbe, ProbeReading
from bench.measure.probes.nvml import NvmlProbe
from bench.measure.probes.process import ProcessMemoryProbe
from bench.measure.probes.tf_allocator import TFAllocatorProbe

PROBES = {"tf_allocator": TFAllocatorProbe, "nvml": NvmlProbe, "process_rss": ProcessMemoryProbe}


def check_probe_names(names) -> None:
    unknown = [n for n in names if n not in PROBES]
    if unknown:
        raise BenchError(f"unknown memory probe(s) {', '.join(unknown)} (probes: {', '.join(PROBES)})")


def make_probes(names: list[str] | None = None) -> list[MemoryProbe]:
    names = list(PROBES) if names is None else names
    check_probe_names(names)
    return [PROBES[n]() for n in names]


__all__ = ["PROBES", "MemoryProbe", "ProbeReading", "check_probe_names", "make_probes"]
