"""Bad input gets one clear line and exit status 2 — never a traceback, never any training.
The cases run in-process through `main()`; one runs as a real process to prove the exit path."""
from __future__ import annotations

import json

import pytest

from bench.cli import main
from tests.helpers import cli


def one_error_line(code: int, err: str) -> str:
    assert code == 2, (code, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def run_main(capsys, *args) -> tuple[int, str]:
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse's own errors
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["run", "--model", "cnn", "--strategy", "accumulate", "--effective-batch", "256", "--micro", "48"],
     "not divisible by micro-batch 48"),
    (["run", "--model", "cnn", "--strategy", "accumulate", "--effective-batch", "256", "--micro", "0"],
     "positive integer"),
    (["run", "--model", "resnet", "--strategy", "accumulate", "--effective-batch", "64", "--micro", "16"],
     "unknown model 'resnet'"),
    (["run", "--model", "cnn", "--strategy", "magic", "--effective-batch", "64", "--micro", "16"],
     "unknown strategy 'magic'"),
    (["equivalence", "--model", "cnn", "--strategy", "accumulate", "--effective-batch", "64",
      "--micro", "16,48"], "not divisible by micro-batch 48"),
    (["equivalence", "--model", "cnn", "--strategy", "plain_micro", "--effective-batch", "64",
      "--micro", "16"], "speed reference, not a strategy to judge"),
    (["run", "--model", "cnn", "--strategy", "accumulate", "--effective-batch", "sixty", "--micro", "16"],
     "invalid int value"),
    (["fit-budget", "--model", "cnn", "--effective-batch", "64", "--budget", "lots"],
     "cannot read memory budget"),
    (["run", "--model", "grn_vsn", "--dataset", "mnist", "--strategy", "accumulate",
      "--effective-batch", "64", "--micro", "16"], "holds image data"),
    (["check", "--current", "nowhere.jsonl"], "does not exist"),
])
def test_bad_input(capsys, args, message):
    assert message in one_error_line(*run_main(capsys, *args))


def test_unavailable_dataset_offline(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCUMBENCH_OFFLINE", "1")
    monkeypatch.setenv("ACCUMBENCH_CACHE", str(tmp_path / "cache"))
    line = one_error_line(*run_main(capsys, "run", "--model", "grn_vsn", "--dataset",
                                    "census_income", "--strategy", "accumulate",
                                    "--effective-batch", "64", "--micro", "16",
                                    "--data-dir", str(tmp_path)))
    assert "census_income is not available offline" in line and "--data-dir" in line


def test_corrupt_results_file_in_a_real_process(tmp_path):
    bad = tmp_path / "results.jsonl"
    bad.write_text('{"kind": "run", "schema": 2, "id": {"key": "a"}, "status": "ok", '
                   '"config": {}}\n{"kind": "ru')
    out = cli("report", "--results", str(bad), "--out", str(tmp_path / "r"))
    assert "half-written" in one_error_line(out.returncode, out.stderr)


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    inv = json.loads(capsys.readouterr().out)
    assert inv["models"]["cnn"]["trainable_parameters"]["mnist"] == 93_322
    assert set(inv["strategies"]) == {"large_batch", "accumulate", "accumulate_mean_of_means",
                                      "keras_builtin", "naive", "plain_micro",
                                      "keras_builtin_fixed", "plain_micro_linear_lr",
                                      "plain_micro_sqrt_lr"}
    assert inv["datasets"]["synthetic_mnist"]["available"]
    assert not inv["datasets"]["synthetic_mnist"]["real"]
    assert "census_income" in inv["models"]["grn_vsn"]["trainable_parameters"]
