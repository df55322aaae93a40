"""Shared test helpers: write data files in the real formats, run the CLI in a subprocess."""
from __future__ import annotations

import gzip
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.data import census

ROOT = Path(__file__).resolve().parents[1]


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write uint8 arrays in IDX format (gzipped when the name ends in .gz), as MNIST ships."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def write_idx_set(directory: Path, n_train: int, n_test: int, seed: int = 0) -> dict:
    """Four MNIST-format IDX .gz files; returns the arrays written."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28)),
              "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test)}
    for name, a in arrays.items():
        write_idx(directory / name, a)
    return arrays


def write_cifar100(directory: Path, n_train: int, n_test: int) -> dict:
    """The CIFAR-100 'python version' layout: pickles with b'data' and b'fine_labels'."""
    rng = np.random.default_rng(1)
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n in (("train", n_train), ("test", n_test)):
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 100, n).tolist()
        with open(directory / name, "wb") as f:
            pickle.dump({b"data": data, b"fine_labels": labels, b"coarse_labels": labels}, f)
        out[name] = (data, labels)
    return out


def census_row(rng, positive: bool) -> str:
    """One line of census-income.data.gz: 42 comma+space separated values."""
    values = []
    for col in census.CSV_HEADER:
        if col in census.NUMERIC:
            values.append(str(int(rng.integers(0, 90))))
        elif col == census.WEIGHT:
            values.append(f"{rng.uniform(100, 3000):.2f}")
        elif col == census.TARGET:
            values.append("50000+." if positive else "- 50000.")
        else:
            vocab = census.VOCABULARIES[col]
            values.append(vocab[int(rng.integers(0, len(vocab)))])
    return ", ".join(values)


def write_census(directory: Path, n_train: int, n_test: int) -> None:
    rng = np.random.default_rng(2)
    directory.mkdir(parents=True, exist_ok=True)
    for name, n in (("census-income.data.gz", n_train), ("census-income.test.gz", n_test)):
        lines = [census_row(rng, i % 3 == 0) for i in range(n)]
        with gzip.open(directory / name, "wt") as f:
            f.write("\n".join(lines) + "\n")


def outside_env() -> dict[str, str]:
    """This environment for a pytest (a sweep) started from a test: without xdist's variables,
    or it would think it is a worker (and pytest-benchmark would switch itself off)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}


def cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m bench ...` in a fresh process (the way users and the sweep run it)."""
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})
