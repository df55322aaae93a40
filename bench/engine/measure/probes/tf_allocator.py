"""TensorFlow's own allocator: `get_memory_info(device)['peak']` after `reset_memory_stats`.

On a GPU this is the BFC allocator behind `GPU:0`. On the CPU TensorFlow's default allocator
keeps no statistics (`get_memory_info('CPU:0')` raises) — unless the BFC allocator is switched
on for the CPU too (`TF_CPU_ALLOCATOR_USE_BFC=true`, which the harness does for every run by
default: see `bench.process.configure_allocator`). Then the CPU has the same exact, repeatable
peak counter as a GPU.

`reset_memory_stats` resets the peak to the *current* allocation, not zero, so the baseline is
the current allocation at start (after the model and optimizer are built) and the reading is
peak minus baseline: what training allocated on top of the model's state.
"""
from __future__ import annotations

import tensorflow as tf

from bench.host.probe import MemoryProbe, ProbeReading


class TensorFlowMemoryAPI:
    """The boundary: the TensorFlow calls this probe uses."""

    def gpu_devices(self) -> list[str]:
        return [f"GPU:{i}" for i, _ in enumerate(tf.config.list_logical_devices("GPU"))]

    def has_stats(self, device: str) -> bool:
        """Whether the device's allocator keeps statistics (the CPU's does only with BFC)."""
        try:
            self.info(device)
            return True
        except (ValueError, RuntimeError):
            return False

    def reset(self, device: str) -> None:
        tf.config.experimental.reset_memory_stats(device)

    def info(self, device: str) -> dict[str, int]:
        return tf.config.experimental.get_memory_info(device)


class TFAllocatorProbe(MemoryProbe):
    name = "tf_allocator"

    def __init__(self, api: TensorFlowMemoryAPI | None = None, device: str | None = None) -> None:
        self.api = api or TensorFlowMemoryAPI()
        try:
            gpus = self.api.gpu_devices()
        except Exception as e:  # a broken CUDA install raises at device listing
            self.unavailable = f"TensorFlow cannot list its GPUs ({e.__class__.__name__}: {e})"
            return
        self.device = device or (gpus[0] if gpus else "CPU:0")
        if self.device.startswith("GPU") and self.device not in gpus:
            self.unavailable = f"{self.device} is not visible to TensorFlow"
        elif not self.api.has_stats(self.device):
            self.unavailable = ("no GPU, and TensorFlow's default CPU allocator keeps no "
                                "statistics (get_memory_info raises on CPU:0); the BFC CPU "
                                "allocator (TF_CPU_ALLOCATOR_USE_BFC=true) does")

    def _start(self) -> None:
        self.api.reset(self.device)
        self.baseline = int(self.api.info(self.device)["current"])

    def _stop(self) -> ProbeReading:
        info = self.api.info(self.device)
        return ProbeReading(True, f"TensorFlow allocator peak on {self.device} above the "
                                  f"allocation after model and optimizer were built",
                            int(info["peak"]) - self.baseline, self.baseline,
                            {"current_bytes": int(info["current"]), "device": self.device})
