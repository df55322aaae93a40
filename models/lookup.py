"""Categorical lookups for the tabular model.

`StringLookup` is the Keras 3 way. `StaticHashTableLookup` is the pre-StringLookup way (a
`tf.lookup.StaticHashTable` behind a layer; TensorFlow backend only). Both map the vocabulary to
1..n and every unknown value to 0, so they are interchangeable (tested).
"""
from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf
from keras import layers

from models.configs import LookupKind


class StaticHashTableLookup(layers.Layer):
    """Vocabulary value -> 1..n, anything else -> 0 (one out-of-vocabulary bucket)."""

    def __init__(self, vocabulary: Sequence[str], **kwargs):
        super().__init__(**kwargs)

        self.vocabulary = list(vocabulary)
        keys = tf.constant(self.vocabulary, dtype=tf.string)
        values = tf.range(1, len(self.vocabulary) + 1, dtype=tf.int64)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, values), default_value=0)

    def call(self, inputs):
        return self.table.lookup(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="int64")

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary}


def make_lookup(kind: LookupKind, vocabulary: Sequence[str], name: str) -> layers.Layer:
    if kind == "string_lookup":
        return layers.StringLookup(vocabulary=list(vocabulary), mask_token=None,
                                   num_oov_indices=1, name=name)
    if kind == "static_hash_table":
        return StaticHashTableLookup(vocabulary, name=name)
    raise ValueError(f"unknown lookup kind {kind!r}")
