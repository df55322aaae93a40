"""Results files: appended line by line; corrupt or half-written files are clear errors."""
from __future__ import annotations

import pytest

from bench.errors import BenchError
from bench.results import store


def rec(key, status="ok"):
    return {"kind": "run", "key": key, "status": status, "config": {"model": "cnn"}}


def test_append_and_read(tmp_path):
    path = tmp_path / "r.jsonl"
    store.append(path, rec("a"))
    store.append(path, rec("b", "oom"))
    store.append(path, rec("a", "error"))
    records = store.read(path)
    assert [r["key"] for r in records] == ["a", "b", "a"]
    latest = store.latest_by_key(records)
    assert latest["a"]["status"] == "error" and set(latest) == {"a", "b"}
    assert store.read(tmp_path / "missing.jsonl") == []


def test_corrupt_line_is_named(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"kind": "run", "key": "a", "status": "ok", "config": {}}\n{oops\n'
                    '{"kind": "run", "key": "b", "status": "ok", "config": {}}\n')
    with pytest.raises(BenchError, match=r"r.jsonl is corrupt: line 2 is not valid JSON"):
        store.read(path)


def test_half_written_tail(tmp_path):
    path = tmp_path / "r.jsonl"
    store.append(path, rec("a"))
    with open(path, "a") as f:
        f.write('{"kind": "run", "key": "b", "sta')
    with pytest.raises(BenchError, match="half-written"):
        store.read(path)
    assert [r["key"] for r in store.read(path, drop_truncated_tail=True)] == ["a"]
    assert store.read(path) == store.read(path, drop_truncated_tail=True)  # repaired on disk


@pytest.mark.parametrize("line,message", [('[1, 2]', "not an accumbench record"),
                                          ('{"kind": "run", "key": "a"}', "lacks status, config"),
                                          ('{"kind": "poem"}', "not an accumbench record")])
def test_records_are_validated(tmp_path, line, message):
    path = tmp_path / "r.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(BenchError, match=message):
        store.read(path)
