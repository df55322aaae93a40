"""Continuing a sweep from committed results: a fresh clone, a new machine or a user extending
the study starts where the committed records end, not at "[1/118]".

The sweep resumes from its own results file (configurations whose key is there are done), so
adopting committed records means adding to that file the ones it lacks. Keys hash a
configuration's settings only, never the machine, so records made on another machine (or before
machine identities were recorded) are recognised as the same configurations.
"""
from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.results import store


def adopt(committed: Path, results: Path) -> str:
    """Append to `results` the records of `committed` whose configurations it lacks (sessions
    too, so the report's bookkeeping keeps the time they took); returns what was done, in one
    line."""
    if not committed.exists():
        raise BenchError(f"--resume-from {committed}: no such file")
    theirs = store.read_records(committed)
    mine = store.read(results, drop_truncated_tail=True)
    done = {k for r in mine if (k := store.record_key(r))}
    sessions = {(r.get("started_at"), r.get("finished_at")) for r in mine if r["kind"] == "session"}
    new = [r for r in theirs
           if (store.record_key(r) and store.record_key(r) not in done)
           or (r["kind"] == "session" and (r.get("started_at"), r.get("finished_at")) not in sessions)]
    if not mine:  # the committed plan too: the report then knows what is still to run
        new = [r for r in theirs if r["kind"] == "plan"][-1:] + new
    for r in new:
        store.append(results, r)
    finished = sum(1 for r in new if r["kind"] in ("run", "equivalence"))
    return (f"resuming from {committed}: {finished} finished configuration(s) adopted into "
            f"{results}" + (f" ({len(done)} were there already)" if done else ""))
