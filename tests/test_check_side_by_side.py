"""The regression check on speed timed side by side (the default profile): the committed
default baseline is two real, back-to-back default sweeps of one machine identity. Each passes
against it, and one strategy made 1.2x slower on one model is caught by the per-model-and-
strategy gate (bench.report.pooled), in doctored copies of either sweep."""
from __future__ import annotations

import copy

import pytest

from bench.cli import main
from bench.report.baseline import load_summary
from bench.results import machine, store
from tests.helpers import ROOT

BASELINES = ROOT / "bench" / "baselines" / "default"


def _runs() -> list:
    """The sweeps the baseline was made from (its `sources`), as committed."""
    baseline, = BASELINES.glob("*.json")
    return [ROOT / source for source in load_summary(baseline)["sources"]]


@pytest.fixture(scope="module")
def runs():
    return [store.read_records(path) for path in _runs()]


def _slower(records, factor: float, model: str, strategy: str):
    """A copy in which `strategy` on `model` takes `factor` times as long: its speed blocks
    and its memory runs' update times alike."""
    doctored = copy.deepcopy(records)
    for r in doctored:
        c = r.get("config") or {}
        if r["kind"] == "run" and (c.get("model"), c.get("strategy")) == (model, strategy):
            r["update_seconds"] = [factor * s for s in r["update_seconds"]]
            for block in r.get("blocks") or []:
                block["seconds"] = [factor * s for s in block["seconds"]]
    return doctored


def _check(tmp_path, capsys, records) -> tuple[int, str]:
    store.rewrite(tmp_path / "current.jsonl", records)
    code = main(["check", "--baseline", str(BASELINES), "--current",
                 str(tmp_path / "current.jsonl"), "--verbose"])
    return code, capsys.readouterr().out


def test_the_default_baseline_is_two_side_by_side_sweeps_of_one_identity():
    baseline, = BASELINES.glob("*.json")
    summary = load_summary(baseline)
    assert len(summary["calibration_seconds"]) == 2
    assert baseline.stem == machine.slug(machine.of_environment(summary["environment"]))
    speed = [e for e in summary["configurations"].values() if e.get("purpose") == "speed"]
    assert speed and all(len(run["rounds"]) >= 16 for e in speed for run in e["runs"])


def test_every_clean_run_of_the_baseline_passes(tmp_path, capsys, runs):
    for records in runs:
        code, out = _check(tmp_path, capsys, records)
        assert code == 0, out
        assert "model-strategy cnn accumulate" in out  # the gate ran


@pytest.mark.parametrize("model, strategy", [("cnn", "accumulate"), ("gmlp", "large_batch"),
                                             ("char_lm", "accumulate"),
                                             ("fnet", "accumulate")])
def test_one_strategy_1_2x_slower_on_one_model_is_caught(tmp_path, capsys, runs, model,
                                                         strategy):
    for records in runs:
        code, out = _check(tmp_path, capsys, _slower(records, 1.2, model, strategy))
        last = out.splitlines()[-1]
        assert code == 1 and f"model-strategy {model} {strategy} [pooled speed" in last, out


def _scaled(records, model: str, strategy: str, *, seconds: float = 1.0, peak: float = 1.0,
            jit: bool = False):
    """A copy whose memory run of `strategy` on `model` (float32, XLA or not) has its update
    times and its allocator peak scaled."""
    doctored = copy.deepcopy(records)
    for r in doctored:
        c = r.get("config") or {}
        if (r["kind"] == "run" and c.get("purpose") == "measure" and c.get("model") == model
                and c.get("strategy") == strategy and c.get("jit", False) == jit
                and c.get("precision", "float32") == "float32"):
            r["update_seconds"] = [seconds * s for s in r["update_seconds"]]
            if r.get("memory", {}).get("tf_allocator", {}).get("peak_bytes"):
                r["memory"]["tf_allocator"]["peak_bytes"] *= peak
    return doctored


def test_a_memory_run_s_own_update_times_are_not_a_speed_figure(tmp_path, capsys, runs):
    """Where a model is timed side by side its memory runs time a few updates in a process of
    their own; the report reads no speed from them, and neither does the check (a clean
    sweep's memory run once read 0.40 of the large batch's speed where the side-by-side
    processes read 0.66-0.71)."""
    code, out = _check(tmp_path, capsys, _scaled(runs[0], "gmlp", "accumulate", seconds=2.5))
    assert code == 0, out


def test_a_share_with_no_saving_may_move_by_float_noise_not_by_a_regression(tmp_path, capsys,
                                                                             runs):
    """Under XLA on this CPU the CNN's accumulation saves nothing (its peak is the large
    batch's); a share that moves in the fourth decimal passes, a rise of 5% is caught."""
    code, out = _check(tmp_path, capsys, _scaled(runs[0], "cnn", "accumulate", peak=1.0003,
                                                 jit=True))
    assert code == 0, out
    code, out = _check(tmp_path, capsys, _scaled(runs[0], "cnn", "accumulate", peak=1.05,
                                                 jit=True))
    assert code == 1 and "cnn:accumulate:16x8:jit:seed0 [peak / large batch" in out, out
