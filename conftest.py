"""pytest configuration for the benchmark sweep (tests/benchmarks, marker `sweep`).

`pytest -m sweep --profile quick` runs one pytest-benchmark benchmark per configuration of the
profile (each an isolated process) and one per equivalence analysis; results are appended to
results/<profile>.jsonl as each finishes, and a second run resumes where the first stopped.
"""
from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("accumbench sweep")
    group.addoption("--profile", default="default",
                    help="sweep profile: quick, default, full, or a path to a .toml file")
    group.addoption("--set", action="append", default=[], dest="sweep_overrides",
                    metavar="KEY=VALUE", help="override one profile value, e.g. defaults.epochs=3")
    group.addoption("--only-models", default=None, help="comma-separated models of the profile")
    group.addoption("--results", default=None, help="results file (default results/<profile>.jsonl)")
    group.addoption("--rerun", action="store_true", help="start over instead of resuming")
    group.addoption("--data-dir", default=None, help="directory with local copies of data sets")


def _profile(config):
    from bench.errors import BenchError
    from bench.sweep.profiles import load_profile

    only = config.getoption("--only-models")
    try:
        return load_profile(config.getoption("--profile"), config.getoption("sweep_overrides"),
                            only.split(",") if only else None)
    except BenchError as e:  # one line, exit status 4 (pytest's usage error), no traceback
        raise pytest.UsageError(str(e)) from None


def pytest_generate_tests(metafunc):
    if "sweep_item" not in metafunc.fixturenames:
        return
    items = metafunc.config.sweep_items
    metafunc.parametrize("sweep_item", items, ids=[i.id for i in items])


@pytest.fixture(scope="session")
def sweep_session(request):
    from bench.sweep.runner import SweepSession

    config = request.config
    profile = config.sweep_profile
    results = Path(config.getoption("--results") or f"results/{profile.name}.jsonl")
    return SweepSession(profile, results, config.getoption("--data-dir"),
                        rerun=config.getoption("--rerun"))


class _ProgressPlugin:
    """One line before each sweep configuration: position, what is left, time left."""

    def __init__(self, config) -> None:
        self.config, self.progress, self.items, self.running = config, None, {}, None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        from bench.sweep.progress import Progress

        self.items = {i.nodeid: i.callspec.params["sweep_item"] for i in items
                      if "sweep_item" in getattr(getattr(i, "callspec", None), "params", {})}
        if self.items:
            self.progress = Progress([item.kind for item in self.items.values()])

    def pytest_runtest_logstart(self, nodeid, location):
        if nodeid in self.items:
            self.running = nodeid
            self.progress.start(self.items[nodeid].kind)
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:  # registered after conftest's pytest_configure runs
                reporter.write_line(self.progress.line(self.items[nodeid].id))

    def pytest_runtest_logreport(self, report):
        finished = report.when == "call" or (report.when == "setup" and not report.passed)
        if report.nodeid == self.running and finished:
            self.progress.finish(skipped=report.skipped)
            self.running = None


def pytest_configure(config):
    """Validate the profile before collection: a bad one is a usage error (one line, status 4)."""
    from bench.runtime import import_tensorflow_quietly

    import_tensorflow_quietly()  # before anything below imports it
    from bench.errors import BenchError
    from bench.sweep.plan import expand

    try:
        config.sweep_profile = _profile(config)
        config.sweep_items = expand(config.sweep_profile)
    except BenchError as e:
        raise pytest.UsageError(str(e)) from None
    config.addinivalue_line("markers", "sweep: one configuration of the benchmark sweep")
    config.pluginmanager.register(_ProgressPlugin(config), "accumbench-progress")
