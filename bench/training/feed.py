"""Data order and windows: every strategy sees the same samples in the same order.

Policy (documented in the README): each epoch is a seeded permutation; the remainder that does
not fill a whole effective batch is dropped, so every update averages exactly B samples and every
micro-batch has the same size. One update = one window of B samples, split into `accum`
micro-batches of `micro x replicas` consecutive samples.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from bench.data.base import Split
from bench.errors import BenchError
from bench.training.plan import AccumulationPlan

Window = tuple  # (x: array | dict[str, array], y: array, w: array), leading dims (accum, micro*replicas)


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


def _cast(split: Split, float_dtype: str) -> Split:
    """Floats to the run's dtype; missing sample weights become ones (the loss always weights)."""
    cast = lambda a: a.astype(float_dtype, copy=False) if a.dtype.kind == "f" else a  # noqa: E731
    x = {k: cast(v) for k, v in split.x.items()} if isinstance(split.x, dict) else cast(split.x)
    w = np.ones(len(split), float_dtype) if split.weight is None else cast(split.weight)
    return Split(x, cast(split.y), w)


def _columns(split: Split) -> list[np.ndarray]:
    xs = [split.x[k] for k in sorted(split.x)] if isinstance(split.x, dict) else [split.x]
    return [*xs, split.y, split.weight]


class WindowFeed:
    """Yields each epoch's windows, shaped (accum, micro x replicas, ...).

    The epoch's ordered copy lives in buffers allocated once, at construction (before memory
    baselines are taken), so feeding data adds no memory during a measured run.
    """

    def __init__(self, split: Split, plan: AccumulationPlan, seed: int,
                 float_dtype: str = "float32") -> None:
        self.plan, self.seed = plan, seed
        self.updates_per_epoch = len(split) // plan.effective_batch
        if self.updates_per_epoch == 0:
            raise BenchError(f"{len(split)} training samples are fewer than one effective "
                             f"batch of {plan.effective_batch}")
        self.samples_per_epoch = self.updates_per_epoch * plan.effective_batch
        self._source = _cast(split, float_dtype)
        self._buffer = self._source.take(np.arange(self.samples_per_epoch))

    def windows(self, epoch: int) -> Iterator[Window]:
        order = epoch_permutation(len(self._source), self.seed, epoch)[: self.samples_per_epoch]
        for dst, src in zip(_columns(self._buffer), _columns(self._source)):
            np.take(src, order, axis=0, out=dst)
        k, m = self.plan.accum, self.plan.global_micro
        shape = lambda a: a.reshape(k, m, *a.shape[1:])  # noqa: E731
        buf = self._buffer
        for u in range(self.updates_per_epoch):
            sl = slice(u * k * m, (u + 1) * k * m)
            x = ({c: shape(v[sl]) for c, v in buf.x.items()} if isinstance(buf.x, dict)
                 else shape(buf.x[sl]))
            yield x, shape(buf.y[sl]), shape(buf.weight[sl])
