"""A user's model: the harness calls build(input_shape=..., num_classes=...)."""
import keras


def build(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Dense(32, activation="relu")(inputs)
    x = keras.layers.Dense(32, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))  # logits


def sequence_model(input_shape, num_classes):
    """A causal token model: padding (token 0) masked, one next-token prediction per position."""
    tokens = keras.Input(shape=input_shape, dtype="int32")
    x = keras.layers.Embedding(num_classes, 16, mask_zero=True)(tokens)
    x = keras.layers.GRU(32, return_sequences=True)(x)
    return keras.Model(tokens, keras.layers.Dense(num_classes)(x))  # logits per position
