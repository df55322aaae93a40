"""The committed quick baseline against a quick run of another machine, both ways: no false
alarm, and the output says what was not compared.

`tests/data/runs/` holds two real quick sweeps: one from the AVX-512 core of CPU family 26
(3db089c), recorded before machine identities existed (so of unknown identity) and before the
quick profile measured in two rounds (so its profile digest differs: comparing it takes
`--accept-changes`, which still lists and counts the change), and one of the baseline's own
machine (one of the runs the baseline was made from)."""
from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.report.baseline import load_summary
from bench.results import machine, store

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ROOT / "bench" / "baselines" / "quick"
RUNS = ROOT / "tests" / "data" / "runs"
AVX512_F26 = RUNS / "quick.amd-epyc-f26-avx512-unknown-identity.jsonl.gz"


def _baseline_run() -> Path:
    """A quick run of the committed baseline's machine (one of the runs it was made from)."""
    baseline, = BASELINES.glob("*.json")
    return RUNS / f"quick.{baseline.stem}.jsonl.gz"


def test_the_committed_baseline_names_its_machine():
    baseline, = BASELINES.glob("*.json")
    summary = load_summary(baseline)
    identity = machine.of_environment(summary["environment"])
    assert identity and baseline.stem == machine.slug(identity)
    assert len(summary["calibration_seconds"]) >= 3  # several clean runs
    assert machine.of_environment(load_summary(_baseline_run())["environment"]) == identity


def test_another_machines_run_against_the_committed_baseline(capsys):
    code = main(["check", "--baseline", str(BASELINES), "--current", str(AVX512_F26)])
    assert code == 1 and "[profile digest]" in capsys.readouterr().out.splitlines()[-1]
    code = main(["check", "--baseline", str(BASELINES), "--current", str(AVX512_F26),
                 "--accept-changes"])
    out = capsys.readouterr().out
    assert code == 0 and "1 profile digest changed" in out, out
    assert "no baseline of this machine identity" in out
    assert "machine identities differ: unknown identity" in out
    assert "NOT compared: speed of 30 and memory of 30 configurations" in out
    assert "no regressions (" in out.splitlines()[-1]


def test_a_baseline_from_another_machine_against_a_run_of_this_one(tmp_path, capsys):
    assert main(["check", "--current", str(AVX512_F26), "--write-baseline", f"{tmp_path}/"]) == 0
    written, = tmp_path.glob("*.json")
    assert written.name == "unknown-identity.json"
    capsys.readouterr()
    code = main(["check", "--baseline", str(tmp_path), "--current", str(_baseline_run()),
                 "--accept-changes"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "machine identities differ: unknown identity" in out and "NOT compared" in out


def test_across_machines_a_lost_accuracy_still_fires(tmp_path, capsys):
    records = store.read_records(_baseline_run())
    doctored = copy.deepcopy(records)
    outcome = next(r for r in doctored if r["kind"] == "run" and r["status"] == "ok"
                   and r["config"].get("purpose") == "outcome")
    outcome["final_test_accuracy"] -= 0.3
    store.rewrite(tmp_path / "doctored.jsonl", doctored)
    code = main(["check", "--baseline", str(AVX512_F26), "--current",
                 str(tmp_path / "doctored.jsonl"), "--accept-changes"])
    out = capsys.readouterr().out
    assert code == 1 and "[test accuracy]" in out.splitlines()[-1], out


@pytest.mark.parametrize("run,count", [(AVX512_F26, 30 + 8), ("baseline run", 2 * 30 + 8)])
def test_the_test_data_are_real_quick_sweeps(run, count):
    """30 measure configurations (in two rounds since the baseline's runs) and 8 outcome runs."""
    path = _baseline_run() if run == "baseline run" else run
    records = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    runs = [r for r in records if r["kind"] == "run"]
    assert {r["profile"] for r in runs} == {"quick"} and len(runs) == count
    assert all(r["status"] == "ok" for r in runs)
