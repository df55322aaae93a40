"""Execute sweep items in fresh processes, append their records, and resume after interruption.

Every record gets the profile's name and digest (so a baseline from another profile is caught)
and the item's key; a finished item (any status) is skipped when the sweep runs again.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure.isolate import run_isolated
from bench.results import store
from bench.sweep.plan import SweepItem
from bench.sweep.profiles import Profile


class SweepSession:
    def __init__(self, profile: Profile, results: Path, data_dir: str | None = None,
                 rerun: bool = False) -> None:
        self.profile, self.results, self.data_dir = profile, Path(results), data_dir
        if rerun and self.results.exists():
            self.results.unlink()
        existing = store.read(self.results, drop_truncated_tail=True)
        self.finished_keys = {r.get("sweep_key") for r in existing}

    def finished(self, item: SweepItem) -> bool:
        return item.key in self.finished_keys

    def execute(self, item: SweepItem) -> list[dict[str, Any]]:
        records = self._run(item) if item.kind == "run" else self._equivalence(item)
        for r in records:
            r.update(profile=self.profile.name, profile_digest=self.profile.digest(),
                     sweep_key=item.key, sweep_item=item.id)
            store.append(self.results, r)
        self.finished_keys.add(item.key)
        return records

    def _run(self, item: SweepItem) -> list[dict[str, Any]]:
        return [run_isolated(item.run, item.timeout, self.data_dir)]

    def _equivalence(self, item: SweepItem) -> list[dict[str, Any]]:
        req = item.equivalence
        cmd = [sys.executable, "-m", "bench", "equivalence", "--json", "--model", req.model,
               "--strategy", ",".join(req.strategies), "--effective-batch", str(req.effective_batch),
               "--micro", ",".join(map(str, req.micros)), "--dtype", req.dtype,
               "--updates", str(req.updates), "--lr-schedule", req.lr_schedule,
               "--replicas", str(req.replicas), "--seed", str(req.seed)]
        cmd += ["--dataset", req.dataset] if req.dataset else []
        cmd += ["--preset", req.preset] if req.preset else []
        cmd += ["--data-dir", self.data_dir] if self.data_dir else []
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=item.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return _failed(req, f"timeout: no result within {item.timeout:.0f} s", started)
        records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not records:
            tail = " | ".join(ln for ln in err.strip().splitlines()[-3:])
            return _failed(req, f"exit status {proc.returncode}: {tail[-500:]}", started)
        return records


def _failed(req, reason: str, started: float) -> list[dict[str, Any]]:
    return [{"kind": "equivalence", "model": req.model, "strategy": s,
             "effective_batch": req.effective_batch, "micro": m,
             "accum": req.effective_batch // (m * req.replicas), "replicas": req.replicas,
             "pair": f"{m}x{req.effective_batch // (m * req.replicas)}", "dtype": req.dtype,
             "lr_schedule": req.lr_schedule, "updates": req.updates, "verdict": "failed",
             "reasons": [reason], "levels": {}, "seconds": round(time.perf_counter() - started, 2)}
            for s in req.strategies for m in req.micros]
