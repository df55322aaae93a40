"""Run one configuration in a fresh process, with a timeout; every outcome becomes a record.

TensorFlow never returns memory to the device inside a process, and a crash (segfault, the
kernel's OOM killer) takes the process with it. So the parent starts `python -m bench run` for
each configuration, waits at most `timeout` seconds, and turns a crash, an out-of-memory kill or
a timeout into a recorded row — the sweep goes on.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.measure.run import RunConfig, base_record


def _tail(text: str, lines: int = 3) -> str:
    kept = [ln for ln in text.strip().splitlines() if ln.strip()][-lines:]
    return " | ".join(kept)[-600:]


def run_isolated(cfg: RunConfig, timeout: float | None = None, data_dir: str | None = None,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    cfg.validate()
    with tempfile.TemporaryDirectory(prefix="accumbench-") as tmp:
        config_file, out_file = Path(tmp) / "config.json", Path(tmp) / "record.jsonl"
        config_file.write_text(json.dumps(cfg.to_json()))
        cmd = [sys.executable, "-m", "bench", "run", "--config-file", str(config_file),
               "--out", str(out_file), "--quiet"]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, env={**os.environ, **(env or {})})
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            record = base_record(cfg)
            record.update(status="timeout", error=f"no result within {timeout:.0f} s; killed",
                          wall_seconds=round(time.perf_counter() - started, 3))
            return record
        text = out_file.read_text() if out_file.exists() else ""
    if text.strip():
        record = json.loads(text.strip().splitlines()[-1])
    else:
        record = base_record(cfg)
        record["wall_seconds"] = round(time.perf_counter() - started, 3)
        if proc.returncode in (-signal.SIGKILL, 137):
            record.update(status="oom", error="the process was killed (SIGKILL), most likely by "
                                               "the kernel's out-of-memory killer")
        elif proc.returncode < 0:
            record.update(error=f"the process died from signal {-proc.returncode} "
                                f"({signal.Signals(-proc.returncode).name}): {_tail(stderr)}")
        else:
            record.update(error=f"exit status {proc.returncode}: {_tail(stderr) or _tail(stdout)}")
    record["isolated"] = {"returncode": proc.returncode, "pid": proc.pid}
    return record
