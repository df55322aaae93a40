"""Bad input gets one clear line and exit status 2 — never a traceback, never any training."""
from __future__ import annotations

import json

import pytest

from tests.helpers import cli

pytestmark = pytest.mark.e2e


def one_error_line(out) -> str:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


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
    (["run", "--model", "cnn", "--strategy", "accumulate", "--effective-batch", "sixty", "--micro", "16"],
     "invalid int value"),
    (["fit-budget", "--model", "cnn", "--effective-batch", "64", "--budget", "lots"],
     "cannot read memory budget"),
    (["run", "--model", "grn_vsn", "--dataset", "mnist", "--strategy", "accumulate",
      "--effective-batch", "64", "--micro", "16"], "holds image data"),
])
def test_bad_input(args, message):
    assert message in one_error_line(cli(*args))


def test_unavailable_dataset_offline(tmp_path):
    out = cli("run", "--model", "grn_vsn", "--dataset", "census_income", "--strategy",
              "accumulate", "--effective-batch", "64", "--micro", "16", "--data-dir", str(tmp_path),
              env={"ACCUMBENCH_OFFLINE": "1", "ACCUMBENCH_CACHE": str(tmp_path / "cache")})
    line = one_error_line(out)
    assert "census_income is not available offline" in line and "--data-dir" in line


def test_corrupt_results_file(tmp_path):
    bad = tmp_path / "results.jsonl"
    bad.write_text('{"kind": "run", "key": "a", "status": "ok", "config": {}}\n{"kind": "ru')
    line = one_error_line(cli("report", "--results", str(bad), "--out", str(tmp_path / "r")))
    assert "half-written" in line


def test_list_json():
    out = cli("list", "--json")
    assert out.returncode == 0, out.stderr
    inv = json.loads(out.stdout)
    assert inv["models"]["cnn"]["trainable_parameters"]["mnist"] == 93_322
    assert set(inv["strategies"]) == {"large_batch", "accumulate", "keras_builtin", "naive"}
    assert inv["datasets"]["synthetic_mnist"]["available"]
    assert not inv["datasets"]["synthetic_mnist"]["real"]
    assert "grn_vsn" in inv["models"] and "census_income" in inv["models"]["grn_vsn"]["trainable_parameters"]
