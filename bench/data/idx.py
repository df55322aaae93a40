"""The IDX format of MNIST and Fashion-MNIST (optionally gzipped)."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from bench.errors import BenchError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx_bytes(path: Path) -> bytes:
    """The decompressed bytes of an IDX file (what content checksums are taken of)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as e:
        raise BenchError(f"cannot read {path}: {e}") from None


def read_idx(path: Path, data: bytes | None = None) -> np.ndarray:
    """Parse one IDX file; corrupt or truncated files raise BenchError naming the file."""
    data = read_idx_bytes(path) if data is None else data
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise BenchError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - header != expected:
        raise BenchError(f"{path} is truncated or corrupt: {len(data) - header} bytes of data, "
                         f"expected {expected} for shape {dims}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
