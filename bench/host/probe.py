"""The memory-probe interface: a tracker that takes a baseline on entry and reads the peak above
it on exit, or says why it cannot.

To add a probe, subclass `MemoryProbe`, set `name`, set `unavailable` in `__init__` when the
source cannot run here (say why), and implement `_start` (take the baseline) and `_stop` (return
a `ProbeReading`); then register it once, in `bench.config.names` (`register_probe(ProbeName(
name, "module:Class", exact, summary))`, its place among the others being its rank): that one
entry is what configurations are validated against without TensorFlow, how measured runs build
it, and how the report, the memory model and the regression check choose among probes (the
first that measured; `exact` picks the tight memory gate). Nothing else lists probes. For
example::

    class SwapProbe(MemoryProbe):
        name = "swap"

        def __init__(self):
            if not Path("/proc/self/status").exists():
                self.unavailable = "no /proc here"

        def _start(self):
            self.baseline = read_vmswap()

        def _stop(self):
            return ProbeReading(True, "VmSwap above its baseline", read_vmswap() - self.baseline,
                                self.baseline)

A measured run enters every probe's `track()` through one `ExitStack`, so each is stopped, and
its reading kept, however the run ends.
"""
from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

from bench.errors import one_line


@dataclass
class ProbeReading:
    available: bool
    reason: str                     # what it measured, or why it could not
    peak_bytes: int | None = None   # peak above the baseline
    baseline_bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Tracked:
    """What `track()` yields: the probe's reading once the block has ended."""

    name: str
    reading: ProbeReading | None = None


class MemoryProbe(ABC):
    """One source of memory readings. Unavailable probes say why and never raise."""

    name: str
    unavailable: str | None = None  # set at construction when the source cannot run here

    @contextlib.contextmanager
    def track(self) -> Iterator[Tracked]:
        tracked = Tracked(self.name)
        self.start()
        try:
            yield tracked
        finally:
            tracked.reading = self.stop()

    def start(self) -> None:
        if self.unavailable is None:
            try:
                self._start()
            except Exception as e:  # a probe that breaks is a reading that says so
                self.unavailable = f"the probe failed to start ({one_line(e, 200)})"

    def stop(self) -> ProbeReading:
        if self.unavailable is not None:
            return ProbeReading(False, self.unavailable)
        try:
            return self._stop()
        except Exception as e:
            return ProbeReading(False, f"the probe failed to read ({one_line(e, 200)})")

    @abstractmethod
    def _start(self) -> None: ...

    @abstractmethod
    def _stop(self) -> ProbeReading: ...
