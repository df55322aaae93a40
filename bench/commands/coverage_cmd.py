"""`coverage`: do a sweep's speed intervals hold on a rerun? The share of a second sweep's
ratios inside the first sweep's intervals (bench.report.coverage)."""
from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("coverage", help="the share of a rerun's speed ratios inside a sweep's "
                                        "stated intervals")
    p.add_argument("--first", required=True, metavar="FILE.jsonl", help="the sweep whose "
                   "intervals are tested")
    p.add_argument("--second", required=True, metavar="FILE.jsonl", help="a rerun of the same "
                   "profile on the same machine")
    p.add_argument("--verbose", action="store_true", help="list every ratio")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    from tabulate import tabulate

    from bench.errors import BenchError
    from bench.report.coverage import landings, summary
    from bench.report.frames import load

    first, second = load([Path(args.first)]), load([Path(args.second)])
    if (first.profile, first.digest) != (second.profile, second.digest):
        raise BenchError(f"compare two sweeps of one profile: {args.first} is {first.profile} "
                         f"{first.digest}, {args.second} is {second.profile} {second.digest}")
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
          f"±{s['median_half_width']:.0%}")
    return 0
