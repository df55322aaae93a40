"""Results files: one record per line; a rerun supersedes; corrupt or half-written files and
records of another schema are clear errors."""
from __future__ import annotations

import pytest

from bench.errors import BenchError
from bench.results import store
from bench.results.identity import SCHEMA, make_identity


def rec(key, status="ok"):
    return {"kind": "run", "schema": SCHEMA, "id": {"key": key, "name": f"n-{key}"},
            "status": status, "config": {"model": "cnn"}}


def test_put_appends_and_a_rerun_supersedes(tmp_path):
    path = tmp_path / "r.jsonl"
    assert store.put(path, rec("a")) is False
    store.put(path, rec("b", "oom"))
    assert store.put(path, rec("a", "error")) is True
    records = store.read(path)
    assert [(r["id"]["key"], r["status"]) for r in records] == [("b", "oom"), ("a", "error")]
    assert set(store.by_key(records)) == {"a", "b"}
    assert store.read(tmp_path / "missing.jsonl") == []


def test_identity_names_omit_defaults_and_keys_hash_everything():
    a = make_identity("run", {"model": "cnn", "strategy": "accumulate", "pair": "16x8",
                              "jit": False, "seed": 0}, ["model", "strategy", "pair", "jit", "seed"])
    b = make_identity("run", {"model": "cnn", "strategy": "accumulate", "pair": "16x8",
                              "jit": True, "seed": 1}, ["model", "strategy", "pair", "jit", "seed"])
    assert a.name == "cnn:accumulate:16x8:seed0" and b.name == "cnn:accumulate:16x8:jit:seed1"
    assert a.group == "cnn:accumulate:16x8" and a.key != b.key and a.group_key != b.group_key
    c = make_identity("run", {"model": "cnn", "strategy": "accumulate", "pair": "16x8",
                              "jit": False, "seed": 1}, ["model", "strategy", "pair", "jit", "seed"])
    assert c.group_key == a.group_key and c.key != a.key  # seeds of one group


def test_corrupt_line_is_named(tmp_path):
    path = tmp_path / "r.jsonl"
    store.append(path, rec("a"))
    with open(path, "a") as f:
        f.write("{oops\n")
    store.append(path, rec("b"))
    with pytest.raises(BenchError, match=r"r.jsonl is corrupt: line 2 is not valid JSON"):
        store.read(path)


def test_half_written_tail(tmp_path):
    path = tmp_path / "r.jsonl"
    store.append(path, rec("a"))
    with open(path, "a") as f:
        f.write('{"kind": "run", "id": {"key": "b"}, "sta')
    with pytest.raises(BenchError, match="half-written"):
        store.read(path)
    assert [r["id"]["key"] for r in store.read(path, drop_truncated_tail=True)] == ["a"]
    assert store.read(path) == store.read(path, drop_truncated_tail=True)  # repaired on disk


@pytest.mark.parametrize("line,message", [
    ('[1, 2]', "not an accumbench record"),
    ('{"kind": "run", "schema": 2, "id": {}}', "lacks status, config"),
    ('{"kind": "poem"}', "not an accumbench record"),
    ('{"kind": "run", "key": "a", "status": "ok", "config": {}}', "schema 1 is not"),
])
def test_records_are_validated(tmp_path, line, message):
    path = tmp_path / "r.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(BenchError, match=message):
        store.read(path)


def test_a_rerun_interval_comes_from_the_spread_between_rounds():
    import numpy as np

    from bench.report.speed_ratios import pooled_spread, rerun_ratio

    # two ratios, three rounds each: log deviations of +-0.1 around their means
    logs = [[0.0, 0.1, -0.1], [0.5, 0.6, 0.4]]
    s, df = pooled_spread(logs)
    assert df == 4 and s == pytest.approx(0.1)
    r = rerun_ratio(logs[0], (s, df))
    half = 2.776 * 0.1 * (2 / 3) ** 0.5        # t(4) · s · sqrt(2 / rounds)
    assert r.value == pytest.approx(1.0) and r.rounds == 3
    assert np.log(r.high) == pytest.approx(half, rel=1e-3)
    assert np.log(r.low) == pytest.approx(-half, rel=1e-3)
    assert rerun_ratio([0.2], None).low is None        # one round: no interval
    assert pooled_spread([[0.1], [0.3]]) is None        # no round to compare with


def test_a_later_round_is_named_after_its_configuration_and_round_one_keeps_its_key():
    from bench.config.run import RunConfig
    from bench.results.identity import configuration_name

    one = RunConfig(model="cnn", strategy="accumulate", effective_batch=128, micro=16)
    two = RunConfig(model="cnn", strategy="accumulate", effective_batch=128, micro=16, round=2)
    assert one.identity() == RunConfig(**{**one.to_json(), "round": 1}).identity()
    assert "round" not in str(one.identity().name) and two.identity().name.endswith(":round2")
    assert two.identity().key != one.identity().key
    assert configuration_name(two.identity().name) == one.identity().name
    assert configuration_name("cnn:accumulate:16x8:seed0:roundabout") == \
        "cnn:accumulate:16x8:seed0:roundabout"
    with pytest.raises(BenchError, match="round must be a positive integer"):
        RunConfig(model="cnn", strategy="accumulate", effective_batch=128, micro=16, round=0)
