"""Data order and windows in NumPy, for every framework: every strategy sees the same samples
in the same order.

Policy (documented in the README): each epoch is a seeded permutation; the remainder that does
not fill a whole effective batch is dropped, so every update averages exactly B samples and every
micro-batch has the same size. One update = one window of B samples, split into `accum`
micro-batches of `micro x replicas` consecutive samples. The TensorFlow feed
(`bench.engine.training.feed`) adds tensors to this; the backend lane uses it as it is.
"""
from __future__ import annotations

from itertools import islice
from typing import Iterator, Protocol

import numpy as np

from bench.data.base import Split
from bench.errors import BenchError


class Plan(Protocol):
    """How a window splits (`bench.config.plan.AccumulationPlan`, a floor above)."""

    @property
    def accum(self) -> int: ...
    @property
    def global_micro(self) -> int: ...
    @property
    def effective_batch(self) -> int: ...


Window = tuple  # (x: array | dict[str, array], y: array, w: array), leading dims (accum, micro*replicas)


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


def cast_split(split: Split, float_dtype: str) -> Split:
    """Floats to the run's dtype; missing sample weights become ones (the loss always weights)."""
    cast = lambda a: a.astype(float_dtype, copy=False) if a.dtype.kind == "f" else a  # noqa: E731
    x = {k: cast(v) for k, v in split.x.items()} if isinstance(split.x, dict) else cast(split.x)
    w = np.ones(len(split), float_dtype) if split.weight is None else cast(split.weight)
    return Split(x, cast(split.y), w)


def columns(split: Split) -> list[np.ndarray]:
    xs = [split.x[k] for k in sorted(split.x)] if isinstance(split.x, dict) else [split.x]
    return [*xs, split.y, split.weight]


class Windows:
    """Each epoch's windows, shaped (accum, micro x replicas, ...), as NumPy arrays."""

    def __init__(self, split: Split, plan: Plan, seed: int,
                 float_dtype: str = "float32") -> None:
        self.plan, self.seed = plan, seed
        self.updates_per_epoch = len(split) // plan.effective_batch
        if self.updates_per_epoch == 0:
            raise BenchError(f"{len(split)} training samples are fewer than one effective "
                             f"batch of {plan.effective_batch}")
        self.samples_per_epoch = self.updates_per_epoch * plan.effective_batch
        self._source = cast_split(split, float_dtype)
        self._buffer: Split | None = None

    def order(self, epoch: int) -> np.ndarray:
        """The samples of epoch `epoch`, in the order they are used."""
        return epoch_permutation(len(self._source), self.seed, epoch)[: self.samples_per_epoch]

    def copied(self, n: int) -> list[Window]:
        """The first `n` windows (crossing epochs if needed), each a copy of its own: `windows`
        hands out views of one buffer, which the next epoch overwrites."""
        copy = lambda a: {k: v.copy() for k, v in a.items()} if isinstance(a, dict) else a.copy()  # noqa: E731
        return [tuple(copy(a) for a in w) for w in islice(self.endless(), n)]

    def endless(self) -> Iterator[Window]:
        """Windows epoch after epoch, each epoch in its own seeded order: runs longer than an
        epoch. A window is a view the next epoch overwrites: use it before taking the next."""
        epoch = 0
        while True:
            yield from self.windows(epoch)
            epoch += 1

    def window_weights(self, updates: int) -> list[list[int]]:
        """Each of the first `updates` windows' micro-batch weights (token data: how many
        tokens each micro-batch carried), in the order they were trained."""
        per_sample = self._source.weight.reshape(len(self._source), -1).sum(axis=1)
        k, m = self.plan.accum, self.plan.global_micro
        out: list[list[int]] = []
        epoch = 0
        while len(out) < updates:
            order = self.order(epoch).reshape(-1, k, m)[: updates - len(out)]
            out += per_sample[order].sum(axis=2).round().astype(int).tolist()
            epoch += 1
        return out

    def windows(self, epoch: int) -> Iterator[Window]:
        if self._buffer is None:  # allocated once; each epoch is written into it in place
            self._buffer = self._source.take(np.arange(self.samples_per_epoch))
        order = self.order(epoch)
        for dst, src in zip(columns(self._buffer), columns(self._source)):
            np.take(src, order, axis=0, out=dst)
        k, m = self.plan.accum, self.plan.global_micro
        shape = lambda a: a.reshape(k, m, *a.shape[1:])  # noqa: E731
        buf = self._buffer
        for u in range(self.updates_per_epoch):
            sl = slice(u * k * m, (u + 1) * k * m)
            x = ({c: shape(v[sl]) for c, v in buf.x.items()} if isinstance(buf.x, dict)
                 else shape(buf.x[sl]))
            yield x, shape(buf.y[sl]), shape(buf.weight[sl])
