"""One interface for every way of training: a Strategy makes a Trainer; a Trainer runs updates.

Custom-loop strategies share `loss_and_grads`, which divides a batch's summed loss by the
global window's normaliser: its sample count (a per-sample mean, Keras' default reduction), or,
for a token loss, the window's total token weight (Keras normalises a masked loss by its count
of valid tokens). Either way that is the large-batch mean for any split into micro-batches and
replicas.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Iterable

import keras
import tensorflow as tf

from bench.config.plan import AccumulationPlan
from bench.engine.training.feed import Window
from bench.engine.training.optim import RecordedSchedule, ScheduleClock
from bench.engine.training.xla import XlaSplit
from bench.errors import BenchError


@dataclass(frozen=True)
class UpdateEvent:
    """One optimizer update: its loss (mean over the window), wall seconds, and the
    learning-rate schedule step/rate it used (measured through RecordedSchedule)."""

    index: int
    epoch: int
    loss: float
    seconds: float
    lr_step: int
    lr: float


OnUpdate = Callable[[UpdateEvent], None]


@dataclass
class TrainerParts:
    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    schedule: RecordedSchedule
    loss: keras.losses.Loss          # reduction="sum"
    mean_loss: keras.losses.Loss     # Keras default reduction, for model.fit
    plan: AccumulationPlan
    distribution: tf.distribute.Strategy
    jit: bool = False
    xla: XlaSplit | None = None  # under XLA: the step model and the preprocessing kept outside
    token_weights: bool = False  # a token loss: normalised by the window's total weight

    @property
    def step_model(self) -> keras.Model:
        """The model the training step calls: under XLA, the part after the layers XLA cannot
        compile (its inputs come preprocessed, see `Trainer.prepare`); otherwise the model."""
        return self.xla.step_model if self.xla else self.model


class Trainer(ABC):
    """Runs updates for one (model, optimizer, plan). Subclasses implement `update`."""

    reports_loss = True  # False: the loss of an update is not reported (a user's update())

    def __init__(self, parts: TrainerParts) -> None:
        self.p = parts
        self.updates_done = 0
        self.vars = parts.step_model.trainable_variables
        pre = parts.xla.preprocess if parts.xla else None
        self._preprocess = pre and tf.function(self._window_through(pre), reduce_retracing=True)

    @staticmethod
    def _window_through(pre):
        """`pre` run uncompiled on a whole window at once: (k, n, ...) -> (k * n, ...) -> pre ->
        (k, n, ...)."""
        def run(x):
            k_n = tf.shape(tf.nest.flatten(x)[0])[:2]
            flat = tf.nest.map_structure(
                lambda a: tf.reshape(a, tf.concat([[-1], tf.shape(a)[2:]], 0)), x)
            return tf.nest.map_structure(
                lambda t: tf.reshape(t, tf.concat([k_n, tf.shape(t)[1:]], 0)),
                pre(flat, training=True))
        return run

    def build(self) -> None:
        """Create optimizer state (and accumulators) before any baseline is taken."""
        with self.p.distribution.scope():
            self.p.optimizer.build(self.vars)

    @abstractmethod
    def update(self, window: Window) -> tf.Tensor:
        """Apply one optimizer update from one window; returns the window's mean loss."""

    def run_epoch(self, windows: Iterable[Window], epoch: int, on_update: OnUpdate) -> None:
        """One update per window. The timed region is taking the window from the feed (for an
        `EpochFeed`, gathering it from the training tensors), handing it to the device, and
        the update itself, ended by reading the loss (which waits for the device)."""
        taken = iter(windows)
        while True:
            start = time.perf_counter()
            window = next(taken, None)
            if window is None:
                return
            loss = float(self.update(self.prepare(window)))
            self._emit(epoch, loss, time.perf_counter() - start, on_update)

    def _emit(self, epoch: int, loss: float, seconds: float, on_update: OnUpdate) -> None:
        s = self.p.schedule
        on_update(UpdateEvent(self.updates_done, epoch, loss, seconds, int(s.last_step.numpy()),
                              float(s.last_rate.numpy())))
        self.updates_done += 1

    def prepare(self, window: Window):
        """Host arrays or CPU tensors -> the update's inputs (per replica when distributed);
        under XLA, the preprocessing kept outside the compiled step runs here, timed."""
        if self._preprocess is not None:
            x, y, w = window
            window = (self._preprocess(x), y, w)
        if self.p.plan.replicas == 1:
            return tuple(tf.nest.map_structure(tf.convert_to_tensor, window))
        b = self.p.plan.micro

        def per_replica(ctx):
            r = ctx.replica_id_in_sync_group
            return tf.nest.map_structure(lambda a: tf.convert_to_tensor(a[:, r * b:(r + 1) * b]),
                                         window)
        return self.p.distribution.experimental_distribute_values_from_function(per_replica)

    def finish(self) -> dict:
        """Diagnostics at the end of training (e.g. micro-batches left unapplied); under XLA,
        whether it was used and which layers ran outside the compiled step."""
        return xla_record(self.p, used=self.p.jit)

    # shared by the custom loops -------------------------------------------------------------
    def weight_of(self, w):
        """The total weight of `w` over every replica: a token loss's normaliser."""
        total = tf.reduce_sum(w)
        if self.p.plan.replicas > 1:
            total = tf.distribute.get_replica_context().all_reduce("sum", total)
        return total

    def loss_and_grads(self, x, y, w, samples: int | None = None, divisor=None):
        """Loss over the global window and its (dense) gradient, for one (micro-)batch: the
        batch's summed loss divided by `divisor` if given, else by the normaliser of the data's
        loss: `samples` (default: the global window's sample count), or for a token loss the
        total weight of this batch over every replica (the large batch's normaliser when the
        batch is the whole window, plain training's when it is one micro-batch).

        Under mixed_float16 the gradient is of the loss times the optimizer's loss scale (the
        LossScaleOptimizer divides it out when the update is applied).

        Embedding gradients arrive as IndexedSlices with repeated rows; Keras 3's Adam squares
        the slices before the repeats are summed (second moment gets sum(g_i^2), not
        (sum g_i)^2). Densifying first makes every harness loop apply the true gradient.
        """
        if divisor is None:
            divisor = (self.weight_of(w) if self.p.token_weights
                       else self.p.plan.effective_batch if samples is None else samples)
        with tf.GradientTape() as tape:
            pred = self.p.step_model(x, training=True)
            loss = self.p.loss(y, pred, sample_weight=w) / tf.cast(
                divisor, "float64" if pred.dtype == tf.float64 else "float32")
            # mixed_float16: the loss scale of this update (the same for its k micro-batches);
            # the optimizer unscales, checks for overflow and skips once per update
            scaled = self.p.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, self.vars)
        return loss, [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                      for g in grads]

    def compile_fn(self, fn):
        """`fn` traced once; under XLA compiled, or refused with the layer that prevents it
        (Keras' `fit` would quietly drop XLA instead: its record says so, `xla_used`)."""
        if self.p.jit and self.p.xla and self.p.xla.unsupported:
            raise BenchError(self.p.xla.unsupported)
        return tf.function(fn, jit_compile=self.p.jit, reduce_retracing=True)

    def run_replicas(self, fn, inputs):
        """Run `fn` per replica (or directly) and sum the returned loss over replicas."""
        d = self.p.distribution
        if self.p.plan.replicas == 1:
            return fn(*inputs)
        return d.reduce(tf.distribute.ReduceOp.SUM, d.run(fn, args=tuple(inputs)), axis=None)


