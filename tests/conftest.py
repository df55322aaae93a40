"""The tests run TensorFlow with the harness's CPU allocator (BFC), as every run of the harness
does, so in-process runs read the same probes as the sweep's.

`make test` runs two xdist workers on two cores, and many tests start processes of their own:
each TensorFlow process gets one intra-op thread (inherited by the processes it starts), so the
workers do not oversubscribe the cores with spinning thread pools. Timings are never asserted
in tests, so this changes speed only.
"""
import os

import pytest

from bench.runtime import configure_allocator

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
configure_allocator()


@pytest.hookimpl(optionalhook=True)  # an xdist hook; sweeps run pytest without xdist
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """On the xdist controller: once a worker has collected tests that read the mini sweep,
    start it in the background, so it runs beside the other tests instead of holding a worker
    (the fixture then only waits for what is left of it)."""
    config = node.config
    if getattr(config, "_accumbench_mini_sweep", None) is not None:
        return
    if not any(i.startswith("tests/test_sweep_and_report.py") for i in ids):
        return
    import subprocess
    import sys

    root = config._tmp_path_factory.getbasetemp()  # the workers' basetemp is root/popen-gwN
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    config._accumbench_mini_sweep = subprocess.Popen(
        [sys.executable, "-m", "tests.mini_sweep", str(root)], cwd=config.rootpath, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pytest_unconfigure(config) -> None:
    proc = getattr(config, "_accumbench_mini_sweep", None)
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()
