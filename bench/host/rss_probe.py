"""Process memory (the CPU probe): peak resident set size of the run above its baseline.

Method `hwm` (default): write 5 to /proc/self/clear_refs, which resets the kernel's peak-RSS
counter VmHWM to the current RSS, then read VmHWM at the end. The kernel updates it on every page
it maps, so no peak is missed. Method `sampler`: poll VmRSS every 10 ms, which misses peaks
shorter than the interval (measured in tests/test_probes.py: a 256 MiB block held for 2 ms is
seen by `hwm`, not by the sampler). `hwm` falls back to the sampler where clear_refs cannot be
written (older kernels, restricted containers, no /proc: then psutil reads RSS), and says so.
"""
from __future__ import annotations

from bench.host import memory
from bench.host.probe import MemoryProbe, ProbeReading
from bench.host.sampler import PeakSampler


class ProcessMemoryProbe(MemoryProbe):
    name = "process_rss"

    def __init__(self, method: str = "hwm", interval: float = 0.01) -> None:
        if method not in ("hwm", "sampler"):
            raise ValueError(f"unknown method {method!r}")
        self.method, self.interval = method, interval
        if memory.rss_bytes() is None:
            self.unavailable = "process memory not readable (no /proc/self/status, psutil failed)"

    def _start(self) -> None:
        self.used = self.method
        if self.method == "hwm" and not memory.reset_hwm():
            self.used = "sampler"
        self.baseline = memory.rss_bytes()
        self.sampler = PeakSampler(memory.rss_bytes, self.interval) if self.used == "sampler" else None
        if self.sampler:
            self.sampler.start()

    def _stop(self) -> ProbeReading:
        if self.sampler:
            source = "VmRSS" if memory.STATUS.exists() else "psutil RSS"
            peak, how = self.sampler.stop(), f"{source} polled every {self.interval * 1000:.0f} ms"
            if self.method == "hwm":
                how += " (clear_refs could not reset VmHWM here)"
        else:
            peak, how = memory.hwm_bytes(), "VmHWM after a reset via /proc/self/clear_refs"
        return ProbeReading(True, f"peak resident memory of this process above its baseline "
                                  f"({how})", int(peak - self.baseline), self.baseline,
                            {"method": self.used})
