"""Bring your own: a user's model, data and accumulation code, from a project directory that
only has the package installed (examples/my_project, copied to a temporary directory).

Through the command line, the Python API and the pytest plugin, each correct version is
equivalent and each common bug is named with its measured evidence; a user's .npz and module
model run through `bench run` and a sweep; bad plug-ins are one line and exit status 2."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from bench.cli import main
from tests.helpers import ROOT, outside_env

pytestmark = pytest.mark.e2e

EXAMPLE = ROOT / "examples" / "my_project"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("my_project")
    for f in EXAMPLE.glob("*.py"):
        shutil.copy(f, path)
    shutil.copy(EXAMPLE / "profile.toml", path)
    subprocess.run([sys.executable, "my_data.py"], cwd=path, check=True, capture_output=True)
    return path


def _run(project, *args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=project, capture_output=True, text=True,
                          timeout=timeout, env=outside_env())


def test_users_own_tests_pass_and_a_failing_one_names_the_bug(project):
    """The example's tests through the pytest plugin (correct strategies pass, each bug is
    named), and a user's test that asserts a buggy strategy is equivalent: it fails, saying why."""
    (project / "test_fails.py").write_text(
        "def test_mine(accumbench):\n"
        "    accumbench.assert_equivalent(model='my_models:build', data='small.npz',\n"
        "        strategy='my_strategies:last_micro_batch', effective_batch=32, micro=8, updates=4)\n")
    out = _run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_accumulation.py",
               "test_fails.py")
    assert out.returncode == 1, out.stdout[-3000:]
    assert "1 failed, 16 passed" in out.stdout, out.stdout[-3000:]
    assert "test_fails.py::test_mine" in out.stdout
    assert "not equivalent" in out.stdout and "last micro-batch alone" in out.stdout


def test_python_api_takes_objects(project, monkeypatch):
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    import my_data
    import my_models
    import my_strategies

    from bench.api import check_equivalence

    r = check_equivalence(model=my_models.build, data=my_data.arrays(),
                          strategy=my_strategies.custom_loop, effective_batch=32, micro=8,
                          updates=4)
    assert r["verdict"] == "equivalent" and "user-provided" in r["dataset"]["label"]


def test_users_model_and_data_run_and_sweep_from_the_command_line(project, monkeypatch, capsys):
    """`bench run` and `bench sweep` on the user's model, data and strategies: each verdict and
    its reason in the results and the report."""
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    code = main(["run", "--model", "my_models:build", "--dataset", "small.npz", "--strategy",
                 "my_strategies:custom_loop", "--effective-batch", "32", "--micro", "8", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["status"] == "ok" and record["throughput_samples_per_s"] > 0
    assert record["dataset"]["label"].startswith("user data small.npz (user-provided")
    out = _run(project, "-m", "bench", "sweep", "--profile", "profile.toml", "--results",
               "results.jsonl", "--report", "report")
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    readme = (project / "report" / "README.md").read_text()
    assert "my_models:build" in readme and "my_strategies:summed" in readme
    verdicts = {r["strategy"]: r for r in map(json.loads, (project / "results.jsonl").open())
                if r["kind"] == "equivalence"}
    assert verdicts["my_strategies:train_step_model"]["verdict"] == "equivalent"
    assert verdicts["my_strategies:custom_loop"]["verdict"] == "equivalent"
    summed, never = verdicts["my_strategies:summed"], verdicts["my_strategies:never_reset"]
    assert "summed, not averaged: the applied gradient is 4x" in summed["reasons"][0]
    assert summed["diagnostics"]["summed_rel_error"] < 1e-5 and "summed, not averaged" in readme
    assert any("not reset between updates" in r for r in never["reasons"]), never["reasons"]
    assert summed["dataset"]["origin"] == "user-provided"


def test_users_masked_sequence_model_and_loops_from_the_command_line(project, monkeypatch, capsys):
    """A user's masked token model and token loader by import path: a loop normalising by the
    window's tokens is equivalent, the plain mean of micro-batch means is named."""
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    code = main(["equivalence", "--model", "my_models:sequence_model", "--dataset", "my_text:tokens",
                 "--strategy", "my_strategies:token_loop,my_strategies:custom_loop",
                 "--effective-batch", "16", "--micro", "4", "--updates", "3", "--json"])
    records = {r["strategy"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert code == 1  # one of the strategies is not equivalent
    assert records["my_strategies:token_loop"]["verdict"] == "equivalent"
    mean_of_means = records["my_strategies:custom_loop"]
    assert mean_of_means["verdict"] == "not equivalent"
    assert "the mean of micro-batch means" in mean_of_means["reasons"][0]
    assert mean_of_means["diagnostics"]["mean_of_means_rel_error"] < 1e-5


@pytest.mark.parametrize("args,message", [
    (["--model", "nowhere:build"], "cannot import 'nowhere'"),
    (["--model", "my_models:missing"], "has no attribute 'missing'"),
    (["--model", "my_models:NOT_CALLABLE"], "not callable"),
    (["--model", "my_models:returns_a_string"], "returned a str, not a keras.Model"),
    (["--model", "my_models:two_outputs"], "outputs 2 values per sample, but the data has 3"),
    (["--strategy", "my_strategies:returns_a_number"], "expected a keras.Model or a callable"),
    (["--dataset", "my_data:mismatched"], "y_train has 10 entries but x_train has 12"),
    (["--dataset", "missing.npz"], "no such file"),
])
def test_bad_plugins_are_one_line_and_status_2(project, monkeypatch, capsys, args, message):
    with open(project / "my_models.py", "a") as f:
        f.write("\nNOT_CALLABLE = 3\n\ndef returns_a_string(input_shape, num_classes):\n"
                "    return 'model'\n\ndef two_outputs(input_shape, num_classes):\n"
                "    return build(input_shape, 2)\n")
    with open(project / "my_strategies.py", "a") as f:
        f.write("\ndef returns_a_number(model, optimizer, loss, accum_steps):\n    return 42\n")
    with open(project / "my_data.py", "a") as f:
        f.write("\ndef mismatched():\n    import numpy as np\n"
                "    return np.zeros((12, 3)), np.zeros(10), np.zeros((4, 3)), np.zeros(4)\n")
    monkeypatch.chdir(project)
    for module in ("my_models", "my_strategies", "my_data"):
        sys.modules.pop(module, None)
    base = {"--model": "my_models:build", "--dataset": "small.npz", "--strategy": "accumulate"}
    base.update(dict(zip(args[::2], args[1::2])))
    argv = ["run", *[x for kv in base.items() for x in kv], "--effective-batch", "32",
            "--micro", "8"]
    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0], lines[0]
