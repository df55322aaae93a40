"""How long the README's commands take, per machine identity: a committed record of timings.

`make test`, `make bench` and CI (`.ci/run`) each add their wall time, exit status and machine
identity to `reports/timings.json` when they finish, and the README's time table is rendered
from that record (`table`), so no time in the README is typed by hand. A time is only ever
quoted with the identity it was measured on: different cores share one CPU name, and their
TensorFlow speed differs several times over.
"""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.results import machine, store

#: the record the Makefile and CI write, and the README's table reads
DEFAULT_RECORD = Path("reports/timings.json")


def entry(command: str, seconds: float, status: int, args: str = "",
          identity: dict[str, Any] | None = None) -> dict[str, Any]:
    """One timed command on this machine (the identity the sweep records: CPU, cores, the
    allocator it turns on, software versions)."""
    if seconds < 0:
        raise BenchError(f"a command cannot take {seconds} s")
    identity = identity or machine.machine_identity("bfc")
    return {"command": command, "args": args.strip(), "seconds": round(float(seconds), 1),
            "status": int(status), "identity": identity["id"], "machine": machine.label(identity),
            "commit": _commit(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def from_sweep(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A sweep's own time, from the session records of its results file (a resumed sweep's
    sessions add up), on the identity the sessions name: a sweep run without `make bench`."""
    sessions = [r for r in records if r.get("kind") == "session"]
    if not sessions:
        raise BenchError("the results file holds no session record (a sweep writes one when "
                         "it ends)")
    identities = {(s.get("machine") or {}).get("id") for s in sessions}
    if len(identities) != 1 or None in identities:
        raise BenchError(f"the sweep's sessions ran on {len(identities)} machine identities "
                         f"(or an unknown one): no single time to record")
    profile = sessions[0].get("profile", "?")
    made = entry("python -m bench sweep", sum(s["wall_seconds"] for s in sessions), 0,
                 f"--profile {profile}", identity=sessions[0]["machine"])
    return {**made, "created": max(s["finished_at"] for s in sessions),
            "sessions": len(sessions)}


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def read(path: Path) -> list[dict[str, Any]]:
    data = store.read_json_list(path, "timings")
    missing = [i for i, e in enumerate(data)
               if not {"command", "seconds", "status", "identity", "machine"} <= set(e)]
    if missing:
        raise BenchError(f"{path}: entries {missing} lack command, seconds, status, identity "
                         f"or machine")
    return data


def add(path: Path, new: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([*read(path), new], indent=1) + "\n")


def duration(seconds: float) -> str:
    """'4 min 07 s' (a table people read, not a log)."""
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _span(found: list[dict[str, Any]]) -> str:
    times = sorted(e["seconds"] for e in found)
    if len(times) == 1:
        return duration(times[0])
    return f"{duration(times[0])} – {duration(times[-1])} over {len(times)} runs"


def _cell(found: list[dict[str, Any]]) -> str:
    """Every run's span, and where older commits' runs are among them (a profile that changed
    since), the span of the newest commit's runs."""
    if not found:
        return "—"
    newest = max(enumerate(found), key=lambda x: (x[1]["created"], x[0]))[1]  # ties: the later
    latest = newest["created"][:10]
    if len(found) == 1:
        return f"{_span(found)} ({latest})"
    cell = f"{_span(found)} (latest {latest})"
    at = [e for e in found if newest.get("commit") and e.get("commit") == newest["commit"]]
    if at and len(at) < len(found):
        cell += f"; at `{newest['commit']}`, the newest commit timed: {_span(at)}"
    return cell


def columns(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(command, args) of the successful timings, in the order first recorded."""
    return list(dict.fromkeys((e["command"], e.get("args", "")) for e in entries
                              if e["status"] == 0))


def table(entries: list[dict[str, Any]]) -> str:
    """A markdown table: a row per machine identity, a column per command (and its arguments);
    each cell the fastest and slowest successful run and how many there were."""
    ok = [e for e in entries if e["status"] == 0]
    if not ok:
        return "No command has been timed yet (`reports/timings.json` is empty)."
    cols = columns(ok)
    head = [f"`{c}{' ' + a if a else ''}`" for c, a in cols]
    rows = [f"| machine (identity) | {' | '.join(head)} |", "|---" * (len(cols) + 1) + "|"]
    for identity in dict.fromkeys(e["identity"] for e in ok):
        mine = [e for e in ok if e["identity"] == identity]
        cells = [_cell([e for e in mine if (e["command"], e.get("args", "")) == c]) for c in cols]
        rows.append(f"| {mine[-1]['machine']} ({identity}) | {' | '.join(cells)} |")
    failed = len(entries) - len(ok)
    if failed:
        rows += ["", f"{failed} timed run(s) failed and are not in the table (their records "
                     f"stay in `reports/timings.json`)."]
    return "\n".join(rows)
