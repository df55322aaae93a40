"""`studies`: print the overhead and repeatability studies' results (`make bench-overhead`);
and the repeatability study itself, which runs one configuration in isolated processes."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.config.job import Job
from bench.config.run import RunConfig
from bench.errors import BenchError
from bench.execute.client import Worker
from bench.report.studies import render


def add_parser(sub) -> None:
    p = sub.add_parser("studies", help="print the overhead / repeatability studies' results")
    p.add_argument("results", nargs="+", metavar="FILE.json")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    for path in args.results:
        try:
            result = json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise BenchError(f"cannot read study results {path}: {e}") from None
        print(render(result), end="\n\n")
    return 0


def repeatability(cfg: RunConfig, times: int = 3, timeout: float = 600) -> dict[str, Any]:
    """The same configuration `times` times, each a fresh child of one worker: spread of peak
    memory per probe and of throughput (max - min, relative to the median)."""

    started = time.perf_counter()
    job = Job.run(cfg, timeout=timeout)
    with Worker() as worker:
        records = [worker.wait(worker.submit(job))[0] for _ in range(times)]
    ok = [r for r in records if r["status"] == "ok"]
    out: dict[str, Any] = {"kind": "repeatability", "config": cfg.to_json(), "times": times,
                           "statuses": [r["status"] for r in records]}
    if ok:
        thr = np.array([r["throughput_samples_per_s"] for r in ok])
        out["throughput_samples_per_s"] = thr.tolist()
        out["throughput_spread_relative"] = float(np.ptp(thr) / np.median(thr))
        out["memory"] = {}
        for probe in ok[0]["memory"]:
            peaks = [r["memory"][probe]["peak_bytes"] for r in ok if r["memory"][probe]["available"]]
            if peaks:
                out["memory"][probe] = {"peak_bytes": peaks,
                                        "spread_relative": float(np.ptp(peaks) / np.median(peaks)),
                                        "spread_bytes": int(np.ptp(peaks))}
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out
