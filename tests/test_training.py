"""Schedules report the step each update used; strategies train; Keras' built-in accumulation
reports what it left unapplied."""
from __future__ import annotations

import numpy as np
import pytest

from bench.config.plan import AccumulationPlan
from bench.config.training import TrainingConfig
from bench.data import load_dataset
from bench.engine.runtime import distribution
from bench.engine.training.feed import WindowFeed
from bench.engine.training.optim import make_optimizer, make_schedule, recording
from bench.engine.training.setup import build_trainer
from bench.errors import BenchError


@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic_mnist", limit_train=512, limit_test=64)


def _train(data, strategy, micro, updates=4, schedule="exponential", B=64, jit=False):
    plan = AccumulationPlan.of(B, micro)
    trainer = build_trainer(TrainingConfig("cnn", strategy, plan, "small", schedule, jit=jit),
                            data.spec, updates, distribution(1))
    events = []
    trainer.run_epoch(list(WindowFeed(data.train, plan, 0).windows(0))[:updates], 0, events.append)
    return trainer, events


def test_schedules():
    for kind in ("constant", "exponential", "cosine"):
        s = make_schedule(kind, 0.1, 10)
        assert float(s(0)) == pytest.approx(0.1)
    assert float(make_schedule("exponential", 0.1, 10)(10)) == pytest.approx(0.1 / 32)
    assert float(make_schedule("cosine", 0.1, 10)(10)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(BenchError, match="unknown learning-rate schedule"):
        make_schedule("step", 0.1, 10)


def test_recording_optimizer_keeps_the_gradient_and_still_updates():
    import keras

    v = keras.Variable(np.ones(3, np.float32))
    opt = make_optimizer("sgd", make_schedule("constant", 0.5, 1), record_gradients=True)
    assert type(opt).__name__ == "RecordingSGD" and recording(type(opt).__mro__[1]) is type(opt)
    opt.apply_gradients([(np.array([1.0, 2.0, 3.0], np.float32), v)])
    assert np.asarray(opt.captured[0]).tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(np.asarray(v), [0.5, 0.0, -0.5])


@pytest.mark.parametrize("strategy,micro", [("large_batch", 64), ("accumulate", 16),
                                            ("keras_builtin", 16), ("naive", 16),
                                            ("plain_micro", 16), ("keras_builtin_fixed", 16),
                                            ("plain_micro_sqrt_lr", 16)])
def test_each_strategy_updates_once_per_window_and_records_its_schedule_steps(data, strategy, micro):
    trainer, events = _train(data, strategy, micro)
    assert [e.index for e in events] == [0, 1, 2, 3]
    assert all(np.isfinite(e.loss) and e.seconds > 0 for e in events)
    steps = [e.lr_step for e in events]
    # Keras' built-in accumulation evaluates the schedule on its micro-step counter (fixed: the
    # update index); plain training at b takes k optimizer steps per window
    assert steps == ([3, 7, 11, 15] if strategy in ("keras_builtin", "plain_micro",
                                                    "plain_micro_sqrt_lr") else [0, 1, 2, 3])
    if strategy == "keras_builtin":
        assert trainer.finish() == {"micro_steps": 16, "updates_applied": 4,
                                    "unapplied_micro_batches": 0, "xla_used": False}


def test_scaled_plain_training_runs_its_schedule_over_its_own_steps(data):
    """b/B and sqrt(b/B) of the recipe's rate, decayed over the k times more steps it takes: the
    rate of window n's last step (4n + 3 of 20, k = 4) is the large batch's at n + 3/4 updates."""
    rates = {}
    for strategy in ("large_batch", "plain_micro_linear_lr", "plain_micro_sqrt_lr"):
        _, events = _train(data, strategy, 64 if strategy == "large_batch" else 16, updates=5)
        rates[strategy] = np.array([e.lr for e in events])
    peak = rates["large_batch"][0]
    halvings = np.array([(4 * n + 3) / 4 for n in range(5)])  # exponential: halves every 4 steps
    np.testing.assert_allclose(rates["large_batch"], peak * 0.5 ** np.arange(5), rtol=1e-5)
    np.testing.assert_allclose(rates["plain_micro_linear_lr"], peak / 4 * 0.5 ** halvings, rtol=1e-5)
    np.testing.assert_allclose(rates["plain_micro_sqrt_lr"], peak / 2 * 0.5 ** halvings, rtol=1e-5)


def test_keras_builtin_never_flushes_a_partial_window(data):
    """Windows run across epochs: 2.5 windows in, two updates were applied and 2 micro-batches
    wait in Keras' accumulators; training ends without applying them."""
    plan = AccumulationPlan.of(64, 16)
    trainer = build_trainer(TrainingConfig("cnn", "keras_builtin", plan, "small"), data.spec, 3,
                            distribution(1))
    windows = list(WindowFeed(data.train, plan, 0).windows(0))[:3]
    x, y, w = windows[2]
    events = []
    trainer.run_epoch(windows[:2] + [(x[:2], y[:2], w[:2])], 0, events.append)
    assert len(events) == 2
    assert trainer.finish()["unapplied_micro_batches"] == 2


def test_large_batch_requires_accum_one():
    with pytest.raises(BenchError, match="large_batch trains whole effective batches"):
        TrainingConfig("cnn", "large_batch", AccumulationPlan.of(64, 16)).validate()


def test_every_strategy_is_timed_on_the_same_feed(data):
    """The feed (a gather from the training tensors) is inside every strategy's timed region:
    Keras' fit gets it as a tf.data pipeline, the custom loops as the windows they take."""
    from bench.engine.training.feed import EpochFeed

    plan = AccumulationPlan.of(64, 16)
    feed = WindowFeed(data.train, plan, 0, tensors=True)
    for strategy in ("accumulate", "keras_builtin"):
        trainer = build_trainer(TrainingConfig("cnn", strategy, plan, "small"), data.spec, 4,
                                distribution(1))
        events = []
        epoch = feed.epoch(0).head(4)
        assert isinstance(epoch, EpochFeed)
        trainer.run_epoch(epoch, 0, events.append)
        assert len(events) == 4 and all(e.seconds > 0 for e in events)


@pytest.mark.parametrize("strategy", ["accumulate", "plain_micro"])
def test_under_xla_the_micro_batch_loop_is_unrolled_and_gives_the_same_update(data, strategy):
    """XLA on the CPU runs a graph loop's body slowly (5x on the CNN): the harness unrolls the
    loop when it compiles with XLA. The updates are the same arithmetic either way."""
    import tensorflow as tf

    from bench.engine.training.strategies.base import micro_indices

    window = tf.zeros((4, 2))  # 4 micro-batches of 2 samples
    assert micro_indices(window, jit=True) == range(4)
    assert isinstance(micro_indices(window, jit=False), tf.Tensor)
    graph, _ = _train(data, strategy, 16, updates=2, schedule="constant")
    xla, events = _train(data, strategy, 16, updates=2, schedule="constant", jit=True)
    assert len(events) == 2
    for a, b in zip(graph.p.model.weights, xla.p.model.weights):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-6)
