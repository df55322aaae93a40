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
