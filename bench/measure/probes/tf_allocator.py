"""TensorFlow's GPU allocator: `get_memory_info(device)['peak']` after `reset_memory_stats`.

`reset_memory_stats` resets the peak to the *current* allocation, not zero, so the baseline is
the current allocation at start (after the model and optimizer are built) and the reading is
peak minus baseline: what training allocated on top of the model's state. TensorFlow raises for
CPU devices; on a machine without a GPU the probe is unavailable and says why.
"""
from __future__ import annotations

from bench.measure.probes.base import MemoryProbe, ProbeReading


class TensorFlowMemoryAPI:
    """The boundary: the three TensorFlow calls this probe uses."""

    def gpu_devices(self) -> list[str]:
        import tensorflow as tf

        return [f"GPU:{i}" for i, _ in enumerate(tf.config.list_logical_devices("GPU"))]

    def reset(self, device: str) -> None:
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats(device)

    def info(self, device: str) -> dict[str, int]:
        import tensorflow as tf

        return tf.config.experimental.get_memory_info(device)


class TFAllocatorProbe(MemoryProbe):
    name = "tf_allocator"

    def __init__(self, api: TensorFlowMemoryAPI | None = None, device: str = "GPU:0") -> None:
        self.api, self.device = api or TensorFlowMemoryAPI(), device
        try:
            devices = self.api.gpu_devices()
        except Exception as e:  # a broken CUDA install raises at device listing
            devices, why = [], f"{e.__class__.__name__}: {e}"
        else:
            why = "no GPU visible to TensorFlow (get_memory_info raises on CPU devices)"
        if device not in devices:
            self.unavailable = why

    def _start(self) -> None:
        self.api.reset(self.device)
        self.baseline = int(self.api.info(self.device)["current"])

    def _stop(self) -> ProbeReading:
        info = self.api.info(self.device)
        return ProbeReading(True, f"TensorFlow allocator peak on {self.device} above the "
                                  f"allocation after model and optimizer were built",
                            int(info["peak"]) - self.baseline, self.baseline,
                            {"current_bytes": int(info["current"])})
