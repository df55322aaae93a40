"""The memory-probe interface: baseline at start(), peak above it at stop(), or why not."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ProbeReading:
    available: bool
    reason: str                     # what it measured, or why it could not
    peak_bytes: int | None = None   # peak above the baseline
    baseline_bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class MemoryProbe(ABC):
    """One source of memory readings. Unavailable probes say why and never raise."""

    name: str
    unavailable: str | None = None  # set at construction when the source cannot run here

    def start(self) -> None:
        if self.unavailable is None:
            self._start()

    def stop(self) -> ProbeReading:
        if self.unavailable is not None:
            return ProbeReading(False, self.unavailable)
        return self._stop()

    @abstractmethod
    def _start(self) -> None: ...

    @abstractmethod
    def _stop(self) -> ProbeReading: ...
