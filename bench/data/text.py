"""Real English text of uneven lengths, offline: Debian's `fortunes` (one quotation per
sequence), or a user's own directory of text files in the same format.

A quotation becomes bytes (UTF-8), each byte a token 1..256 (0 is padding), truncated to
`LENGTH - 1` bytes: the inputs are a start token and the bytes, the targets the bytes and an end
token, both padded to `LENGTH`, and each target's weight is 1 for a real token and 0 for
padding. So an input position is masked (`Embedding(mask_zero=True)`) exactly where its target
weighs 0, and Keras' masked loss and the weighted sum normalise by the same count. Sequences
carry unequal token counts, as real ones do, and so do micro-batches of them.
"""
from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import numpy as np

from bench.data.base import Dataset, Provenance, Split
from bench.data.sources import Sources
from bench.errors import BenchError, DatasetUnavailable
from models.specs import SequenceSpec

LENGTH = 128            # positions per sequence: up to LENGTH - 1 bytes, and start or end
START, END = 257, 258   # the start token (inputs) and the end token (targets)
VOCAB = 259             # padding 0, the 256 byte values, start and end
TEST_SHARE = 0.1
SHUFFLE_SEED = 0        # the one fixed shuffle before the split (files are grouped by topic)
#: Debian's fortunes package: a directory of %-separated quotation files
SUBDIRS = ("fortunes",)
MARKER_FILES = ("fortunes", "literature")
_SEPARATOR = re.compile(rb"^%\n", re.M)


def quotations(directory: Path) -> tuple[list[bytes], str]:
    """Every quotation in a directory of fortune-format files (quotations separated by lines
    holding only "%"; a file without such lines is one quotation per paragraph), in file-name
    order, and a sha256 over what was read. Index files (.dat) and symlinks are skipped."""
    files = sorted(p for p in directory.iterdir() if p.is_file() and not p.is_symlink()
                   and p.suffix not in (".dat", ".u8") and not p.name.startswith("."))
    digest, out = hashlib.sha256(), []
    for path in files:
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw)
        parts = _SEPARATOR.split(raw) if _SEPARATOR.search(raw) else re.split(rb"\n\s*\n", raw)
        out += [p.strip(b"\n") for p in parts if p.strip()]
    if not out:
        raise BenchError(f"{directory}: no text found (fortune-format files: quotations "
                         f"separated by lines holding only %, or paragraphs)")
    return out, digest.hexdigest()


def encode(texts: list[bytes], length: int = LENGTH) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, targets, weights), each (n, length): bytes as tokens 1..256, 0 for padding;
    inputs `START b...`, targets `b... END`."""
    n = len(texts)
    x, y = np.zeros((n, length), np.int32), np.zeros((n, length), np.int32)
    for i, t in enumerate(texts):
        b = np.frombuffer(t[: length - 1], np.uint8).astype(np.int32) + 1
        x[i, 0], x[i, 1: len(b) + 1] = START, b
        y[i, : len(b)], y[i, len(b)] = b, END
    return x, y, (y != 0).astype(np.float32)


def _dataset(name: str, title: str, source: str, texts: list[bytes], checked: str,
             origin: str = "") -> Dataset:
    texts = [t for t in texts if t]
    order = np.random.default_rng(SHUFFLE_SEED).permutation(len(texts))
    n_test = max(1, int(round(len(texts) * TEST_SHARE)))
    x, y, w = encode([texts[i] for i in order])
    train = Split(x[n_test:], y[n_test:], w[n_test:])
    test = Split(x[:n_test], y[:n_test], w[:n_test])
    lengths = np.array([len(t) for t in texts])
    note = (f"{int(w.sum()):,} byte targets; quotations of {int(np.percentile(lengths, 10))}-"
            f"{int(np.percentile(lengths, 90))} bytes (10th-90th percentile), truncated to "
            f"{LENGTH - 1}")
    prov = Provenance(name, title, source, True, len(train), len(test), checked, note=note,
                      origin=origin)
    return Dataset(name, SequenceSpec(LENGTH, VOCAB), train, test, prov)


def debian_version(package: str) -> str | None:
    """The installed Debian package's version, from its changelog's first line."""
    changelog = Path("/usr/share/doc") / package / "changelog.Debian.gz"
    try:
        with gzip.open(changelog, "rt") as f:
            first = f.readline()
    except OSError:
        return None
    found = re.search(r"\(([^)]+)\)", first)
    return found.group(1) if found else None


def load_fortunes(sources: Sources) -> Dataset:
    directory = sources.find(list(MARKER_FILES), *SUBDIRS, include_root=False)
    if directory is None:
        raise DatasetUnavailable(
            "fortunes: not found. Install Debian's package fortunes (apt-get install fortunes; "
            "`make data` does), or put fortune-format text files in DIR/fortunes/ and set "
            "ACCUMBENCH_DATA_DIR=DIR")
    texts, digest = quotations(directory)
    version = debian_version("fortunes") if str(directory).startswith("/usr/share/games") else None
    source = (f"Debian package fortunes {version} ({directory})" if version else str(directory))
    return _dataset("fortunes", "English quotations (fortunes)", source, texts,
                    f"content sha256 {digest[:16]}")


def load_text_dir(path: str) -> Dataset:
    """A user's own directory of text files, read like the fortunes."""
    directory = Path(path)
    if not directory.is_dir():
        raise BenchError(f"data set {path!r}: no such directory")
    texts, digest = quotations(directory)
    return _dataset(str(directory), f"user text {directory.name}", str(directory), texts,
                    f"content sha256 {digest[:16]}", origin="user-provided")
