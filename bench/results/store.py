"""Append-only JSONL result files, read back with validation.

Each record is one line written with a single write() and fsync, so an interrupted sweep loses
nothing that finished. Reading is strict: a line that is not a JSON record of a known kind is a
clear error naming the file and line — except, when resuming, a half-written last line (the
write that was interrupted), which is dropped so that configuration runs again.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from bench.errors import BenchError

REQUIRED = {"run": ("key", "status", "config"),
            "equivalence": ("model", "strategy", "effective_batch", "micro", "verdict")}


def dumps(record: Any) -> str:
    """One line of JSON; numpy scalars and arrays become plain numbers and lists."""
    return json.dumps(record, default=_jsonable)


def append(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = dumps(record) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


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
                _truncate_tail(path, raw)
                break
            what = ("half-written (interrupted?); re-run the sweep to repair it, or remove the line"
                    if is_tail else "not valid JSON (a results file holds one JSON record per line)")
            raise BenchError(f"results file {path} is corrupt: line {number} is {what}") from None
        validate(record, f"{path}:{number}")
        records.append(record)
    return records


def _truncate_tail(path: Path, raw: str) -> None:
    keep = raw[: raw.rfind("\n") + 1]
    with open(path, "w", encoding="utf-8") as f:
        f.write(keep)


def validate(record: Any, where: str) -> None:
    if not isinstance(record, dict) or record.get("kind") not in REQUIRED:
        raise BenchError(f"{where}: not an accumbench record (expected an object with kind "
                         f"{' or '.join(REQUIRED)})")
    missing = [k for k in REQUIRED[record["kind"]] if k not in record]
    if missing:
        raise BenchError(f"{where}: {record['kind']} record lacks {', '.join(missing)}")


def latest_by_key(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last record of each configuration key (a re-run replaces an earlier row)."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        out[r.get("key") or _equivalence_key(r)] = r
    return out


def _equivalence_key(r: dict[str, Any]) -> str:
    return "eq:" + "/".join(str(r.get(k)) for k in ("model", "strategy", "effective_batch",
                                                     "micro", "replicas", "dtype", "lr_schedule",
                                                     "dataset_name", "seed"))
