"""Run twice at once, on a full disk or a read-only folder, next to an earlier sweep's leftovers:
one line, nothing torn. (Interrupting a real sweep with SIGINT, SIGTERM and SIGKILL is part of
the mini sweep in test_sweep_and_report.py.)"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.results import lock, store
from bench.results.identity import SCHEMA
from tests.helpers import ROOT, outside_env

PROFILE = """
description = "tiny measure runs"
[defaults]
preset = "small"
dataset = "synthetic_fashion_mnist"
effective_batch = 32
micros = [32, 16]
timeout = 300
[measure]
strategies = ["large_batch", "accumulate"]
references = []
updates = 16
[equivalence]
strategies = []
[outcome]
models = []
[models.cnn]
"""


def _env() -> dict:
    return {k: v for k, v in outside_env().items() if k != lock.INHERITED_FD}


def _start(tmp: Path, results: Path, **kw) -> subprocess.Popen:
    (tmp / "tiny.toml").write_text(PROFILE)
    cmd = [sys.executable, "-m", "bench", "sweep", "--profile", str(tmp / "tiny.toml"),
           "--results", str(results), "--no-report"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=_env(), **kw)


def test_a_second_sweep_on_the_same_results_is_refused_naming_the_holder(tmp_path):
    results = tmp_path / "r.jsonl"
    store.append(results, {"kind": "session", "schema": SCHEMA, "wall_seconds": 1.0, "profile": "x"})
    before = results.read_bytes()
    held = lock.acquire(results)
    try:
        sweep = _start(tmp_path, results)
        out, _ = sweep.communicate(timeout=120)
        assert sweep.returncode == 2
        lines = [ln for ln in out.splitlines() if ln.strip()]
        assert lines == [f"error: {results} is being written by another sweep (pid {os.getpid()}, "
                         + lines[0].split(f"(pid {os.getpid()}, ", 1)[1]]
        assert results.read_bytes() == before
    finally:
        os.close(held)


def test_a_killed_holders_lock_is_taken_over(tmp_path):
    results = tmp_path / "r.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from bench.results import lock; "
        f"lock.acquire(Path({str(results)!r})); print('held', flush=True); time.sleep(60)")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(lock.ResultsBusy, match=f"pid {holder.pid}"):
        lock.acquire(results)
    holder.kill()
    holder.wait()
    said = []
    os.close(lock.acquire(results, said.append))
    assert said == [f"taking over the lock of an earlier sweep of {results} that is no longer "
                    f"running (pid {holder.pid})"]


@pytest.fixture
def small_filesystem(tmp_path):
    """A 1 MiB tmpfs (root on Linux), or, where mounting is not allowed, a file-size limit
    applied to the processes that write (`limit`)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                             capture_output=True).returncode == 0
    yield mount, mounted
    if mounted:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path, leave: int) -> None:
    """Fill the filesystem until fewer than `leave` bytes are free."""
    with open(mount / "filler", "wb") as f:
        try:
            while os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize > leave:
                f.write(b"\0" * 4096)
                f.flush()
        except OSError:
            pass


def _limit_file_size(size: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


def test_a_full_disk_is_one_line_and_leaves_the_results_intact(small_filesystem, tmp_path):
    mount, mounted = small_filesystem
    results = mount / "r.jsonl"
    for i in range(3):
        store.append(results, {"kind": "session", "schema": SCHEMA, "wall_seconds": float(i), "profile": "tiny"})
    before = results.read_bytes()
    record = {"kind": "session", "schema": SCHEMA, "wall_seconds": 9.0, "profile": "tiny", "pad": "x" * 20000}
    code = ("import sys; from pathlib import Path; from bench.results import store; "
            f"store.append(Path({str(results)!r}), {record!r})")
    if mounted:
        _fill(mount, leave=8192)  # room for part of the record, not all of it
        extra = {}
    else:
        extra = {"preexec_fn": _limit_file_size(len(before) + 8192)}
    direct = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, **extra)
    assert direct.returncode != 0 and "ResultsWriteError: cannot write" in direct.stderr
    assert results.read_bytes() == before  # no torn line: the short write was truncated away
    # the sweep on that file: one line, non-zero exit, the file as it was
    if mounted:
        _fill(mount, leave=0)
    else:
        extra = {"preexec_fn": _limit_file_size(len(before))}
    sweep = _start(tmp_path, results, **extra)
    text, _ = sweep.communicate(timeout=120)
    assert sweep.returncode != 0 and "Traceback" not in text, text[-3000:]
    assert f"cannot write {results}" in text and "intact" in text
    assert results.read_bytes() == before
    assert [r["wall_seconds"] for r in store.read(results)] == [0.0, 1.0, 2.0]


def test_a_read_only_results_folder_is_one_line(small_filesystem, tmp_path):
    mount, mounted = small_filesystem
    if not mounted:
        pytest.skip("mounting a filesystem is not permitted here (needs root)")
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    sweep = _start(tmp_path, mount / "r.jsonl")
    out, _ = sweep.communicate(timeout=120)
    assert sweep.returncode == 2 and out.strip().splitlines() == [
        f"error: cannot write next to {mount / 'r.jsonl'}: Read-only file system "
        f"({mount / 'r.jsonl.lock'})"]


def test_a_sweep_says_when_an_earlier_sweeps_processes_still_run(tmp_path):
    from bench.execute.lifecycle import SWEEP_MARK, leftovers

    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                              env={**os.environ, SWEEP_MARK: "1"}, start_new_session=True)
    try:
        assert orphan.pid in leftovers()
        said = []
        from bench.execute.lifecycle import warn_about_leftovers

        warn_about_leftovers(said.append)
        assert len(said) == 1 and str(orphan.pid) in said[0] and "share the CPU" in said[0]
    finally:
        orphan.kill()
        orphan.wait()
    assert orphan.pid not in leftovers()
