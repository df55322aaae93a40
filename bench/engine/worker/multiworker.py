"""What each worker process of `bench.engine.launch` runs: one task under this process's
`MultiWorkerMirroredStrategy` ("run": a measured run, each worker measuring its own memory and
speed; "trajectory": an equivalence analysis's updates from given initial weights), its result
pickled for the launcher."""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
from pathlib import Path

from bench.config.run import RunConfig
from bench.data import Sources, load_dataset
from bench.engine.equivalence import trajectory
from bench.engine.measure.run import measured_run
from bench.engine.runtime import configure_threads, multiworker_strategy
from bench.engine.training.feed import WindowFeed
from bench.portable.comparable import make_comparable
from bench.process import configure_allocator, data_dtype


def _task_run(payload: dict, data_dir: str | None) -> dict:
    record = measured_run(RunConfig.from_json(payload["config"]), Sources.from_env(data_dir))
    record["worker"] = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    return record


def _task_trajectory(payload: dict, data_dir: str | None):
    config = payload["config"]
    data = load_dataset(payload["dataset"], sources=Sources.from_env(data_dir),
                        seed=config.seed, limit_train=payload["limit_train"])
    feed = WindowFeed(data.train, config.plan, config.seed, data_dtype(config.precision))
    return trajectory.run_updates(config, data.spec, feed, payload["updates"],
                                  multiworker_strategy(), payload["initial"], make_comparable,
                                  record_first_gradient=True)


TASKS = {"run": _task_run, "trajectory": _task_trajectory}


def worker_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine.worker.multiworker")
    parser.add_argument("--task", choices=list(TASKS), required=True)
    parser.add_argument("--payload", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    configure_allocator()
    configure_threads(args.threads)
    multiworker_strategy()  # first: TensorFlow wants the collective context before any other op
    result = TASKS[args.task](pickle.loads(Path(args.payload).read_bytes()), args.data_dir)
    Path(args.out).write_bytes(pickle.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
