"""A user's data: an `.npz` file or a loader named by import path.

`.npz`: arrays `x_train`, `y_train`, `x_test`, `y_test`, and optionally `w_train`, `w_test`
(per-sample weights). A loader (`package.module:function`, called with no arguments) returns
the same as a dict or a tuple `(x_train, y_train, x_test, y_test[, w_train, w_test])`, or a pair
of finite `tf.data.Dataset`s `(train, test)` of `(x, y)` or `(x, y, w)` elements (batched or
not; they are read into memory once). Labels are class indices (0..C-1; binary: 0/1).

Image-shaped inputs (N, H, W, C) get an image spec (any built-in image model accepts them;
uint8 pixels are scaled to [0, 1]). Token data — integer `x` and `y` of one shape (N, T), a
target per position, 0 as padding — gets a sequence spec: its loss is a token loss, each target
weighted 1 (0 for padding, or the per-token `w_*` given) and normalised by the weights' sum, as
a Keras model masking its padding (`mask_zero=True`) computes it. Anything else gets a generic
array spec for the user's own model.
Every result is labelled as the user's data, with the file's sha256 where there is a file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.data.base import Dataset, Provenance, Split, image_spec, to_unit_float
from bench.data.sources import sha256_of
from bench.errors import BenchError
from bench.plugins import call, resolve
from models.specs import ArraySpec, SequenceSpec

KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_npz(path: str) -> Dataset:
    file = Path(path)
    if not file.is_file():
        raise BenchError(f"data set {path!r}: no such file")
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as e:
        raise BenchError(f"data set {path!r} is not a readable .npz file ({e})") from None
    return _dataset(arrays, name=file.stem, title=f"user data {file.name}", source=str(file),
                    checked=f"sha256 {sha256_of(file)[:16]}")


def load_plugin(path: str) -> Dataset:
    produced = call(resolve(path, "data loader"), path, "data loader")
    arrays = _arrays_from(produced, path)
    return _dataset(arrays, name=path, title=f"user data from {path}", source=path, checked="")


def _arrays_from(produced: Any, path: str) -> dict[str, np.ndarray]:
    if isinstance(produced, dict):
        return {k: np.asarray(v) for k, v in produced.items()}
    if isinstance(produced, (tuple, list)):
        if len(produced) == 2 and all(_is_dataset(d) for d in produced):
            return _from_datasets(produced, path)
        if len(produced) in (4, 6):
            names = (*KEYS, "w_train", "w_test")
            return {k: np.asarray(v) for k, v in zip(names, produced)}
    raise BenchError(f"data loader {path!r} returned a {type(produced).__name__}: expected a dict "
                     f"or tuple of arrays (x_train, y_train, x_test, y_test[, w_train, w_test]) or "
                     f"a (train, test) pair of tf.data.Dataset")


def _is_dataset(value: Any) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "cardinality")


def _from_datasets(pair, path: str) -> dict[str, np.ndarray]:
    # only a loader that returned tf.data.Datasets gets here: TensorFlow is already imported
    import tensorflow as tf

    out: dict[str, np.ndarray] = {}
    for split, ds in zip(("train", "test"), pair):
        if int(ds.cardinality()) in (tf.data.INFINITE_CARDINALITY, tf.data.UNKNOWN_CARDINALITY):
            raise BenchError(f"data loader {path!r}: the {split} dataset has no known length "
                             f"(use .take(n) or tf.data.experimental.assert_cardinality)")
        parts: list[list[np.ndarray]] = []
        for element in ds.as_numpy_iterator():
            element = element if isinstance(element, tuple) else (element,)
            if len(element) not in (2, 3):
                raise BenchError(f"data loader {path!r}: {split} elements must be (x, y) or "
                                 f"(x, y, w), got {len(element)} parts")
            parts.append([np.asarray(a) for a in element])
        if not parts:
            raise BenchError(f"data loader {path!r}: the {split} dataset is empty")
        batched = parts[0][1].ndim >= 1 and parts[0][0].ndim > 1 and len(parts) > 1
        join = np.concatenate if batched or parts[0][1].ndim >= 1 else np.stack
        columns = [join([p[i] for p in parts]) for i in range(len(parts[0]))]
        out[f"x_{split}"], out[f"y_{split}"] = columns[0], columns[1]
        if len(columns) == 3:
            out[f"w_{split}"] = columns[2]
    return out


def _dataset(arrays: dict[str, np.ndarray], *, name: str, title: str, source: str,
             checked: str) -> Dataset:
    missing = [k for k in KEYS if k not in arrays]
    if missing:
        raise BenchError(f"{title}: missing array(s) {', '.join(missing)} (needs {', '.join(KEYS)}, "
                         f"optionally w_train, w_test)")
    for split in ("train", "test"):
        n = len(arrays[f"x_{split}"])
        for key in (f"y_{split}", f"w_{split}"):
            if key in arrays and len(arrays[key]) != n:
                raise BenchError(f"{title}: {key} has {len(arrays[key])} entries but x_{split} has "
                                 f"{n}: the lengths must match")
        if n == 0:
            raise BenchError(f"{title}: x_{split} is empty")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise BenchError(f"{title}: x_train samples are {arrays['x_train'].shape[1:]}, x_test "
                         f"samples {arrays['x_test'].shape[1:]}: they must have one shape")
    if _is_tokens(arrays):
        return _token_dataset(arrays, name=name, title=title, source=source, checked=checked)
    y_train, y_test = (np.asarray(arrays[k]).reshape(len(arrays[k]), -1) for k in ("y_train", "y_test"))
    if y_train.shape[1] != 1 or not np.issubdtype(y_train.dtype, np.number):
        raise BenchError(f"{title}: labels must be one class index per sample, got y_train of "
                         f"shape {arrays['y_train'].shape}")
    labels = np.concatenate([y_train.ravel(), y_test.ravel()])
    if np.any(labels < 0) or np.any(labels != np.round(labels)):
        raise BenchError(f"{title}: labels must be class indices 0..C-1")
    num_classes = int(labels.max()) + 1 if len(labels) else 2
    num_classes = max(num_classes, 2)
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    image = x_train.ndim == 4 and x_train.shape[-1] in (1, 3)
    if x_train.dtype == np.uint8:
        x_train, x_test = to_unit_float(x_train), to_unit_float(x_test)
    else:
        x_train, x_test = x_train.astype(np.float32), x_test.astype(np.float32)
    binary = num_classes == 2
    cast_y = (lambda y: y.ravel().astype(np.float32)) if binary else (lambda y: y.ravel().astype(np.int32))
    w = lambda k: None if k not in arrays else np.asarray(arrays[k], np.float32).ravel()  # noqa: E731
    train = Split(x_train, cast_y(y_train), w("w_train"))
    test = Split(x_test, cast_y(y_test), w("w_test"))
    spec = (image_spec(x_train, num_classes) if image
            else ArraySpec(tuple(int(d) for d in x_train.shape[1:]), num_classes))
    prov = Provenance(name, title, source, True, len(train), len(test), checked,
                      origin="user-provided")
    return Dataset(name, spec, train, test, prov)


def _is_tokens(arrays: dict[str, np.ndarray]) -> bool:
    x, y = np.asarray(arrays["x_train"]), np.asarray(arrays["y_train"])
    return (x.ndim == 2 and x.shape == y.shape and np.issubdtype(x.dtype, np.integer)
            and np.issubdtype(y.dtype, np.integer))


def _token_dataset(arrays: dict[str, np.ndarray], *, name: str, title: str, source: str,
                   checked: str) -> Dataset:
    """Token sequences: targets 0 are padding (weight 0) unless per-token weights are given."""
    splits = {}
    for split in ("train", "test"):
        x, y = (np.asarray(arrays[f"{a}_{split}"]).astype(np.int32) for a in ("x", "y"))
        if x.shape != y.shape or np.any(x < 0) or np.any(y < 0):
            raise BenchError(f"{title}: token data needs x_{split} and y_{split} of one shape "
                             f"(N, T) with token ids >= 0 (0: padding); got {x.shape} and {y.shape}")
        w = arrays.get(f"w_{split}")
        w = (y != 0).astype(np.float32) if w is None else np.asarray(w, np.float32)
        if w.shape != y.shape:
            raise BenchError(f"{title}: w_{split} must hold one weight per token, shape {y.shape}")
        splits[split] = Split(x, y, w)
    vocab = int(max(np.max(splits[s].x) for s in splits)) + 1
    vocab = max(vocab, int(max(np.max(splits[s].y) for s in splits)) + 1)
    spec = SequenceSpec(int(splits["train"].x.shape[1]), vocab)
    prov = Provenance(name, title, source, True, len(splits["train"]), len(splits["test"]),
                      checked, note="token sequences, padding 0", origin="user-provided")
    return Dataset(name, spec, splits["train"], splits["test"], prov)
