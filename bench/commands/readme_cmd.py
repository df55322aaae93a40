"""`readme`: rewrite the README's blocks that come from committed records (times, baselines,
coverage; bench.report.readme_blocks). The report summaries come from `make bench`."""
from __future__ import annotations

from pathlib import Path

from bench.report.readme_blocks import render_all


def add_parser(sub) -> None:
    p = sub.add_parser("readme", help="rewrite the README's time, baseline and coverage tables "
                                      "from their committed records")
    p.add_argument("--readme", type=Path, default=Path("README.md"))
    p.add_argument("--root", type=Path, default=Path("."), help="the repository root")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    names = render_all(args.readme, args.root)
    print(f"rewrote {', '.join(names)} in {args.readme}")
    return 0
