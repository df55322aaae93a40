"""The sweep session's scheduling, resume, retry and stale-record rules, against a fake worker
at the boundary where the session hands jobs to processes (no TensorFlow runs here; the real
sweep is tested end to end in test_sweep_and_report)."""
from __future__ import annotations

import pytest

from bench.execute.client import Handle
from bench.results import store
from bench.sweep.plan import expand, parse_shard, shard
from bench.sweep.profiles import load_profile
from bench.sweep.session import SweepSession

OVERRIDES = ["defaults.micros=[128, 16]", "outcome.seeds=[0, 1]"]


class FakeWorker:
    """Ends every job at the next poll with a record of the given status; records what ran
    and how many ran at once (and on which GPU)."""

    log: list = []
    running: set = set()
    most = 0
    fail: set = set()
    slow: dict = {}  # name -> polls it takes to end (else the next poll)

    def __init__(self, data_dir=None):
        self.pending = []

    def submit(self, job, preload=None):
        handle = Handle(len(FakeWorker.log), job, None, None)
        FakeWorker.log.append((job.identities()[0].name, job.env_dict().get("CUDA_VISIBLE_DEVICES")))
        FakeWorker.running.add(id(handle))
        FakeWorker.most = max(FakeWorker.most, len(FakeWorker.running))
        self.pending.append(handle)
        return handle

    def poll(self, timeout=0.0):
        ended, waiting = [], []
        for h in self.pending:
            name = h.job.identities()[0].name
            FakeWorker.slow[name] = FakeWorker.slow.get(name, 1) - 1
            (ended if FakeWorker.slow[name] <= 0 else waiting).append(h)
        self.pending = waiting
        for h in ended:
            status = "error" if h.job.identities()[0].name in FakeWorker.fail else "ok"
            h.records = [dict(r, status=status) for r in
                         h.job.failure_records(status, "fake", 0.1)]
            FakeWorker.running.discard(id(h))
        return ended

    def close(self):
        pass


@pytest.fixture(autouse=True)
def fresh_fake():
    FakeWorker.log, FakeWorker.running, FakeWorker.most, FakeWorker.fail = [], set(), 0, set()
    FakeWorker.slow = {}


def _session(tmp_path, profile, items=None, **kw):
    items = items or expand(profile, ["cnn"])
    return SweepSession(profile, items, tmp_path / "r.jsonl", all_items=expand(profile),
                        worker_factory=FakeWorker, say=lambda text: None, gpus=kw.pop("gpus", []),
                        **kw), items


def _run_all(session, items):
    for item in items:
        if not session.resumed(item):
            session.execute(item)
    session.close()


def test_measure_runs_alone_outcome_runs_two_at_a_time(tmp_path):
    profile = load_profile("quick", OVERRIDES)
    session, items = _session(tmp_path, profile, jobs=2)
    order = []
    original = session._launch
    session._launch = lambda item, threads: (order.append((item.phase, len(session.handles))),
                                             original(item, threads))[1]
    _run_all(session, items)
    assert all(running == 0 for phase, running in order if phase in ("measure", "calibrate"))
    assert FakeWorker.most == 2
    records = store.read(tmp_path / "r.jsonl")
    assert {r["id"]["key"] for r in records if "id" in r} == {k for i in items for k in i.keys}
    assert records[0]["kind"] == "plan" and records[-1]["kind"] == "session"


def test_a_long_job_does_not_hold_the_other_slot_idle(tmp_path):
    """While the sweep waits for a long equivalence analysis, the slot beside it takes every
    following item that may share the machine, one after another."""
    profile = load_profile("default")
    session, items = _session(tmp_path, profile, jobs=2)
    shared = [i for i in items if i.phase == "equivalence"]
    FakeWorker.slow = {shared[0].job.identities()[0].name: 50}
    launched = []
    original = session._launch
    session._launch = lambda item, threads: (launched.append(
        (item.id, {session._item(i).id for i in session.handles})), original(item, threads))[1]
    _run_all(session, items)
    beside_long = [i for i, running in launched if shared[0].id in running]
    assert beside_long == [i.id for i in shared[1:]]


