"""Synthetic stand-ins with the real schema: learnable, deterministic by seed, labelled synthetic.

Images: each class has a smooth random prototype; a sample is its class prototype under a random
brightness and shift plus pixel noise, so a model can learn the task but not trivially.
Census: the real column names and vocabularies; the label follows a hidden logistic model of a
few numeric and categorical columns, so accuracy means something.
"""
from __future__ import annotations

import numpy as np

from bench.data import census, text
from bench.data.base import Dataset, Provenance, Split, image_spec
from models.specs import SequenceSpec, TabularSpec


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


#: The census stand-in's label rule, stated so that its achievable accuracy is known:
#:   logit = 3 (age/90 - 0.45) + 2 (weeks_worked_in_year/52 - 0.5)
#:           + 1.5 (e[education] + e[sex] + e[class_of_worker] + e[major_occupation_code]
#:                  + e[marital_stat]) - 1.5,   y ~ Bernoulli(sigmoid(logit)),
#: where each e[...] is a fixed N(0, 1) draw per category (drawn from the data set's seed). The
#: other 35 columns are noise. The Bayes classifier (predict 1 when sigmoid(logit) > 0.5) is the
#: best any model can do; its expected accuracy on the test split, mean(max(p, 1 - p)), is
#: recorded as `achievable_accuracy`.
CENSUS_RULE = ("y ~ Bernoulli(sigmoid(3 (age/90 - 0.45) + 2 (weeks/52 - 0.5) + 1.5 x sum of "
               "N(0,1) effects of education, sex, class of worker, major occupation, marital "
               "status - 1.5)); 35 other columns are noise")
INFORMATIVE = ("education", "sex", "class_of_worker", "major_occupation_code", "marital_stat")


def synthetic_census(n_train: int, n_test: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    scales = {"age": 90, "wage_per_hour": 9999, "capital_gains": 99999, "capital_losses": 4608,
              "dividends_from_stocks": 99999, "num_persons_worked_for_employer": 6,
              "weeks_worked_in_year": 52}
    effects = {c: rng.normal(0, 1.0, len(v)) for c, v in census.VOCABULARIES.items()}

    def sample(n: int) -> tuple[Split, np.ndarray]:
        x: dict[str, np.ndarray] = {}
        codes = {}
        for c, vocab in census.VOCABULARIES.items():
            codes[c] = rng.integers(0, len(vocab), n)
            x[c] = np.asarray(vocab, dtype=object)[codes[c]]
        for c in census.NUMERIC:
            # mostly small with a long tail, like the real money columns; uniform for counts
            u = rng.random(n)
            values = (u ** 3) * scales[c] if scales[c] > 100 else np.floor(u * (scales[c] + 1))
            x[c] = values.astype(np.float32)
        logit = (3.0 * (x["age"] / 90 - 0.45) + 2.0 * (x["weeks_worked_in_year"] / 52 - 0.5)
                 + 1.5 * sum(effects[c][codes[c]] for c in INFORMATIVE) - 1.5)
        p = 1 / (1 + np.exp(-logit))
        y = (rng.random(n) < p).astype(np.float32)
        weight = rng.lognormal(np.log(1700), 0.5, n).astype(np.float32)
        return Split(x, y, weight), p

    (train, _), (test, p_test) = sample(n_train), sample(n_test)
    spec = TabularSpec(census.NUMERIC, dict(census.VOCABULARIES), 2)
    prov = Provenance("synthetic_census_income", "Census-Income (KDD) stand-in",
                      f"synthetic(seed={seed})", False, n_train, n_test, "generated",
                      "synthetic stand-in with the real columns and vocabularies; label rule: "
                      + CENSUS_RULE, achievable_accuracy=float(np.mean(np.maximum(p_test, 1 - p_test))))
    return Dataset("synthetic_census_income", spec, train, test, prov)


def synthetic_text(n_train: int, n_test: int, seed: int) -> Dataset:
    """Token sequences with the text schema (`bench.data.text`): lengths spread like short
    quotations, each next byte a fixed function of the previous one most of the time (so it
    can be learned), drawn from a few dozen byte values."""
    rng = np.random.default_rng(seed)
    alphabet = rng.choice(np.arange(256, dtype=np.uint8), 40, replace=False)
    successor = rng.permutation(len(alphabet))

    def sample(n: int) -> Split:
        lengths = np.clip(rng.lognormal(4.4, 0.8, n).astype(int), 2, text.LENGTH - 1)
        texts = []
        for m in lengths:
            state, out = rng.integers(len(alphabet)), bytearray()
            for _ in range(m):
                out.append(int(alphabet[state]))
                state = successor[state] if rng.random() < 0.8 else rng.integers(len(alphabet))
            texts.append(bytes(out))
        return Split(*text.encode(texts))

    train, test = sample(n_train), sample(n_test)
    prov = Provenance("synthetic_fortunes", "Synthetic token sequences", f"synthetic(seed={seed})",
                      False, n_train, n_test, "generated",
                      "synthetic stand-in with the schema of the fortunes text")
    return Dataset("synthetic_fortunes", SequenceSpec(text.LENGTH, text.VOCAB), train, test, prov)
