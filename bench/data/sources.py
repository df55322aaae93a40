"""Where real data comes from: a local directory, a system package, a cache, or a download.

Order: `--data-dir` / $ACCUMBENCH_DATA_DIR, system locations (Debian's dataset packages and its
fortunes), the
cache ($ACCUMBENCH_CACHE, default ~/.cache/accumbench, plus Keras' ~/.keras/datasets), then a
download into the cache. A local copy means no network attempt at all; an unreachable host fails
in seconds with one line saying how to get the files.
"""
from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from bench.errors import BenchError, DatasetUnavailable

DATA_DIR_ENV = "ACCUMBENCH_DATA_DIR"
CACHE_ENV = "ACCUMBENCH_CACHE"
OFFLINE_ENV = "ACCUMBENCH_OFFLINE"


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: its URL and, where published, its sha256."""

    name: str
    url: str
    sha256: str | None = None


@dataclass(frozen=True)
class Sources:
    """Search path for local copies, and whether downloading is allowed."""

    data_dirs: tuple[Path, ...] = ()
    system_dirs: tuple[Path, ...] = ()
    cache_dir: Path = Path.home() / ".cache" / "accumbench"
    keras_cache: Path = Path.home() / ".keras" / "datasets"
    allow_download: bool = True

    @classmethod
    def from_env(cls, data_dir: str | os.PathLike | None = None) -> "Sources":
        dirs = [Path(p) for p in [data_dir, os.environ.get(DATA_DIR_ENV)] if p]
        cache = Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "accumbench"))
        offline = os.environ.get(OFFLINE_ENV, "") not in ("", "0")
        return cls(tuple(dirs), (Path("/usr/share/datasets"), Path("/usr/share/games")), cache,
                   allow_download=not offline)

    def local_dirs(self, subdirs: tuple[str, ...], include_root: bool) -> list[Path]:
        """Every directory a local copy may be in, most specific first."""
        roots = [*self.data_dirs, *self.system_dirs, self.cache_dir, self.keras_cache]
        out = []
        for root in roots:
            out += [root / s for s in subdirs] + ([root] if include_root else [])
        return out

    def find(self, names: list[str], *subdirs: str, include_root: bool = True) -> Path | None:
        """First directory holding all of `names` (file names shared between data sets, like
        MNIST's and Fashion-MNIST's IDX names, pass include_root=False: subdirectory only)."""
        for d in self.local_dirs(subdirs, include_root):
            if all((d / n).is_file() for n in names):
                return d
        return None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=None)
def host_reachable(host: str, port: int = 443, timeout: float = 3.0) -> str | None:
    """None if a TCP connection opens within `timeout`, else the reason (DNS, refused, ...)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as e:
        return f"{host} unreachable ({e.__class__.__name__}: {e})"


def download(remote: RemoteFile, dest_dir: Path, dataset: str, how_to_get: str) -> Path:
    """Download into `dest_dir` atomically, verifying sha256 when it is known."""
    host = urlparse(remote.url).hostname or ""
    reason = host_reachable(host)
    if reason:
        raise DatasetUnavailable(f"{dataset} is not available offline: no local copy, and {reason}. "
                                 f"{how_to_get}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / remote.name
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=f".{remote.name}.")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(remote.url, timeout=60) as resp:
            for chunk in iter(lambda: resp.read(1 << 20), b""):
                out.write(chunk)
        if remote.sha256 and sha256_of(Path(tmp)) != remote.sha256:
            raise BenchError(f"download of {remote.url} failed its sha256 check; try again")
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError) as e:
        raise DatasetUnavailable(f"{dataset}: download of {remote.url} failed ({e}). {how_to_get}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def fetch_all(sources: Sources, files: list[RemoteFile], dataset: str, how_to_get: str,
              *subdirs: str, include_root: bool = True) -> tuple[Path, bool]:
    """Directory holding every file (local copy first); True when it was downloaded now."""
    names = [f.name for f in files]
    local = sources.find(names, *subdirs, include_root=include_root)
    if local is not None:
        return local, False
    if not sources.allow_download:
        raise DatasetUnavailable(f"{dataset} is not available offline: no local copy "
                                 f"(${OFFLINE_ENV} forbids downloads). {how_to_get}")
    dest = sources.cache_dir / dataset
    for f in files:
        if not (dest / f.name).is_file():
            download(f, dest, dataset, how_to_get)
    return dest, True


def verify(path: Path, sha256: str | None, dataset: str) -> str:
    """Check a local file against its published hash; returns what was checked."""
    if sha256 is None:
        return "structure"
    actual = sha256_of(path)
    if actual != sha256:
        raise BenchError(f"{dataset}: {path} does not match its published sha256 "
                         f"(corrupt or a different file); delete it and download again")
    return "sha256"
