"""Data order and windows: every strategy sees the same samples in the same order.

Policy (documented in the README): each epoch is a seeded permutation; the remainder that does
not fill a whole effective batch is dropped, so every update averages exactly B samples and every
micro-batch has the same size. One update = one window of B samples, split into `accum`
micro-batches of `micro x replicas` consecutive samples.

Two ways to take an epoch:
- `epoch(e)` — what measured runs use: the training split is one set of CPU tensors, made at
  construction (before any memory baseline), and each window is gathered from it when the
  trainer takes it — inside the timed region, for every strategy alike (Keras' `fit` gets a
  `tf.data` pipeline doing the same gather, b samples at a time, without prefetching);
- `windows(e)` — NumPy views of an epoch buffer, for the analyses that pick or reshape windows.
"""
from __future__ import annotations

from itertools import islice
from typing import Iterator

import numpy as np
import tensorflow as tf

from bench.config.plan import AccumulationPlan
from bench.data.base import Split
from bench.errors import BenchError

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
    """Each epoch's windows, shaped (accum, micro x replicas, ...)."""

    def __init__(self, split: Split, plan: AccumulationPlan, seed: int,
                 float_dtype: str = "float32", *, tensors: bool = False) -> None:
        self.plan, self.seed = plan, seed
        self.updates_per_epoch = len(split) // plan.effective_batch
        if self.updates_per_epoch == 0:
            raise BenchError(f"{len(split)} training samples are fewer than one effective "
                             f"batch of {plan.effective_batch}")
        self.samples_per_epoch = self.updates_per_epoch * plan.effective_batch
        self._source = _cast(split, float_dtype)
        self._buffer: Split | None = None
        self.tensors = _to_cpu_tensors(self._source) if tensors else None

    def order(self, epoch: int) -> np.ndarray:
        """The samples of epoch `epoch`, in the order they are used."""
        return epoch_permutation(len(self._source), self.seed, epoch)[: self.samples_per_epoch]

    def copied(self, n: int) -> list[Window]:
        """The first `n` windows (crossing epochs if needed), each a copy of its own: `windows`
        hands out views of one buffer, which the next epoch overwrites."""
        copy = lambda a: {k: v.copy() for k, v in a.items()} if isinstance(a, dict) else a.copy()  # noqa: E731
        out: list[Window] = []
        epoch = 0
        while len(out) < n:
            out += [tuple(copy(a) for a in w) for w in islice(self.windows(epoch), n - len(out))]
            epoch += 1
        return out

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

    def epoch(self, epoch: int) -> "EpochFeed":
        if self.tensors is None:
            self.tensors = _to_cpu_tensors(self._source)
        return EpochFeed(self, epoch)

    def windows(self, epoch: int) -> Iterator[Window]:
        if self._buffer is None:  # allocated once; each epoch is written into it in place
            self._buffer = self._source.take(np.arange(self.samples_per_epoch))
        order = self.order(epoch)
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


def _to_cpu_tensors(split: Split):
    """The split as tensors that TensorFlow's allocator owns. `tf.constant` shares a NumPy
    buffer that happens to be aligned instead of copying it, so whether the training data sat
    in the allocator (and in a probe's baseline) depended on where NumPy put it: one quick sweep
    here read every CNN configuration's allocator baseline 8 MiB lower and its peak up to
    15 MiB higher than four others of the same code. A deep copy always allocates."""
    with tf.device("/CPU:0"):
        return tf.nest.map_structure(lambda a: tf.raw_ops.DeepCopy(x=tf.constant(a)),
                                     (split.x, split.y, split.weight))


class EpochFeed:
    """One epoch's windows, gathered from the training tensors as the trainer takes them."""

    def __init__(self, feed: WindowFeed, epoch: int, limit: int | None = None) -> None:
        self.feed, self.epoch, self.limit = feed, epoch, limit

    def head(self, n: int) -> "EpochFeed":
        return EpochFeed(self.feed, self.epoch, n if self.limit is None else min(n, self.limit))

    def _gather_fn(self, shape):
        source = self.feed.tensors

        def gather(indices):
            with tf.device("/CPU:0"):
                return tf.nest.map_structure(
                    lambda t: tf.reshape(tf.gather(t, indices), (*shape, *t.shape[1:])), source)
        return gather

    def __iter__(self) -> Iterator[Window]:
        plan = self.feed.plan
        k, m = plan.accum, plan.global_micro
        gather = tf.function(self._gather_fn((k, m)), reduce_retracing=True)
        order = self.feed.order(self.epoch).reshape(-1, k * m)
        for indices in islice(order, self.limit):
            yield gather(indices)

    def dataset(self, batch: int):
        """The same gather as a `tf.data` pipeline of `batch`-sample batches (for model.fit)."""
        order = self.feed.order(self.epoch)
        if self.limit is not None:
            order = order[: self.limit * self.feed.plan.effective_batch]
        # no prefetching, injected or autotuned: the gather runs when fit takes the batch, inside
        # the timed region, as the custom loops' gather does
        options = tf.data.Options()
        options.autotune.enabled = False
        options.experimental_optimization.inject_prefetch = False
        return (tf.data.Dataset.from_tensor_slices(order).batch(batch, drop_remainder=True)
                .map(self._gather_fn((batch,))).with_options(options))
