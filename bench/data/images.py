"""Real image data sets: MNIST, Fashion-MNIST, CIFAR-100 in their published formats."""
from __future__ import annotations

import hashlib
import pickle
import tarfile
from pathlib import Path

import numpy as np

from bench.data.base import Dataset, Provenance, Split, image_spec, to_unit_float
from bench.data.idx import read_idx, read_idx_bytes
from bench.data.sources import RemoteFile, Sources, fetch_all, verify
from bench.errors import BenchError

KERAS_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

#: sha256 of the decompressed Fashion-MNIST IDX files (the content is the same whether the .gz
#: comes from Debian's dataset-fashion-mnist, which recompresses, or from the Keras mirror).
FASHION_CONTENT_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
#: Keras' published hashes (keras/src/datasets/mnist.py, cifar100.py).
MNIST_NPZ = RemoteFile("mnist.npz", KERAS_DATASETS + "mnist.npz",
                       "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")
CIFAR100_TGZ = RemoteFile("cifar-100-python.tar.gz",
                          "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                          "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7")


def _how_to_get(files: str, url: str) -> str:
    return (f"Put {files} in a directory and pass --data-dir DIR (or set ACCUMBENCH_DATA_DIR), "
            f"or run once with internet access to download {url}.")


def _check_counts(name: str, x: np.ndarray, y: np.ndarray, shape: tuple, n: int | None) -> None:
    if x.shape[1:] != shape or len(x) != len(y) or (n is not None and len(x) != n):
        raise BenchError(f"{name}: unexpected data shape {x.shape} / {y.shape} "
                         f"(expected {n or 'N'} x {shape}); the files look corrupt")


def _load_idx_dir(directory: Path, name: str, content_sha: dict[str, str] | None) -> tuple:
    arrays = []
    for fname in IDX_NAMES:
        data = read_idx_bytes(directory / fname)
        if content_sha and hashlib.sha256(data).hexdigest() != content_sha[fname]:
            raise BenchError(f"{name}: {directory / fname} does not match the known content "
                             f"sha256 (corrupt or a different data set)")
        arrays.append(read_idx(directory / fname, data))
    return tuple(arrays)


def _image_dataset(name: str, title: str, arrays: tuple, num_classes: int, source: str,
                   checked: str, n: tuple[int, int], shape: tuple) -> Dataset:
    x_tr, y_tr, x_te, y_te = arrays
    _check_counts(name, x_tr, y_tr, shape, n[0])
    _check_counts(name, x_te, y_te, shape, n[1])
    x_tr, x_te = to_unit_float(x_tr), to_unit_float(x_te)
    prov = Provenance(name, title, source, True, len(x_tr), len(x_te), checked)
    return Dataset(name, image_spec(x_tr, num_classes),
                   Split(x_tr, y_tr.astype(np.int32)), Split(x_te, y_te.astype(np.int32)), prov)


def load_fashion_mnist(sources: Sources, counts: tuple[int, int] = (60000, 10000)) -> Dataset:
    files = [RemoteFile(f, KERAS_DATASETS + "fashion-mnist/" + f) for f in IDX_NAMES]
    how = ("Install Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), "
           + _how_to_get("the four *-ubyte.gz files in DIR/fashion-mnist/",
                         KERAS_DATASETS + "fashion-mnist/"))
    directory, _ = fetch_all(sources, files, "fashion_mnist", how, "fashion-mnist", "fashion_mnist",
                             include_root=False)
    known = counts == (60000, 10000)  # the content hashes are of the published files
    arrays = _load_idx_dir(directory, "fashion_mnist", FASHION_CONTENT_SHA256 if known else None)
    return _image_dataset("fashion_mnist", "Fashion-MNIST", arrays, 10, str(directory),
                          "content sha256" if known else "structure", counts, (28, 28))


def load_mnist(sources: Sources, counts: tuple[int, int] = (60000, 10000)) -> Dataset:
    """mnist.npz (Keras' file, sha256-checked) or the original IDX files in a local directory."""
    idx_dir = sources.find(list(IDX_NAMES), "mnist", include_root=False)
    if idx_dir is not None:
        arrays = _load_idx_dir(idx_dir, "mnist", None)
        source, checked = str(idx_dir), "structure"
    else:
        how = _how_to_get("mnist.npz (or the four MNIST *-ubyte.gz files in DIR/mnist/)",
                          MNIST_NPZ.url)
        directory, _ = fetch_all(sources, [MNIST_NPZ], "mnist", how, "mnist")
        checked = verify(directory / MNIST_NPZ.name, MNIST_NPZ.sha256, "mnist")
        try:
            with np.load(directory / MNIST_NPZ.name, allow_pickle=False) as f:
                arrays = (f["x_train"], f["y_train"], f["x_test"], f["y_test"])
        except (OSError, KeyError, ValueError) as e:
            raise BenchError(f"mnist: cannot read {directory / MNIST_NPZ.name}: {e}") from None
        source = str(directory / MNIST_NPZ.name)
    return _image_dataset("mnist", "MNIST", arrays, 10, source, checked, counts, (28, 28))


def _read_cifar_pickle(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        return _parse_cifar_pickle(f.read(), path)


def _parse_cifar_pickle(raw: bytes, path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = pickle.loads(raw, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"fine_labels"])
    except Exception as e:  # a corrupt pickle can raise almost anything
        raise BenchError(f"cifar100: cannot parse {path}: {e.__class__.__name__}") from None
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def load_cifar100(sources: Sources, counts: tuple[int, int] = (50000, 10000)) -> Dataset:
    """CIFAR-100 'python version': extracted train/test pickles, or the sha256-checked tar.gz."""
    extracted = sources.find(["train", "test"], "cifar-100-python",
                             "cifar-100-python-target/cifar-100-python")
    if extracted is not None:
        train = _read_cifar_pickle(extracted / "train")
        test = _read_cifar_pickle(extracted / "test")
        source, checked = str(extracted), "structure"
    else:
        how = _how_to_get("cifar-100-python.tar.gz (or its extracted folder)",
                          CIFAR100_TGZ.url)
        directory, _ = fetch_all(sources, [CIFAR100_TGZ], "cifar100", how, "cifar100")
        archive = directory / CIFAR100_TGZ.name
        checked = verify(archive, CIFAR100_TGZ.sha256, "cifar100")
        try:
            with tarfile.open(archive, "r:gz") as tar:
                raw = {m: tar.extractfile(f"cifar-100-python/{m}").read() for m in ("train", "test")}
        except (tarfile.TarError, KeyError, OSError, AttributeError) as e:
            raise BenchError(f"cifar100: cannot read {archive}: {e}") from None
        train = _parse_cifar_pickle(raw["train"], f"{archive}:train")
        test = _parse_cifar_pickle(raw["test"], f"{archive}:test")
        source = str(archive)
    return _image_dataset("cifar100", "CIFAR-100", (*train, *test), 100, source, checked,
                          counts, (32, 32, 3))
