"""The memory model: states from the built objects, activations fitted, budgets chosen."""
from __future__ import annotations

import pytest

from bench.config.names import MIB
from bench.errors import BenchError
from bench.judge import memory_model as mm


def test_fit_recovers_a_linear_law_and_predicts_unmeasured_sizes():
    law = lambda b: 20 * MIB + b * 300_000  # noqa: E731
    fit = mm.fit_activations([(16, law(16)), (128, law(128))])
    assert fit.bytes_per_sample == pytest.approx(300_000)
    assert fit.intercept_bytes == pytest.approx(20 * MIB)
    assert fit.transient(64) == pytest.approx(law(64))
    loo = mm.leave_one_out_errors([(16, law(16)), (32, law(32) * 1.02), (128, law(128))])
    # extrapolating from (16, 32) to 128 amplifies the 2% bump to 7%
    assert len(loo) == 3 and all(abs(e["relative_error"]) < 0.10 for e in loo)


def test_residuals_are_stated_from_three_batch_sizes():
    law = lambda b: 20 * MIB + b * 300_000  # noqa: E731
    assert mm.fit_activations([(16, law(16)), (128, law(128))]).worst_residual() is None
    bumped = mm.fit_activations([(16, law(16)), (32, law(32) + MIB), (64, law(64)),
                                 (128, law(128))])
    worst, share = bumped.worst_residual()
    residuals = dict(bumped.residuals())
    assert worst == pytest.approx(abs(residuals[32])) and 0 < worst < MIB
    assert share == pytest.approx(worst / (law(32) + MIB))
    assert sum(residuals.values()) == pytest.approx(0, abs=1)  # least squares: they cancel


def test_fit_needs_two_sizes():
    with pytest.raises(BenchError, match="two or more"):
        mm.fit_activations([(32, 1), (32, 2)])


def test_choose_the_largest_micro_batch_that_fits():
    fit = mm.ActivationFit(10 * MIB, 1 * MIB, ())
    states = {"weights": 4 * MIB, "gradients": 4 * MIB, "optimizer_slots": 8 * MIB,
              "accumulators": 4 * MIB, "parameters": MIB}
    rows, best = mm.choose_micro(fit, states, 256, budget=100 * MIB)
    # k>1 adds accumulators: 4+8+4 + 10 + b <= 100  ->  b <= 74 -> largest divisor 64
    assert (best["micro"], best["accum"]) == (64, 4)
    assert rows[0]["micro"] == 256 and not rows[0]["fits"]
    _, none = mm.choose_micro(fit, states, 256, budget=10 * MIB)
    assert none is None


@pytest.mark.parametrize("text,expected", [("2GiB", 2 * 2**30), ("512MiB", 512 * MIB),
                                           ("1.5GB", 1_500_000_000), ("1000", 1000)])
def test_parse_bytes(text, expected):
    assert mm.parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["two gigs", "-1GiB", "0", "5XB"])
def test_parse_bytes_errors(text):
    with pytest.raises(BenchError, match="cannot read memory budget"):
        mm.parse_bytes(text)


def test_points_from_records_prefers_allocator_then_nvml_then_rss():
    def rec(strategy, micro, probes):
        return {"kind": "run", "status": "ok", "model_state": {"weights": 1},
                "config": {"model": "cnn", "strategy": strategy, "micro": micro, "preset": None},
                "memory": {p: {"available": True, "peak_bytes": v} for p, v in probes.items()}}
    records = [rec("large_batch", 64, {"process_rss": 640, "nvml": 700}),
               rec("accumulate", 16, {"process_rss": 160, "nvml": 200}),
               rec("naive", 16, {"process_rss": 1})]
    probe, points, _ = mm.points_from_records(records, "cnn")
    assert probe == "nvml" and sorted(points) == [(16, 200), (64, 700)]
    with pytest.raises(BenchError, match="no readings"):
        mm.points_from_records(records, "cnn", probe="tf_allocator")
