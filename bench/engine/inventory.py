"""What `list` shows: the models (trainable parameters per data set they accept, counted by
building them), the data sets (available here, and why not) and the strategies."""
from __future__ import annotations

from bench.config.names import STRATEGIES
from bench.data import DATASETS, Sources
from bench.engine.training.strategies import get_strategy
from models.registry import MODELS


def inventory(data_dir: str | None = None) -> dict:
    sources = Sources.from_env(data_dir)
    datasets = {}
    for name, entry in DATASETS.items():
        ok, why = entry.availability(sources)
        datasets[name] = {"title": entry.title, "kind": entry.kind, "real": entry.real,
                          "train": entry.counts[0], "test": entry.counts[1],
                          "available": ok, "why": why}
    models = {}
    counted: dict[tuple, int] = {}  # one build per (model, input shape, classes)
    for name, m in MODELS.items():
        params = {}
        for ds_name, entry in DATASETS.items():
            if entry.kind == m.data_kind and entry.real:
                key = (name, entry.shape, entry.num_classes)
                if key not in counted:
                    model = m.build(entry.listing_spec())
                    counted[key] = sum(int(v.numpy().size) for v in model.trainable_variables)
                params[ds_name] = counted[key]
        models[name] = {"summary": m.summary, "data_kind": m.data_kind,
                        "default_preset": m.default_preset, "presets": list(m.presets),
                        "trainable_parameters": params, "seed_dataset": m.recipe.dataset,
                        "optimizer": m.recipe.optimizer, "learning_rate": m.recipe.learning_rate}
    strategies = {n: get_strategy(n).summary for n in STRATEGIES}
    return {"models": models, "datasets": datasets, "strategies": strategies}
