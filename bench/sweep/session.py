"""One sweep's state: its plan, its results file, its workers, and the schedule.

- Resume: an item is finished when every record it must write is stored and either succeeded
  or has used up its retries (one retry by default: a configuration that failed runs once more
  on the next resume, and its new record supersedes the old one).
- One profile run, one results file: records the current profile does not declare (a changed
  setting, another profile) are moved to `<results>.stale.jsonl`, with a message.
- Schedule: items that measure speed or memory run alone. Outcome runs and equivalence
  analyses measure neither, so up to `jobs` of them run at once (each with its share of the
  cores): when one is asked for, the following ones of the same worker start too, and while
  it runs each slot that frees takes the next of them.
- Time: every sweep invocation appends a `session` record (wall time, items run), so a report
  can say how long the sweep took and what share of it was training.
"""
from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from bench.execute.client import Handle, Worker
from bench.process import cpu_allocator
from bench.results import store
from bench.results.identity import SCHEMA
from bench.results.machine import cpu_model, machine_identity, usable_cpus, visible_gpus
from bench.sweep.plan import SweepItem
from bench.sweep.profiles import Profile


def default_jobs() -> int:
    """Jobs that may share this machine: one per core, at most four."""
    return max(1, min(4, usable_cpus()))


def succeeded(record: dict[str, Any]) -> bool:
    return record.get("status") == "ok"


