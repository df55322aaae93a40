"""The lane's strategies, written once in keras.ops over a kit's gradient and update, and the
run that trains one of them from given weights and records what level 1 and 2 need.

Each is the TensorFlow strategy of the same name (`bench.engine.training.strategies`), loss by
loss (the naive loop, like its blog, with the loss users compile): the large batch divides the window's summed loss by its normaliser (its sample count, or
for a token loss its total token weight); `accumulate` adds micro-batch gradients and applies
their exact window mean once (a token loss: unnormalised sums divided once by the window's
weight); `accumulate_mean_of_means` averages micro-batch means; the naive loop applies the last
micro-batch's gradient alone; plain training at b updates on every micro-batch. Keras' built-in
accumulation runs as users run it: `compile` with `optimizer(gradient_accumulation_steps=k)` and
one `train_on_batch` per micro-batch (Keras' own JAX or torch train step).

The schedule's step is read from the optimizer's counter after each update (Keras evaluates the
schedule at the raw counter before it advances): a variable assigned inside the schedule, as
TensorFlow's `RecordedSchedule` does, is not carried by JAX's stateless step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import islice
from typing import Callable

import keras
import numpy as np

from bench.backends.kit import Kit
from bench.config.training import TrainingConfig
from bench.data.windows import Window, Windows
from bench.portable import recording
from bench.portable.objective import mean_loss, output_width, summed_loss
from bench.portable.precision import precision_policy
from bench.portable.schedules import OPTIMIZERS, schedule
from models.specs import InputSpec, SequenceSpec


@dataclass
class LaneTrajectory:
    weights: list[np.ndarray] = field(default_factory=list)  # flattened, float64, per update
    losses: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    lr_steps: list[int] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    gradients: list[list[np.ndarray]] = field(default_factory=list)  # applied at update 1
    optimizer_steps: int = 0
    variable_names: list[str] = field(default_factory=list)


@dataclass
class Run:
    """One strategy built on one model: `update(window)` trains a window, returns its loss."""

    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    schedule: object
    update: Callable[[Window], float]
    kit: Kit


def build(kit: Kit, config: TrainingConfig, spec: InputSpec, initial: list[np.ndarray],
          total_updates: int, prepare: Callable[[keras.Model], object] | None = None,
          record: bool = True) -> Run:
    """The model from `initial` weights (prepared, e.g. comparable mode), the recipe's
    optimizer and schedule, and the strategy's update."""
    entry = config.entry()
    k = config.plan.accum
    model = model_from(config, spec, initial, prepare)
    steps_per_update = k if config.strategy == "plain_micro" else 1
    rate = schedule(config.lr_schedule, config.learning_rate or entry.recipe.learning_rate,
                    total_updates * steps_per_update)
    builtin = config.strategy == "keras_builtin" and k > 1
    kwargs = {"gradient_accumulation_steps": k} if builtin else {}
    if entry.recipe.optimizer == "adamw":
        kwargs["weight_decay"] = entry.recipe.weight_decay or 0.0
    optimizer = OPTIMIZERS[entry.recipe.optimizer](learning_rate=rate, **kwargs)
    if record:
        recording.record(optimizer, model.trainable_variables)
    else:
        optimizer.build(model.trainable_variables)
    width = output_width(model)
    token = isinstance(spec, SequenceSpec)
    update = _update(config.strategy, kit, model, optimizer, summed_loss(entry.output, width),
                     mean_loss(entry.output, width), token)
    return Run(model, optimizer, rate, update, kit)


def model_from(config: TrainingConfig, spec: InputSpec, initial: list[np.ndarray],
               prepare: Callable[[keras.Model], object] | None = None) -> keras.Model:
    """The configuration's model with `initial` weights, prepared (e.g. comparable mode)."""
    keras.utils.set_random_seed(config.seed)
    with precision_policy(config.precision):
        model = config.entry().build(spec, config.preset)
    model.set_weights(initial)
    if prepare is not None:
        prepare(model)
    return model


