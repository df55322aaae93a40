"""JSON-lines result files: one record per line, written as each configuration finishes.

`put` appends with a single write and fsync, so an interrupted sweep loses nothing that finished;
a record whose configuration key is already in the file *supersedes* the old line (the file is
rewritten atomically), so a rerun never leaves two rows for one configuration. Reading is strict:
a line that is not a record of a known kind and schema is a clear error naming the file and line
— except, when resuming, a half-written last line (the write that was interrupted), which is
dropped so that configuration runs again.
"""
from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from bench.errors import BenchError
from bench.results.identity import SCHEMA

REQUIRED = {"run": ("id", "status", "config"),
            "equivalence": ("id", "status", "model", "strategy", "verdict"),
            "calibration": ("id", "status"),
            "backend_memory": ("id", "status", "backend", "model", "memory"),
            "backend_speed": ("id", "status", "backend", "model", "speed"),
            "backend_outcome": ("id", "status", "backend", "model", "runs"),
            "session": ("wall_seconds",),
            "plan": ("profile", "profile_digest", "settings", "items")}


def dumps(record: Any) -> str:
    """One line of JSON; numpy scalars and arrays become plain numbers and lists."""
    return json.dumps(record, default=_jsonable)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class ResultsWriteError(BenchError):
    """The results file cannot be written (a full disk, a read-only folder)."""


def _cannot_write(path: Path, e: OSError) -> ResultsWriteError:
    return ResultsWriteError(f"cannot write {path}: {e.strerror or e} — what it held before is "
                             f"intact; free space or choose another --results, then run again "
                             f"to resume")


def append(path: Path, record: dict[str, Any]) -> None:
    """Add one record at the end of the file: one write, flushed to disk, or nothing at all (a
    write cut short by a full disk is truncated away, so no torn line is ever left)."""
    path = Path(path)
    data = (dumps(record) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as e:
        raise _cannot_write(path, e) from None
    try:
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(28, os.strerror(28))  # a short write: the disk filled up
            os.fsync(fd)
        except OSError as e:
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass
            raise _cannot_write(path, e) from None
    finally:
        os.close(fd)


def rewrite(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Replace the file's content atomically (a crash or a full disk leaves the old or the new
    file whole)."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(dumps(r) + "\n" for r in records)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise _cannot_write(path, e) from None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)


def put(path: Path, record: dict[str, Any]) -> bool:
    """Store `record`; True when it superseded an earlier record of the same configuration."""
    key = record_key(record)
    existing = read(path, drop_truncated_tail=True) if key else []
    if key and any(record_key(r) == key for r in existing):
        rewrite(path, [*(r for r in existing if record_key(r) != key), record])
        return True
    append(path, record)
    return False


def record_key(record: dict[str, Any]) -> str | None:
    return (record.get("id") or {}).get("key")


def read(path: Path, *, drop_truncated_tail: bool = False) -> list[dict[str, Any]]:
    """All records of a results file (a missing file has none)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        raw = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BenchError(f"cannot read results file {path}: {e}") from None
    lines = raw.split("\n")
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        is_tail = number == len(lines) and not raw.endswith("\n")
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if is_tail and drop_truncated_tail:
                rewrite(path, records)
                break
            what = ("half-written (interrupted?); re-run the sweep to repair it, or remove the line"
                    if is_tail else "not valid JSON (a results file holds one JSON record per line)")
            raise BenchError(f"results file {path} is corrupt: line {number} is {what}") from None
        validate(record, f"{path}:{number}")
        records.append(record)
    return records


def read_records(path: Path) -> list[dict[str, Any]]:
    """A results file, plain or gzip-compressed (reports keep a compressed copy)."""
    path = Path(path)
    if not path.exists():
        raise BenchError(f"results file {path} does not exist (run the sweep first: make bench)")
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as e:
            raise BenchError(f"results file {path} is not a readable gzip file: {e}") from None
        with tempfile.NamedTemporaryFile(suffix=".jsonl") as tmp:
            tmp.write(raw)
            tmp.flush()
            return read(Path(tmp.name))
    return read(path)


def validate(record: Any, where: str) -> None:
    if not isinstance(record, dict) or record.get("kind") not in REQUIRED:
        raise BenchError(f"{where}: not an accumbench record (expected an object with kind "
                         f"{', '.join(REQUIRED)})")
    if record.get("schema") != SCHEMA:
        raise BenchError(f"{where}: record schema {record.get('schema', 1)} is not this "
                         f"accumbench's schema {SCHEMA}; re-run the sweep (PYTEST_ARGS=--accumbench-rerun)")
    missing = [k for k in REQUIRED[record["kind"]] if k not in record]
    if missing:
        raise BenchError(f"{where}: {record['kind']} record lacks {', '.join(missing)}")


def by_key(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last record of each configuration key (records without a key are left out)."""
    return {k: r for r in records if (k := record_key(r))}


def read_json_list(path: Path, what: str) -> list[dict[str, Any]]:
    """A committed JSON file holding a list of objects (coverage measurements, timings); []
    where it does not exist yet."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise BenchError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise BenchError(f"{path} is not a list of {what}")
    return data
