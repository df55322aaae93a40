"""The Keras 2 lane: accumulation code written for Keras 2 (tf.keras with `TF_USE_LEGACY_KERAS=1`,
that is `tf_keras`), judged as its users run it.

The Keras 3 analysis keeps its reference (initial weights, the large batch's first gradient, the
data windows); the strategy runs in a process of its own with `TF_USE_LEGACY_KERAS=1`, on the same
model built through `tf_keras` (`models.backend`) from the same initial weights and windows, with
the recipe's Adam from `tf_keras` (recording what it applies, as level 1 needs). So that level 2
compares like with like, the lane also trains the large batch in `tf_keras` (and its two one-ulp
neighbours for the noise floor); how far that large batch ends from the Keras 3 one is recorded:
it is where Keras 2 and 3 differ. A constant learning rate only: the lane has no schedules.
"""
from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from bench.config.plan import AccumulationPlan
from bench.config.training import TrainingConfig
from bench.data import Sources, load_dataset
from bench.engine.equivalence.trajectory import (
    Trajectory,
    distances,
    flat_weights,
    noise_floor,
    one_ulp,
)
from bench.engine.training.feed import WindowFeed
from bench.engine.training.strategies import UpdateEvent
from bench.errors import BenchError
from bench.plugins import call, resolve
from bench.portable.objective import mean_loss
from bench.process import data_dtype
from models.registry import get_model

#: the environment of a lane process: tf.keras is Keras 2 (tf_keras) there
LANE_ENV = {"TF_USE_LEGACY_KERAS": "1", "TF_KERAS": "1"}  # TF_KERAS: bert4keras' own switch
LANE_MODULE = "bench.engine.equivalence.keras2"


def run_lane(config: TrainingConfig, dataset: str, updates: int, initial: list[np.ndarray],
             limit_train: int, timeout: float = 1800) -> dict[str, Any]:
    """In the analysis's process: the lane's trajectories, from a process of its own."""
    tmp = Path(tempfile.mkdtemp(prefix="accumbench-keras2-"))
    (tmp / "payload.pkl").write_bytes(pickle.dumps({
        "config": config, "dataset": dataset, "updates": updates, "initial": initial,
        "limit_train": limit_train}))
    out = subprocess.run([sys.executable, "-m", LANE_MODULE, "--payload", str(tmp / "payload.pkl"),
                          "--out", str(tmp / "result.pkl")], capture_output=True, text=True,
                         env={**os.environ, **LANE_ENV}, timeout=timeout)
    if out.returncode != 0:
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()
                 and not ln.startswith(("I0000", "W0000", "WARNING"))]
        last = lines[-1].removeprefix("error: ") if lines else f"exit status {out.returncode}"
        raise BenchError(f"in the Keras 2 lane: {last}")
    return pickle.loads((tmp / "result.pkl").read_bytes())


# -- in the lane's process ---------------------------------------------------------------------
def _keras2():
    import tf_keras  # the lane's Keras: imported only in a process started with LANE_ENV

    return tf_keras


def _recording_adam(tf_keras):
    class RecordingAdam(tf_keras.optimizers.Adam):
        """The recipe's Adam, storing each gradient it is handed and counting its steps."""

        def build(self, var_list):
            super().build(var_list)
            if not hasattr(self, "captured"):
                self.captured = [self.add_variable_from_reference(v, "captured") for v in var_list]
                self.steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps")

        def update_step(self, gradient, variable):
            dense = tf.convert_to_tensor(gradient) if isinstance(gradient, tf.IndexedSlices) \
                else gradient
            index = self._index_dict[self._var_key(variable)]
            self.captured[index].assign(dense)
            if index == 0:
                self.steps.assign_add(1)
            super().update_step(gradient, variable)

    return RecordingAdam


def _recording_legacy_adam(tf_keras):
    class RecordingLegacyAdam(tf_keras.optimizers.legacy.Adam):
        """The pre-2.11 optimizer API (OptimizerV2), which most Keras 2 wrappers subclass or
        read (`_name`, `_set_hyper`, `_create_slots`): Adam storing each gradient it applies."""

        def _create_slots(self, var_list):
            super()._create_slots(var_list)
            for v in var_list:
                self.add_slot(v, "captured")
            if not hasattr(self, "steps"):  # counted on the first variable, as in Keras 3's
                self.first, self.steps = var_list[0], tf.Variable(0, dtype=tf.int64,
                                                                 trainable=False, name="steps")

        def _resource_apply_dense(self, grad, var, apply_state=None):
            self.get_slot(var, "captured").assign(grad)
            if var is self.first:
                self.steps.assign_add(1)
            return super()._resource_apply_dense(grad, var, apply_state)

        def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
            dense = tf.math.unsorted_segment_sum(grad, indices, tf.shape(var)[0])
            self.get_slot(var, "captured").assign(dense)
            return super()._resource_apply_sparse(grad, var, indices, apply_state)

    return RecordingLegacyAdam


def _captured(optimizer, variables) -> list[np.ndarray]:
    if hasattr(optimizer, "captured"):
        return [np.asarray(v.numpy()) for v in optimizer.captured]
    return [np.asarray(optimizer.get_slot(v, "captured").numpy()) for v in variables]


def _steps(optimizer) -> int:
    steps = getattr(optimizer, "steps", None)
    return int((steps if steps is not None else optimizer.iterations).numpy())


