"""In-memory data sets and their provenance label."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Union

import numpy as np

from models.specs import ImageSpec, InputSpec, SequenceSpec, TabularSpec

Features = Union[np.ndarray, dict[str, np.ndarray]]


@dataclass(frozen=True)
class Provenance:
    """Where the numbers came from; copied into every result."""

    name: str
    title: str
    source: str
    real: bool
    n_train: int
    n_test: int
    checked: str = ""
    note: str = ""
    achievable_accuracy: float | None = None  # synthetic data: the Bayes accuracy of its rule
    origin: str = ""  # "user-provided" for a user's own data

    def label(self) -> str:
        kind = self.origin or ("real" if self.real else "SYNTHETIC")
        note = f"; {self.note}" if self.note else ""
        return f"{self.title} ({kind}, {self.n_train:,} train / {self.n_test:,} test{note})"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label()}


@dataclass(frozen=True)
class Split:
    """Features (array, or dict of column arrays), labels and optional per-sample weights."""

    x: Features
    y: np.ndarray
    weight: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def take(self, indices: np.ndarray) -> "Split":
        x = ({k: v[indices] for k, v in self.x.items()} if isinstance(self.x, dict)
             else self.x[indices])
        w = None if self.weight is None else self.weight[indices]
        return Split(x, self.y[indices], w)

    def head(self, n: int | None) -> "Split":
        """The first `n` samples as views (no copy: a forked worker's children share them)."""
        if n is None or n >= len(self):
            return self
        x = {k: v[:n] for k, v in self.x.items()} if isinstance(self.x, dict) else self.x[:n]
        return Split(x, self.y[:n], None if self.weight is None else self.weight[:n])


@dataclass(frozen=True)
class Dataset:
    name: str
    spec: InputSpec
    train: Split
    test: Split
    provenance: Provenance

    @property
    def kind(self) -> str:
        return ("image" if isinstance(self.spec, ImageSpec) else
                "tabular" if isinstance(self.spec, TabularSpec) else
                "text" if isinstance(self.spec, SequenceSpec) else "array")

    def test_statistics(self) -> dict[str, float]:
        """What a model that learned nothing scores: the majority class's share of the test set
        (of its weighted targets, where every target has a weight: the tokens of text)."""
        y = np.asarray(self.test.y).astype(np.int64)
        w = self.test.weight
        if w is not None and np.shape(w) == y.shape and y.ndim > 1:
            counts = np.bincount(y.ravel(), weights=np.asarray(w, np.float64).ravel())
        else:
            counts = np.bincount(y.ravel())
        return {"test_majority_rate": float(counts.max() / max(1, counts.sum()))}

    def limited(self, train: int | None = None, test: int | None = None) -> "Dataset":
        """First `train`/`test` samples (the loaders shuffle nothing, so this is reproducible)."""
        if train is None and test is None:
            return self
        tr, te = self.train.head(train), self.test.head(test)
        notes = [n for n in [self.provenance.note,
                             f"limited to the first {len(tr):,} train / {len(te):,} test samples"] if n]
        prov = replace(self.provenance, n_train=len(tr), n_test=len(te), note="; ".join(notes))
        return replace(self, train=tr, test=te, provenance=prov)


def image_spec(x_train: np.ndarray, num_classes: int) -> ImageSpec:
    """Spec with per-channel statistics of the training images (what the seed's `adapt` computed)."""
    axes = tuple(range(x_train.ndim - 1))
    mean = x_train.mean(axis=axes, dtype=np.float64)
    var = x_train.var(axis=axes, dtype=np.float64)
    return ImageSpec(tuple(int(d) for d in x_train.shape[1:]), num_classes,
                     tuple(float(m) for m in mean), tuple(float(v) for v in var))


def to_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [0, 1], NHWC."""
    x = images.astype(np.float32) / 255.0
    return x[..., None] if x.ndim == 3 else x


__all__ = ["Dataset", "Features", "Provenance", "Split", "TabularSpec", "image_spec", "to_unit_float"]
