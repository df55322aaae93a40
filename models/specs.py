"""What a model needs to know about its data, and nothing more.

Data sets produce these specs; builders consume them. Keeping them here (and free of any loading
code) is what lets any image model take any image data set's shape and class count.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImageSpec:
    """Shape, classes and per-channel statistics of an image data set (values scaled to [0, 1])."""

    shape: tuple[int, int, int]
    num_classes: int
    channel_mean: tuple[float, ...] | None = None
    channel_variance: tuple[float, ...] | None = None


@dataclass(frozen=True)
class TabularSpec:
    """Feature spec of a tabular data set: numeric columns and categorical vocabularies.

    `num_classes == 2` means a binary target (one sigmoid output).
    """

    numeric: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]] = field(default_factory=dict)
    num_classes: int = 2


@dataclass(frozen=True)
class ArraySpec:
    """A user's array data: the per-sample shape and the class count (for a user's own model)."""

    shape: tuple[int, ...]
    num_classes: int


InputSpec = ImageSpec | TabularSpec | ArraySpec
