"""What a worker's child does with a job: load its data first (`preload`, in the worker, shared
by every child it forks), then set TensorFlow up for the job, run it and write its records."""
from __future__ import annotations

import os
import time
from typing import Any

from bench.config.job import Job
from bench.data import Sources, load_dataset
from bench.data.registry import resolve_dataset
from bench.engine.equivalence.analysis import analyse
from bench.engine.measure.calibration import calibration_record
from bench.engine.measure.run import measured_run
from bench.engine.measure.speed import interleaved
from bench.engine.runtime import configure_devices, configure_threads
from bench.errors import BenchError
from bench.process import configure_allocator
from bench.results import store
from models.registry import get_model


def preload(requests: list[dict[str, Any]], data_dir: str | None) -> float:
    """Load (and decode) every data set the jobs will ask for; returns the seconds it took.
    A data set that cannot be loaded here is left for the job to fail on, with its message."""
    started = time.perf_counter()
    sources = Sources.from_env(data_dir)
    for r in requests:
        try:
            entry = get_model(r["model"], r.get("output"))
            name, _ = resolve_dataset(entry.data_kind, entry.recipe.dataset, r["dataset"], sources)
            load_dataset(name, sources=sources, seed=r["seed"], limit_train=r["limit_train"],
                         limit_test=r["limit_test"])
        except (BenchError, KeyError):
            continue
    return time.perf_counter() - started


def execute(job: Job, out_path: str, data_dir: str | None) -> None:
    """What a child does: set up TensorFlow for the job, run it, write its records."""
    for r in run_here(job, Sources.from_env(data_dir)):
        store.append(out_path, r)


def run_here(job: Job, sources: Sources) -> list[dict[str, Any]]:
    """The job's records, computed in this process (a worker's child, or a command that
    trains in-process through `bench.engine.entry`)."""
    for name, value in job.env:
        os.environ[name] = value
    configure_allocator()
    configure_threads(job.threads)
    configure_devices(job.replicas())
    if job.kind == "run":
        return [measured_run(job.spec, sources)]
    if job.kind == "speed":
        return interleaved(job.spec, sources)
    if job.kind == "calibration":
        return [calibration_record(job.spec)]
    return analyse(job.spec, sources)
