"""A loader of token data: sequences of uneven length padded with 0, a target per position."""
import numpy as np


def tokens(n_train=512, n_test=128, length=24, vocab=30, seed=0):
    """Next-token data: each sequence counts up through the vocabulary from a random start
    (learnable), 3 to `length` tokens long; x is the sequence, y the next token at each
    position (0: padding, where the sequence has ended)."""
    rng = np.random.default_rng(seed)

    def split(n):
        x, y = np.zeros((n, length), np.int32), np.zeros((n, length), np.int32)
        for i, m in enumerate(rng.integers(3, length + 1, n)):
            seq = (rng.integers(1, vocab) + np.arange(m + 1)) % (vocab - 1) + 1
            x[i, :m], y[i, :m] = seq[:-1], seq[1:]
        return x, y

    (x_train, y_train), (x_test, y_test) = split(n_train), split(n_test)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
