"""A progress line per configuration: which one, how many are left, and the time left."""
from __future__ import annotations

import time


class Progress:
    """ETA from the mean wall time per item so far (runs and analyses timed separately)."""

    def __init__(self, kinds: list[str]) -> None:
        self.remaining = list(kinds)
        self.total = len(kinds)
        self.done: dict[str, list[float]] = {}
        self.started = time.perf_counter()
        self._current: tuple[str, float] | None = None

    def start(self, kind: str) -> None:
        self._current = (kind, time.perf_counter())

    def finish(self, skipped: bool = False) -> None:
        kind, t0 = self._current
        if not skipped:
            self.done.setdefault(kind, []).append(time.perf_counter() - t0)
        self.remaining.remove(kind)

    def eta_seconds(self) -> float | None:
        if not self.done:
            return None
        overall = sum(sum(v) for v in self.done.values()) / sum(len(v) for v in self.done.values())
        mean = {k: sum(v) / len(v) for k, v in self.done.items()}
        return sum(mean.get(k, overall) for k in self.remaining)

    def line(self, item_id: str) -> str:
        position = self.total - len(self.remaining) + 1
        eta = self.eta_seconds()
        elapsed = time.perf_counter() - self.started
        eta_text = "estimating" if eta is None else f"~{_clock(eta)} left"
        return (f"[{position}/{self.total}] {item_id} — {len(self.remaining) - 1} after this, "
                f"{_clock(elapsed)} elapsed, {eta_text}")


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
