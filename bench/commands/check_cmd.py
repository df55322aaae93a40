"""`check`: compare a sweep with a baseline; exit 1 on a regression."""
from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="regression check of a sweep against a baseline")
    p.add_argument("--baseline", help="baseline summary (.json) or results (.jsonl)")
    p.add_argument("--current", required=True, help="results (.jsonl) or summary (.json)")
    p.add_argument("--write-baseline", metavar="FILE.json",
                   help="write the summary of --current as a new baseline instead of checking")
    p.add_argument("--memory-rel", type=float, default=None, help="allowed relative memory growth")
    p.add_argument("--throughput-rel", type=float, default=None,
                   help="allowed relative drop of the throughput ratio to the large batch")
    p.add_argument("--accuracy-abs", type=float, default=None, help="allowed accuracy drop")
    p.add_argument("--allow-device-change", action="store_true")
    p.set_defaults(handler=run)


def run(args) -> int:
    from dataclasses import replace

    from bench.errors import BenchError
    from bench.report.check import Tolerances, compare, load_summary, render

    current = load_summary(Path(args.current))
    if args.write_baseline:
        Path(args.write_baseline).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write_baseline).write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        print(f"wrote baseline {args.write_baseline} ({len(current['metrics'])} configurations)")
        return 0
    if not args.baseline:
        raise BenchError("check needs --baseline (or --write-baseline)")
    baseline = load_summary(Path(args.baseline))
    tol = Tolerances()
    for name in ("memory_rel", "throughput_rel", "accuracy_abs"):
        if getattr(args, name) is not None:
            tol = replace(tol, **{name: getattr(args, name)})
    rows, regressions = compare(baseline, current, tol, args.allow_device_change)
    print(render(rows, regressions, baseline, current))
    return 1 if regressions else 0
