"""The lane's GPU readings against NVML, prepared for a machine with an NVIDIA GPU:
`python -m bench.backends.gpu_check --backend jax|torch [--out FILE]`.

It needs JAX or PyTorch (with CUDA), nvidia-ml-py and this repository; no TensorFlow. This
process imports no framework: it polls NVML (device-wide used memory, `bench.host.nvml`) while
a lane process (`python -m bench.backends`, KERAS_BACKEND set) trains one configuration of the
CNN and reads its framework's allocator peak (JAX: `peak_bytes_in_use`, one configuration per
process; torch: `max_memory_allocated` after a reset). JAX's preallocation is switched off
(XLA_PYTHON_CLIENT_PREALLOCATE=false) so that NVML sees what is used, not a reserved pool. One
JSON line per configuration: both readings, the device's name, the backend's versions; nothing
here has been run on a GPU until such a file is committed (README: Backends).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bench.config.lane_costs import LaneCostRequest
from bench.config.names import BACKENDS, MIB
from bench.data import Sources
from bench.errors import BenchError
from bench.execute.lane import run_lane
from bench.host.nvml import NvmlProbe


def readings(backend: str, model: str = "cnn", effective_batch: int = 128,
             micros: tuple[int, ...] = (32, 16)) -> list[dict]:
    os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    request = LaneCostRequest(model=model, backend=backend, effective_batch=effective_batch,
                              configs=tuple(("accumulate", m) for m in micros))
    out = []
    for one in request.memory_requests():
        probe = NvmlProbe()
        if probe.unavailable:
            raise BenchError(f"NVML: {probe.unavailable}")
        with probe.track() as nvml:
            result = run_lane(backend, {"task": "measure", "request": one,
                                        "sources": Sources.from_env()})
        lane = result["memory"]
        out.append({"backend": backend, "versions": result["versions"],
                    "device": result["device"], "model": model, "strategy": lane["strategy"],
                    "pair": lane["pair"], "status": lane["status"],
                    "allocator_peak_mib": None if lane.get("accelerator_peak") is None
                    else lane["accelerator_peak"] / MIB,
                    "allocator_probe": lane.get("accelerator_probe"),
                    "nvml_peak_above_baseline_mib": None if nvml.reading.peak_bytes is None
                    else nvml.reading.peak_bytes / MIB,
                    "nvml": nvml.reading.to_dict()})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backends.gpu_check")
    parser.add_argument("--backend", required=True, choices=list(BACKENDS))
    parser.add_argument("--out", help="append the JSON lines to this file too")
    args = parser.parse_args(argv)
    try:
        lines = [json.dumps(r) for r in readings(args.backend)]
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    if args.out:
        with Path(args.out).open("a") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
