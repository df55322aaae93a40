"""The overhead and repeatability studies (tiny settings; the real numbers come from
`make bench-overhead` and are in the README): their figures follow from what they measured."""
from __future__ import annotations

import numpy as np
import pytest

from bench.measure.run import RunConfig
from bench.measure.studies import OverheadSpec, overhead, render, repeatability

# the overhead study's own logic: run with the study itself (make bench-overhead), not make test
pytestmark = [pytest.mark.e2e, pytest.mark.study]


def test_overhead_study_interleaves_variants_and_derives_its_ratios():
    result = overhead(OverheadSpec(dataset="synthetic_mnist", effective_batch=64, micro=16,
                                   rounds=2, updates_per_round=3))
    variants = list(result["throughput_samples_per_s"])
    assert result["order"] == variants * 2  # every variant once per round, in rounds
    for name, seconds in result["seconds"].items():
        assert len(seconds) == 6
        # every variant consumes whole windows of 64 samples per timed step
        assert result["throughput_samples_per_s"][name] == pytest.approx(64 / np.median(seconds))
    t, ratios = result["throughput_samples_per_s"], result["ratios"]
    assert ratios["accumulate_vs_large_batch"] == pytest.approx(t["accumulate"] / t["large_batch"])
    assert ratios["probe_hwm_cost"] == pytest.approx(1 - t["accumulate_probe_hwm"] / t["accumulate"])
    assert result["targets_met"]["accumulate >= 1.0x keras_builtin"] == (
        ratios["accumulate_vs_keras_builtin"] >= 1.0)
    assert "accumulate_vs_keras_builtin" in render(result)


def test_repeatability_reports_the_spread_of_what_it_measured():
    cfg = RunConfig(model="cnn", strategy="accumulate", effective_batch=64, micro=16,
                    dataset="synthetic_mnist", limit_train=256, limit_test=64, preset="small",
                    probes=("tf_allocator", "process_rss"))
    result = repeatability(cfg, times=2)
    assert result["statuses"] == ["ok", "ok"]
    for probe in ("tf_allocator", "process_rss"):
        m = result["memory"][probe]
        assert len(m["peak_bytes"]) == 2
        assert m["spread_relative"] == pytest.approx(np.ptp(m["peak_bytes"]) / np.median(m["peak_bytes"]))
    assert result["memory"]["tf_allocator"]["spread_relative"] < 0.01  # the allocator's counter
    assert "isolated runs" in render(result)
