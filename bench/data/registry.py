"""Data set registry: name -> loader (real) or generator (synthetic stand-in), and availability."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from bench.data import census, images, synthetic, text, user
from bench.data.base import Dataset
from bench.data.sources import Sources, host_reachable
from bench.errors import BenchError, DatasetUnavailable
from bench.plugins import is_import_path, resolve
from models.specs import ImageSpec, InputSpec, SequenceSpec, TabularSpec


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    title: str
    kind: str  # "image" | "tabular" | "text"
    counts: tuple[int, int]
    shape: tuple[int, ...] | None  # images: (H, W, C)
    num_classes: int
    load: Callable[[Sources], Dataset] | None = None            # real data
    generate: Callable[[int, int, int], Dataset] | None = None  # synthetic: (n_train, n_test, seed)
    local_files: tuple[tuple[str, ...], ...] = ()  # alternative file sets that make a local copy
    subdirs: tuple[str, ...] = ()
    include_root: bool = True
    remote_host: str | None = None
    user: bool = False  # a user's .npz file or loader

    @property
    def real(self) -> bool:
        return self.load is not None

    def availability(self, sources: Sources) -> tuple[bool, str]:
        """Whether it can be loaded here, and why — without downloading anything."""
        if self.user:
            return True, "the user's"
        if not self.real:
            return True, "generated on demand"
        for files in self.local_files:
            found = sources.find(list(files), *self.subdirs, include_root=self.include_root)
            if found is not None:
                return True, f"local copy in {found}"
        if not sources.allow_download:
            return False, "no local copy; downloads disabled"
        reason = host_reachable(self.remote_host) if self.remote_host else "no download source"
        if reason:
            return False, f"no local copy, and {reason}"
        return True, f"downloadable from {self.remote_host}"


    def listing_spec(self) -> InputSpec:
        """The model-facing spec without loading data (tables: the documented vocabularies)."""
        if self.kind == "image":
            return ImageSpec(self.shape, self.num_classes)
        if self.kind == "text":
            return SequenceSpec(text.LENGTH, text.VOCAB)
        return TabularSpec(census.NUMERIC, dict(census.VOCABULARIES), self.num_classes)


def _synthetic(real: DatasetEntry) -> DatasetEntry:
    name, title = f"synthetic_{real.name}", f"Synthetic {real.title}"
    generator = (synthetic.synthetic_census if real.kind == "tabular" else
                 synthetic.synthetic_text if real.kind == "text" else
                 partial(synthetic.synthetic_images, name, title, real.shape, real.num_classes))
    return DatasetEntry(name, title, real.kind, real.counts, real.shape, real.num_classes,
                        generate=generator)


_MNIST = DatasetEntry("mnist", "MNIST", "image", (60000, 10000), (28, 28, 1), 10, images.load_mnist,
                      local_files=(("mnist.npz",), images.IDX_NAMES), subdirs=("mnist",),
                      remote_host="storage.googleapis.com")
_FASHION = DatasetEntry("fashion_mnist", "Fashion-MNIST", "image", (60000, 10000), (28, 28, 1),
                        10, images.load_fashion_mnist, local_files=(images.IDX_NAMES,),
                        subdirs=("fashion-mnist", "fashion_mnist"), include_root=False,
                        remote_host="storage.googleapis.com")
_CIFAR = DatasetEntry("cifar100", "CIFAR-100", "image", (50000, 10000), (32, 32, 3), 100,
                      images.load_cifar100,
                      local_files=(("cifar-100-python.tar.gz",), ("train", "test")),
                      subdirs=("cifar-100-python", "cifar-100-python-target/cifar-100-python"),
                      remote_host="www.cs.toronto.edu")
_CENSUS = DatasetEntry("census_income", "Census-Income (KDD)", "tabular", (199_523, 99_762),
                       None, 2, census.load_census_income,
                       local_files=(tuple(f.name for f in census.FILES),),
                       subdirs=("census-income", "census_income"), remote_host="archive.ics.uci.edu")

_FORTUNES = DatasetEntry("fortunes", "English quotations (fortunes)", "text", (13_695, 1_522),
                         None, text.VOCAB, text.load_fortunes,
                         local_files=(text.MARKER_FILES,), subdirs=text.SUBDIRS,
                         include_root=False)

DATASETS: dict[str, DatasetEntry] = {e.name: e for e in [
    _MNIST, _FASHION, _CIFAR, _CENSUS, _FORTUNES,
    *(_synthetic(e) for e in (_MNIST, _FASHION, _CIFAR, _CENSUS, _FORTUNES))
]}


def get_dataset_entry(name: str) -> DatasetEntry:
    """A registered data set, or a user's: a path to an .npz file or a loader's import path."""
    if name in DATASETS:
        return DATASETS[name]
    if Path(name).is_dir():
        return DatasetEntry(name, f"user text {name}", "user", (0, 0), None, text.VOCAB,
                            load=lambda sources: text.load_text_dir(name), user=True)
    if name.endswith(".npz"):
        return DatasetEntry(name, f"user data {name}", "user", (0, 0), None, 0,
                            load=lambda sources: user.load_npz(name), user=True)
    if is_import_path(name):
        resolve(name, "data loader")  # fails now, with one line, if it cannot be imported
        return DatasetEntry(name, f"user data from {name}", "user", (0, 0), None, 0,
                            load=lambda sources: user.load_plugin(name), user=True)
    raise BenchError(f"unknown data set {name!r} (data sets: {', '.join(DATASETS)}, a path to "
                     f"an .npz file, or a loader as package.module:function)")


_LOADED: dict[tuple, Dataset] = {}


def load_dataset(name: str, *, sources: Sources | None = None, seed: int = 0,
                 limit_train: int | None = None, limit_test: int | None = None) -> Dataset:
    """Load a real data set (or generate a synthetic one), keeping only the first samples if
    limited. Synthetic data is generated only as large as asked for (same seed, same schema).

    Loads are kept for the life of the process: a sweep worker loads and decodes each data set
    once, and the configurations it forks share the arrays (limits are views, not copies)."""
    entry = get_dataset_entry(name)
    sources = sources or Sources.from_env()
    if entry.generate is not None:
        n_train = min(limit_train or entry.counts[0], entry.counts[0])
        n_test = min(limit_test or entry.counts[1], entry.counts[1])
        key = (name, n_train, n_test, seed)
        if key not in _LOADED:
            _LOADED[key] = entry.generate(n_train, n_test, seed)
        return _LOADED[key]
    key = (name, sources)
    if entry.user and name.endswith(".npz"):
        key = (name, sources, Path(name).stat().st_mtime if Path(name).exists() else None)
    if key not in _LOADED:
        _LOADED[key] = entry.load(sources)
    return _LOADED[key].limited(limit_train, limit_test)


FALLBACK = {"image": "fashion_mnist", "tabular": "synthetic_census_income",
            "text": "synthetic_fortunes"}


def resolve_dataset(data_kind: str, preferred: str, requested: str | None,
                    sources: Sources) -> tuple[str, str]:
    """The data set to use and a note on why: the one asked for (if it suits the model), else the
    model's seed data set if available here, else the offline default for its kind (real
    Fashion-MNIST for images; the census stand-in, labelled synthetic, for tables; a synthetic
    token stand-in for text where Debian's fortunes are not installed)."""
    if requested is None and data_kind == "user":
        raise BenchError("a model given by import path needs a data set (--dataset FILE.npz or "
                         "package.module:loader, or a registered data set)")
    if requested is not None:
        entry = get_dataset_entry(requested)
        if entry.kind != data_kind and "user" not in (entry.kind, data_kind):
            raise BenchError(f"data set {requested!r} holds {entry.kind} data; this model takes "
                             f"{data_kind} data ({', '.join(n for n, e in DATASETS.items() if e.kind == data_kind)})")
        return requested, "as requested"
    available, why = get_dataset_entry(preferred).availability(sources)
    if available:
        return preferred, f"the seed's data set ({why})"
    return FALLBACK[data_kind], f"the seed's {preferred} is not available here ({why}); using the offline default"


__all__ = ["FALLBACK", "resolve_dataset", "DATASETS", "DatasetEntry", "DatasetUnavailable", "get_dataset_entry", "load_dataset"]
