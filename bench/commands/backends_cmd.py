"""`backends`: the backends profile (bench/config/backends.toml) on JAX and PyTorch through
the backend lane, resumable, then its page (reports/backends/README.md).

Levels 1-2 go through the TensorFlow analysis where TensorFlow is installed (it hands the lane
its initial weights and measures how far each backend's large batch ends from its own); memory,
speed and level 3 (the trained outcome, a process per seed) are the lane's alone. Every
finished item is stored at once: an interrupted run resumes where it stopped, and
`--report-only` rebuilds the page from the records."""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from bench.config.lane_profile import DEFAULT_PROFILE, LaneProfile
from bench.config.request import EquivalenceRequest
from bench.data import Sources
from bench.errors import BenchError, one_line
from bench.execute.lane import missing_packages, run_lane
from bench.report.backends import build, summary
from bench.report.readme_blocks import write_block
from bench.results.identity import SCHEMA
from bench.results.store import by_key, put, read

RECORDS = Path("reports/backends/records.jsonl")


def add_parser(sub) -> None:
    p = sub.add_parser("backends", help="the same question on Keras' JAX and PyTorch backends "
                                        "(the backend lane) -> reports/backends")
    p.add_argument("--profile", default=str(DEFAULT_PROFILE), help="the backends profile")
    p.add_argument("--records", default=str(RECORDS), help="JSON-lines records (resumed)")
    p.add_argument("--out", default="reports/backends", help="where the page goes")
    p.add_argument("--tensorflow-results", default="reports/results.jsonl.gz",
                   help="TensorFlow's default-profile records, compared on the page")
    p.add_argument("--report-only", action="store_true", help="rebuild the page, run nothing")
    p.add_argument("--summary", help="also rewrite the backends block of this README")
    p.add_argument("--data-dir", help="directory with local copies of the data sets")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    profile = LaneProfile.load(Path(args.profile))
    records_path = Path(args.records)
    if not args.report_only:
        missing = {b: missing_packages(b) for b in profile.backends}
        missing = {b: m for b, m in missing.items() if m}
        if missing:
            raise BenchError("; ".join(f"{b} needs {', '.join(m)}" for b, m in missing.items())
                             + ": make setup-backends installs them")
        _run_profile(profile, records_path, Sources.from_env(args.data_dir))
    records = read(records_path)
    page = build(records, Path(args.out), Path(args.tensorflow_results))
    if args.summary:
        write_block(Path(args.summary), "backends", summary(records, Path(args.tensorflow_results)))
    print(f"wrote {page}")
    return 0


def _run_profile(profile: LaneProfile, path: Path, sources: Sources) -> None:
    done = by_key(read(path, drop_truncated_tail=True))
    items = [("equivalence", r) for r in profile.equivalence()]
    items += [("memory", m) for c in profile.costs(0) for m in c.memory_requests()]
    items += [("speed", c) for p in range(profile.speed_processes) for c in profile.costs(p)]
    items += [("outcome", r) for r in profile.outcome()]
    todo = [(kind, r) for kind, r in items if not _done(kind, r, done)]
    print(f"backends: {len(items) - len(todo)} of {len(items)} items recorded; {len(todo)} to run")
    for n, (kind, request) in enumerate(todo, 1):
        started = time.perf_counter()
        for record in _measure(kind, request, sources):
            put(path, record)
        print(f"  [{n}/{len(todo)}] {kind} {request.backend} {request.model}: "
              f"{time.perf_counter() - started:.0f} s", flush=True)


def _done(kind: str, request, done: dict) -> bool:
    ids = request.identities() if kind == "equivalence" else [request.identity()]
    return all(i.key in done for i in ids)


def _measure(kind: str, request, sources: Sources) -> list[dict]:
    if kind == "equivalence":
        return _equivalence(request, sources)
    task = "outcome" if kind == "outcome" else "measure"
    try:
        result = run_lane(request.backend, {"task": task, "request": request,
                                            "sources": sources})
        status, body = "ok", result
    except BenchError as e:  # a configuration that crashes the lane is a row; the run goes on
        status, body = "error", {"error": one_line(e, 300)}
    part = {"memory": "memory", "speed": "speed", "outcome": "runs"}[kind]
    return [{"kind": f"backend_{kind}", "schema": SCHEMA, "id": request.identity().to_dict(),
             "status": status if body.get(part) is not None or status == "error" else "error",
             "backend": request.backend, "model": request.model,
             **{part: body.pop(part, None)}, **body}]


def _equivalence(req: EquivalenceRequest, sources: Sources) -> list[dict]:
    try:
        if importlib.util.find_spec("tensorflow") is None:
            return run_lane(req.backend, {"task": "equivalence", "request": req,
                                          "sources": sources})["records"]
        # the training layer, entered here only: TensorFlow's large batch beside the lane's
        from bench.engine.entry import analyse

        return analyse(req, sources)
    except BenchError as e:  # the lane crashed: a failed row per combination, the run goes on
        return [{**req.record_head(s, plan, {}, req.dataset or "", ""), "status": "error",
                 "verdict": "failed", "reasons": [one_line(e, 300)], "levels": {}}
                for s, plan in req.combinations()]

