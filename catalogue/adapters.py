"""Strategy factories (the `--strategy package.module:factory` contract) around published
accumulation code, used the way its documentation or its own trainer uses it."""
from __future__ import annotations

import tensorflow as tf


def _legacy(factory):
    """Declares that the code a factory runs needs the pre-2.11 optimizer API (the Keras 2 lane
    then hands it the recipe's Adam as `tf.keras.optimizers.legacy.Adam`)."""
    factory.legacy_optimizer = True
    return factory


def hf_gradient_accumulator(model, optimizer, loss, accum_steps, *, divide: bool = True):
    """Hugging Face transformers' TF `GradientAccumulator` (transformers 4.x), as its `TFTrainer`
    used it: one call per micro-batch adds the gradient; `.gradients` holds their sum, which the
    caller divides by k ("scale the gradients if required", says its docstring), applies, and
    `.reset()`s."""
    from transformers.optimization_tf import GradientAccumulator  # installed in .catalogue/

    accumulator = GradientAccumulator()
    variables = model.trainable_variables

    def update(micro_batches):
        values = []
        for x, y, w in micro_batches:
            with tf.GradientTape() as tape:
                value = loss(y, model(x, training=True), sample_weight=w)
            accumulator(tape.gradient(value, variables))
            values.append(value)
        grads = accumulator.gradients
        if divide:
            grads = [g / accum_steps for g in grads]
        optimizer.apply_gradients(zip(grads, variables))
        accumulator.reset()
        return float(tf.add_n(values)) / len(values)

    return update


def hf_gradient_accumulator_unscaled(model, optimizer, loss, accum_steps):
    """The same accumulator with the caller's division left out: what `.gradients` gives."""
    return hf_gradient_accumulator(model, optimizer, loss, accum_steps, divide=False)


def gradient_accumulate_model(model, optimizer, loss, accum_steps):
    """gradient-accumulator's `GradientAccumulateModel`, as its README shows: the model's inputs
    and outputs wrapped, compiled and fitted at the micro-batch size."""
    from gradient_accumulator import GradientAccumulateModel  # installed in .catalogue/

    return GradientAccumulateModel(accum_steps=accum_steps, inputs=model.input,
                                   outputs=model.output)


@_legacy
def gradient_accumulate_optimizer(model, optimizer, loss, accum_steps):
    """gradient-accumulator's `GradientAccumulateOptimizer` around the recipe's optimizer,
    compiled into the model itself, as its README shows."""
    from gradient_accumulator import GradientAccumulateOptimizer  # installed in .catalogue/

    model.compile(optimizer=GradientAccumulateOptimizer(optimizer=optimizer,
                                                        accum_steps=accum_steps), loss=loss)
    return model


@_legacy
def ga_optimizer(model, optimizer, loss, accum_steps):
    """ga-optimizer's `make_ga_optimizer(desired_batch_size, batch_size, base_optimizer)`,
    compiled into the model, as its README shows (b = 16: the catalogue's micro-batch)."""
    from ga_optimizer import make_ga_optimizer  # installed in .catalogue/

    model.compile(optimizer=make_ga_optimizer(16 * accum_steps, 16, optimizer), loss=loss)
    return model


@_legacy
def bert4keras_accumulation(model, optimizer, loss, accum_steps):
    """bert4keras' `extend_with_gradient_accumulation` applied to its own Adam, as its examples
    do, with the recipe's learning rate (the catalogue's recipe uses a constant one)."""
    from bert4keras.optimizers import Adam, extend_with_gradient_accumulation  # in .catalogue/

    rate = float(optimizer.learning_rate(0) if callable(optimizer.learning_rate)
                 else optimizer.learning_rate)
    accumulating = extend_with_gradient_accumulation(Adam, name="AdamGA")
    model.compile(optimizer=accumulating(learning_rate=rate, grad_accum_steps=accum_steps),
                  loss=loss)
    return model
