"""The tests run TensorFlow with the harness's CPU allocator (BFC), as every run of the harness
does, so in-process runs read the same probes as the sweep's.

`make test` runs two xdist workers on two cores, and many tests start processes of their own:
each TensorFlow process gets one intra-op thread (inherited by the processes it starts), so the
workers do not oversubscribe the cores with spinning thread pools. Timings are never asserted
in tests, so this changes speed only.
"""
import os

import pytest

from bench.process import configure_allocator

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
configure_allocator()


def pytest_collection_modifyitems(config, items) -> None:
    """Slow end-to-end tests first, then the fast tests, then the mini sweep's readers: with
    tests handed out one at a time (see pytest_configure), the longest start first and the
    short ones fill in at the end (longest-first scheduling), and the readers come when the
    mini sweep's background run has finished. Stable within each group."""
    def rank(item) -> int:
        if "mini_sweep" in getattr(item, "fixturenames", ()):
            return 2
        return 0 if item.get_closest_marker("e2e") or item.get_closest_marker("slow") else 1

    items.sort(key=rank)


@pytest.hookimpl(trylast=True)
def pytest_configure(config) -> None:
    """On the xdist controller: hand tests out one at a time, and, when the run includes the
    tests that read the mini sweep, start it in the background before the workers even start,
    so it runs beside the other tests instead of holding a worker (the fixture then only waits
    for what is left of it)."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return  # a worker, or no xdist: the fixture runs the mini sweep itself when needed
    if config.option.maxschedchunk is None:
        # xdist's load scheduler otherwise hands each worker a contiguous quarter of the tests
        # at once: the slow ones, sorted first, all went to one worker (2 minutes of one idle
        # core at the end of the run, measured)
        config.option.maxschedchunk = 1
    target = "tests/test_sweep_and_report.py"
    args = [a.split("::")[0].rstrip("/") for a in config.args]
    if args and not any(target.startswith(a) or a.endswith(target) or a in (".", "tests")
                        for a in args):
        return
    import subprocess
    import sys

    root = config._tmp_path_factory.getbasetemp()  # the workers' basetemp is root/popen-gwN
    from tests.helpers import outside_env

    config._accumbench_mini_sweep = subprocess.Popen(
        [sys.executable, "-m", "tests.mini_sweep", str(root)], cwd=config.rootpath,
        env=outside_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def pytest_unconfigure(config) -> None:
    proc = getattr(config, "_accumbench_mini_sweep", None)  # not needed any more
    if proc is not None and proc.poll() is None:
        import signal

        os.killpg(proc.pid, signal.SIGKILL)  # with the sweeps it started (its process group)
        proc.wait()
