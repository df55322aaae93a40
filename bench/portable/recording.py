"""What an optimizer really applies, recorded on any backend.

Level 1 compares the gradient a strategy's optimizer was handed with the large batch's; level 2
needs how many times the optimizer stepped. `record` patches one built optimizer *instance*:
its `_backend_update_step` (every backend's Keras optimizer calls it once per real update, with
the gradients after accumulation, unscaling and clipping) first stores the gradients in
optimizer variables. Being optimizer variables, they travel with JAX's stateless step and with
Keras' `lax.cond` around the built-in accumulation (kept on an update, dropped on a micro-step);
patching the instance keeps the backend's own fused update (PyTorch's `_foreach` Adam), which a
subclass would lose.
"""
from __future__ import annotations

import keras
import numpy as np


def record(optimizer: keras.optimizers.Optimizer, variables: list) -> keras.optimizers.Optimizer:
    """Build `optimizer` on `variables` and make it record; returns it."""
    if not optimizer.built:
        optimizer.build(variables)
    optimizer.captured = [optimizer.add_variable_from_reference(v, name="captured")
                          for v in variables]
    optimizer.steps = optimizer.add_variable((), initializer="zeros", dtype="int32",
                                             name="steps")
    original = optimizer._backend_update_step

    def recording_update_step(grads, trainable_variables, learning_rate):
        for g, v in zip(grads, trainable_variables):
            optimizer.captured[optimizer._get_variable_index(v)].assign(g)
        optimizer.steps.assign(optimizer.steps + 1)
        return original(grads, trainable_variables, learning_rate)

    optimizer._backend_update_step = recording_update_step
    return optimizer


def captured(optimizer: keras.optimizers.Optimizer) -> list[np.ndarray]:
    """The gradient the optimizer applied last."""
    return [keras.ops.convert_to_numpy(v) for v in optimizer.captured]


def steps(optimizer: keras.optimizers.Optimizer) -> int:
    """How many times the optimizer really stepped."""
    return int(keras.ops.convert_to_numpy(optimizer.steps))
