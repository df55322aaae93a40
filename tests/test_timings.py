"""The record of how long the README's commands took (bench.results.timings)."""
from __future__ import annotations

import json

import pytest

from bench.errors import BenchError
from bench.results import timings

AVX2 = {"id": "aaaaaaaaaa", "cpu": {"model_name": "AMD EPYC", "family": 25, "model": 1,
                                     "isa": ["avx2"]}, "cores": 2, "gpus": []}
AVX512 = {"id": "bbbbbbbbbb", "cpu": {"model_name": "AMD EPYC", "family": 25, "model": 17,
                                       "isa": ["avx2", "avx512f"]}, "cores": 2, "gpus": []}


def test_a_timing_names_its_machine_and_the_table_groups_by_identity(tmp_path):
    path = tmp_path / "timings.json"
    for seconds, identity, status in ((250, AVX2, 0), (310, AVX2, 0), (130, AVX512, 0),
                                      (999, AVX2, 1)):
        timings.add(path, timings.entry("make test", seconds, status, identity=identity))
    timings.add(path, timings.entry("make bench", 1320, 0, "PROFILE=default", identity=AVX2))
    entries = timings.read(path)
    assert entries[0]["machine"] == "AMD EPYC (family 25 model 1, AVX2), 2 cores"
    table = timings.table(entries).split("\n")
    assert table[0] == "| machine (identity) | `make test` | `make bench PROFILE=default` |"
    avx2 = next(r for r in table if "aaaaaaaaaa" in r)
    assert "4 min 10 s – 5 min 10 s over 2 runs" in avx2 and "22 min 00 s" in avx2
    assert "999" not in "\n".join(table) and "1 timed run(s) failed" in table[-1]
    assert "2 min 10 s" in next(r for r in table if "bbbbbbbbbb" in r)
    # runs of an older commit among them: the newest commit's runs are given on their own
    for seconds, commit in ((900, "old1234"), (560, "new5678"), (580, "new5678")):
        timings.add(path, {**timings.entry("make bench", seconds, 0, "PROFILE=default",
                                           identity=AVX512), "commit": commit})
    row = next(r for r in timings.table(timings.read(path)).split("\n") if "bbbbbbbbbb" in r)
    assert "9 min 20 s – 15 min 00 s over 3 runs" in row
    assert "at `new5678`, the newest commit timed: 9 min 20 s – 9 min 40 s over 2 runs" in row


def test_a_bad_record_is_one_clear_error(tmp_path):
    path = tmp_path / "timings.json"
    path.write_text("{not json")
    with pytest.raises(BenchError, match="not valid JSON"):
        timings.read(path)
    path.write_text(json.dumps([{"command": "make test"}]))
    with pytest.raises(BenchError, match="lack"):
        timings.read(path)
    with pytest.raises(BenchError, match="cannot take"):
        timings.entry("make test", -1, 0, identity=AVX2)
    assert timings.table([]) .startswith("No command has been timed")


def test_a_sweeps_time_comes_from_its_session_records():
    sessions = [{"kind": "session", "profile": "default", "wall_seconds": w, "finished_at": f,
                 "machine": AVX2} for w, f in ((600.0, "2026-12-07T01:00:00+00:00"),
                                                (720.5, "2026-12-07T02:00:00+00:00"))]
    made = timings.from_sweep([{"kind": "run"}, *sessions])
    assert (made["command"], made["args"], made["seconds"], made["sessions"]) == (
        "python -m bench sweep", "--profile default", 1320.5, 2)
    assert made["identity"] == "aaaaaaaaaa" and made["created"].startswith("2026-12-07T02")
    with pytest.raises(BenchError, match="no session"):
        timings.from_sweep([{"kind": "run"}])
    with pytest.raises(BenchError, match="2 machine identities"):
        timings.from_sweep([sessions[0], {**sessions[1], "machine": AVX512}])
