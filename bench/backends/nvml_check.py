"""Check the NVML probe against GPU allocations of known size (no TensorFlow needed).

`python -m bench.backends.nvml_check` on a machine with an NVIDIA GPU and PyTorch or CuPy:
allocates blocks of known size while NvmlProbe samples, and prints one JSON line per check with
the probe's reading next to the truth. Held blocks must read their size (plus the allocator's
rounding); a block held for less than the polling interval may be missed (why NVML is polled at
10 ms and why the TF allocator's own peak counter is preferred where it exists).
"""
from __future__ import annotations

import json
import time

import cupy
import torch

from bench.config.names import MIB
from bench.host.nvml import NvmlProbe


def _backend():
    try:
        torch.zeros(1, device="cuda")  # create the context before any baseline
        def alloc(nbytes):
            x = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
            x.fill_(1)
            torch.cuda.synchronize()
            return x

        def free(x):
            del x
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        return "torch " + torch.__version__, alloc, free
    except ImportError:
        cupy.zeros(1)
        pool = cupy.get_default_memory_pool()

        def alloc(nbytes):
            x = cupy.ones(nbytes, dtype=cupy.uint8)
            cupy.cuda.Device().synchronize()
            return x

        def free(x):
            del x
            pool.free_all_blocks()
        return "cupy " + cupy.__version__, alloc, free


def check(size_mib: int, hold_s: float, alloc, free) -> dict:
    probe = NvmlProbe(interval=0.01)
    if probe.unavailable:
        return {"available": False, "reason": probe.unavailable}
    probe.start()
    time.sleep(0.05)
    block = alloc(size_mib * MIB)
    time.sleep(hold_s)
    free(block)
    time.sleep(0.05)
    r = probe.stop()
    return {"allocated_mib": size_mib, "held_s": hold_s,
            "nvml_peak_mib": round(r.peak_bytes / MIB, 1),
            "error_mib": round(r.peak_bytes / MIB - size_mib, 1),
            "process_peak_mib": (None if r.extra["process_peak_bytes"] is None
                                 else round(r.extra["process_peak_bytes"] / MIB, 1)),
            "samples": r.extra["samples"], "device": r.extra["device_name"],
            "reserved_mib": (None if r.extra["reserved_bytes"] is None
                             else round(r.extra["reserved_bytes"] / MIB, 1))}


def main() -> None:
    name, alloc, free = _backend()
    print(json.dumps({"backend": name}))
    for size, hold in [(256, 0.3), (1024, 0.3), (4096, 0.3), (16384, 0.3), (1024, 0.002)]:
        print(json.dumps(check(size, hold, alloc, free)), flush=True)


if __name__ == "__main__":
    main()
