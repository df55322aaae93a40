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