def trajectory_of(config: TrainingConfig, spec, feed: WindowFeed, updates: int,
                  initial: list[np.ndarray], large_batch: bool) -> Trajectory:
    """`updates` updates of the strategy (or of the large batch) in tf_keras."""
    tf_keras = _keras2()
    entry = get_model(config.model, config.model_output)
    tf_keras.utils.set_random_seed(config.seed)
    model = entry.build(spec, config.preset)
    if not isinstance(model, tf_keras.Model):
        raise BenchError(f"{config.model} did not build a Keras 2 model in the Keras 2 lane")
    model.set_weights(initial)
    factory = None if large_batch else resolve(config.strategy, "strategy")
    # a factory declares `legacy_optimizer = True` when the code it runs needs the pre-2.11 API
    legacy = getattr(factory, "legacy_optimizer", False)
    optimizer = (_recording_legacy_adam if legacy else _recording_adam)(tf_keras)(
        learning_rate=config.learning_rate or entry.recipe.learning_rate)
    loss = mean_loss(entry.output, model.outputs[0].shape[-1], losses=tf_keras.losses)
    k = config.plan.accum
    out = Trajectory(variable_names=[v.name for v in model.trainable_variables])
    if large_batch:
        step = _large_batch_step(model, optimizer, loss)
    else:
        produced = call(factory, config.strategy, "strategy", model=model, optimizer=optimizer,
                        loss=loss, accum_steps=k)
        step = _strategy_step(produced, optimizer, loss, tf_keras, config.strategy)
    if legacy:
        with tf.init_scope():
            optimizer._create_all_weights(model.trainable_variables)
    else:
        optimizer.build(model.trainable_variables)
    epoch = 0
    while len(out.events) < updates:
        for window in islice(feed.windows(epoch), updates - len(out.events)):
            started = time.perf_counter()
            value = step(window)
            i = len(out.events)
            out.events.append(UpdateEvent(i, epoch, value, time.perf_counter() - started,
                                          int(optimizer.iterations.numpy()) - 1,
                                          float(tf.keras.backend.get_value(
                                              optimizer.learning_rate))))
            out.weights.append(flat_weights(model))
            if i < 2:
                out.gradients.append(_captured(optimizer, model.trainable_variables))
            if i == 0:
                out.after_first = [np.asarray(v.numpy()) for v in model.trainable_variables]
        epoch += 1
    out.optimizer_steps = _steps(optimizer)
    return out


def _large_batch_step(model, optimizer, loss):
    def step(window):
        x, y, w = (np.concatenate(list(a)) if not isinstance(a, dict) else a for a in window)
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True), sample_weight=w)
        optimizer.apply_gradients(zip(tape.gradient(value, model.trainable_variables),
                                      model.trainable_variables))
        return float(value)
    return step


def _strategy_step(produced, optimizer, loss, tf_keras, path: str):
    """One update of a user's Keras 2 strategy: its model fitted on the window's k micro-batches,
    or its update function called with them."""
    if isinstance(produced, tf_keras.Model):
        if not getattr(produced, "optimizer", None) or produced.optimizer is None:
            produced.compile(optimizer=optimizer, loss=loss)

        def fit_step(window):
            x, y, w = window
            b = len(y[0])
            history = produced.fit(np.concatenate(list(x)), np.concatenate(list(y)),
                                   sample_weight=np.concatenate(list(w)), batch_size=b,
                                   epochs=1, shuffle=False, verbose=0)
            return float(history.history["loss"][-1])
        return fit_step
    if callable(produced):
        def update_step(window):
            x, y, w = window
            micro = [(tf.convert_to_tensor(x[i]), tf.convert_to_tensor(y[i]),
                      tf.convert_to_tensor(w[i])) for i in range(len(y))]
            value = produced(micro)
            return float(value) if value is not None else float("nan")
        return update_step
    raise BenchError(f"strategy {path!r} returned a {type(produced).__name__}: expected a "
                     f"tf_keras Model or a callable update(micro_batches)")


def lane(payload: dict) -> dict[str, Any]:
    config: TrainingConfig = payload["config"]
    data = load_dataset(payload["dataset"], sources=Sources.from_env(), seed=config.seed,
                        limit_train=payload["limit_train"])
    dtype = data_dtype(config.precision)
    initial, updates = payload["initial"], payload["updates"]
    feed = WindowFeed(data.train, config.plan, config.seed, dtype)
    lb_config = TrainingConfig(config.model, "large_batch", AccumulationPlan.of(
        config.plan.effective_batch, config.plan.effective_batch), config.preset,
        seed=config.seed, model_output=config.model_output, precision=config.precision)
    lb_feed = WindowFeed(data.train, lb_config.plan, config.seed, dtype)
    reference = trajectory_of(lb_config, data.spec, lb_feed, updates, initial, True)
    ups, downs = (distances(trajectory_of(lb_config, data.spec, lb_feed, updates,
                                          one_ulp(initial, d), True), reference)
                  for d in (np.inf, -np.inf))
    return {"strategy": trajectory_of(config, data.spec, feed, updates, initial, False),
            "large_batch": reference, "noise_floor": noise_floor(ups, downs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {LANE_MODULE}")
    parser.add_argument("--payload", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        result = lane(pickle.loads(Path(args.payload).read_bytes()))
    except BenchError as e:  # the user's code or input: one line for the analysis to report
        print(f"error: {e}", file=sys.stderr)
        return 2
    Path(args.out).write_bytes(pickle.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
