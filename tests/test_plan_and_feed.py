"""The pair arithmetic, its errors, and the data order every strategy shares."""
from __future__ import annotations

import numpy as np
import pytest

from bench.config.plan import AccumulationPlan, pairs_down_to
from bench.data.base import Split
from bench.engine.training.feed import WindowFeed
from bench.errors import BenchError


def test_plan_arithmetic():
    p = AccumulationPlan.of(256, 32)
    assert (p.accum, p.global_micro, p.label) == (8, 32, "32x8")
    p = AccumulationPlan.of(256, 32, replicas=2)
    assert (p.accum, p.global_micro, p.label) == (4, 64, "32x4x2rep")
    assert AccumulationPlan.of(256, accum=4).micro == 64


@pytest.mark.parametrize("args,message", [
    ((256, 48), "not divisible by micro-batch 48"),
    ((256, 0), "must be a positive integer"),
    ((-8, 2), "must be a positive integer"),
    ((256, 64, 2), "64 x accum 2 x replicas 1 = 128, not the effective batch 256"),
    ((256, 512), "not divisible"),
    ((256, 3.5), "must be a positive integer"),
])
def test_impossible_pairs_are_clear_errors(args, message):
    with pytest.raises(BenchError, match=message):
        AccumulationPlan.of(*args)


def test_pairs_down_to():
    assert [p.label for p in pairs_down_to(256, 8)] == ["256x1", "128x2", "64x4", "32x8"]
    assert [p.label for p in pairs_down_to(96, 8)] == ["96x1", "48x2", "24x4", "12x8"]
    assert [p.label for p in pairs_down_to(6, 8)] == ["6x1", "3x2"]


def _split(n):
    return Split(np.arange(n, dtype=np.float32)[:, None], np.arange(n), None)


def test_every_plan_sees_the_same_samples_in_the_same_order():
    split = _split(1000)
    big = WindowFeed(split, AccumulationPlan.of(64, 64), seed=5)
    small = WindowFeed(split, AccumulationPlan.of(64, 16), seed=5)
    assert big.updates_per_epoch == small.updates_per_epoch == 15  # remainder of 40 dropped
    for (xb, yb, wb), (xs, ys, _) in zip(big.windows(0), small.windows(0)):
        assert xb.shape == (1, 64, 1) and xs.shape == (4, 16, 1)
        assert np.array_equal(yb.reshape(-1), ys.reshape(-1))
        assert np.array_equal(wb, np.ones_like(wb))  # no sample weights: ones
    first0 = next(big.windows(0))[1].copy()
    first1 = next(big.windows(1))[1]
    assert not np.array_equal(first0, first1)  # a new permutation each epoch
    assert np.array_equal(first0, next(big.windows(0))[1])  # reproducible


def test_epoch_feed_gathers_the_same_windows_and_dataset_batches():
    """What measured runs use: the same windows as the NumPy path, gathered from CPU tensors
    when taken; and, for model.fit, the same samples as a tf.data pipeline of micro-batches."""
    split = Split({"a": np.arange(200, dtype=np.float32),
                   "b": np.array([str(i) for i in range(200)], object)},
                  np.arange(200), np.arange(200, dtype=np.float32) * 2)
    feed = WindowFeed(split, AccumulationPlan.of(40, 10), seed=3, tensors=True)
    numpy_windows = [tuple(np.copy(a) if not isinstance(a, dict) else
                           {k: np.copy(v) for k, v in a.items()} for a in w)
                     for w in feed.windows(1)]
    gathered = list(feed.epoch(1))
    assert len(gathered) == len(numpy_windows) == 5
    for (x, y, w), (nx, ny, nw) in zip(gathered, numpy_windows):
        assert tuple(y.shape) == (4, 10)
        assert np.array_equal(y.numpy(), ny) and np.array_equal(w.numpy(), nw)
        assert np.array_equal(x["a"].numpy(), nx["a"])
        assert [s.decode() for s in x["b"].numpy().ravel()] == list(nx["b"].ravel())
    batches = list(feed.epoch(1).head(2).dataset(10))
    assert len(batches) == 8  # 2 windows x 4 micro-batches
    assert np.array_equal(np.concatenate([b[1].numpy() for b in batches]),
                          np.concatenate([ny.ravel() for _, ny, _ in numpy_windows[:2]]))


def test_feed_reuses_one_buffer():
    feed = WindowFeed(_split(256), AccumulationPlan.of(64, 32), seed=0)
    a = next(feed.windows(0))[0]
    b = next(feed.windows(1))[0]
    assert np.shares_memory(a, b)  # no per-epoch allocation during a measured run


def test_dict_features_and_weights_follow_the_order():
    n = 100
    split = Split({"a": np.arange(n, dtype=np.float32), "b": np.array([str(i) for i in range(n)], object)},
                  np.arange(n), np.arange(n, dtype=np.float32) * 2)
    for x, y, w in WindowFeed(split, AccumulationPlan.of(20, 5), seed=1).windows(0):
        assert np.array_equal(x["a"], y.astype(np.float32))
        assert [int(s) for s in x["b"].ravel()] == y.ravel().tolist()
        assert np.array_equal(w, y.astype(np.float32) * 2)


def test_too_little_data_is_a_clear_error():
    with pytest.raises(BenchError, match="fewer than one effective batch"):
        WindowFeed(_split(10), AccumulationPlan.of(64, 32), seed=0)
