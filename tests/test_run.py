"""One measured run end to end; isolation turns every failure into a record; peak memory of an
isolated configuration does not depend on what ran before it."""
from __future__ import annotations

import pytest

from bench.errors import BenchError
from bench.measure import isolate
from bench.measure.run import RunConfig, measured_run

MIB = 2**20


@pytest.fixture(scope="module")
def cnn_record():
    cfg = RunConfig("cnn", "accumulate", 64, 16, "synthetic_mnist", epochs=2, limit_train=1024,
                    limit_test=256, preset="small")
    return measured_run(cfg)


@pytest.mark.e2e
def test_measured_run_record(cnn_record):
    r = cnn_record
    assert r["status"] == "ok" and r["error"] is None
    assert {"status", "throughput_samples_per_s", "final_test_accuracy", "memory", "config",
            "dataset", "environment"} <= set(r)
    assert r["config"]["pair"] == "16x4" and r["updates"] == 2 * (1024 // 64)
    assert r["dataset"]["real"] is False and "SYNTHETIC" in r["dataset"]["label"]
    assert r["environment"]["tensorflow"] and r["environment"]["cpu_count"] >= 1
    assert r["throughput_samples_per_s"] > 0 and r["throughput"]["warmup_updates"] == 3
    # three probes, each either measured or saying why not
    assert set(r["memory"]) == {"tf_allocator", "nvml", "process_rss"}
    assert r["memory"]["process_rss"]["available"] and r["memory"]["process_rss"]["peak_bytes"] > 0
    assert not r["memory"]["tf_allocator"]["available"] and r["memory"]["tf_allocator"]["reason"]
    assert [e["epoch"] for e in r["epochs"]] == [1, 2]
    assert r["final_test_accuracy"] > 0.3  # learnable synthetic data: well above chance (0.1)
    s = r["model_state"]
    assert s["parameters"] == 93_322 and s["weights"] == 4 * 93_322
    assert s["optimizer_slots"] == 2 * s["gradients"] == s["accumulators"] * 2  # Adam: m and v


@pytest.mark.e2e
def test_tabular_run_with_sample_weights():
    cfg = RunConfig("grn_vsn", "large_batch", 128, 128, "synthetic_census_income", epochs=2,
                    limit_train=2048, limit_test=512, preset="small")
    r = measured_run(cfg)
    assert r["status"] == "ok"
    majority = 0.76  # synthetic census: about 24% positives
    assert r["final_test_accuracy"] > majority - 0.05


def test_bad_configuration_is_rejected_before_running():
    with pytest.raises(BenchError, match="not divisible"):
        measured_run(RunConfig("cnn", "accumulate", 64, 48))
    with pytest.raises(BenchError, match="unknown memory probe"):
        RunConfig("cnn", "accumulate", 64, 16, probes=("vram",)).validate()
    with pytest.raises(BenchError, match="unknown data set"):
        RunConfig("cnn", "accumulate", 64, 16, dataset="imagenet").validate()


def test_nan_loss_becomes_a_status():
    cfg = RunConfig("cnn", "large_batch", 64, 64, "synthetic_mnist", limit_train=256,
                    limit_test=64, preset="small", learning_rate=1e6)
    r = measured_run(cfg)
    assert r["status"] == "nan" and "loss became" in r["error"]


def _fake_python(tmp_path, body: str, monkeypatch):
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    monkeypatch.setattr(isolate.sys, "executable", str(script))


CFG = RunConfig("cnn", "accumulate", 64, 16, "synthetic_mnist", limit_train=256, preset="small")


def test_isolation_records_an_oom_kill(tmp_path, monkeypatch):
    _fake_python(tmp_path, "kill -9 $$", monkeypatch)
    r = isolate.run_isolated(CFG, timeout=30)
    assert r["status"] == "oom" and "SIGKILL" in r["error"] and r["key"] == CFG.key()


def test_isolation_records_a_crash(tmp_path, monkeypatch):
    _fake_python(tmp_path, 'echo "Fatal Python error: Segmentation fault" >&2; kill -11 $$',
                 monkeypatch)
    r = isolate.run_isolated(CFG, timeout=30)
    assert r["status"] == "error" and "SIGSEGV" in r["error"] and "Segmentation" in r["error"]


def test_isolation_records_a_timeout(tmp_path, monkeypatch):
    _fake_python(tmp_path, "sleep 30", monkeypatch)
    r = isolate.run_isolated(CFG, timeout=1)
    assert r["status"] == "timeout" and r["wall_seconds"] < 10


def test_isolation_records_an_unavailable_dataset(monkeypatch):
    monkeypatch.setenv("ACCUMBENCH_OFFLINE", "1")
    cfg = RunConfig("grn_vsn", "accumulate", 64, 16, "census_income", limit_train=256)
    r = isolate.run_isolated(cfg, timeout=120, data_dir="/nonexistent")
    assert r["status"] == "error" and "not available offline" in r["error"]


@pytest.mark.e2e
def test_isolated_peak_does_not_depend_on_what_ran_before():
    small = RunConfig("cnn", "accumulate", 256, 32, "synthetic_mnist", limit_train=1024,
                      limit_test=64, preset="small", probes=("process_rss",))
    big = RunConfig("cnn", "large_batch", 1024, 1024, "synthetic_mnist", limit_train=4096,
                    limit_test=64, preset="small", probes=("process_rss",))
    alone = isolate.run_isolated(small, timeout=300)
    heavy = isolate.run_isolated(big, timeout=300)
    after = isolate.run_isolated(small, timeout=300)
    peak = lambda r: r["memory"]["process_rss"]["peak_bytes"]  # noqa: E731
    assert heavy["status"] == alone["status"] == after["status"] == "ok"
    assert peak(heavy) > 2 * peak(alone)            # the heavy one really was heavier
    assert abs(peak(after) - peak(alone)) <= max(0.15 * peak(alone), 8 * MIB)
    assert alone["isolated"]["pid"] != after["isolated"]["pid"]
