"""`check`: compare a sweep with a baseline; exit 1 on a regression or on what it could not
compare (a changed profile, changed settings, configurations the baseline lacks) unless
`--accept-changes` accepts the latter; 0 otherwise."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bench.errors import BenchError
from bench.report.baseline import baseline_for, baseline_path, load_runs, run_count
from bench.report.check import Tolerances, compare, failing, render
from bench.results import machine


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="regression check of a sweep against a baseline")
    p.add_argument("--baseline", nargs="+", metavar="FILE",
                   help="baseline summary (.json), a folder of them (one per machine identity: "
                        "the current run's is used), or results (.jsonl) of one or more clean runs")
    p.add_argument("--current", nargs="+", required=True, metavar="FILE",
                   help="results (.jsonl) or summary (.json) of one run; with --write-baseline, "
                        "of several clean runs on one machine (their spread becomes the baseline's)")
    p.add_argument("--write-baseline", metavar="FILE.json",
                   help="write the runs of --current as a new baseline instead of checking (a "
                        "folder: named by the runs' machine identity)")
    p.add_argument("--verbose", action="store_true", help="show every check, not only failures")
    p.add_argument("--accept-changes", action="store_true",
                   help="exit 0 although the profile's settings changed, or configurations are "
                        "not comparable or not in the baseline (they are still listed); for "
                        "checking runs of another profile version, e.g. older shared runs")
    for name in Tolerances.names():
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=None,
                       help=f"gate setting (default {getattr(Tolerances(), name)})")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    current = load_runs([Path(p) for p in args.current])
    if args.write_baseline:
        target = baseline_path(Path(args.write_baseline), current)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        identity = machine.of_environment(current["environment"])
        print(f"wrote baseline {target} ({len(current['configurations'])} configurations, "
              f"{run_count(current)} run(s)) on "
              f"{machine.label(identity, current['environment'].get('device'))}")
        return 0
    if not args.baseline:
        raise BenchError("check needs --baseline (or --write-baseline)")
    paths = [Path(p) for p in args.baseline]
    if len(paths) == 1 and paths[0].is_dir():
        chosen, why = baseline_for(paths[0], current)
        print(f"baseline {chosen}: {why}")
        paths = [chosen]
    baseline = load_runs(paths)
    tol = replace(Tolerances(), **{n: getattr(args, n) for n in Tolerances.names()
                                   if getattr(args, n) is not None})
    findings = compare(baseline, current, tol)
    print(render(findings, baseline, current, args.verbose, args.accept_changes))
    return 1 if failing(findings, args.accept_changes) else 0