def test_resume_retries_a_failure_once_then_leaves_it(tmp_path):
    """An interrupted sweep with a failed configuration, resumed, retries it once; the new
    record supersedes the old one; a second failure is not retried again."""
    profile = load_profile("quick", OVERRIDES)
    bad = "cnn:accumulate:16x8:seed0"
    FakeWorker.fail = {bad}
    session, items = _session(tmp_path, profile)
    _run_all(session, items[:4])  # interrupted after four items
    FakeWorker.log.clear()
    session, items = _session(tmp_path, profile)
    _run_all(session, items)  # resumed: the failure runs once more, then everything else
    assert [name for name, _ in FakeWorker.log].count(bad) == 1
    assert not any(name == "cnn:large_batch:128x1:seed0" for name, _ in FakeWorker.log)
    mine = [r for r in store.read(tmp_path / "r.jsonl") if r.get("id", {}).get("name") == bad]
    assert len(mine) == 1 and mine[0]["attempt"] == 2 and mine[0]["status"] == "error"
    FakeWorker.log.clear()
    session, items = _session(tmp_path, profile)
    _run_all(session, items)
    assert FakeWorker.log == []  # its retry is used up
    session, items = _session(tmp_path, profile, retries=0)
    assert session.finished(next(i for i in items if i.id == bad))


def test_no_retry_leaves_a_first_failure(tmp_path):
    profile = load_profile("quick", OVERRIDES)
    FakeWorker.fail = {"cnn:accumulate:16x8:seed0"}
    session, items = _session(tmp_path, profile)
    _run_all(session, items)
    FakeWorker.log.clear()
    session, items = _session(tmp_path, profile, retries=0)
    _run_all(session, items)
    assert FakeWorker.log == []


def test_changed_settings_move_stale_records_aside(tmp_path):
    profile = load_profile("quick", OVERRIDES)
    session, items = _session(tmp_path, profile)
    _run_all(session, items)
    messages = []
    fewer = load_profile("quick", ["defaults.micros=[128, 16]", "outcome.seeds=[0]"])
    SweepSession(fewer, expand(fewer, ["cnn"]), tmp_path / "r.jsonl", all_items=expand(fewer),
                 worker_factory=FakeWorker, say=messages.append, gpus=[])
    kept = store.read(tmp_path / "r.jsonl")
    assert not any(r.get("config", {}).get("seed") == 1 for r in kept)
    assert len(store.read(tmp_path / "r.stale.jsonl")) == 4 and "moved to" in messages[0]
    assert [r["kind"] for r in kept].count("session") == 1  # its time still counts


def test_several_gpus_run_one_configuration_each(tmp_path):
    """Through the boundary where the session learns the GPUs: two GPUs, two configurations
    at a time — measure runs too — each with its own CUDA_VISIBLE_DEVICES."""
    profile = load_profile("quick", OVERRIDES)
    session, items = _session(tmp_path, profile, gpus=["0", "1"])
    assert session.jobs == 2
    active = []
    original = session._launch
    session._launch = lambda item, threads: (active.append(
        sorted(h.job.env_dict()["CUDA_VISIBLE_DEVICES"] for h in session.handles.values())),
        original(item, threads))[1]
    _run_all(session, items)
    assert FakeWorker.most == 2
    assert {gpu for _, gpu in FakeWorker.log} == {"0", "1"}
    assert all(len(set(a)) == len(a) for a in active)  # never two on one GPU
    record = store.read(tmp_path / "r.jsonl")[-1]
    assert record["kind"] == "session" and record["gpus"] == ["0", "1"]


def test_shards_split_a_sweep_exactly_once(tmp_path):
    items = expand(load_profile("quick"))
    first, second = (shard(items, parse_shard(s)) for s in ("1/2", "2/2"))
    work = lambda xs: [i.id for i in xs if i.phase != "calibrate"]  # noqa: E731
    assert not set(work(first)) & set(work(second))
    assert sorted(work(first) + work(second)) == sorted(work(items))
    assert {i.id for i in first if i.phase == "calibrate"} == {
        "calibration:start:shard1of2", "calibration:end:shard1of2"}
    for bad in ("3/2", "0/2", "half"):
        with pytest.raises(Exception, match="shard"):
            parse_shard(bad)
