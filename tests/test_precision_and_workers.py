"""How people train: mixed precision (loss scaling under accumulation, with an injected
overflow), XLA, and more than one worker process (MultiWorkerMirroredStrategy)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import psutil
import pytest

from bench.cli import main
from bench.config.plan import AccumulationPlan
from bench.config.training import TrainingConfig
from bench.data import load_dataset
from bench.engine.equivalence import loss_scale
from bench.engine.runtime import distribution
from bench.engine.training.feed import WindowFeed
from bench.engine.training.setup import build_trainer
from bench.portable.comparable import make_comparable
from tests.helpers import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic_fashion_mnist", limit_train=64 * 4, limit_test=64)


def _probe(data, strategy):
    plan = AccumulationPlan.of(64, 16)
    config = TrainingConfig("cnn", strategy, plan, "small", precision="mixed_float16")
    initial = build_trainer(TrainingConfig("cnn", "large_batch", AccumulationPlan.of(64, 64),
                                           "small"), data.spec, 1, distribution(1)).p.model.get_weights()
    return loss_scale.probe(config, data.spec, WindowFeed(data.train, plan, 0), initial,
                            distribution(1), make_comparable)


def test_harness_accumulation_skips_the_whole_update_and_halves_once(data):
    """An overflow in one micro-batch of update 2: the whole update is skipped (weights and the
    iteration counter unchanged), the scale halves once (not once per micro-batch), and the
    scale grows per update, not per micro-batch."""
    f = _probe(data, "accumulate")
    assert f["weights_moved"] == [True, False, True]
    assert f["iterations_advanced_at_overflow"] == 0 and f["whole_update_skipped"]
    assert f["halvings_at_overflow"] == 1.0
    assert f["scale_after_update"][0] == 2.0 ** 15 and f["scale_after_update"][1] == 2.0 ** 14
    assert f["growth_doublings_in_a_clean_update"] == 0.0
    assert "skipped the whole update" in f["reasons"][0]


def test_keras_builtin_with_loss_scaling_drops_a_micro_batch_and_grows_per_micro_batch(data):
    f = _probe(data, "keras_builtin")
    assert not f["whole_update_skipped"]
    assert f["iterations_advanced_at_overflow"] == 3 and f["weights_moved"][1] is False
    assert f["weights_moved"][2] is True  # the shifted update lands one micro-batch later
    assert f["growth_doublings_in_a_clean_update"] == 2.0  # 4 micro-batches, growth every 2
    assert "skipped that micro-batch only" in f["reasons"][0]
    assert "grows per micro-batch" in f["reasons"][1]


# mixed_float16 (the loss-scaled one); mixed_bfloat16 runs the same path without loss scaling and
# is judged in the default sweep
@pytest.mark.parametrize("precision,tolerance", [("mixed_float16", 1e-2)])
def test_equivalence_in_reduced_precision_gives_verdicts_with_reasons(capsys, precision, tolerance):
    code = main(["equivalence", "--model", "cnn", "--dataset", "synthetic_fashion_mnist",
                 "--preset", "small", "--strategy", "accumulate,keras_builtin",
                 "--effective-batch", "64", "--micro", "16", "--updates", "4",
                 "--precision", precision, "--json"])
    records = {r["strategy"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert code == (0 if all(r["verdict"] == "equivalent" for r in records.values()) else 1)
    acc, kb = records["accumulate"], records["keras_builtin"]
    assert acc["dtype"] == precision and acc["gradient_tolerance"] == tolerance
    assert acc["verdict"] == "equivalent", acc["reasons"]
    assert f"({precision} rounding)" in acc["reasons"][0]
    if precision == "mixed_float16":
        assert acc["levels"]["loss_scaling"] == "pass" and kb["levels"]["loss_scaling"] == "fail"
        assert kb["verdict"] == "not equivalent"
        assert any("skipped that micro-batch only" in r for r in kb["reasons"])
    else:
        assert "loss_scaling" not in acc  # bfloat16 needs no loss scale


def test_xla_compiled_accumulation_is_equivalent(capsys):
    code = main(["equivalence", "--model", "cnn", "--dataset", "synthetic_fashion_mnist",
                 "--preset", "small", "--strategy", "accumulate", "--effective-batch", "32",
                 "--micro", "16", "--updates", "3", "--jit", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["verdict"] == "equivalent" and record["id"]["name"].count(":jit")


def test_two_workers_are_judged_against_one_process(capsys):
    code = main(["equivalence", "--model", "cnn", "--dataset", "synthetic_fashion_mnist",
                 "--preset", "small", "--strategy", "accumulate", "--effective-batch", "64",
                 "--micro", "16", "--updates", "4", "--workers", "2", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["reference_replicas"] == 1 and record["accum"] == 2
    assert record["verdict"] == "equivalent" and record["gradient_rel_error"] < 1e-5


def _run_workers(*extra, timeout=600) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench", "run", "--model", "cnn", "--dataset",
                             "synthetic_fashion_mnist", "--preset", "small", "--strategy",
                             "accumulate", "--effective-batch", "64", "--micro", "16",
                             "--workers", "2", "--json", *extra], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _workers_of(proc: subprocess.Popen) -> list[psutil.Process]:
    return [p for p in psutil.Process(proc.pid).children(recursive=True)
            if "bench.engine.worker.multiworker" in " ".join(p.cmdline())]


def test_run_with_two_workers_records_each_worker(capsys):
    code = main(["run", "--model", "cnn", "--dataset", "synthetic_fashion_mnist", "--preset",
                 "small", "--strategy", "accumulate", "--effective-batch", "64", "--micro", "16",
                 "--workers", "2", "--json", "--limit-train", "640", "--limit-test", "64"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0
    assert record["status"] == "ok" and record["id"]["name"].endswith(":2workers:seed0")
    assert [w["worker"] for w in record["workers"]] == [0, 1]
    assert all(w["throughput_samples_per_s"] > 0 and "tf_allocator" in w["memory"]
               for w in record["workers"])


def test_a_dead_worker_fails_the_run_and_stops_the_others():
    proc = _run_workers("--limit-train", "64000", "--epochs", "50")
    deadline = time.time() + 120
    while len(_workers_of(proc)) < 2 and time.time() < deadline:
        time.sleep(0.2)
    workers = _workers_of(proc)
    assert len(workers) == 2
    time.sleep(3)
    victim = next(w for w in workers if "index\": 1" in w.environ().get("TF_CONFIG", ""))
    victim.send_signal(signal.SIGKILL)
    record = json.loads(proc.communicate(timeout=120)[0])
    assert record["status"] == "error" and "worker 1 of 2 died (signal SIGKILL)" in record["error"]
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in workers)
