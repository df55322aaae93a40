"""The built-in models' configurations and named presets, apart from their builders so that
input can be validated (model, preset) without importing Keras."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LookupKind = Literal["string_lookup", "static_hash_table"]


@dataclass(frozen=True)
class CNNConfig:
    filters: tuple[int, int, int] = (32, 64, 64)
    dense_units: int = 64
    batch_norm: bool = False
    """BatchNormalization after the first convolution: the known non-equivalent control."""


CNN_PRESETS = {"seed": CNNConfig(), "small": CNNConfig()}
CNN_BN_PRESETS = {"seed": CNNConfig(batch_norm=True), "small": CNNConfig(batch_norm=True)}


@dataclass(frozen=True)
class PatchConfig:
    """Hyper-parameters of a patch-based classifier. Defaults are the seed's (CIFAR-100, GPU)."""

    image_size: int = 64
    patch_size: int = 8
    embedding_dim: int = 256
    num_blocks: int = 4
    dropout_rate: float = 0.2
    augment: bool = True

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


#: The seed's settings, and a preset sized for 2 CPU cores (~2,000 samples/s at batch 128).
PATCH_PRESETS = {
    "seed": PatchConfig(),
    "small": PatchConfig(image_size=32, patch_size=4, embedding_dim=64, num_blocks=2),
}


@dataclass(frozen=True)
class GRNConfig:
    encoding_size: int = 16
    dropout_rate: float = 0.15
    lookup: LookupKind = "string_lookup"


GRN_PRESETS = {"seed": GRNConfig(), "small": GRNConfig(encoding_size=8)}


@dataclass(frozen=True)
class CharLMConfig:
    """A causal language model over bytes: embedding (masking padding), a GRU, next-byte logits."""

    embedding_dim: int = 64
    units: int = 256


CHAR_LM_PRESETS = {"seed": CharLMConfig(), "small": CharLMConfig(embedding_dim=32, units=96)}
