"""`report`: write a report directory from stored results (never trains)."""
from __future__ import annotations

from pathlib import Path

from bench.report.build import build_report, load_levels
from bench.report.summary import update_readme


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write reports/ (tables, CSV, figures) from stored results")
    p.add_argument("--results", action="append", metavar="FILE.jsonl",
                   help="results file(s), .jsonl or .jsonl.gz (default: results/<profile>.jsonl)")
    p.add_argument("--profile", default="default", help="used to find the default results file")
    p.add_argument("--out", default="reports", help="output directory (default: reports)")
    p.add_argument("--summary", metavar="README.md",
                   help="also rewrite the summary between the accumbench markers of this file")
    add_levels_option(p)
    p.set_defaults(handler=run, tensorflow=False)


def add_levels_option(p) -> None:
    p.add_argument("--levels-from", type=Path, metavar="FILE.jsonl.gz",
                   help="another profile's results whose levels 1-2, memory and speed the "
                        "advice must carry (the study's: reports/results.jsonl.gz)")


def run(args) -> int:
    results = [Path(p) for p in args.results] if args.results else [Path(f"results/{args.profile}.jsonl")]
    path = build_report(results, Path(args.out), args.levels_from)
    print(f"wrote {path} (and CSV and figures beside it)")
    if args.summary:
        update_readme(Path(args.summary), Path(args.out), load_levels(args.levels_from))
        print(f"updated the summary in {args.summary}")
    return 0
