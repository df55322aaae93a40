"""gMLP (Liu et al. 2021): MLP with spatial gating, as in the seed example."""
from __future__ import annotations

import keras
from keras import layers, ops

from models.patch_classifier import PatchConfig, build_patch_classifier, gelu
from models.specs import ImageSpec


class GMLPLayer(layers.Layer):
    """Channel projection to 2x width, spatial gating unit, projection back, residual."""

    def __init__(self, num_patches: int, embedding_dim: int, dropout_rate: float, **kwargs):
        super().__init__(**kwargs)
        self.channel_projection1 = keras.Sequential([
            layers.Dense(embedding_dim * 2, activation=gelu), layers.Dropout(dropout_rate)])
        self.channel_projection2 = layers.Dense(embedding_dim)
        self.spatial_projection = layers.Dense(num_patches, bias_initializer="ones")
        self.normalize1 = layers.LayerNormalization(epsilon=1e-6)
        self.normalize2 = layers.LayerNormalization(epsilon=1e-6)

    def spatial_gating_unit(self, x):
        u, v = ops.split(x, 2, axis=2)
        v = self.normalize2(v)
        v = ops.transpose(self.spatial_projection(ops.transpose(v, (0, 2, 1))), (0, 2, 1))
        return u * v

    def call(self, inputs):
        x = self.channel_projection1(self.normalize1(inputs))
        return inputs + self.channel_projection2(self.spatial_gating_unit(x))


def build(spec: ImageSpec, config: PatchConfig) -> keras.Model:
    return build_patch_classifier(
        spec, config, lambda c: GMLPLayer(c.num_patches, c.embedding_dim, c.dropout_rate),
        positional_encoding=False, name="gmlp")
