"""The sweep as a pytest plugin: `pytest tests/benchmarks -m sweep -p bench.sweep.plugin
--accumbench-profile quick`.

Every configuration of the profile is one pytest-benchmark benchmark (`sweep_item`), run
through one `SweepSession` that this plugin owns; its figures go to the results file and to
the benchmark's `extra_info`, and the machine (CPU model, allocator, TensorFlow) to
pytest-benchmark's machine info. Options carry one prefix, `--accumbench-`.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.execute.lifecycle import SWEEP_MARK, SignalStop, warn_about_leftovers
from bench.process import configure_allocator, cpu_allocator
from bench.results.lock import inherited_or_acquire
from bench.results.machine import machine_identity
from bench.results.store import ResultsWriteError
from bench.sweep.plan import expand, parse_shard, shard
from bench.sweep.profiles import load_profile
from bench.sweep.progress import Progress
from bench.sweep.session import SweepSession


def pytest_addoption(parser) -> None:
    group = parser.getgroup("accumbench", "accumbench sweep")
    group.addoption("--accumbench-profile", default=None,
                    help="sweep profile: quick, default, study, full, or a path to a .toml file")
    group.addoption("--accumbench-set", action="append", default=[], metavar="KEY=VALUE",
                    help="override one profile value, e.g. measure.updates=30")
    group.addoption("--accumbench-only-models", default=None, metavar="M[,M...]",
                    help="run only these models of the profile")
    group.addoption("--accumbench-results", default=None,
                    help="results file (default results/<profile>.jsonl)")
    group.addoption("--accumbench-rerun", action="store_true", help="start over instead of resuming")
    group.addoption("--accumbench-no-retry", action="store_true",
                    help="on resume, do not retry configurations that failed")
    group.addoption("--accumbench-jobs", type=int, default=None,
                    help="outcome runs and analyses that may share the machine (default: one "
                         "per core, at most 4; measure runs always run alone)")
    group.addoption("--accumbench-data-dir", default=None,
                    help="directory with local copies of the data sets")
    group.addoption("--accumbench-shard", default=None, metavar="i/n",
                    help="run the i-th of n deterministic shares of the profile (a job array, "
                         "a few machines); `python -m bench merge` joins their results")


class SweepPlugin:
    """All sweep state of one pytest session."""

    def __init__(self, config, profile, items) -> None:
        self.config, self.profile, self.all_items = config, profile, items
        self.items = list(items)
        self.session = None
        self.progress = None
        self.running: str | None = None
        self.nodes: dict[str, object] = {}
        self.stop = None
        self.lock_fd: int | None = None
        self.was_interrupted = False

    def pytest_generate_tests(self, metafunc) -> None:
        if "sweep_item" in metafunc.fixturenames:
            metafunc.parametrize("sweep_item", self.items, ids=[i.id for i in self.items])

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items) -> None:
        self.nodes = {i.nodeid: i.callspec.params["sweep_item"] for i in items
                      if "sweep_item" in getattr(getattr(i, "callspec", None), "params", {})}
        if not self.nodes:
            return

        opt = self.config.getoption
        selected = list(self.nodes.values())
        results = Path(opt("--accumbench-results") or f"results/{self.profile.name}.jsonl")
        try:
            self.lock_fd = inherited_or_acquire(results, self._say)  # one writer per file
            warn_about_leftovers(self._say)
            os.environ.setdefault(SWEEP_MARK, str(os.getpid()))  # marks what this sweep starts
            self.session = SweepSession(
                self.profile, selected, results, all_items=self.all_items,
                data_dir=opt("--accumbench-data-dir"), rerun=opt("--accumbench-rerun"),
                retries=0 if opt("--accumbench-no-retry") else 1, jobs=opt("--accumbench-jobs"),
                say=self._say, shard=opt("--accumbench-shard"))
        except BenchError as e:  # busy, unwritable or corrupt results: one line, no traceback
            pytest.exit(str(e), returncode=2)
        self.progress = Progress([i.phase for i in selected])
        self.stop = SignalStop(self.session.abort, self._interrupted).install()

    def _interrupted(self, signum: int) -> BaseException:
        self.was_interrupted = True
        return pytest.exit.Exception(
            f"interrupted by {signal.Signals(signum).name}: the configuration in flight was "
            f"stopped and not recorded, every finished one is stored; run the same command "
            f"again to resume", returncode=128 + signum)

    def _say(self, text: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(text)
        else:
            print(text)

    @pytest.fixture(scope="session")
    def sweep_session(self):
        return self.session

    def pytest_runtest_logstart(self, nodeid, location) -> None:
        if nodeid in self.nodes and self.progress:
            self.running = nodeid
            item = self.nodes[nodeid]
            self.progress.start(item.phase)
            self._say(self.progress.line(item.id))

    def pytest_runtest_logreport(self, report) -> None:
        finished = report.when == "call" or (report.when == "setup" and not report.passed)
        if report.nodeid == self.running and finished:
            self.progress.finish(skipped=report.skipped)
            self.running = None

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        if self.stop is not None:
            self.stop.uninstall()
        if self.session is not None:
            interrupted = self.was_interrupted or exitstatus == pytest.ExitCode.INTERRUPTED
            try:
                self.session.close(interrupted=interrupted)
            except ResultsWriteError as e:
                self._say(f"error: {e}")
                session.exitstatus = 3
        if self.lock_fd is not None:
            os.close(self.lock_fd)

    def pytest_benchmark_update_machine_info(self, config, machine_info) -> None:
        identity = machine_identity(cpu_allocator())
        machine_info.update(cpu_model=identity["cpu"]["model_name"], usable_cpus=identity["cores"],
                            accumbench_cpu_allocator=cpu_allocator(),
                            accumbench_machine=identity)


def pytest_generate_tests(metafunc) -> None:
    """Without a profile there is no sweep: the sweep's test gets no parameters (skipped)."""
    if ("sweep_item" in metafunc.fixturenames
            and not metafunc.config.pluginmanager.has_plugin("accumbench-sweep")):
        metafunc.parametrize("sweep_item", [])


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config) -> None:
    """Load and expand the profile before collection: a bad one is a usage error (one line)."""
    name = config.getoption("--accumbench-profile", default=None)
    config.addinivalue_line("markers", "sweep: one configuration of the benchmark sweep")
    if not name:
        return
    # No TensorFlow in this process (7-8 s of start-up per sweep): every configuration runs in
    # a child of the fork server, and the plan is validated without it (a user's plug-in is
    # imported, and TensorFlow with it, only to be checked).
    only = config.getoption("--accumbench-only-models")
    try:
        configure_allocator()
        profile = load_profile(name, config.getoption("--accumbench-set"))
        which = parse_shard(config.getoption("--accumbench-shard"))
        all_items = expand(profile)
        items = shard(expand(profile, only.split(",") if only else None), which)
        if which:  # the other shards' configurations are not stale here
            all_items = all_items + [i for i in items if i.phase == "calibrate"]
        if not items:
            raise BenchError(f"profile {profile.name!r} declares no configuration"
                             + (f" for {only}" if only else "") + " (nothing to run)")
    except BenchError as e:  # one line, exit status 4 (pytest's usage error), no traceback
        raise pytest.UsageError(str(e)) from None
    plugin = SweepPlugin(config, profile, all_items)
    plugin.items = items
    config.pluginmanager.register(plugin, "accumbench-sweep")
