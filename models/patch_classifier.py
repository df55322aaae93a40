"""The parts MLP-Mixer, FNet and gMLP share: augmentation, patch embedding, pooled head.

Follows the Keras example "Image classification with modern MLP models" (the seed), with core
Keras in place of tensorflow-addons (see README: GELU and AdamW differences).
"""
from __future__ import annotations

from typing import Callable

import keras
from keras import layers, ops

from models.configs import PatchConfig
from models.specs import ImageSpec


def gelu(x):
    """Exact (erf) GELU. tfa.layers.GELU defaulted to the tanh approximation (approximate=True)."""
    return keras.activations.gelu(x, approximate=False)


def augmentation(spec: ImageSpec, config: PatchConfig) -> keras.Sequential:
    """The seed's augmentation: normalize, resize, random flip and zoom (the last two train-only)."""
    steps: list[layers.Layer] = []
    if spec.channel_mean is not None:
        steps.append(layers.Normalization(mean=spec.channel_mean, variance=spec.channel_variance))
    steps.append(layers.Resizing(config.image_size, config.image_size))
    if config.augment:
        steps += [
            layers.RandomFlip("horizontal"),
            layers.RandomZoom(height_factor=0.2, width_factor=0.2),
        ]
    return keras.Sequential(steps, name="data_augmentation")


class Patches(layers.Layer):
    """Cuts images into non-overlapping patches: (batch, patches, patch_size**2 * channels)."""

    def __init__(self, patch_size: int, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size

    def call(self, images):
        patches = ops.image.extract_patches(images, self.patch_size, padding="valid")
        _, rows, cols, dims = patches.shape
        return ops.reshape(patches, (-1, rows * cols, dims))

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size}


class PositionEmbedding(layers.Layer):
    """Learned position embedding added to every patch (the seed's `positional_encoding=True`)."""

    def __init__(self, num_patches: int, embedding_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.embedding = layers.Embedding(num_patches, embedding_dim)
        self.num_patches = num_patches

    def call(self, x):
        return x + self.embedding(ops.arange(self.num_patches))

    def get_config(self):
        return {**super().get_config(), "num_patches": self.num_patches,
                "embedding_dim": self.embedding.output_dim}


def build_patch_classifier(
    spec: ImageSpec,
    config: PatchConfig,
    block: Callable[[PatchConfig], layers.Layer],
    *,
    positional_encoding: bool,
    name: str,
) -> keras.Model:
    """Input -> augmentation -> patches -> Dense embedding -> blocks -> average pool -> logits."""
    if config.image_size % config.patch_size:
        raise ValueError(f"image_size {config.image_size} is not a multiple of patch_size {config.patch_size}")
    inputs = keras.Input(shape=spec.shape, name="image")
    x = augmentation(spec, config)(inputs)
    x = Patches(config.patch_size)(x)
    x = layers.Dense(config.embedding_dim, name="patch_embedding")(x)
    if positional_encoding:
        x = PositionEmbedding(config.num_patches, config.embedding_dim)(x)
    for _ in range(config.num_blocks):
        x = block(config)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(config.dropout_rate)(x)
    logits = layers.Dense(spec.num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name=name)
