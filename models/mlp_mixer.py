"""MLP-Mixer (Tolstikhin et al. 2021) as in the seed example."""
from __future__ import annotations

import keras
from keras import layers, ops

from models.patch_classifier import PatchConfig, build_patch_classifier, gelu
from models.specs import ImageSpec


class MLPMixerLayer(layers.Layer):
    """Token mixing then channel mixing, each with a residual.

    Faithful to the seed: both MLPs use `num_patches` hidden units and one LayerNormalization is
    shared by the two mixing steps.
    """

    def __init__(self, num_patches: int, embedding_dim: int, dropout_rate: float, **kwargs):
        super().__init__(**kwargs)
        self.mlp1 = keras.Sequential([
            layers.Dense(num_patches, activation=gelu), layers.Dense(num_patches),
            layers.Dropout(dropout_rate)])
        self.mlp2 = keras.Sequential([
            layers.Dense(num_patches, activation=gelu), layers.Dense(embedding_dim),
            layers.Dropout(dropout_rate)])
        self.normalize = layers.LayerNormalization(epsilon=1e-6)

    def call(self, inputs):
        x = self.normalize(inputs)
        token_mixed = ops.transpose(self.mlp1(ops.transpose(x, (0, 2, 1))), (0, 2, 1))
        x = token_mixed + inputs
        return x + self.mlp2(self.normalize(x))


def build(spec: ImageSpec, config: PatchConfig) -> keras.Model:
    return build_patch_classifier(
        spec, config,
        lambda c: MLPMixerLayer(c.num_patches, c.embedding_dim, c.dropout_rate),
        positional_encoding=False, name="mlp_mixer")
