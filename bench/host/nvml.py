"""NVML (nvidia-ml-py, imported as `pynvml`): device-wide GPU memory, sampled in the background.

`used` counts everything on the device (the CUDA context, TensorFlow's reserved pool, other
processes); the v2 struct adds `reserved` (driver-reserved memory). Per-process usage comes from
`nvmlDeviceGetComputeRunningProcesses`, which inside containers is often empty or reports `None`
(PID namespaces): it is recorded when present, never relied on. TensorFlow never returns memory
to the device inside a process, so compare NVML figures only between isolated runs (the sweep
runs each configuration in a fresh process, with memory growth on).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from bench.host.probe import MemoryProbe, ProbeReading
from bench.host.sampler import PeakSampler


@dataclass(frozen=True)
class MemorySample:
    used: int
    reserved: int | None
    total: int


class NvmlLibrary:
    """The boundary: the NVML calls this probe makes, through nvidia-ml-py."""

    def __init__(self) -> None:
        # optional (nvidia-ml-py): of use only where an NVIDIA driver is, so imported here
        import pynvml

        self.nv = pynvml

    def init(self) -> None:
        self.nv.nvmlInit()

    def device_count(self) -> int:
        return int(self.nv.nvmlDeviceGetCount())

    def handle(self, device: str):
        if device.startswith("GPU-") or device.startswith("MIG-"):
            return self.nv.nvmlDeviceGetHandleByUUID(device)
        return self.nv.nvmlDeviceGetHandleByIndex(int(device))

    def name(self, handle) -> str:
        name = self.nv.nvmlDeviceGetName(handle)
        return name.decode() if isinstance(name, bytes) else str(name)

    def memory(self, handle) -> MemorySample:
        try:
            m = self.nv.nvmlDeviceGetMemoryInfo(handle, version=self.nv.nvmlMemory_v2)
            return MemorySample(int(m.used), int(m.reserved), int(m.total))
        except (self.nv.NVMLError, TypeError, AttributeError):  # drivers without the v2 struct
            m = self.nv.nvmlDeviceGetMemoryInfo(handle)
            return MemorySample(int(m.used), None, int(m.total))

    def process_memory(self, handle, pid: int) -> int | None:
        """Bytes used by `pid` on the device, or None when the driver does not say."""
        procs = self.nv.nvmlDeviceGetComputeRunningProcesses(handle) or []
        for p in procs:
            if p.pid == pid and p.usedGpuMemory is not None:
                return int(p.usedGpuMemory)
        return None


def visible_device() -> str:
    """The NVML device behind TensorFlow's GPU:0: CUDA_VISIBLE_DEVICES' first entry, else 0."""
    first = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    return first or "0"


class NvmlProbe(MemoryProbe):
    name = "nvml"

    def __init__(self, library_factory=NvmlLibrary, device: str | None = None,
                 interval: float = 0.01) -> None:
        self.interval, self.device = interval, device or visible_device()
        try:
            self.lib = library_factory()
            self.lib.init()
            count = self.lib.device_count()
        except ImportError:
            self.unavailable = "nvidia-ml-py (pynvml) is not installed"
            return
        except Exception as e:  # pynvml.NVMLError_LibraryNotFound, DriverNotLoaded, ...
            self.unavailable = f"no NVIDIA driver here ({e.__class__.__name__}: {e})".strip()
            return
        if count == 0:
            self.unavailable = "NVML reports no NVIDIA device"
            return
        try:
            self.handle = self.lib.handle(self.device)
            self.device_name = self.lib.name(self.handle)
        except Exception as e:
            self.unavailable = f"NVML device {self.device} not found ({e})"

    def _start(self) -> None:
        self.pid = os.getpid()
        first = self.lib.memory(self.handle)
        self.baseline, self.reserved_baseline = first.used, first.reserved
        self.total = first.total
        self.process_baseline = self.lib.process_memory(self.handle, self.pid)
        self.used_sampler = PeakSampler(lambda: self.lib.memory(self.handle).used, self.interval)
        self.proc_sampler = PeakSampler(lambda: self.lib.process_memory(self.handle, self.pid),
                                        self.interval)
        self.used_sampler.start()
        self.proc_sampler.start()

    def _stop(self) -> ProbeReading:
        peak = self.used_sampler.stop()
        proc_peak = self.proc_sampler.stop()
        extra = {"device": self.device, "device_name": self.device_name,
                 "total_bytes": self.total, "samples": self.used_sampler.samples,
                 "interval_s": self.interval, "reserved_bytes": self.reserved_baseline,
                 "process_peak_bytes": (None if proc_peak is None or self.process_baseline is None
                                        else int(proc_peak - self.process_baseline)),
                 "process_note": ("per-process usage reported by the driver" if proc_peak is not None
                                  else "the driver reported no per-process usage for this PID "
                                       "(common inside containers)")}
        return ProbeReading(True, f"device-wide used memory on {self.device_name} above the "
                                  f"baseline, NVML polled every {self.interval * 1000:.0f} ms",
                            int(peak - self.baseline), self.baseline, extra)
