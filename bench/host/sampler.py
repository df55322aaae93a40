"""A background thread that polls a reading at a fixed interval and keeps its maximum."""
from __future__ import annotations

import threading
from typing import Callable


class PeakSampler:
    """Polls `read()` every `interval` seconds from start() to stop(); `peak` is the largest value."""

    def __init__(self, read: Callable[[], float | None], interval: float = 0.01) -> None:
        self.read, self.interval = read, interval
        self.peak: float | None = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _poll(self) -> None:
        value = self.read()
        if value is not None:
            self.peak = value if self.peak is None else max(self.peak, value)
        self.samples += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._poll()

    def start(self) -> None:
        self._poll()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="peak-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> float | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._poll()
        return self.peak
