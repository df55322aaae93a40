"""Time a model's configurations side by side in one process (`SpeedSpec`): one record each.

Every configuration is built once, from the same seed (the same initial weights) and the same
data, and warmed up (tracing, first touch). Its block length is then fixed from its warm-up
updates so that each block lasts about `block_seconds`. Each round times every configuration
once, in an order shuffled per round (seeded by the process's round), so drift and another
tenant hit them alike. A block during which the hypervisor took more than `STEAL_LIMIT` of the
machine is timed again once and flagged. A record keeps every block's update times, wall and
CPU seconds and steal share; the report takes ratios between blocks of one round.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.config.run import base_record
from bench.config.speed import SpeedSpec, block_updates
from bench.data import Sources, load_dataset
from bench.data.registry import resolve_dataset
from bench.engine.measure.environment import describe
from bench.engine.measure.run import failure_status
from bench.engine.runtime import distribution
from bench.engine.training.feed import WindowFeed
from bench.engine.training.setup import build_trainer
from bench.errors import BenchError, one_line
from bench.host.clock import BlockClock
from bench.judge.timing import Throughput
from bench.process import data_dtype
from bench.results.machine import usable_cpus

#: a block that lost more than this share of the machine's CPU time to other tenants is retried
STEAL_LIMIT = 0.05


class _Timed:
    """One configuration, built and warmed up, and the blocks timed so far."""

    def __init__(self, cfg, data, spec: SpeedSpec, record: dict) -> None:
        self.cfg, self.record = cfg, record
        self.feed = WindowFeed(data.train, cfg.plan(), cfg.seed, data_dtype(cfg.precision),
                               tensors=True)
        total = spec.warmup + spec.rounds * 2 * spec.max_block_updates
        self.trainer = build_trainer(cfg.training(), data.spec, total, distribution(1))
        self.epoch = 0
        warm = self._updates(spec.warmup)
        record["seconds"]["warmup"] = [round(s, 6) for s in warm]
        last = warm[-1] if warm else spec.block_seconds
        self.block_updates = block_updates(spec.block_seconds, last, spec.max_block_updates)
        self.blocks: list[dict[str, Any]] = []

    def _updates(self, n: int) -> list[float]:
        """`n` updates from the next epochs' windows; their seconds."""
        seconds: list[float] = []
        while len(seconds) < n:
            self.trainer.run_epoch(self.feed.epoch(self.epoch).head(n - len(seconds)),
                                   self.epoch, lambda e: seconds.append(e.seconds))
            self.epoch += 1
        return seconds

    def block(self, round_: int, position: int, cpus: int) -> dict[str, Any]:
        clock = BlockClock(cpus)
        seconds = self._updates(self.block_updates)
        clock.stop()
        return {"round": round_, "position": position, "seconds": [round(s, 6) for s in seconds],
                **clock.to_dict()}


def interleaved(spec: SpeedSpec, sources: Sources | None = None) -> list[dict[str, Any]]:
    """Build every configuration of `spec`, time them in shuffled rounds of blocks; one record
    per configuration (a configuration that fails to build is a failed record, the rest go on)."""
    sources = sources or Sources.from_env()
    first = spec.configurations[0]
    entry = first.training().entry()
    name, why = resolve_dataset(entry.data_kind, entry.recipe.dataset, first.dataset, sources)
    data = load_dataset(name, sources=sources, seed=first.seed, limit_train=spec.limit_train,
                        limit_test=first.limit_test)
    environment = describe()
    cpus = usable_cpus()
    timed: list[_Timed] = []
    records = []
    for cfg in spec.configurations:
        record = base_record(cfg)
        record.update(dataset=data.provenance.to_dict(), dataset_choice=why,
                      environment=environment, seconds={})
        records.append(record)
        started = time.perf_counter()
        try:
            timed.append(_Timed(cfg, data, spec, record))
        except BenchError:
            raise
        except Exception as e:  # noqa: BLE001 - a configuration that cannot run is a row
            record.update(status=failure_status(e), error=one_line(e))
        record["seconds"]["build"] = round(time.perf_counter() - started, 3)
    rng = np.random.default_rng([first.seed, first.round])
    order_log = []
    for r in range(spec.rounds):
        order = [timed[i] for i in rng.permutation(len(timed))]
        order_log.append([t.cfg.identity().name for t in order])
        for position, t in enumerate(order):
            block = t.block(r, position, cpus)
            if block["steal_share"] is not None and block["steal_share"] > STEAL_LIMIT:
                retried = t.block(r, position, cpus)
                retried["retried_after_steal"] = block["steal_share"]
                block = retried
            t.blocks.append(block)
    for t in timed:
        _finish(t, spec, order_log)
    return records


def _finish(t: _Timed, spec: SpeedSpec, order_log: list[list[str]]) -> None:
    seconds = [s for b in t.blocks for s in b["seconds"]]
    stats = Throughput.from_seconds(seconds, t.cfg.effective_batch, warmup=0)
    t.record.update(
        status="ok", throughput_samples_per_s=stats.samples_per_s, throughput=stats.to_dict(),
        update_seconds=seconds, updates=len(seconds) + spec.warmup,
        blocks=t.blocks, block_updates=t.block_updates,
        interleaving={"rounds": spec.rounds, "block_seconds": spec.block_seconds,
                      "configurations": len(order_log[0]),
                      "order": order_log, "steal_limit": STEAL_LIMIT},
        end_of_training=t.trainer.finish())
    t.record["seconds"].update(updates=round(sum(seconds), 3),
                               cpu=round(sum(b["cpu"] for b in t.blocks), 3))
