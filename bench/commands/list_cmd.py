"""`list`: models (parameters per data set they accept), data sets (available here?), strategies."""
from __future__ import annotations

from tabulate import tabulate

from bench.results.store import dumps


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="models, data sets and strategies, and what is available here")
    p.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    p.add_argument("--data-dir", help="directory with local copies of the data sets")
    p.set_defaults(handler=run)


def run(args) -> int:
    # the training layer, entered here only: `list` builds every model to count its parameters
    from bench.engine.entry import inventory

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
