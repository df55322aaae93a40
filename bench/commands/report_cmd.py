"""`report`: write a report directory from stored results (never trains)."""
from __future__ import annotations

from pathlib import Path

from bench.report.build import build_report
from bench.report.summary import update_readme


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write reports/ (tables, CSV, figures) from stored results")
    p.add_argument("--results", action="append", metavar="FILE.jsonl",
                   help="results file(s), .jsonl or .jsonl.gz (default: results/<profile>.jsonl)")
    p.add_argument("--profile", default="default", help="used to find the default results file")
    p.add_argument("--out", default="reports", help="output directory (default: reports)")
    p.add_argument("--summary", metavar="README.md",
                   help="also rewrite the summary between the accumbench markers of this file")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    results = [Path(p) for p in args.results] if args.results else [Path(f"results/{args.profile}.jsonl")]
    path = build_report(results, Path(args.out))
    print(f"wrote {path} (and CSV and figures beside it)")
    if args.summary:
        update_readme(Path(args.summary), Path(args.out))
        print(f"updated the summary in {args.summary}")
    return 0
