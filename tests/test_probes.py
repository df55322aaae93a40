"""Memory probes: the CPU probe for real; the GPU probes against fakes at the library boundary.
Each test would fail for a probe that returned a constant (0 or the truth regardless)."""
from __future__ import annotations

import ctypes.util
import time
from types import SimpleNamespace

import numpy as np
import pytest

from bench.config.names import MIB
from bench.engine.measure.probes import make_probes
from bench.engine.measure.probes.tf_allocator import TFAllocatorProbe
from bench.errors import BenchError
from bench.host.nvml import NvmlProbe, visible_device
from bench.host.rss_probe import ProcessMemoryProbe
from bench.judge.timing import Throughput


def _spike(mib: int) -> None:
    a = np.ones(mib * MIB // 8)  # np.ones touches every page
    del a


@pytest.mark.parametrize("size", [50, 200])
def test_process_probe_reads_a_known_allocation(size):
    probe = ProcessMemoryProbe("hwm")
    with probe.track() as tracked:
        block = np.ones(size * MIB // 8)
    del block
    reading = tracked.reading
    assert reading.available and reading.extra["method"] == "hwm"
    assert (size - 2) * MIB <= reading.peak_bytes <= (size + 20) * MIB


def test_hwm_catches_a_spike_the_sampler_misses():
    """Why `hwm` is the default: a 64 MiB spike between two polls of a sampler (interval 10 s:
    it polls only at start and stop) is invisible to the sampler and exact for VmHWM."""
    readings = {}
    for method in ("hwm", "sampler"):
        probe = ProcessMemoryProbe(method, interval=10.0)
        probe.start()
        _spike(64)
        readings[method] = probe.stop().peak_bytes
    assert readings["hwm"] >= 63 * MIB
    assert readings["sampler"] < 16 * MIB


def _hold_100_mib():
    """A probe's reading while a 100 MiB array is alive for 50 ms."""
    probe = ProcessMemoryProbe("hwm", interval=0.005)
    probe.start()
    block = np.ones(100 * MIB // 8)
    time.sleep(0.05)
    reading = probe.stop()
    del block
    return reading


def test_process_probe_falls_back_to_sampling(monkeypatch):
    from bench.host import memory

    monkeypatch.setattr(memory, "reset_hwm", lambda: False)
    reading = _hold_100_mib()
    assert reading.extra["method"] == "sampler" and "could not reset VmHWM" in reading.reason
    assert 90 * MIB <= reading.peak_bytes <= 130 * MIB


def test_process_probe_without_proc_uses_psutil(monkeypatch, tmp_path):
    from bench.host import memory

    monkeypatch.setattr(memory, "STATUS", tmp_path / "no-such-status")
    monkeypatch.setattr(memory, "CLEAR_REFS", tmp_path / "no-dir" / "clear_refs")
    reading = _hold_100_mib()
    assert reading.extra["method"] == "sampler" and "psutil RSS" in reading.reason
    assert 90 * MIB <= reading.peak_bytes <= 130 * MIB


class FakeTF:
    """TensorFlow's memory API as the probe uses it; `stats` says which devices keep them."""

    def __init__(self, gpus, stats=("GPU:0",)):
        self.gpus, self.stats, self.current, self.peak, self.resets = gpus, stats, 1000, 5000, 0

    def gpu_devices(self):
        return self.gpus

    def has_stats(self, device):
        return device in self.stats

    def reset(self, device):
        self.resets += 1
        self.peak = self.current  # TensorFlow resets the peak to the current allocation

    def info(self, device):
        return {"current": self.current, "peak": self.peak}


def test_tf_allocator_probe_reports_peak_above_the_built_model():
    api = FakeTF(["GPU:0"])
    probe = TFAllocatorProbe(api)
    probe.start()
    api.peak, api.current = 1000 + 300, 1100  # training allocated 300 at most, keeps 100
    reading = probe.stop()
    assert api.resets == 1 and reading.available and reading.extra["device"] == "GPU:0"
    assert reading.peak_bytes == 300 and reading.baseline_bytes == 1000


def test_tf_allocator_probe_on_cpu_needs_the_bfc_allocator():
    with_bfc = TFAllocatorProbe(FakeTF([], stats=("CPU:0",)))
    assert with_bfc.unavailable is None and with_bfc.device == "CPU:0"
    without = TFAllocatorProbe(FakeTF([], stats=()))
    reading = without.stop()
    assert not reading.available and "TF_CPU_ALLOCATOR_USE_BFC" in reading.reason


def test_a_probe_that_breaks_says_so_instead_of_raising():
    api = FakeTF(["GPU:0"])
    probe = TFAllocatorProbe(api)
    api.info = lambda device: (_ for _ in ()).throw(RuntimeError("driver gone"))
    with probe.track() as tracked:
        pass
    assert not tracked.reading.available and "driver gone" in tracked.reading.reason


class FakeNvml:
    """nvidia-ml-py's surface as NvmlProbe uses it; knobs for the awkward cases."""

    def __init__(self, count=1, used=(100, 400, 250), processes=(None,), fail=None):
        self.count, self.used, self.processes, self.fail = count, list(used), list(processes), fail
        self.calls = self.process_calls = 0

    def init(self):
        if self.fail:
            raise self.fail

    def device_count(self):
        return self.count

    def handle(self, device):
        return f"handle-{device}"

    def name(self, handle):
        return "Fake GPU"

    def memory(self, handle):
        value = self.used[min(self.calls, len(self.used) - 1)]
        self.calls += 1
        return SimpleNamespace(used=value, reserved=7, total=1000)

    def process_memory(self, handle, pid):
        value = self.processes[min(self.process_calls, len(self.processes) - 1)]
        self.process_calls += 1
        return value


def test_nvml_probe_samples_the_peak():
    lib = FakeNvml(used=(100, 100, 400, 250))
    probe = NvmlProbe(lambda: lib, device="0", interval=0.001)
    probe.start()
    time.sleep(0.05)
    reading = probe.stop()
    assert reading.available and reading.peak_bytes == 300 and reading.baseline_bytes == 100
    assert reading.extra["reserved_bytes"] == 7 and reading.extra["device_name"] == "Fake GPU"
    # containers often hide per-process usage: recorded as absent, never guessed
    assert reading.extra["process_peak_bytes"] is None
    assert "no per-process usage" in reading.extra["process_note"]


def test_nvml_probe_reports_per_process_usage_when_present():
    lib = FakeNvml(processes=(512, 512, 800, 700))
    probe = NvmlProbe(lambda: lib, device="0", interval=0.001)
    probe.start()
    time.sleep(0.05)
    assert probe.stop().extra["process_peak_bytes"] == 288  # 800 at the peak, 512 at the start


@pytest.mark.parametrize("factory,message", [
    (lambda: FakeNvml(count=0), "no NVIDIA device"),
    (lambda: FakeNvml(fail=RuntimeError("NVML Shared Library Not Found")), "no NVIDIA driver"),
])
def test_nvml_probe_unavailable_cases(factory, message):
    probe = NvmlProbe(factory, device="0")
    probe.start()
    reading = probe.stop()
    assert not reading.available and message in reading.reason


def test_nvml_probe_without_the_package():
    def missing():
        raise ImportError("No module named 'pynvml'")
    assert "not installed" in NvmlProbe(missing).stop().reason


@pytest.mark.skipif(ctypes.util.find_library("nvidia-ml") is not None,
                    reason="this machine has an NVIDIA driver: the fakes above cover the logic")
def test_nvml_probe_on_a_machine_without_a_driver():
    reading = NvmlProbe().stop()
    assert not reading.available and "no NVIDIA driver" in reading.reason


def test_visible_device_follows_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-1234,GPU-5678")
    assert visible_device() == "GPU-1234"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert visible_device() == "0"


def test_make_probes_rejects_unknown_names():
    with pytest.raises(BenchError, match="unknown memory probe"):
        make_probes(["rss", "vram"])


def test_throughput_excludes_warmup_and_uses_the_median():
    seconds = [5.0, 3.0, 2.0] + [0.1] * 9 + [1.0]   # tracing, then steady state, one stall
    t = Throughput.from_seconds(seconds, effective_batch=64)
    assert t.warmup_updates == 3 and t.timed_updates == 10 and t.warmup_seconds == 10.0
    assert t.samples_per_s == pytest.approx(640.0)
    assert t.iqr_relative == pytest.approx(0.0)
    assert Throughput.from_seconds([1.0, 1.0], 8).warmup_updates == 1  # short runs keep half
    assert "640 samples/s" in str(t)