def xla_record(parts: TrainerParts, used: bool) -> dict:
    """What a record says about XLA: nothing when it was not asked for."""
    if not parts.jit:
        return {}
    out = {"xla_used": used}
    if parts.xla and parts.xla.preprocess is not None:
        out["xla_outside"] = list(parts.xla.outside)
        out["xla_outside_because"] = list(parts.xla.blockers)
    return out


def micro(tree, i):
    """Micro-batch `i` of a window structure."""
    return tf.nest.map_structure(lambda t: t[i], tree)


def micro_count(x):
    """How many micro-batches a window holds: k, or fewer in a partial window at an epoch's end
    (a traced update reads it from the window, so one function serves both)."""
    first = tf.nest.flatten(x)[0]
    return first.shape[0] if first.shape[0] is not None else tf.shape(first)[0]


def micro_indices(x, jit: bool):
    """The loop over a window's micro-batches inside one traced update: a graph loop
    (`tf.range`, one copy of the step), or, under XLA, unrolled in Python (k copies). XLA on the
    CPU runs the loop's body as a separate computation, about five times slower on the CNN than
    the same update unrolled (README: Record of measurements). Without XLA the graph loop is
    kept: it traces once for any k, and its float results are the committed baselines'."""
    return range(tf.nest.flatten(x)[0].shape[0]) if jit else tf.range(micro_count(x))


class Strategy(ABC):
    """A way of training: makes the Trainer that runs one configuration's updates.

    To add one, subclass `Strategy` (a `name`, a one-line `summary`, and `trainer()`), and a
    `Trainer` whose `update(window)` applies one optimizer update from a window of shape
    (k, b x replicas, ...) and returns the window's mean loss. Then register it once, in
    `bench.config.names` (`register_strategy(StrategyName(name, "module:Class", label, colour,
    marker))`): that one entry is what profiles are validated against without TensorFlow, how
    the training layer finds the class, and the label, style, order and judged/speed-reference
    role the report's tables and figures use. Nothing else lists strategies. A strategy can also
    be given by import path without registering it (drawn in a neutral style, after the
    built-in ones). For example, plain SGD steps on the first micro-batch only::

        class FirstOnly(Strategy):
            name, summary = "first_only", "one update from the first micro-batch"

            def trainer(self, parts):
                return FirstOnlyTrainer(parts)

        class FirstOnlyTrainer(Trainer):
            def __init__(self, parts):
                super().__init__(parts)

                def step(x, y, w):
                    loss, grads = self.loss_and_grads(micro(x, 0), y[0], w[0],
                                                      samples=parts.plan.global_micro)
                    self.p.optimizer.apply_gradients(zip(grads, self.vars))
                    return loss

                self._step = self.compile_fn(lambda *i: self.run_replicas(step, i))

            def update(self, window):
                return self._step(*window)
    """

    name: str
    summary: str

    def builtin_accumulation_steps(self, plan: AccumulationPlan) -> int | None:
        """Steps for `optimizer(gradient_accumulation_steps=...)`; only keras_builtin uses it."""
        return None

    def schedule_clock(self, plan: AccumulationPlan) -> ScheduleClock:
        """How this strategy's optimizer counts against the learning-rate schedule (default:
        one optimizer step per update, the recipe's rate). Overridden by the strategies that
        step k times per window or scale the rate."""
        return ScheduleClock()

    @abstractmethod
    def trainer(self, parts: TrainerParts) -> Trainer:
        ...