def normaliser(w: np.ndarray, token: bool) -> float:
    """What a batch's summed loss is divided by: its total token weight, or its sample count."""
    return float(np.sum(w)) if token else float(len(w))


def _update(name: str, kit: Kit, model, optimizer, summed, mean, token: bool):
    grads_of = kit.gradients(model, summed)
    mean_grads_of = kit.gradients(model, mean) if name == "naive" else None
    apply = kit.applier(optimizer, model)
    scalar = lambda t: float(keras.ops.convert_to_numpy(t))  # noqa: E731

    def large_batch(window):
        x, y, w = (a[0] for a in window)
        value, grads = grads_of(x, y, w, normaliser(w, token))
        apply(grads)
        return scalar(value)

    def accumulate(window, mean_of_means: bool = False):
        x, y, w = window
        k = len(y)
        total = sum(normaliser(wi, token) for wi in w)
        acc, loss = None, 0.0
        for i in range(k):
            if mean_of_means:
                divisor = k * normaliser(w[i], token)
            else:  # a token loss divides once, below; a per-sample mean by the window's count
                divisor = 1.0 if token else total
            value, grads = grads_of(x[i], y[i], w[i], divisor)
            acc = grads if acc is None else [a + g for a, g in zip(acc, grads)]
            loss += scalar(value)
        if token and not mean_of_means:
            acc, loss = [a / total for a in acc], loss / total
        apply(acc)
        return loss

    def naive(window):  # the blog loop: every k-th step applies the current micro-batch's
        x, y, w = window
        losses = []
        for i in range(len(y)):  # its loss is the one users compile (Keras' default reduction)
            value, grads = mean_grads_of(x[i], y[i], w[i], 1.0)
            losses.append(scalar(value))
        apply(grads)  # the last micro-batch's gradient alone, the bug kept
        return float(np.mean(losses))

    def plain_micro(window):
        x, y, w = window
        losses = []
        for i in range(len(y)):
            value, grads = grads_of(x[i], y[i], w[i], normaliser(w[i], token))
            apply(grads)
            losses.append(scalar(value))
        return float(np.mean(losses))

    def keras_builtin(window):
        if not getattr(model, "compiled", False):
            model.compile(optimizer=optimizer, loss=mean)
        x, y, w = window
        return float(np.mean([model.train_on_batch(x[i], y[i], sample_weight=w[i])
                              for i in range(len(y))]))

    return {"large_batch": large_batch, "accumulate": accumulate,
            "accumulate_mean_of_means": lambda window: accumulate(window, True),
            "naive": naive, "plain_micro": plain_micro, "keras_builtin": keras_builtin}[name]


def flat_weights(model) -> np.ndarray:
    return np.concatenate([keras.ops.convert_to_numpy(v).astype(np.float64).ravel()
                           for v in model.trainable_variables])


def run_updates(kit: Kit, config: TrainingConfig, spec: InputSpec, windows: Windows,
                updates: int, initial: list[np.ndarray], prepare=None) -> LaneTrajectory:
    """`updates` updates from `initial`, crossing epochs if needed: the weights after each, the
    gradient the first applied, the schedule's step and rate, the optimizer's real steps."""
    run = build(kit, config, spec, initial, updates, prepare)
    out = LaneTrajectory(variable_names=[v.path for v in run.model.trainable_variables])
    for window in islice(windows.endless(), updates):
        started = time.perf_counter()
        out.losses.append(run.update(window))
        out.seconds.append(time.perf_counter() - started)
        step = int(keras.ops.convert_to_numpy(run.optimizer._iterations)) - 1
        out.lr_steps.append(step)
        out.lr.append(float(keras.ops.convert_to_numpy(run.schedule(step))))
        out.weights.append(flat_weights(run.model))
        if len(out.weights) == 1:
            out.gradients.append(recording.captured(run.optimizer))
    out.optimizer_steps = recording.steps(run.optimizer)
    return out
