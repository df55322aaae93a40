"""Profiles are data; the sweep expands, runs isolated, resumes; reports and the regression
check read stored results only."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.errors import BenchError
from bench.report.check import Tolerances, compare, load_summary, summarise
from bench.results import store
from bench.sweep.plan import expand
from bench.sweep.profiles import available_profiles, load_profile
from tests.helpers import ROOT, cli


def test_profiles_load_and_expand():
    assert {"quick", "default", "full"} <= set(available_profiles())
    default = load_profile("default")
    items = expand(default)
    runs = [i for i in items if i.kind == "run"]
    # per seed: large batch + 3 strategies x 3 pairs; the CNN has three seeds
    assert len(runs) == (3 + 5) * 10
    assert {i.run.micro for i in runs if i.model == "gmlp"} == {256, 128, 64, 32}
    assert {i.run.dataset for i in runs if i.model != "grn_vsn"} == {"fashion_mnist"}
    eq = [i for i in items if i.kind == "equivalence"]
    assert len(eq) == 6 * 2 + 1 and len({i.key for i in items}) == len(items)
    assert [i.id for i in eq if "exponential" in i.id] == ["cnn-equivalence-exponential-lr"]
    full = load_profile("full")
    assert full.models["cnn"].epochs == 10 and full.models["gmlp"].epochs == 50
    assert full.models["grn_vsn"].micros == (265, 53)


def test_profile_overrides_and_errors():
    p = load_profile("quick", ["defaults.epochs=3", "models.cnn.seeds=[0, 1]",
                               "models.gmlp.dataset=synthetic_cifar100", "equivalence.updates=4"],
                     only_models=["cnn", "gmlp"])
    assert set(p.models) == {"cnn", "gmlp"} and p.models["cnn"].epochs == 3
    assert p.models["cnn"].seeds == (0, 1) and p.models["gmlp"].dataset == "synthetic_cifar100"
    assert p.equivalence.updates == 4
    assert p.digest() != load_profile("quick").digest()
    for args, message in [(("nope",), "unknown profile 'nope'"),
                          (("quick", ["defaults.colour=3"]), "unknown setting"),
                          (("quick", ["models.cnn.effective_batch=63"]), "not divisible"),
                          (("quick", ["epochs"]), "not KEY=VALUE"),
                          (("quick", None, ["resnet"]), "has no model")]:
        with pytest.raises(BenchError, match=message):
            expand(load_profile(*args))


def test_profile_from_a_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[defaults]\neffective_batch = 32\nsmallest_fraction = 2\n'
                    'strategies = ["large_batch", "accumulate"]\n[models.cnn]\n')
    items = expand(load_profile(str(path)))
    assert [i.id for i in items] == ["cnn-large_batch-32x1-seed0", "cnn-accumulate-16x2-seed0"]


@pytest.fixture(scope="module")
def mini_sweep(tmp_path_factory):
    """A real, tiny sweep through pytest-benchmark: one model, two pairs, all strategies."""
    out = tmp_path_factory.mktemp("sweep")
    results = out / "results.jsonl"
    args = [sys.executable, "-m", "pytest", "tests/benchmarks", "-m", "sweep", "-q",
            "--profile", "quick", "--only-models", "cnn", "--set", "defaults.limit_train=256",
            "--set", "equivalence.updates=4", "--results", str(results),
            "--benchmark-json", str(out / "bench.json")]
    first = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    second = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return out, results, first, second


@pytest.mark.e2e
def test_sweep_runs_records_and_resumes(mini_sweep):
    out, results, first, second = mini_sweep
    assert first.returncode == 0, first.stdout[-2000:]
    assert "[1/5] cnn-large_batch-64x1-seed0" in first.stdout and "left" in first.stdout
    records = store.read(results)
    runs = [r for r in records if r["kind"] == "run"]
    assert len(runs) == 4 and all(r["status"] == "ok" for r in runs)
    assert {r["strategy"] for r in records if r["kind"] == "equivalence"} == {
        "accumulate", "keras_builtin", "naive"}
    bench_json = json.loads((out / "bench.json").read_text())
    extra = {b["name"]: b["extra_info"] for b in bench_json["benchmarks"]}
    assert extra["test_configuration[cnn-accumulate-32x2-seed0]"]["throughput_samples_per_s"] > 0
    # the second run resumed: everything skipped, nothing appended
    assert "5 skipped" in second.stdout and len(store.read(results)) == len(records)


@pytest.mark.e2e
def test_report_from_stored_results(mini_sweep, tmp_path):
    _, results, _, _ = mini_sweep
    out = cli("report", "--results", str(results), "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    readme = (tmp_path / "README.md").read_text()
    assert "## cnn" in readme and "| 32x2" in readme and "Fashion-MNIST (real" in readme
    assert "process_rss" in readme and "not available" in readme  # GPU probes say why not
    assert "**not equivalent**" in readme and "only 1/2 of the samples" in readme
    for name in ("throughput.png", "memory_process_rss.png", "curves.png", "gradient_error.png",
                 "runs.csv", "summary.csv", "equivalence.csv"):
        assert (tmp_path / name).stat().st_size > 0


@pytest.mark.e2e
def test_regression_check(mini_sweep, tmp_path):
    _, results, _, _ = mini_sweep
    baseline = summarise(store.read(results), str(results))
    rows, regressions = compare(baseline, baseline)
    assert regressions == 0
    worse = json.loads(json.dumps(baseline))
    cfg = worse["metrics"]["cnn-accumulate-32x2-seed0"]
    cfg["memory"]["process_rss"] *= 2
    cfg["accuracy"] -= 0.2
    noisy = worse["metrics"]["cnn-keras_builtin-32x2-seed0"]
    noisy["throughput_ratio"] *= 0.55  # a 45% drop: a regression unless the runs were that noisy
    noisy["throughput_noise"] = 0.3
    worse["metrics"]["cnn-naive-32x2-float32-constant"]["verdict"] = "equivalent"
    rows, regressions = compare(baseline, worse, Tolerances())
    flagged = {(r[0], r[1]) for r in rows if r[-1] == "REGRESSION"}
    assert ("cnn-accumulate-32x2-seed0", "peak MiB [process_rss]") in flagged
    assert ("cnn-accumulate-32x2-seed0", "test accuracy") in flagged
    assert ("cnn-naive-32x2-float32-constant", "verdict") in flagged and regressions == 3
    assert ("cnn-keras_builtin-32x2-seed0", "throughput / LB") not in flagged  # within 2 x 30%
    # through the command line: exit 1 on a regression, 2 on a baseline of another profile
    (tmp_path / "worse.json").write_text(json.dumps(worse))
    (tmp_path / "base.json").write_text(json.dumps(baseline))
    out = cli("check", "--baseline", str(tmp_path / "base.json"), "--current", str(tmp_path / "worse.json"))
    assert out.returncode == 1 and "3 regression(s)" in out.stdout
    other = dict(baseline, profile="default")
    (tmp_path / "other.json").write_text(json.dumps(other))
    out = cli("check", "--baseline", str(tmp_path / "other.json"), "--current", str(results))
    assert out.returncode == 2 and "from profile 'default'" in out.stderr


def test_unknown_profile_in_pytest_is_a_usage_error():
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/benchmarks", "-m", "sweep",
                          "--profile", "nope", "--collect-only", "-q"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 4 and "unknown profile 'nope'" in out.stderr


def test_baseline_file_errors(tmp_path):
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(BenchError, match="not valid JSON"):
        load_summary(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"a": 1}')
    with pytest.raises(BenchError, match="not an accumbench baseline"):
        load_summary(tmp_path / "c.json")
