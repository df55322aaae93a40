"""`merge`: join the results files of a sweep's shards (`--accumbench-shard i/n`) into one."""
from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.results import store


def add_parser(sub) -> None:
    p = sub.add_parser("merge", help="join the results of a sweep's shards into one results file")
    p.add_argument("results", nargs="+", metavar="FILE.jsonl", help="the shards' results files")
    p.add_argument("--out", required=True, metavar="FILE.jsonl", help="the merged results file")
    p.set_defaults(handler=run, tensorflow=False)


def merge(paths: list[Path]) -> list[dict]:
    """Every record of every shard, once; refuses shards of different profiles or settings."""

    plans, data, sessions = [], {}, []
    for path in paths:
        records = store.read(path)
        if not records:
            raise BenchError(f"{path} holds no records")
        plans += [(path, r) for r in records if r["kind"] == "plan"]
        sessions += [r for r in records if r["kind"] == "session"]
        for r in records:
            key = store.record_key(r)
            if key is None:
                continue
            if key in data and data[key][1] != r:
                raise BenchError(f"configuration {r['id']['name']} is in {data[key][0]} and in "
                                 f"{path} with different results: shards must not overlap")
            data[key] = (path, r)
    settings = {(r["profile"], r["profile_digest"]) for _, r in plans} | {
        (r.get("profile"), r.get("profile_digest")) for _, r in data.values()}
    if len(settings) != 1:
        raise BenchError("these results are of different profiles or settings ("
                         + ", ".join(sorted(f"{p} {d}" for p, d in settings)) + "): merge "
                         "only the shards of one sweep")
    plan = [plans[0][1]] if plans else []
    return [*plan, *(r for _, r in data.values()), *sessions]


def run(args) -> int:
    records = merge([Path(p) for p in args.results])
    store.rewrite(Path(args.out), records)
    kinds = [r["kind"] for r in records]
    print(f"wrote {args.out}: {kinds.count('run')} runs, {kinds.count('equivalence')} "
          f"equivalence records, {kinds.count('session')} sessions from {len(args.results)} files")
    return 0
