"""The overhead and repeatability studies produce their figures (tiny settings; the real
numbers come from `make bench-overhead` and are in the README, not asserted here)."""
from __future__ import annotations

import math

import pytest

from bench.measure.run import RunConfig
from bench.measure.studies import OverheadSpec, overhead, render, repeatability

pytestmark = pytest.mark.e2e


def test_overhead_study_measures_every_variant_interleaved():
    result = overhead(OverheadSpec(dataset="synthetic_mnist", effective_batch=64, micro=16,
                                   rounds=2, updates_per_round=3))
    assert set(result["throughput_samples_per_s"]) == {
        "large_batch", "accumulate", "accumulate_per_micro", "keras_builtin", "plain_micro",
        "accumulate_probe_hwm", "accumulate_probe_sampler"}
    ratios = result["ratios"]
    assert all(math.isfinite(v) for v in ratios.values())
    assert all(ratios[k] > 0 for k in ratios if not k.endswith("_cost"))  # costs may be < 0
    assert result["updates_timed"] == 6 and len(result["targets_met"]) == 4
    assert "accumulate_vs_keras_builtin" in render(result)


def test_repeatability_reports_spreads():
    cfg = RunConfig("cnn", "accumulate", 64, 16, "synthetic_mnist", limit_train=256,
                    limit_test=64, preset="small", probes=("process_rss",))
    result = repeatability(cfg, times=2)
    assert result["statuses"] == ["ok", "ok"]
    assert 0 <= result["memory"]["process_rss"]["spread_relative"] < 1
    assert "isolated runs" in render(result)
