"""The overhead and repeatability studies (tiny settings; the real numbers come from
`make bench-overhead` and are in the README): their figures follow from what they measured."""
from __future__ import annotations

import numpy as np
import pytest

from bench.commands.studies_cmd import repeatability
from bench.config.run import RunConfig
from bench.engine.measure.studies import OverheadSpec, overhead
from bench.report.studies import render

# the overhead study's own logic: run with the study itself (make bench-overhead), not make test
pytestmark = [pytest.mark.e2e, pytest.mark.study]


def test_overhead_study_interleaves_variants_and_derives_its_ratios():
    result = overhead(OverheadSpec(models=("cnn", "mlp_mixer"), dataset="synthetic_mnist",
                                   effective_batch=64, micro=16, rounds=2, updates_per_round=3))
    variants = list(result["throughput_samples_per_s"])
    assert len(variants) == 2 * 2 * 4 + 3  # (model, XLA) x 4 variants + the extras, once
    assert result["order"] == variants * 2  # every variant once per round, in rounds
    per_round = result["per_round_samples_per_s"]
    assert all(len(v) == 2 for v in per_round.values())
    # the patch model's augmentation ran outside the compiled step: XLA really used, built-in too
    assert result["xla_used"]["mlp_mixer:xla:keras_builtin"] is True
    cell = result["cells"]["mlp_mixer:xla"]["ratios"]
    acc, builtin = per_round["mlp_mixer:xla:accumulate"], per_round["mlp_mixer:xla:keras_builtin"]
    assert cell["accumulate_vs_keras_builtin"]["rounds"] == pytest.approx(
        [a / b for a, b in zip(acc, builtin)])  # within a round, never across
    assert cell["xla_vs_without"]["median"] == pytest.approx(
        np.median([a / b for a, b in zip(acc, per_round["mlp_mixer:accumulate"])]))
    assert result["targets_met"]["mlp_mixer:xla: accumulate >= 1.0x keras_builtin"] == (
        cell["accumulate_vs_keras_builtin"]["median"] >= 1.0)
    assert "built-in used XLA" in render(result)


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
    # the allocator's counter: a process's peak is occasionally one draw higher (README:
    # Record of measurements, "the lowest round's peak"), never by much
    assert result["memory"]["tf_allocator"]["spread_relative"] < 0.15
    assert "isolated runs" in render(result)
