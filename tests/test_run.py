"""One measured run end to end; every way a child can end becomes a record; a configuration's
peak memory does not depend on what the worker ran before it."""
from __future__ import annotations

import signal
import time

import psutil
import pytest

from bench.config.job import Job
from bench.config.names import MIB
from bench.config.run import RunConfig
from bench.engine.measure.run import measured_run
from bench.errors import BenchError
from bench.execute.client import Worker, judge


@pytest.fixture(scope="module")
def cnn_record():
    cfg = RunConfig(model="cnn", strategy="accumulate", effective_batch=64, micro=16,
                    dataset="synthetic_mnist", epochs=2, limit_train=1024, limit_test=256,
                    preset="small", eval_train_samples=256)
    return measured_run(cfg)


@pytest.mark.e2e
def test_measured_run_record(cnn_record):
    r = cnn_record
    assert r["status"] == "ok" and r["error"] is None and r["schema"] == 2
    assert r["id"]["name"] == "cnn:accumulate:16x4:seed0" and len(r["id"]["key"]) == 16
    assert r["config"]["pair"] == "16x4" and r["updates"] == 2 * (1024 // 64)
    assert r["dataset"]["real"] is False and "SYNTHETIC" in r["dataset"]["label"]
    assert 0.09 < r["dataset"]["test_majority_rate"] < 0.2  # ten balanced classes
    env = r["environment"]
    assert env["tensorflow"] and env["cpu_model"] and env["device"].startswith(env["cpu_model"])
    assert r["throughput"]["warmup_updates"] == 3 and r["throughput"]["timed_updates"] == 29
    assert r["throughput_samples_per_s"] == pytest.approx(
        64 / r["throughput"]["median_s_per_update"])
    # three probes, each either measured or saying why not
    assert set(r["memory"]) == {"tf_allocator", "nvml", "process_rss"}
    assert r["memory"]["tf_allocator"]["available"]  # the BFC allocator's counter, on the CPU
    assert r["memory"]["tf_allocator"]["peak_bytes"] > MIB
    assert r["memory"]["process_rss"]["available"]
    assert all(m["available"] or m["reason"] for m in r["memory"].values())
    assert [e["epoch"] for e in r["epochs"]] == [1, 2] and "train_accuracy" in r["epochs"][0]
    assert r["final_test_accuracy"] > 0.3  # learnable synthetic data: well above chance (0.1)
    s = r["model_state"]
    assert s["parameters"] == 93_322 and s["weights"] == 4 * 93_322
    assert s["optimizer_slots"] == 2 * s["gradients"] == s["accumulators"] * 2  # Adam: m and v
    seconds = r["seconds"]
    assert seconds["updates"] == pytest.approx(sum(r["update_seconds"]), abs=0.01)
    assert 0 < seconds["evaluation"] < seconds["total"]
    assert seconds["updates"] + seconds["evaluation"] < seconds["total"]


@pytest.mark.e2e
def test_outcome_run_records_a_learning_curve_and_its_pairing():
    base = dict(model="cnn", effective_batch=64, dataset="synthetic_mnist", purpose="outcome",
                limit_train=640, limit_test=200, preset="small", eval_every=4, probes=())
    lb = measured_run(RunConfig(strategy="large_batch", micro=64, **base))
    acc = measured_run(RunConfig(strategy="accumulate", micro=16, **base))
    for r in (lb, acc):
        assert r["status"] == "ok" and r["memory"] == {}
        assert [p["update"] for p in r["curve"]] == [4, 8, 10]  # every 4 updates, and the end
        assert len(r["update_lr"]) == 10
    # paired: the same initial weights and data order, whatever the strategy
    assert lb["pairing"] == acc["pairing"]
    other = measured_run(RunConfig(strategy="large_batch", micro=64, seed=1, **base))
    assert other["pairing"]["initial_weights_sha"] != lb["pairing"]["initial_weights_sha"]


@pytest.mark.e2e
def test_tabular_stand_in_is_learnable():
    """The census stand-in's label follows a stated rule: the model gets clearly above the
    majority class, and no model can pass its Bayes accuracy by more than sampling noise."""
    cfg = RunConfig(model="grn_vsn", strategy="large_batch", effective_batch=128, micro=128,
                    dataset="synthetic_census_income", purpose="outcome", limit_train=128 * 60,
                    limit_test=2000, preset="small", learning_rate=0.003, probes=())
    r = measured_run(cfg)
    majority, achievable = r["dataset"]["test_majority_rate"], r["dataset"]["achievable_accuracy"]
    assert r["status"] == "ok"
    assert r["final_test_accuracy"] > majority + 0.03, (r["final_test_accuracy"], majority)
    assert r["final_test_accuracy"] < achievable + 0.03
    assert r["final_test_auc"] > 0.75


def test_bad_configuration_is_rejected_on_construction():
    with pytest.raises(BenchError, match="not divisible"):
        RunConfig(model="cnn", strategy="accumulate", effective_batch=64, micro=48)
    with pytest.raises(BenchError, match="unknown memory probe"):
        RunConfig(model="cnn", strategy="accumulate", effective_batch=64, micro=16, probes=("vram",))
    with pytest.raises(BenchError, match="unknown data set"):
        RunConfig(model="cnn", strategy="accumulate", effective_batch=64, micro=16, dataset="imagenet")
    with pytest.raises(BenchError, match="purpose"):
        RunConfig(model="cnn", strategy="accumulate", effective_batch=64, micro=16, purpose="fun")


def test_nan_loss_becomes_a_status():
    cfg = RunConfig(model="cnn", strategy="large_batch", effective_batch=64, micro=64,
                    dataset="synthetic_mnist", limit_train=256, limit_test=64, preset="small",
                    learning_rate=1e6)
    r = measured_run(cfg)
    assert r["status"] == "nan" and "loss became" in r["error"]


def test_memory_error_in_a_run_is_an_oom_row(monkeypatch):
    from bench.engine.measure import run

    def exhausted(*args, **kwargs):
        raise MemoryError("cannot allocate 64 GiB")

    monkeypatch.setattr(run, "_train", exhausted)
    r = measured_run(RunConfig(model="cnn", strategy="large_batch", effective_batch=64, micro=64))
    assert r["status"] == "oom" and "64 GiB" in r["error"]


# -- how a child ended ----------------------------------------------------------------------------
JOB = Job.run(RunConfig(model="cnn", strategy="accumulate", effective_batch=64, micro=16,
                        dataset="synthetic_mnist", limit_train=256, preset="small"), timeout=60)


@pytest.mark.parametrize("end,status,words", [
    ({"returncode": -9, "oom_kills": 1}, "oom", "out-of-memory killer"),
    ({"returncode": -9, "oom_kills": 0}, "killed", "not an out-of-memory kill"),
    ({"returncode": -9, "oom_kills": None}, "killed", "not an out-of-memory kill"),
    ({"returncode": -11}, "error", "SIGSEGV"),
    ({"returncode": 1}, "error", "exit status 1"),
    ({"returncode": 0}, "error", "without writing its record"),
    ({"returncode": -9, "timed_out": True}, "timeout", "no result within 60 s"),
    ({"lost": "exit status 1"}, "error", "worker process died"),
])
def test_judge_turns_every_ending_into_a_row(tmp_path, end, status, words):
    (tmp_path / "log").write_text("Traceback\n  line\nSegmentation fault (core dumped)\n")
    [record] = judge(JOB, {"seconds": 1.5, **end}, tmp_path / "none.jsonl", tmp_path / "log")
    assert record["status"] == status and words in record["error"]
    assert record["id"] == JOB.spec.identity().to_dict() and record["seconds"]["total"] == 1.5


def _children(worker: Worker) -> list[psutil.Process]:
    return psutil.Process(worker.proc.pid).children()


@pytest.mark.e2e
def test_a_worker_turns_killed_crashed_slow_and_orphaned_jobs_into_rows():
    slow = Job.run(RunConfig(model="cnn", strategy="accumulate", effective_batch=64, micro=16,
                             dataset="synthetic_mnist", epochs=200, limit_train=2048,
                             preset="small"), timeout=3)
    with Worker() as worker:
        timed_out = worker.wait(worker.submit(slow))[0]
        assert timed_out["status"] == "timeout" and "no result within 3 s" in timed_out["error"]
        for sig, status, words in ((signal.SIGKILL, "killed", "SIGKILL from outside"),
                                   (signal.SIGSEGV, "error", "SIGSEGV")):
            handle = worker.submit(JOB if sig == signal.SIGKILL else JOB)
            deadline = time.time() + 30
            while not _children(worker) and time.time() < deadline:
                time.sleep(0.05)
            for child in _children(worker):
                child.send_signal(sig)
            record = worker.wait(handle)[0]
            assert record["status"] == status and words in record["error"], record["error"]
        ok = worker.wait(worker.submit(JOB))[0]  # the worker goes on
        assert ok["status"] == "ok" and worker.starts == 1
        # a worker that dies fails the job it held; the next job starts a fresh worker
        handle = worker.submit(JOB)
        worker.proc.kill()
        record = worker.wait(handle)[0]
        assert record["status"] == "error" and "worker process died" in record["error"]
        assert worker.wait(worker.submit(JOB))[0]["status"] == "ok" and worker.starts == 2


def test_an_unavailable_dataset_is_a_row_with_its_message(monkeypatch):
    monkeypatch.setenv("ACCUMBENCH_OFFLINE", "1")
    job = Job.run(RunConfig(model="grn_vsn", strategy="accumulate", effective_batch=64, micro=16,
                            dataset="census_income", limit_train=256), timeout=120)
    with Worker("/nonexistent") as worker:
        r = worker.wait(worker.submit(job))[0]
    assert r["status"] == "error" and "not available offline" in r["error"]


@pytest.mark.e2e
def test_peak_memory_does_not_depend_on_what_ran_before():
    """A configuration reads the same in fresh processes of a worker before and after a
    configuration at least four times heavier.

    One process's reading is one draw: TensorFlow's executor times each kernel's first runs and
    from then on runs the cheap ones inline on the calling thread and hands the others to its
    inter-op pool, and that choice (fixed for the rest of the process) changes which
    intermediate tensors are alive together. Measured here (AMD EPYC family 25, AVX-512,
    2026-11-29): this configuration's per-update allocator peaks were the same within each
    process to 0.1% over all 8 updates, and 1 or 2 processes in 10 read all 8 about 1.2 MB
    (+10%) higher, in any position of the worker, first job or not (the single-threaded
    executor, with one fixed order, read 2.5x higher); with both cores busy with other work, 6
    in 24. Again on 2026-11-30: 3 of 20 processes of one worker, 3 of 12 standalone processes
    (no worker), and the large batch 256x1 (no loop) 4 of 12 read high: the draw is the
    executor's, not the worker's. So the test compares the configuration's reading, the lowest
    of five processes, before and after (all five high: under 0.1% even when loaded): within 2%
    for the allocator (BFC: its peak repeats to the byte for one execution order), 6% for
    process RSS. It held 20 of 20 consecutive runs (2026-11-30)."""
    small = RunConfig(model="cnn", strategy="accumulate", effective_batch=256, micro=32,
                      dataset="synthetic_mnist", limit_train=256 * 8, limit_test=64,
                      preset="small", probes=("tf_allocator", "process_rss"))
    heavy = RunConfig(model="cnn", strategy="large_batch", effective_batch=1024, micro=1024,
                      dataset="synthetic_mnist", limit_train=1024 * 4, limit_test=64,
                      preset="small", probes=("tf_allocator", "process_rss"))
    # one thread: TensorFlow then runs the ops in one order, so the allocator's peak is a property
    # of the configuration; with two threads it also depends on how the ops interleave (measured:
    # peaks 26% apart for identical jobs while the machine was loaded by other tests)
    jobs = [Job.run(c, timeout=300, threads=1) for c in (small, heavy)]
    preload = [r for j in jobs for r in j.data_requests()]
    with Worker() as worker:
        run = lambda job: worker.wait(worker.submit(job, preload))[0]  # noqa: E731
        before = [run(jobs[0]) for _ in range(5)]
        big = run(jobs[1])
        after = [run(jobs[0]) for _ in range(5)]
    assert {r["status"] for r in [*before, big, *after]} == {"ok"}
    peaks = {p: [[r["memory"][p]["peak_bytes"] for r in rs] for rs in (before, after)]
             for p in ("tf_allocator", "process_rss")}  # shown when an assertion fails
    assert big["memory"]["tf_allocator"]["peak_bytes"] >= 4 * min(peaks["tf_allocator"][0])
    (b, a), (b_rss, a_rss) = peaks["tf_allocator"], peaks["process_rss"]
    assert min(a) == pytest.approx(min(b), rel=0.02), peaks
    assert min(a_rss) == pytest.approx(min(b_rss), rel=0.06), peaks
    assert len({r["isolation"]["pid"] for r in [*before, *after]}) == 10  # each its own process
