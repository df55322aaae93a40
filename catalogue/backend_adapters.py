"""Recipes from the JAX and PyTorch ecosystems on a Keras model (the backend lane's contract,
`bench/backends/recipes.py`), each used the way its documentation shows. They import the
published packages inside the factory: the lane process has them (`make setup-backends`, and
`.catalogue/` for optax and Accelerate)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class _Capture(NamedTuple):
    grads: list
    count: object


def optax_multisteps(*, model, loss, accum_steps, learning_rate):
    """`optax.MultiSteps(optax.adam(lr), every_k_schedule=k)` in a stateless JAX loop: one
    `update` per micro-batch with that micro-batch's gradient (of the mean loss users
    compile), applied with `optax.apply_updates` (zeros between emits). A transformation
    chained in front of Adam records what Adam is handed on each emit."""
    import jax  # the JAX lane's framework
    import jax.numpy as jnp
    import optax  # installed in .catalogue/ (pinned)

    def capture():
        def init(params):
            return _Capture([jnp.zeros_like(p) for p in params], jnp.zeros([], jnp.int32))

        def update(updates, state, params=None):
            return updates, _Capture(list(updates), state.count + 1)

        return optax.GradientTransformation(init, update)

    tx = optax.MultiSteps(optax.chain(capture(), optax.adam(learning_rate)),
                          every_k_schedule=accum_steps)
    trainable, non_trainable = model.trainable_variables, model.non_trainable_variables

    def objective(params, state, x, y, w):
        pred, state = model.stateless_call(params, state, x, training=True)
        return loss(y, pred, sample_weight=w), state

    grad = jax.jit(jax.value_and_grad(objective, has_aux=True))

    @jax.jit
    def step(params, opt_state, grads):
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    holder = {"state": tx.init([v.value for v in trainable])}

    class Recipe:
        def update(self, micro_batches):
            values = []
            for x, y, w in micro_batches:
                params = [v.value for v in trainable]
                (value, state), grads = grad(params, [v.value for v in non_trainable], x, y, w)
                params, holder["state"] = step(params, holder["state"], grads)
                for v, new in zip(trainable, params):
                    v.assign(new)
                for v, new in zip(non_trainable, state):
                    v.assign(new)
                values.append(float(value))
            return float(np.mean(values))

        def applied(self):
            return [np.asarray(g) for g in holder["state"].inner_opt_state[0].grads]

        def steps(self):
            return int(holder["state"].inner_opt_state[0].count)

        def rate(self):
            return learning_rate

    return Recipe()


def _torch_recipe(model, loss, accum_steps, learning_rate, accelerate: bool):
    import torch  # the PyTorch lane's framework

    params = [v.value for v in model.trainable_variables]
    optimizer = torch.optim.Adam(params, lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    held = {"applied": [], "steps": 0}
    if accelerate:
        from accelerate import Accelerator  # installed in .catalogue/ (pinned)

        accelerator = Accelerator(gradient_accumulation_steps=accum_steps, cpu=True)
        model_, optimizer_, scheduler_ = accelerator.prepare(model, optimizer, scheduler)

    class Recipe:
        def update(self, micro_batches):
            values = []
            for x, y, w in micro_batches:
                if accelerate:  # Accelerate's documented loop
                    with accelerator.accumulate(model_):
                        value = loss(y, model_(x, training=True), sample_weight=w)
                        accelerator.backward(value)
                        if accelerator.sync_gradients:
                            self._step_taken()
                        optimizer_.step()
                        scheduler_.step()
                        optimizer_.zero_grad()
                else:  # the PyTorch recipe: loss / k, backward, step every k
                    value = loss(y, model(x, training=True), sample_weight=w) / accum_steps
                    value.backward()
                    if len(values) == len(micro_batches) - 1:
                        self._step_taken()
                        optimizer.step()
                        scheduler.step()
                        optimizer.zero_grad()
                    value = value * accum_steps
                values.append(float(value.detach()))
            return float(np.mean(values))

        def _step_taken(self):
            held["applied"] = [p.grad.detach().clone().numpy() for p in params]
            held["steps"] += 1

        def applied(self):
            return held["applied"]

        def steps(self):
            return held["steps"]

        def rate(self):
            return float(optimizer.param_groups[0]["lr"])

    return Recipe()


def torch_recipe(*, model, loss, accum_steps, learning_rate):
    """The PyTorch recipe on the Keras model (a `torch.nn.Module` on that backend):
    `(loss / k).backward()` per micro-batch, `optimizer.step()` and `zero_grad()` every k."""
    return _torch_recipe(model, loss, accum_steps, learning_rate, accelerate=False)


def accelerate_accumulate(*, model, loss, accum_steps, learning_rate):
    """Hugging Face Accelerate's `with accelerator.accumulate(model):` around
    `accelerator.backward(loss)`, `optimizer.step()`, `scheduler.step()`, `zero_grad()`, with
    the model, optimizer and scheduler prepared by `accelerator.prepare` (CPU)."""
    return _torch_recipe(model, loss, accum_steps, learning_rate, accelerate=True)
