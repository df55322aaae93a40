"""A causal language model over bytes: the token-loss model.

`Embedding(mask_zero=True)` -> `GRU(return_sequences=True)` -> `Dense(vocab)` logits, one
next-byte prediction per position. Padding (token 0) is masked from the embedding onwards, so
Keras' own loss normalises each batch by its count of valid tokens: the case where the mean of
micro-batch means is not the large batch's mean. Built through `models.backend`, so the Keras 2
lane builds the same model with tf_keras (whose masked losses also divide by the valid tokens).
"""
from __future__ import annotations

from models.backend import keras, layers
from models.configs import CharLMConfig
from models.specs import SequenceSpec


def build(spec: SequenceSpec, config: CharLMConfig) -> keras.Model:
    tokens = keras.Input(shape=(spec.length,), dtype="int32", name="tokens")
    x = layers.Embedding(spec.vocab_size, config.embedding_dim, mask_zero=True)(tokens)
    x = layers.GRU(config.units, return_sequences=True)(x)
    logits = layers.Dense(spec.vocab_size, name="logits")(x)
    return keras.Model(tokens, logits, name="char_lm")
