"""Accumulation overhead (ratios in one process) and repeatability (isolated repeats), as
pytest-benchmark benchmarks with their figures in extra_info. `make bench-overhead` runs them;
targets are reported, not asserted (these machines are noisy; see the README's numbers)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.study
OUT = Path("results")


def _save(name: str, result: dict) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1))


def test_accumulation_overhead(benchmark):
    from bench.engine.measure.studies import overhead

    result = benchmark.pedantic(overhead, rounds=1, iterations=1)
    benchmark.extra_info.update(cells=result["cells"], targets_met=result["targets_met"],
                                throughput_samples_per_s=result["throughput_samples_per_s"])
    _save("overhead", result)


def test_repeatability(benchmark):
    from bench.commands.studies_cmd import repeatability
    from bench.config.run import RunConfig

    cfg = RunConfig(model="cnn", strategy="accumulate", effective_batch=256, micro=64,
                    dataset="fashion_mnist", limit_train=4096, limit_test=1000, preset="small")
    result = benchmark.pedantic(repeatability, args=(cfg,), rounds=1, iterations=1)
    benchmark.extra_info.update(throughput_spread_relative=result.get("throughput_spread_relative"),
                                memory=result.get("memory"))
    _save("repeatability", result)
