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


@dataclass(frozen=True)
class SequenceSpec:
    """Token sequences padded with 0 to `length`, next-token targets over `vocab_size` tokens
    (0 included: padding, never a target). The loss of such data is a token loss: weighted by
    a per-token weight (1 for a real token, 0 for padding) and normalised by the weights' sum,
    as Keras normalises a masked loss by its count of valid tokens."""

    length: int
    vocab_size: int

    @property
    def num_classes(self) -> int:
        return self.vocab_size

    @property
    def shape(self) -> tuple[int]:
        """A sample's shape: one token per position (what a user's builder is given)."""
        return (self.length,)


InputSpec = ImageSpec | TabularSpec | ArraySpec | SequenceSpec
