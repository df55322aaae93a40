"""Gated Residual and Variable Selection Networks (Lim et al., Temporal Fusion Transformer) for
tabular data, as in the Keras example on census income (the seed).

Categorical features: lookup + Embedding; numeric features: Dense projection. One sigmoid output
paired with `BinaryCrossentropy(from_logits=False)`, as in the seed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import keras
from keras import layers, ops

from models.lookup import LookupKind, make_lookup
from models.specs import TabularSpec


@dataclass(frozen=True)
class GRNConfig:
    encoding_size: int = 16
    dropout_rate: float = 0.15
    lookup: LookupKind = "string_lookup"


GRN_PRESETS = {"seed": GRNConfig(), "small": GRNConfig(encoding_size=8)}


class GatedLinearUnit(layers.Layer):
    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.linear = layers.Dense(units)
        self.sigmoid = layers.Dense(units, activation="sigmoid")

    def call(self, inputs):
        return self.linear(inputs) * self.sigmoid(inputs)


class GatedResidualNetwork(layers.Layer):
    """ELU dense, linear dense, dropout, GLU, residual (projected if widths differ), LayerNorm."""

    def __init__(self, units: int, dropout_rate: float, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.elu_dense = layers.Dense(units, activation="elu")
        self.linear_dense = layers.Dense(units)
        self.dropout = layers.Dropout(dropout_rate)
        self.gated_linear_unit = GatedLinearUnit(units)
        self.layer_norm = layers.LayerNormalization()
        self.project = None

    def build(self, input_shape):
        if input_shape[-1] != self.units:
            self.project = layers.Dense(self.units)

    def call(self, inputs, training=None):
        x = self.linear_dense(self.elu_dense(inputs))
        x = self.dropout(x, training=training)
        residual = self.project(inputs) if self.project is not None else inputs
        return self.layer_norm(residual + self.gated_linear_unit(x))


class VariableSelection(layers.Layer):
    """Softmax weights over features (from a GRN of all features) applied to per-feature GRNs."""

    def __init__(self, num_features: int, units: int, dropout_rate: float, **kwargs):
        super().__init__(**kwargs)
        self.grns = [GatedResidualNetwork(units, dropout_rate) for _ in range(num_features)]
        self.grn_concat = GatedResidualNetwork(units, dropout_rate)
        self.softmax = layers.Dense(num_features, activation="softmax")

    def call(self, inputs, training=None):
        v = self.grn_concat(ops.concatenate(inputs, axis=-1), training=training)
        v = ops.expand_dims(self.softmax(v), axis=-1)                       # (batch, F, 1)
        x = ops.stack([grn(f, training=training) for grn, f in zip(self.grns, inputs)], axis=1)
        return ops.squeeze(ops.matmul(ops.transpose(v, (0, 2, 1)), x), axis=1)


def _layer_name(feature: str) -> str:
    """Feature names like "fill_inc_questionnaire_for_veteran's_admin" are not valid scopes."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", feature)


def build(spec: TabularSpec, config: GRNConfig) -> keras.Model:
    """Inputs are a dict keyed by the feature names; layer names are sanitised copies."""
    inputs, encoded = {}, []
    for name in spec.numeric:
        inputs[name] = keras.Input(shape=(), name=_layer_name(name), dtype=keras.config.floatx())
        x = ops.expand_dims(inputs[name], -1)
        encoded.append(layers.Dense(config.encoding_size, name=f"{_layer_name(name)}_projection")(x))
    for name, vocabulary in spec.categorical.items():
        inputs[name] = keras.Input(shape=(), name=_layer_name(name), dtype="string")
        index = make_lookup(config.lookup, vocabulary, name=f"{_layer_name(name)}_lookup")(inputs[name])
        embedding = layers.Embedding(len(vocabulary) + 1, config.encoding_size,
                                     name=f"{_layer_name(name)}_embedding")
        encoded.append(embedding(index))
    features = VariableSelection(len(encoded), config.encoding_size, config.dropout_rate)(encoded)
    if spec.num_classes != 2:
        raise ValueError("grn_vsn is a binary classifier (one sigmoid output)")
    outputs = layers.Dense(1, activation="sigmoid", name="probability")(features)
    return keras.Model(inputs, outputs, name="grn_vsn")
