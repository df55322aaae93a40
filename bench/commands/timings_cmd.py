"""`timings`: record how long a README command took on this machine, and render the README's
time table from the record (bench.results.timings)."""
from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.report.readme_blocks import write_block
from bench.results import store, timings


def add_parser(sub) -> None:
    p = sub.add_parser("timings", help="record a command's wall time on this machine; render "
                                       "the README's time table")
    p.add_argument("action", choices=("add", "show", "render"),
                   help="add: record one timing; show: print the table; render: rewrite the "
                        "README's table from the record")
    p.add_argument("--command", dest="timed", metavar="'make test'",
                   help="add: the command as the README names it")
    p.add_argument("--args", default="", help="add: its arguments (PROFILE=quick, ...)")
    p.add_argument("--seconds", type=float, help="add: its wall time")
    p.add_argument("--status", type=int, default=0, help="add: its exit status")
    p.add_argument("--from-sweep", type=Path, metavar="RESULTS.jsonl",
                   help="add: a sweep's time from its results file's session records (a sweep "
                        "run with python -m bench sweep rather than make bench)")
    p.add_argument("--record", type=Path, default=timings.DEFAULT_RECORD,
                   help=f"the record (default {timings.DEFAULT_RECORD})")
    p.add_argument("--summary", type=Path, metavar="README.md",
                   help="add, render: rewrite the table between this file's "
                        "accumbench:timings markers")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    if args.action == "add" and args.from_sweep:
        made = timings.from_sweep(store.read_records(args.from_sweep))
        timings.add(args.record, made)
        print(f"{made['command']} {made['args']}: {timings.duration(made['seconds'])} "
              f"recorded in {args.record}")
    elif args.action == "add":
        if not args.timed or args.seconds is None:
            raise BenchError("timings add needs --command and --seconds")
        timings.add(args.record, timings.entry(args.timed, args.seconds, args.status, args.args))
        print(f"{args.timed} {args.args}: {timings.duration(args.seconds)} "
              f"(exit {args.status}) recorded in {args.record}")
    table = timings.table(timings.read(args.record))
    if args.action == "show":
        print(table)
    elif args.summary:
        write_block(args.summary, "timings", table)
    return 0
