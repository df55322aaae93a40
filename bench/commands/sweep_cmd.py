"""`sweep`: run a profile's sweep (pytest-benchmark benchmarks, one per configuration) and write
its report. The same as `make bench`, from any directory: a profile may name the user's own
models, data and strategies by import path, relative to where it runs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bench.commands.report_cmd import add_levels_option
from bench.errors import BenchError
from bench.execute.lifecycle import child_preexec
from bench.report.build import build_report, load_levels
from bench.report.summary import update_readme
from bench.results.lock import INHERITED_FD, acquire
from bench.sweep.profiles import load_profile
from bench.sweep.resume import adopt


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="run a profile's sweep and write its report (resumable)")
    p.add_argument("--profile", required=True,
                   help="quick, default, study, full, or a path to a .toml file")
    p.add_argument("--results", help="results file (default: results/<profile>.jsonl)")
    p.add_argument("--report", metavar="DIR", help="report directory (default: reports/<profile>)")
    p.add_argument("--no-report", action="store_true", help="run the sweep only")
    p.add_argument("--summary", metavar="README.md", help="also refresh this README's summary")
    add_levels_option(p)
    p.add_argument("--resume-from", metavar="RESULTS", dest="resume_from",
                   help="committed results (e.g. reports/study/results.jsonl.gz) to continue "
                        "from: their finished configurations are not run again")
    p.add_argument("pytest_args", nargs="*", metavar="-- PYTEST ARGS",
                   help="passed to pytest, e.g. -- --accumbench-rerun --accumbench-set "
                        "measure.updates=30")
    p.set_defaults(handler=run, tensorflow=False)


def command(profile: str, results: str, extra: list[str]) -> list[str]:
    """The pytest command line of a sweep (one process, no xdist: measure runs need the
    machine to themselves; no conftest.py: a test suite's settings, e.g. thread limits, must not
    leak into measurements)."""
    return [sys.executable, "-m", "pytest", "--pyargs", "bench.sweep.test_sweep", "-m", "sweep",
            "-q", "-p", "bench.sweep.plugin", "-p", "no:randomly", "-p", "no:xdist",
            "-p", "no:cacheprovider", "--noconftest", "--accumbench-profile", profile,
            "--accumbench-results", results, *extra]


def run(args) -> int:
    name = load_profile(args.profile).name  # a bad profile fails here, with one line
    results = Path(args.results or f"results/{name}.jsonl")
    lock = acquire(results)  # one writer per results file; busy or unwritable: one line, exit 2
    if args.resume_from:
        print(adopt(Path(args.resume_from), results))
    pytest_run = subprocess.Popen(command(args.profile, str(results), args.pytest_args),
                                  pass_fds=(lock,), env={**os.environ, INHERITED_FD: str(lock)},
                                  preexec_fn=child_preexec(signal.SIGTERM))

    def forward(signum, frame) -> None:  # SIGTERM to this process alone stops the sweep too
        if pytest_run.poll() is None:
            pytest_run.send_signal(signum)

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, forward)
    status = pytest_run.wait()
    os.close(lock)
    if status < 0:  # pytest itself died from a signal
        print(f"the sweep was stopped by signal {-status}; run the same command again to resume")
        return 128 - status
    if status not in (0, 1) or args.no_report or not results.exists():
        return status

    out = Path(args.report or ("reports" if name == "default" else f"reports/{name}"))
    try:
        print(f"wrote {build_report([results], out, args.levels_from)}")
        if args.summary:
            update_readme(Path(args.summary), out, load_levels(args.levels_from))
    except OSError as e:
        raise BenchError(f"cannot write the report to {out}: {e.strerror or e}") from None
    return status
