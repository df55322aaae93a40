"""Synthetic stand-ins with the real schema: learnable, deterministic by seed, labelled synthetic.

Images: each class has a smooth random prototype; a sample is its class prototype under a random
brightness and shift plus pixel noise, so a model can learn the task but not trivially.
Census: the real column names and vocabularies; the label follows a hidden logistic model of a
few numeric and categorical columns, so accuracy means something.
"""
from __future__ import annotations

import numpy as np

from bench.data import census
from bench.data.base import Dataset, Provenance, Split, image_spec
from models.specs import TabularSpec


def _prototypes(rng: np.random.Generator, num_classes: int, shape: tuple) -> np.ndarray:
    h, w, c = shape
    coarse = rng.random((num_classes, h // 4 + 1, w // 4 + 1, c))
    up = coarse.repeat(4, axis=1).repeat(4, axis=2)[:, :h, :w, :]
    # a 3x3 box blur keeps the prototypes smooth, like natural images
    padded = np.pad(up, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    return sum(padded[:, i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0


def synthetic_images(name: str, title: str, shape: tuple, num_classes: int, n_train: int,
                     n_test: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    protos = _prototypes(rng, num_classes, shape)

    def sample(n: int) -> Split:
        y = rng.integers(0, num_classes, n)
        shifts = rng.integers(-2, 3, (n, 2))
        x = protos[y].astype(np.float32)
        for dy in range(-2, 3):  # one vectorised roll per distinct shift
            for dx in range(-2, 3):
                sel = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
                x[sel] = np.roll(x[sel], (dy, dx), axis=(1, 2))
        x *= rng.uniform(0.7, 1.3, (n, 1, 1, 1)).astype(np.float32)
        x += rng.normal(0, 0.25, x.shape).astype(np.float32)
        return Split(np.clip(x, 0, 1, out=x), y.astype(np.int32))

    train, test = sample(n_train), sample(n_test)
    prov = Provenance(name, title, f"synthetic(seed={seed})", False, n_train, n_test,
                      "generated", f"synthetic stand-in with the schema of {title.split()[-1]}")
    return Dataset(name, image_spec(train.x, num_classes), train, test, prov)


def synthetic_census(n_train: int, n_test: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    scales = {"age": 90, "wage_per_hour": 9999, "capital_gains": 99999, "capital_losses": 4608,
              "dividends_from_stocks": 99999, "num_persons_worked_for_employer": 6,
              "weeks_worked_in_year": 52}
    effects = {c: rng.normal(0, 1.0, len(v)) for c, v in census.VOCABULARIES.items()}
    informative = ("education", "sex", "class_of_worker", "major_occupation_code", "marital_stat")

    def sample(n: int) -> Split:
        x: dict[str, np.ndarray] = {}
        codes = {}
        for c, vocab in census.VOCABULARIES.items():
            codes[c] = rng.integers(0, len(vocab), n)
            x[c] = np.asarray(vocab, dtype=object)[codes[c]]
        for c in census.NUMERIC:
            # mostly zeros with a long tail, like the real money columns; uniform for counts
            u = rng.random(n)
            values = (u ** 3) * scales[c] if scales[c] > 100 else np.floor(u * (scales[c] + 1))
            x[c] = values.astype(np.float32)
        logit = (2.0 * (x["age"] / 90 - 0.5) + 1.5 * (x["weeks_worked_in_year"] / 52 - 0.5)
                 + sum(effects[c][codes[c]] for c in informative) - 1.0)
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
        weight = rng.lognormal(np.log(1700), 0.5, n).astype(np.float32)
        return Split(x, y, weight)

    spec = TabularSpec(census.NUMERIC, dict(census.VOCABULARIES), 2)
    prov = Provenance("synthetic_census_income", "Census-Income (KDD) stand-in",
                      f"synthetic(seed={seed})", False, n_train, n_test, "generated",
                      "synthetic stand-in with the real columns and vocabularies")
    return Dataset("synthetic_census_income", spec, sample(n_train), sample(n_test), prov)
