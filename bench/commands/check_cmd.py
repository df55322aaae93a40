"""`check`: compare a sweep with a baseline; exit 1 on a regression, 0 otherwise."""
from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub) -> None:
    from bench.report.check import Tolerances

    p = sub.add_parser("check", help="regression check of a sweep against a baseline")
    p.add_argument("--baseline", nargs="+", metavar="FILE",
                   help="baseline summary (.json), or results (.jsonl) of one or more clean runs")
    p.add_argument("--current", nargs="+", required=True, metavar="FILE",
                   help="results (.jsonl) or summary (.json) of one run; with --write-baseline, "
                        "of several clean runs on one machine (their spread becomes the baseline's)")
    p.add_argument("--write-baseline", metavar="FILE.json",
                   help="write the runs of --current as a new baseline instead of checking")
    p.add_argument("--verbose", action="store_true", help="show every check, not only failures")
    for name in Tolerances.names():
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=None,
                       help=f"gate setting (default {getattr(Tolerances(), name)})")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    from dataclasses import replace

    from bench.errors import BenchError
    from bench.report.baseline import load_runs, run_count
    from bench.report.check import Tolerances, compare, render

    current = load_runs([Path(p) for p in args.current])
    if args.write_baseline:
        Path(args.write_baseline).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write_baseline).write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        print(f"wrote baseline {args.write_baseline} ({len(current['configurations'])} "
              f"configurations, {run_count(current)} run(s))")
        return 0
    if not args.baseline:
        raise BenchError("check needs --baseline (or --write-baseline)")
    baseline = load_runs([Path(p) for p in args.baseline])
    tol = replace(Tolerances(), **{n: getattr(args, n) for n in Tolerances.names()
                                   if getattr(args, n) is not None})
    findings = compare(baseline, current, tol)
    print(render(findings, baseline, current, args.verbose))
    return 1 if any(f.result == "REGRESSION" for f in findings) else 0
