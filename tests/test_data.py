"""Loaders parse the real formats; offline failure is one clear error; synthetic data is
deterministic, learnable and labelled."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from bench.data import Sources, census, images, load_dataset
from bench.data import sources as sources_mod
from bench.data.idx import read_idx
from bench.data.registry import DATASETS, resolve_dataset
from bench.errors import BenchError, DatasetUnavailable
from tests.helpers import write_census, write_cifar100, write_idx, write_idx_set

FASHION = Path("/usr/share/datasets/fashion-mnist")


def local(directory: Path) -> Sources:
    """Only this directory; no system dirs, caches or downloads."""
    return Sources((directory,), (), directory / "cache", directory / "keras", allow_download=False)


def test_idx_round_trip_and_corruption(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x.gz", a)
    assert np.array_equal(read_idx(tmp_path / "x.gz"), a)
    raw = gzip.open(tmp_path / "x.gz").read()
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(raw[:-5])
    with pytest.raises(BenchError, match="truncated or corrupt"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "junk.gz").write_bytes(b"not gzip at all")
    with pytest.raises(BenchError, match="cannot read"):
        read_idx(tmp_path / "junk.gz")


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_from_debian():
    ds = load_dataset("fashion_mnist", sources=Sources((), (Path("/usr/share/datasets"),),
                                                       Path("/nonexistent"), Path("/nonexistent"),
                                                       allow_download=False))
    assert ds.train.x.shape == (60000, 28, 28, 1) and ds.test.x.shape == (10000, 28, 28, 1)
    assert ds.train.x.dtype == np.float32 and 0 <= ds.train.x.min() and ds.train.x.max() <= 1
    assert set(np.unique(ds.train.y)) == set(range(10))
    assert np.bincount(ds.train.y).tolist() == [6000] * 10  # Fashion-MNIST is balanced
    p = ds.provenance
    assert p.real and p.checked == "content sha256" and "fashion-mnist" in p.source
    assert "real" in p.label() and "SYNTHETIC" not in p.label()


def test_mnist_from_local_idx_files(tmp_path):
    written = write_idx_set(tmp_path / "mnist", 50, 20)
    ds = images.load_mnist(local(tmp_path), counts=(50, 20))
    assert ds.train.x.shape == (50, 28, 28, 1)
    np.testing.assert_allclose(ds.train.x[..., 0] * 255, written["train-images-idx3-ubyte.gz"], atol=1e-3)
    assert ds.test.y.tolist() == written["t10k-labels-idx1-ubyte.gz"].tolist()
    assert ds.provenance.checked == "structure"


def test_mnist_npz_must_match_published_checksum(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((1, 28, 28)), y_train=np.zeros(1),
             x_test=np.zeros((1, 28, 28)), y_test=np.zeros(1))
    with pytest.raises(BenchError, match="published sha256"):
        images.load_mnist(local(tmp_path))


def test_fashion_mnist_idx_must_live_in_its_subdirectory(tmp_path):
    write_idx_set(tmp_path, 10, 10)  # MNIST-named files at the root: ambiguous, so not used
    with pytest.raises(DatasetUnavailable, match="fashion_mnist is not available offline"):
        images.load_fashion_mnist(local(tmp_path), counts=(10, 10))


def test_cifar100_python_pickles(tmp_path):
    written = write_cifar100(tmp_path / "cifar-100-python", 30, 12)
    ds = images.load_cifar100(local(tmp_path), counts=(30, 12))
    assert ds.train.x.shape == (30, 32, 32, 3) and ds.spec.num_classes == 100
    data, labels = written["train"]
    # CIFAR rows are channel-major: the first 1024 bytes are the red plane
    np.testing.assert_allclose(ds.train.x[0, :, :, 0].ravel() * 255, data[0, :1024], atol=1e-3)
    assert ds.train.y.tolist() == labels


def test_cifar100_corrupt_pickle_is_a_clear_error(tmp_path):
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    (d / "train").write_bytes(b"garbage")
    (d / "test").write_bytes(b"garbage")
    with pytest.raises(BenchError, match="cannot parse"):
        images.load_cifar100(local(tmp_path), counts=(1, 1))


def test_census_income_csv(tmp_path):
    write_census(tmp_path / "census-income", 60, 30)
    ds = census.load_census_income(local(tmp_path), {"census-income.data.gz": 60,
                                                     "census-income.test.gz": 30})
    assert set(ds.train.x) == set(census.NUMERIC) | set(census.CATEGORICAL)
    assert len(census.NUMERIC) + len(census.CATEGORICAL) + 1 == 41  # + instance_weight
    assert ds.train.weight is not None and ds.train.weight.min() >= 100
    assert ds.train.y.tolist() == [1.0 if i % 3 == 0 else 0.0 for i in range(60)]
    assert all(not v.startswith(" ") for v in ds.train.x["education"])  # leading spaces stripped
    # vocabularies come from the training file, like the seed's
    assert set(ds.spec.categorical["sex"]) <= {"Female", "Male"}
    assert "sha256" in ds.provenance.note


def test_census_row_count_is_checked(tmp_path):
    write_census(tmp_path / "census-income", 5, 5)
    with pytest.raises(BenchError, match="expected 199,523"):
        census.load_census_income(local(tmp_path))


def test_unavailable_offline_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sources_mod, "host_reachable", lambda host, *a, **k: f"{host} unreachable (test)")
    src = Sources((tmp_path,), (), tmp_path / "cache", tmp_path / "keras", allow_download=True)
    for name in ("mnist", "cifar100", "census_income"):
        with pytest.raises(DatasetUnavailable) as err:
            load_dataset(name, sources=src)
        message = str(err.value)
        assert "not available offline" in message and "--data-dir" in message
        assert "\n" not in message
    assert not (tmp_path / "cache").exists()  # nothing was written


def test_local_copy_means_no_network(tmp_path, monkeypatch):
    def forbidden(*a, **k):
        raise AssertionError("network touched although a local copy exists")
    monkeypatch.setattr(sources_mod, "host_reachable", forbidden)
    monkeypatch.setattr(sources_mod.urllib.request, "urlopen", forbidden)
    write_census(tmp_path / "census_income", 4, 4)
    src = Sources((tmp_path,), (), tmp_path / "c", tmp_path / "k", allow_download=True)
    census.load_census_income(src, {"census-income.data.gz": 4, "census-income.test.gz": 4})
    assert DATASETS["census_income"].availability(src)[0]


@pytest.mark.parametrize("name", ["synthetic_mnist", "synthetic_fashion_mnist", "synthetic_cifar100"])
def test_synthetic_images_are_deterministic_and_learnable(name):
    a = load_dataset(name, seed=3, limit_train=600, limit_test=300)
    b = load_dataset(name, seed=3, limit_train=600, limit_test=300)
    c = load_dataset(name, seed=4, limit_train=600, limit_test=300)
    assert np.array_equal(a.train.x, b.train.x) and not np.array_equal(a.train.x, c.train.x)
    real = DATASETS[name.removeprefix("synthetic_")]
    assert a.spec.shape == real.shape and a.spec.num_classes == real.num_classes
    # nearest class mean: far above chance, so accuracy means something
    x, y = a.train.x.reshape(len(a.train), -1), a.train.y
    means = np.stack([x[y == k].mean(0) if (y == k).any() else np.full(x.shape[1], np.inf)
                      for k in range(real.num_classes)])
    xt = a.test.x.reshape(len(a.test), -1)
    pred = np.argmin(((xt[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (pred == a.test.y).mean() > 5 / real.num_classes
    assert not a.provenance.real and "SYNTHETIC" in a.provenance.label()


def test_synthetic_census_has_the_real_schema_and_a_learnable_label():
    ds = load_dataset("synthetic_census_income", seed=0, limit_train=4000, limit_test=10)
    assert ds.spec.numeric == census.NUMERIC
    assert ds.spec.categorical == census.VOCABULARIES
    for col, vocab in census.VOCABULARIES.items():
        assert set(ds.train.x[col]) <= set(vocab)
    # the label depends on the informative columns: per-category positive rates differ widely
    y, edu = ds.train.y, ds.train.x["education"]
    rates = [y[edu == v].mean() for v in set(edu) if (edu == v).sum() > 50]
    assert max(rates) - min(rates) > 0.2
    assert (ds.train.weight > 0).all()


def test_limits_are_recorded_in_the_label():
    ds = load_dataset("synthetic_mnist", limit_train=100, limit_test=50)
    assert ds.provenance.n_train == 100 and "100 train" in ds.provenance.label()


def test_dataset_resolution_falls_back_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(sources_mod, "host_reachable", lambda host, *a, **k: "offline (test)")
    src = local(tmp_path)
    name, why = resolve_dataset("tabular", "census_income", None, src)
    assert name == "synthetic_census_income" and "not available" in why
    with pytest.raises(BenchError, match="holds image data"):
        resolve_dataset("tabular", "census_income", "mnist", src)
