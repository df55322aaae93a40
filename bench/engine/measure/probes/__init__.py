"""Memory probes by name: `make_probes` builds those asked for (each says if it cannot run),
each from the import path registered in `bench.config.names.PROBES`."""
from __future__ import annotations

from bench.config.names import PROBES, check_probe_names
from bench.host.probe import MemoryProbe, ProbeReading
from bench.plugins import resolve


def make_probes(names: list[str] | None = None) -> list[MemoryProbe]:
    names = list(PROBES) if names is None else names
    check_probe_names(names)
    return [resolve(PROBES[n].implementation, "memory probe")() for n in names]


__all__ = ["MemoryProbe", "ProbeReading", "check_probe_names", "make_probes"]
