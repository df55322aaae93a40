"""Data order and windows for TensorFlow: the order and windows of `bench.data.windows` (every
strategy sees the same samples in the same order), as tensors.

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

import tensorflow as tf

from bench.config.plan import AccumulationPlan
from bench.data.base import Split
from bench.data.windows import Window, Windows, epoch_permutation

__all__ = ["Window", "WindowFeed", "EpochFeed", "epoch_permutation"]


class WindowFeed(Windows):
    """Each epoch's windows, shaped (accum, micro x replicas, ...): as NumPy views (`windows`)
    or gathered from TensorFlow tensors (`epoch`)."""

    def __init__(self, split: Split, plan: AccumulationPlan, seed: int,
                 float_dtype: str = "float32", *, tensors: bool = False) -> None:
        super().__init__(split, plan, seed, float_dtype)
        self.tensors = _to_cpu_tensors(self._source) if tensors else None
        self._gathers: dict[tuple[int, ...], tf.types.experimental.PolymorphicFunction] = {}

    def epoch(self, epoch: int) -> "EpochFeed":
        if self.tensors is None:
            self.tensors = _to_cpu_tensors(self._source)
        return EpochFeed(self, epoch)

    def gather(self, shape: tuple[int, ...]):
        """The traced gather of one window shape, made once per feed: a `tf.function` made per
        epoch was traced again on the first window of every epoch, inside that update's timed
        region (measured in side-by-side blocks, one epoch each: the first update of every
        block ran 1.4-1.6x slower, about 0.2 s for grn_vsn's dict of features)."""
        if shape not in self._gathers:
            self._gathers[shape] = tf.function(_gather_fn(self.tensors, shape),
                                               reduce_retracing=True)
        return self._gathers[shape]


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

    def __iter__(self) -> Iterator[Window]:
        plan = self.feed.plan
        k, m = plan.accum, plan.global_micro
        gather = self.feed.gather((k, m))
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
                .map(_gather_fn(self.feed.tensors, (batch,))).with_options(options))


def _gather_fn(source, shape: tuple[int, ...]):
    """Samples `indices` of the training tensors, shaped (*shape, ...)."""
    def gather(indices):
        with tf.device("/CPU:0"):
            return tf.nest.map_structure(
                lambda t: tf.reshape(tf.gather(t, indices), (*shape, *t.shape[1:])), source)
    return gather
