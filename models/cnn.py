"""The seed's small CNN, and its BatchNormalization control.

3 conv + dense: 93,322 parameters for 28x28x1 inputs and 10 classes. The seed ended in a softmax
while compiling with `from_logits=True` (the loss then applies a second softmax); this builder
outputs logits and the harness pairs it with `from_logits=True`. Built through `models.backend`,
so the Keras 2 lane builds the same model with tf_keras.
"""
from __future__ import annotations

from models.backend import keras, layers
from models.configs import CNNConfig
from models.specs import ImageSpec


def build(spec: ImageSpec, config: CNNConfig) -> keras.Model:
    f1, f2, f3 = config.filters
    inputs = keras.Input(shape=spec.shape, name="image")
    x = layers.Conv2D(f1, 3, activation=None if config.batch_norm else "relu")(inputs)
    if config.batch_norm:
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(f2, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(f3, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(config.dense_units, activation="relu")(x)
    logits = layers.Dense(spec.num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="cnn_bn" if config.batch_norm else "cnn")
