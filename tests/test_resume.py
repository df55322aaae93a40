"""A sweep continues from committed records: a fresh clone of the study starts where they end."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.results import store
from bench.sweep.resume import adopt

COMMITTED = Path(__file__).parent / "data" / "runs" / "quick.amd-epyc-f26-avx512-unknown-identity.jsonl.gz"


def test_committed_records_are_adopted_once_and_keep_their_plan_and_sessions(tmp_path):
    theirs = store.read_records(COMMITTED)
    results = tmp_path / "results" / "quick.jsonl"
    said = adopt(COMMITTED, results)
    finished = sum(r["kind"] in ("run", "equivalence") for r in theirs)
    assert f"{finished} finished configuration(s) adopted" in said
    mine = store.read(results)
    assert [r["kind"] for r in mine].count("plan") == 1
    assert sum(r["kind"] == "session" for r in mine) == sum(r["kind"] == "session" for r in theirs)
    assert {store.record_key(r) for r in mine} == {store.record_key(r) for r in theirs}
    again = adopt(COMMITTED, results)  # nothing twice
    keyed = sum(1 for r in theirs if store.record_key(r))  # the calibration steps have keys too
    assert "0 finished configuration(s) adopted" in again and f"({keyed} were there" in again
    assert len(store.read(results)) == len(mine)


def test_records_finished_here_are_kept_and_only_the_missing_ones_added(tmp_path):
    theirs = [r for r in store.read_records(COMMITTED) if store.record_key(r)]  # calibration too
    results = tmp_path / "quick.jsonl"
    mine = dict(theirs[0], status="ok", marker="finished here")
    store.append(results, mine)
    adopt(COMMITTED, results)
    kept = store.by_key(store.read(results))
    assert kept[store.record_key(mine)]["marker"] == "finished here"
    assert len(kept) == len(theirs)


def test_a_missing_committed_file_is_one_line(tmp_path):
    with pytest.raises(BenchError, match="no such file"):
        adopt(tmp_path / "nope.jsonl.gz", tmp_path / "r.jsonl")
