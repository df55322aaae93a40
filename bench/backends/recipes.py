"""Accumulation from another ecosystem on a Keras model (optax, a plain PyTorch loop,
Accelerate), named by import path, and judged like the lane's own strategies.

The contract of such a factory, `factory(*, model, loss, accum_steps, learning_rate)`: `loss` is
the loss a Keras user compiles (a per-sample or per-token mean); it returns a recipe with
- `update(micro_batches)`: one window, a list of k (x, y, w) NumPy micro-batches; returns the
  loss it reports;
- `applied()`: the gradient its optimizer was handed at its last step (NumPy arrays, in the
  order of `model.trainable_variables`);
- `steps()`: how many times its optimizer stepped; `rate()`: its last learning rate.
Its optimizer is its own (optax's Adam, torch.optim.Adam), which differs from Keras' in where
epsilon sits, so it is judged against the same factory at `accum_steps=1` on the large batch:
its ecosystem's own large batch, with that run's own noise floor.
"""
from __future__ import annotations

import time
from itertools import islice

import numpy as np

from bench.backends.train import LaneTrajectory, flat_weights, model_from
from bench.config.training import TrainingConfig
from bench.data.windows import Windows
from bench.plugins import call, resolve
from bench.portable.objective import mean_loss, output_width
from models.specs import InputSpec


def run_recipe(path: str, config: TrainingConfig, spec: InputSpec, windows: Windows,
               updates: int, initial: list[np.ndarray], accum_steps: int,
               prepare=None) -> LaneTrajectory:
    """`updates` windows through the recipe at `path`, from `initial`: what `run_updates`
    records for the lane's own strategies (the schedule's step is the recipe's step count)."""
    model = model_from(config, spec, initial, prepare)
    entry = config.entry()
    factory = resolve(path, "strategy")
    recipe = call(factory, path, "strategy", model=model,
                  loss=mean_loss(entry.output, output_width(model)), accum_steps=accum_steps,
                  learning_rate=config.learning_rate or entry.recipe.learning_rate)
    out = LaneTrajectory(variable_names=[v.path for v in model.trainable_variables])
    epoch = 0
    while len(out.weights) < updates:
        for x, y, w in islice(windows.windows(epoch), updates - len(out.weights)):
            started = time.perf_counter()
            out.losses.append(float(recipe.update([(x[i], y[i], w[i])
                                                   for i in range(len(y))])))
            out.seconds.append(time.perf_counter() - started)
            out.lr_steps.append(int(recipe.steps()) - 1)
            out.lr.append(float(recipe.rate()))
            out.weights.append(flat_weights(model))
            if len(out.weights) == 1:
                out.gradients.append([np.asarray(g) for g in recipe.applied()])
        epoch += 1
    out.optimizer_steps = int(recipe.steps())
    return out
