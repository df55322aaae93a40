"""What XLA cannot compile is kept outside the compiled step, and only when that leaves the
model's function and weights as they were."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from bench.data import load_dataset
from bench.engine.training.xla import split_for_xla
from bench.errors import BenchError
from models.registry import MODELS


@pytest.mark.parametrize("model, dataset, outside", [
    ("mlp_mixer", "synthetic_mnist", {"data_augmentation"}),
    ("grn_vsn", "synthetic_census_income", None),  # one lookup per categorical feature
])
def test_a_preprocessing_front_splits_off_and_the_parts_compute_the_model(model, dataset, outside):
    data = load_dataset(dataset, limit_train=16, limit_test=16)
    built = MODELS[model].build(data.spec, "small")
    split = split_for_xla(built)
    assert split.unsupported is None and split.preprocess is not None
    if outside is not None:
        assert set(split.outside) == outside
    else:
        assert len(split.outside) == len(data.spec.categorical)
    assert all(layer.supports_jit for layer in split.step_model._flatten_layers())
    assert [id(v) for v in split.step_model.trainable_variables] == [
        id(v) for v in built.trainable_variables]  # the same weights, in the same order
    x = data.train.take(np.arange(8)).x
    np.testing.assert_array_equal(np.asarray(built(x, training=False)), np.asarray(
        split.step_model(split.preprocess(x, training=False), training=False)))


def test_a_model_xla_can_compile_is_left_whole():
    data = load_dataset("synthetic_mnist", limit_train=16, limit_test=16)
    built = MODELS["cnn"].build(data.spec, "small")
    split = split_for_xla(built)
    assert split.step_model is built and split.preprocess is None and split.unsupported is None


def zoom_after_conv(input_shape=(8, 8, 1), num_classes=3) -> keras.Model:
    """A user's model whose random layer follows a trainable one."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(2, 3, padding="same", name="conv")(inputs)
    x = keras.layers.RandomZoom(0.1)(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(keras.layers.Flatten()(x)))


def test_a_blocking_layer_behind_trainable_ones_is_refused_with_its_name():
    split = split_for_xla(zoom_after_conv())
    assert split.preprocess is None
    assert "RandomZoom" in split.unsupported and "conv" in split.unsupported


def test_the_harness_loops_refuse_xla_for_such_a_model_instead_of_dropping_it():
    from bench.config.plan import AccumulationPlan
    from bench.config.training import TrainingConfig
    from bench.engine.runtime import distribution
    from bench.engine.training.setup import build_trainer

    data = load_dataset("synthetic_mnist", limit_train=16, limit_test=16)
    config = TrainingConfig(f"{__name__}:zoom_after_conv", "accumulate", AccumulationPlan.of(8, 4),
                            None, jit=True)
    with pytest.raises(BenchError, match="XLA not supported by this model: RandomZoom"):
        build_trainer(config, data.spec, 2, distribution(1))
