"""FNet (Lee-Thorp et al. 2021): Fourier-transform token mixing, as in the seed example."""
from __future__ import annotations

import keras
from keras import layers, ops

from models.patch_classifier import PatchConfig, build_patch_classifier, gelu
from models.specs import ImageSpec


class FNetLayer(layers.Layer):
    """Real part of a 2-D FFT over (patches, channels), residual, norm, feed-forward, norm."""

    def __init__(self, embedding_dim: int, dropout_rate: float, **kwargs):
        super().__init__(**kwargs)
        self.ffn = keras.Sequential([
            layers.Dense(embedding_dim, activation=gelu), layers.Dropout(dropout_rate),
            layers.Dense(embedding_dim)])
        self.normalize1 = layers.LayerNormalization(epsilon=1e-6)
        self.normalize2 = layers.LayerNormalization(epsilon=1e-6)

    def call(self, inputs):
        real, _ = ops.fft2((inputs, ops.zeros_like(inputs)))
        x = self.normalize1(real + inputs)
        return self.normalize2(x + self.ffn(x))


def build(spec: ImageSpec, config: PatchConfig) -> keras.Model:
    return build_patch_classifier(
        spec, config, lambda c: FNetLayer(c.embedding_dim, c.dropout_rate),
        positional_encoding=True, name="fnet")
