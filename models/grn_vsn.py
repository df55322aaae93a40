"""Gated Residual and Variable Selection Networks (Lim et al., Temporal Fusion Transformer) for
tabular data, as in the Keras example on census income (the seed).

Categorical features: lookup + Embedding; numeric features: Dense projection. One sigmoid output
paired with `BinaryCrossentropy(from_logits=False)`, as in the seed.

The seed builds one GatedResidualNetwork per feature (40 for census income: ~23,000 graph ops
and ~20 s of tracing on a CPU). Here the per-feature GRNs are one GRN with a feature axis
(`groups`): each feature keeps its own weights, initialised from the same Glorot-uniform
distribution, so the function and the parameter count are the seed's; only the graph is smaller.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from models.configs import GRNConfig
from models.lookup import make_lookup
from models.specs import TabularSpec


def _dense(units: int, groups: int | None, activation=None) -> layers.Layer:
    """Dense, or per-group Dense over a (..., groups, features) input.

    The (groups, in, units) kernel is Glorot-uniform with fans taken over `in` and `units` only,
    so each group gets a Dense layer's own limit sqrt(6 / (in + units)).
    """
    if groups is None:
        return layers.Dense(units, activation=activation)
    return layers.EinsumDense(
        "...gi,giu->...gu", output_shape=(groups, units), bias_axes="gu", activation=activation,
        kernel_initializer=keras.initializers.VarianceScaling(
            scale=1.0, mode="fan_avg", distribution="uniform", input_axes=[1], output_axes=[2]))


class GroupLayerNormalization(layers.Layer):
    """LayerNormalization of the last axis with separate scale and offset per group."""

    def __init__(self, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        shape = tuple(input_shape[-2:])
        self.gamma = self.add_weight(shape=shape, initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=shape, initializer="zeros", name="beta")

    def call(self, x):
        mean = ops.mean(x, axis=-1, keepdims=True)
        variance = ops.var(x, axis=-1, keepdims=True)
        return (x - mean) * ops.rsqrt(variance + self.epsilon) * self.gamma + self.beta

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


class GatedLinearUnit(layers.Layer):
    def __init__(self, units: int, groups: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.linear = _dense(units, groups)
        self.sigmoid = _dense(units, groups, activation="sigmoid")

    def call(self, inputs):
        return self.linear(inputs) * self.sigmoid(inputs)


class GatedResidualNetwork(layers.Layer):
    """ELU dense, linear dense, dropout, GLU, residual (projected if widths differ), LayerNorm.

    With `groups`, the input is (batch, groups, width) and every group has its own weights.
    """

    def __init__(self, units: int, dropout_rate: float, groups: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.groups = units, groups
        self.elu_dense = _dense(units, groups, activation="elu")
        self.linear_dense = _dense(units, groups)
        self.dropout = layers.Dropout(dropout_rate)
        self.gated_linear_unit = GatedLinearUnit(units, groups)
        self.layer_norm = (layers.LayerNormalization() if groups is None
                           else GroupLayerNormalization())
        self.project = None

    def build(self, input_shape):
        if input_shape[-1] != self.units:
            self.project = _dense(self.units, self.groups)

    def call(self, inputs, training=None):
        x = self.linear_dense(self.elu_dense(inputs))
        x = self.dropout(x, training=training)
        residual = self.project(inputs) if self.project is not None else inputs
        return self.layer_norm(residual + self.gated_linear_unit(x))


class VariableSelection(layers.Layer):
    """Softmax weights over features (from a GRN of all features) applied to per-feature GRNs."""

    def __init__(self, num_features: int, units: int, dropout_rate: float, **kwargs):
        super().__init__(**kwargs)
        self.feature_grns = GatedResidualNetwork(units, dropout_rate, groups=num_features)
        self.grn_concat = GatedResidualNetwork(units, dropout_rate)
        self.softmax = layers.Dense(num_features, activation="softmax")

    def call(self, inputs, training=None):
        v = self.grn_concat(ops.concatenate(inputs, axis=-1), training=training)
        v = ops.expand_dims(self.softmax(v), axis=-1)                       # (batch, F, 1)
        x = self.feature_grns(ops.stack(inputs, axis=1), training=training)  # (batch, F, units)
        return ops.squeeze(ops.matmul(ops.transpose(v, (0, 2, 1)), x), axis=1)


def build(spec: TabularSpec, config: GRNConfig) -> keras.Model:
    """Inputs are a dict keyed by the feature names (which must be valid Keras names)."""
    if spec.num_classes != 2:
        raise ValueError("grn_vsn is a binary classifier (one sigmoid output)")
    inputs, encoded = {}, []
    for name in spec.numeric:
        inputs[name] = keras.Input(shape=(), name=name, dtype=keras.config.floatx())
        x = ops.expand_dims(inputs[name], -1)
        encoded.append(layers.Dense(config.encoding_size, name=f"{name}_projection")(x))
    for name, vocabulary in spec.categorical.items():
        inputs[name] = keras.Input(shape=(), name=name, dtype="string")
        index = make_lookup(config.lookup, vocabulary, name=f"{name}_lookup")(inputs[name])
        embedding = layers.Embedding(len(vocabulary) + 1, config.encoding_size,
                                     name=f"{name}_embedding")
        encoded.append(embedding(index))
    features = VariableSelection(len(encoded), config.encoding_size, config.dropout_rate)(encoded)
    outputs = layers.Dense(1, activation="sigmoid", name="probability")(features)
    return keras.Model(inputs, outputs, name="grn_vsn")
