"""`coverage`: do a sweep's speed intervals hold on a rerun? The share of a second sweep's
ratios inside the first sweep's intervals (bench.report.coverage)."""
from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from bench.errors import BenchError
from bench.report.coverage import (
    add_entry,
    entry,
    first_rounds,
    landings,
    lines,
    read_entries,
    summary,
)
from bench.report.frames import from_records
from bench.report.readme_blocks import write_block
from bench.results import store


def add_parser(sub) -> None:
    p = sub.add_parser("coverage", help="the share of a rerun's speed ratios inside a sweep's "
                                        "stated intervals")
    p.add_argument("--first", required=True, metavar="FILE.jsonl", help="the sweep whose "
                   "intervals are tested")
    p.add_argument("--second", required=True, metavar="FILE.jsonl", help="a rerun of the same "
                   "profile on the same machine")
    p.add_argument("--rounds", type=int, default=None, metavar="N",
                   help="use only the first N rounds of both sweeps (the intervals a sweep of N "
                        "rounds would state)")
    p.add_argument("--verbose", action="store_true", help="list every ratio")
    p.add_argument("--record", metavar="coverage.json", type=Path,
                   help="add the measurement (machine, profile digest, both files) to this "
                        "record, which the README and the report quote (reports/coverage.json)")
    p.add_argument("--summary", metavar="README.md", type=Path,
                   help="with --record: rewrite the coverage table between this file's "
                        "accumbench:coverage markers from the record")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    if args.rounds is not None and args.rounds < 1:
        raise BenchError(f"--rounds must be a positive integer, got {args.rounds}")
    first, second = (from_records(first_rounds(store.read_records(Path(p)), args.rounds))
                     for p in (args.first, args.second))
    if first.profile != second.profile:
        raise BenchError(f"compare two sweeps of one profile: {args.first} is {first.profile}, "
                         f"{args.second} is {second.profile}")
    found = landings(first, second)
    s = summary(found)
    if not s["ratios"]:
        raise BenchError(f"{args.first} states no speed intervals to test")
    if args.verbose:
        print(tabulate([[x.model, x.configuration, x.ratio, x.first.text(), f"{x.second:.2f}",
                         "inside" if x.inside else "OUTSIDE"] for x in found],
                       ["model", "configuration", "ratio", "first", "second", ""],
                       disable_numparse=True))
    kind = (f"95% rerun intervals ({s['rounds']} rounds)" if s["rounds"] > 1
            else "95% intervals of one process's update times (one round)")
    print(f"{s['inside']} of {s['ratios']} ratios of {args.second} inside {args.first}'s {kind}: "
          f"coverage {s['coverage']:.0%}; the intervals' median half-width "
          f"±{s['median_half_width']:.1%}")
    if args.summary and not args.record:
        raise BenchError("--summary renders the table from --record: give both")
    if args.record:
        add_entry(args.record, entry(first, second, (args.first, args.second), found))
        print(f"recorded in {args.record}")
        if args.summary:
            write_block(args.summary, "coverage", "\n".join(lines(read_entries(args.record))))
            print(f"updated the coverage table in {args.summary}")
    return 0
