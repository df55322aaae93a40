"""One registry: model name -> builder, presets, the data it accepts, and the seed's recipe.

It imports no Keras: a built-in builder is named by its import path and imported when a model
is built, so a sweep's controller validates its configurations without TensorFlow.

To add a model: write its builder, `build(spec, config) -> keras.Model`, in a module of its own
under models/ (a pure builder: no measuring, no training), its presets in `models.configs`, and
append one `ModelEntry` to `MODELS`. Everything else reads `MODELS`: the overhead study
(`bench.engine.measure.studies`), `python -m bench list`, profiles (which name the models they
run: add it to a profile's TOML to sweep it).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Literal

from bench.errors import BenchError
from bench.plugins import resolve
from models.configs import (
    CHAR_LM_PRESETS,
    CNN_BN_PRESETS,
    CNN_PRESETS,
    GRN_PRESETS,
    PATCH_PRESETS,
)
from models.specs import ImageSpec, InputSpec, SequenceSpec, TabularSpec

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class Recipe:
    """The seed's training settings: what `full` runs, and the optimizer every profile uses."""

    optimizer: Literal["adam", "adamw"]
    learning_rate: float
    weight_decay: float | None
    epochs: int
    batch_size: int
    dataset: str


@dataclass(frozen=True)
class ModelEntry:
    name: str
    summary: str
    builder: Callable[[Any, Any], keras.Model] | str   # a callable, or "module:function"
    presets: dict[str, Any]
    data_kind: Literal["image", "tabular", "text", "user"]
    output: Literal["logits", "probability"]
    recipe: Recipe
    default_preset: str = "seed"
    #: why it builds on TensorFlow only (empty: it builds on every Keras 3 backend); the
    #: backend lane refuses it with this reason
    tensorflow_only: str = ""

    def build(self, spec: InputSpec, preset: str | None = None, **overrides: Any) -> keras.Model:
        """Build a fresh model for `spec` from a named preset, optionally overriding fields."""
        config = self.config(preset, **overrides)
        expected = {"image": ImageSpec, "tabular": TabularSpec, "text": SequenceSpec}.get(self.data_kind)
        if expected is not None and not isinstance(spec, expected):
            raise BenchError(f"{self.name} takes {self.data_kind} data; this data set's samples "
                             f"are {getattr(spec, 'shape', None) or 'tables'} "
                             f"({type(spec).__name__})")
        return self.load_builder()(spec, config)

    def load_builder(self) -> Callable[[Any, Any], keras.Model]:
        """The builder, imported now if it is named by its import path."""
        if isinstance(self.builder, str):
            module, function = self.builder.split(":")
            return getattr(importlib.import_module(module), function)
        return self.builder

    def config(self, preset: str | None = None, **overrides: Any) -> Any:
        name = preset or self.default_preset
        if name not in self.presets:
            raise KeyError(f"{self.name} has no preset {name!r} (presets: {', '.join(self.presets)})")

        preset = self.presets[name]
        return replace(preset, **overrides) if overrides else preset


_IMAGE_ADAMW = dict(optimizer="adamw", weight_decay=1e-4, epochs=50, batch_size=128,
                    dataset="cifar100")

MODELS: dict[str, ModelEntry] = {e.name: e for e in [
    ModelEntry("cnn", "small CNN, 3 conv + dense (the MNIST seed)", "models.cnn:build",
               CNN_PRESETS, "image", "logits", Recipe("adam", 1e-3, None, 10, 256, "mnist")),
    ModelEntry("cnn_bn", "the CNN with BatchNormalization after conv 1 (non-equivalent control)",
               "models.cnn:build", CNN_BN_PRESETS, "image", "logits",
               Recipe("adam", 1e-3, None, 10, 256, "mnist")),
    ModelEntry("mlp_mixer", "MLP-Mixer on patches", "models.mlp_mixer:build", PATCH_PRESETS,
               "image", "logits", Recipe(learning_rate=0.005, **_IMAGE_ADAMW)),
    ModelEntry("fnet", "FNet (Fourier token mixing) on patches", "models.fnet:build",
               PATCH_PRESETS, "image", "logits", Recipe(learning_rate=0.001, **_IMAGE_ADAMW)),
    ModelEntry("gmlp", "gMLP (spatial gating) on patches", "models.gmlp:build", PATCH_PRESETS,
               "image", "logits", Recipe(learning_rate=0.003, **_IMAGE_ADAMW)),
    ModelEntry("grn_vsn", "Gated Residual + Variable Selection Networks (tabular)",
               "models.grn_vsn:build", GRN_PRESETS, "tabular", "probability",
               Recipe("adam", 1e-3, None, 20, 265, "census_income"),
               tensorflow_only="its StringLookup layers (models/lookup.py) are TensorFlow "
                               "lookup tables; on JAX or PyTorch the categories would have to "
                               "arrive as integers, looked up in the data"),
    ModelEntry("char_lm", "causal byte-level language model: GRU over masked byte tokens "
               "(token loss, padding 0)", "models.char_lm:build", CHAR_LM_PRESETS, "text",
               "logits", Recipe("adam", 3e-3, None, 10, 64, "fortunes")),
]}


OUTPUTS = ("logits", "probability")


def get_model(name: str, output: str | None = None) -> ModelEntry:
    """A registered model, or a user's builder named `package.module:function`. `output` says
    what a user's model returns: logits (the default) or probabilities."""
    if name in MODELS:
        return MODELS[name]
    if ":" in name:
        return user_model_entry(name, output or "logits")
    raise KeyError(f"unknown model {name!r} (models: {', '.join(MODELS)}, or a builder as "
                   f"package.module:function)")


@lru_cache(maxsize=None)
def user_model_entry(path: str, output: str) -> ModelEntry:
    """A user's builder as an entry: built by `models.user:build` (named, so imported only when
    a model is built), with the user's path as its one preset."""
    if output not in OUTPUTS:
        raise BenchError(f"model output must be logits or probability, got {output!r}")
    resolve(path, "model builder")  # a bad import path fails now, before any data or training
    return ModelEntry(
        name=path, summary=f"the user's model from {path}", builder="models.user:build",
        presets={"seed": path}, data_kind="user", output=output,
        recipe=Recipe("adam", 1e-3, None, 1, 128, dataset=""))
