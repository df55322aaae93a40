"""`list`: models (parameters per data set they accept), data sets (available here?), strategies."""
from __future__ import annotations

from tabulate import tabulate


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="models, data sets and strategies, and what is available here")
    p.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    p.add_argument("--data-dir", help="directory with local copies of the data sets")
    p.set_defaults(handler=run)


def inventory(data_dir: str | None = None) -> dict:
    from bench.data import DATASETS, Sources
    from bench.training.strategies import STRATEGIES
    from models.registry import MODELS

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
    strategies = {n: s.summary for n, s in STRATEGIES.items()}
    return {"models": models, "datasets": datasets, "strategies": strategies}


def run(args) -> int:
    from bench.results.store import dumps

    inv = inventory(args.data_dir)
    if args.json:
        print(dumps(inv))
        return 0
    rows = [[n, m["summary"], m["default_preset"] + " (" + ", ".join(m["presets"]) + ")",
             ", ".join(f"{d}: {p:,}" for d, p in m["trainable_parameters"].items())]
            for n, m in inv["models"].items()]
    print("Models (trainable parameters at the default preset, per data set they accept)")
    print(tabulate(rows, ["model", "what", "preset (all)", "parameters"]))
    rows = [[n, d["title"], d["kind"], "real" if d["real"] else "synthetic",
             "yes" if d["available"] else "NO", d["why"]] for n, d in inv["datasets"].items()]
    print("\nData sets")
    print(tabulate(rows, ["name", "title", "kind", "data", "available", "why"]))
    print("\nStrategies")
    print(tabulate(list(inv["strategies"].items()), ["name", "what"]))
    return 0
