"""Writes small.npz: a learnable 3-class problem on 20 features (and is a loader too)."""
import numpy as np


def arrays(n_train=1024, n_test=256, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2, (3, 20))
    def split(n):
        y = rng.integers(0, 3, n)
        return (centers[y] + rng.normal(0, 1, (n, 20))).astype(np.float32), y
    (x_train, y_train), (x_test, y_test) = split(n_train), split(n_test)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


if __name__ == "__main__":
    np.savez("small.npz", **arrays())
    print("wrote small.npz")
