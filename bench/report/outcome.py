"""Level 3, outcome: final accuracy over seeds, compared with the large batch's own spread.

Rule (stated in every report): a configuration is equivalent in outcome when the difference of
its mean final test accuracy to the large batch's mean lies within the seed-to-seed spread
(max - min) of the large batch itself. It needs two or more large-batch seeds.
"""
from __future__ import annotations

import pandas as pd

RULE = ("equivalent in outcome when |mean accuracy - large-batch mean| <= the large batch's "
        "seed-to-seed spread (max - min over seeds); needs >= 2 large-batch seeds")


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, strategy, pair): throughput, memory, accuracy over seeds, and ratios
    and differences to the large batch of the same model and effective batch."""
    ok = runs[runs["status"] == "ok"]
    mem_cols = [c for c in runs.columns if c.startswith("mem_")]
    keys = ["model", "effective_batch", "strategy", "pair", "micro", "accum"]
    agg = {"throughput": "mean", "final_test_accuracy": ["mean", "min", "max", "count"],
           **{c: "mean" for c in mem_cols}}
    g = ok.groupby(keys).agg(agg)
    g.columns = ["throughput", "acc_mean", "acc_min", "acc_max", "seeds", *mem_cols]
    g = g.reset_index()
    rows = []
    for _, row in g.iterrows():
        lb = g[(g.model == row.model) & (g.effective_batch == row.effective_batch)
               & (g.strategy == "large_batch")]
        out = row.to_dict()
        if len(lb):
            lb = lb.iloc[0]
            out["throughput_ratio"] = row.throughput / lb.throughput if lb.throughput else None
            for c in mem_cols:
                out[f"{c}_ratio"] = row[c] / lb[c] if pd.notna(row[c]) and lb[c] else None
            out["acc_delta"] = row.acc_mean - lb.acc_mean
            spread = lb.acc_max - lb.acc_min
            out["lb_spread"] = spread if lb.seeds >= 2 else None
            if row.strategy == "large_batch":
                out["outcome"] = "reference"
            elif lb.seeds >= 2:
                out["outcome"] = "equivalent" if abs(out["acc_delta"]) <= spread else "not equivalent"
            else:
                out["outcome"] = "n/a (1 seed)"
        rows.append(out)
    failed = runs[runs["status"] != "ok"][keys + ["status", "error"]]
    for _, f in failed.iterrows():
        rows.append({**f.to_dict(), "outcome": f.status})
    return pd.DataFrame(rows)
