"""What a backend gives the lane: a gradient, an update, a clock's barrier and its memory
readings. One subclass per backend, registered in `bench.config.names.BACKENDS`; everything
else in the lane is keras.ops."""
from __future__ import annotations

from typing import Any, Callable

Gradients = Callable[[Any, Any, Any, float], tuple[Any, list]]
"""(x, y, w, divisor) -> (summed weighted loss / divisor, its gradients); BatchNormalization's
moving statistics move as in a training step."""


class Kit:
    name = ""

    def prepare(self, precision: str) -> None:
        """Before any array exists: what the precision needs from the backend."""

    def gradients(self, model, loss) -> Gradients:
        raise NotImplementedError

    def applier(self, optimizer, model) -> Callable[[list], None]:
        """Applies gradients to `model`'s trainable variables through `optimizer`."""
        raise NotImplementedError

    def wait(self, value) -> None:
        """Blocks until `value` is computed (asynchronous dispatch), for a clock."""

    def device(self) -> str:
        """The accelerator the lane computes on, in words, or "cpu"."""
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        raise NotImplementedError

    def accelerator_peak(self) -> "PeakReader | None":
        """The accelerator allocator's peak, where there is one (None on CPU)."""
        return None


class PeakReader:
    """An allocator's peak bytes: `reset` before a configuration, `read` after it. `resettable`
    False: the peak covers the process's life, so every configuration needs a process."""

    resettable = True

    def reset(self) -> None:
        raise NotImplementedError

    def read(self) -> int:
        raise NotImplementedError