class SweepSession:
    def __init__(self, profile: Profile, items: list[SweepItem], results: Path, *,
                 all_items: list[SweepItem] | None = None, data_dir: str | None = None,
                 rerun: bool = False, retries: int = 1, jobs: int | None = None,
                 say: Callable[[str], None] = print, shard: str | None = None,
                 gpus: list[str] | None = None, worker_factory=Worker) -> None:
        self.profile, self.items, self.results = profile, list(items), Path(results)
        self.data_dir, self.retries, self.say, self.shard = data_dir, retries, say, shard
        self.worker_factory = worker_factory
        # several GPUs: one configuration per GPU at a time, measure runs included
        self.gpus = visible_gpus() if gpus is None else gpus
        if len(self.gpus) > 1:
            self.jobs = len(self.gpus)
            say(f"{len(self.gpus)} GPUs: up to {self.jobs} configurations at once, one per GPU "
                f"(CUDA_VISIBLE_DEVICES per configuration)")
        else:
            self.jobs = jobs or profile.jobs or default_jobs()
        self.digest = profile.digest()
        if rerun and self.results.exists():
            self.results.unlink()
        self._reconcile(all_items or items)
        self.stored = store.by_key(store.read(self.results, drop_truncated_tail=True))
        self.workers: dict[str, Worker] = {}
        self.handles: dict[str, Handle] = {}   # item id -> handle, while running
        self.order = {item.id: n for n, item in enumerate(self.items)}
        self.started, self.started_at = time.perf_counter(), _now()
        self.ran = self.skipped = 0
        self.launched: set[str] = set()
        self.write_failed = False

    # -- resume --------------------------------------------------------------------------------
    def _reconcile(self, declared: list[SweepItem]) -> None:
        """Keep only records of this profile's configurations (and the profile's sessions: the
        time spent on records that are still current), and state the plan: the settings and
        every configuration the profile declares, so a report can show what is missing."""
        expected = {k for item in declared for k in item.keys}
        records = [r for r in store.read(self.results, drop_truncated_tail=True)
                   if r["kind"] != "plan"]
        keep, stale = [], []
        for r in records:
            current = (r["kind"] == "session" and r.get("profile") == self.profile.name) or \
                      (r["kind"] != "session" and store.record_key(r) in expected)
            (keep if current else stale).append(r)
        for r in keep:
            if r["kind"] != "session":
                r.update(profile=self.profile.name, profile_digest=self.digest)
        if stale:
            aside = self.results.with_suffix(".stale.jsonl")
            for r in stale:
                store.append(aside, r)
            self.say(f"{len(stale)} record(s) in {self.results} are not configurations of profile "
                     f"{self.profile.name} as set now (changed settings or another profile): "
                     f"moved to {aside}")
        plan = {"kind": "plan", "schema": SCHEMA, "profile": self.profile.name,
                "profile_digest": self.digest, "settings": dataclasses.asdict(self.profile),
                "items": [{"id": i.id, "phase": i.phase, "model": i.model,
                           "configurations": [x.to_dict() for x in i.job.identities()]}
                          for i in declared]}
        store.rewrite(self.results, [plan, *keep])

    def finished(self, item: SweepItem) -> bool:
        records = [self.stored.get(k) for k in item.keys]
        if any(r is None for r in records):
            return False
        if all(succeeded(r) for r in records):
            return True
        return max(r.get("attempt", 1) for r in records) > self.retries

    def resumed(self, item: SweepItem) -> bool:
        """Finished before this session started: pytest reports it as skipped."""
        return item.id not in self.launched and self.finished(item)

    def attempts(self, item: SweepItem) -> int:
        return max((self.stored[k].get("attempt", 1) for k in item.keys if k in self.stored),
                   default=0)

    # -- schedule ------------------------------------------------------------------------------
    def execute(self, item: SweepItem) -> list[dict[str, Any]]:
        """Run `item` (and, beside it, what may share the machine); returns its records."""
        if item.id in self.launched and item.id not in self.handles:
            return [self.stored[k] for k in item.keys]  # a look-ahead already ran it
        if len(self.gpus) > 1:  # a GPU each: every item may run beside the others
            if item.id not in self.handles:
                self._wait_for_slot()
                self._launch(item, threads=None)
            self._look_ahead(item, any_kind=True)
        elif item.job.exclusive:
            self._drain()
            self._launch(item, threads=None)
        else:
            if item.id not in self.handles:
                self._drain(keep_parallel=True)
                self._launch(item, threads=self._threads())
            self._look_ahead(item)
        return self._await(item)

    def _threads(self) -> int | None:
        return None if self.jobs == 1 else max(1, usable_cpus() // self.jobs)

    def _launch(self, item: SweepItem, threads: int | None) -> None:
        worker = self.workers.get(item.group)
        if worker is None:
            for group in [g for g in self.workers if g != item.group]:
                if not any(h for i, h in self.handles.items() if self._item(i).group == group):
                    self.workers.pop(group).close()  # its data set is no longer needed
            worker = self.workers[item.group] = self.worker_factory(self.data_dir)
        preload = [r for i in self.items if i.group == item.group for r in i.job.data_requests()]
        job = dataclasses.replace(item.job, threads=threads)
        if len(self.gpus) > 1:
            busy = {h.job.env_dict().get("CUDA_VISIBLE_DEVICES") for h in self.handles.values()}
            gpu = next(g for g in self.gpus if g not in busy)
            job = dataclasses.replace(job, env=(*job.env, ("CUDA_VISIBLE_DEVICES", gpu)))
        self.handles[item.id] = worker.submit(job, preload)
        self.launched.add(item.id)
        self.ran += 1

    def _wait_for_slot(self) -> None:
        while len(self.handles) >= self.jobs:
            self._collect(0.5)

    def _look_ahead(self, item: SweepItem, any_kind: bool = False) -> None:
        for nxt in self.items[self.order[item.id] + 1:]:
            if len(self.handles) >= self.jobs:
                return
            if nxt.group != item.group or (nxt.job.exclusive and not any_kind):
                return
            if nxt.id not in self.handles and not self.finished(nxt):
                self._launch(nxt, threads=self._threads())

    def _await(self, item: SweepItem) -> list[dict[str, Any]]:
        """Wait for `item`; a slot that a job beside it frees meanwhile takes the next item
        that may share the machine (the pool stays full however unequal their lengths)."""
        several_gpus = len(self.gpus) > 1
        while item.id in self.handles:
            self._collect(0.5)
            if item.id in self.handles and (several_gpus or not item.job.exclusive):
                self._look_ahead(item, any_kind=several_gpus)
        return [self.stored[k] for k in item.keys]

    def _drain(self, keep_parallel: bool = False) -> None:
        """Wait for running jobs (all of them, or only exclusive ones)."""
        while any(not (keep_parallel and not self._item(i).job.exclusive) for i in self.handles):
            self._collect(0.5)

    def _collect(self, timeout: float) -> None:
        ended: list[Handle] = []
        per = timeout / max(1, len(self.workers))
        for worker in list(self.workers.values()):
            ended += worker.poll(per)
        for handle in ended:
            item_id = next(i for i, h in self.handles.items() if h is handle)
            item = self._item(item_id)
            attempt = self.attempts(item) + 1
            for r in handle.records:
                r.update(profile=self.profile.name, profile_digest=self.digest, attempt=attempt,
                         sweep_item=item.id, phase=item.phase,
                         threads=handle.job.threads)
                try:
                    store.put(self.results, r)
                except store.ResultsWriteError:
                    self.write_failed = True
                    raise
                self.stored[store.record_key(r)] = r
            del self.handles[item_id]

    def _item(self, item_id: str) -> SweepItem:
        return self.items[self.order[item_id]]

    # -- end -----------------------------------------------------------------------------------
    def abort(self) -> None:
        """Ctrl-C or SIGTERM: kill every worker (and so every running job) at once; the jobs
        in flight are dropped, never stored."""
        for worker in self.workers.values():
            worker.kill_now()
        self.handles.clear()

    def close(self, interrupted: bool = False) -> None:
        """Stop the workers (a running job is lost, never half-stored) and record the session."""
        if not (interrupted or self.write_failed):
            self._drain()
        for worker in self.workers.values():
            worker.close()
        self.workers.clear()
        self.handles.clear()
        if self.ran and not self.write_failed:
            store.append(self.results, {
                "kind": "session", "schema": SCHEMA, "profile": self.profile.name,
                "profile_digest": self.digest, "started_at": self.started_at,
                "finished_at": _now(), "wall_seconds": round(time.perf_counter() - self.started, 1),
                "items_run": self.ran, "items_skipped": self.skipped, "jobs": self.jobs,
                "interrupted": interrupted, "cpu_model": cpu_model(), "usable_cpus": usable_cpus(),
                "machine": machine_identity(cpu_allocator(), self.gpus),
                "gpus": self.gpus, "shard": self.shard})


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
