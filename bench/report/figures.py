"""Report figures (PNG, readable in print): titles with data and device, units, legends.

Reads frames built from stored results; never trains.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.errors import BenchError  # noqa: E402
from bench.measure.memory_model import fit_activations, points_from_records  # noqa: E402
from bench.report.frames import short_label  # noqa: E402

STYLE = {"large_batch": ("black", "s"), "accumulate": ("tab:blue", "o"),
         "keras_builtin": ("tab:orange", "^"), "naive": ("tab:red", "x")}
FLOAT32_EPS = float(np.finfo(np.float32).eps)


def _grid(n: int):
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.9 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _finish(fig, title: str, path: Path) -> Path:
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _subtitle(df: pd.DataFrame, model: str) -> str:
    d = df[df.model == model]
    data = short_label(d["dataset"].dropna().iloc[0]) if d["dataset"].notna().any() else "?"
    return f"{model}\n{data}".replace(" (", "\n(", 1)


def _micro_axes(ax, ylabel: str, runs: pd.DataFrame, model: str) -> None:
    """Shared look of the per-model panels plotted against the micro-batch size."""
    ax.set_xscale("log", base=2)
    ax.set_xlabel("micro-batch b (samples)")
    ax.set_ylabel(ylabel)
    ax.set_title(_subtitle(runs, model), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def throughput(summary: pd.DataFrame, runs: pd.DataFrame, path: Path, device: str) -> Path:
    models = list(dict.fromkeys(summary.model))
    fig, axes = _grid(len(models))
    for ax, model in zip(axes, models):
        s = summary[(summary.model == model) & summary.throughput.notna()]
        for strategy, g in s.groupby("strategy"):
            color, marker = STYLE.get(strategy, ("gray", "."))
            g = g.sort_values("micro")
            ax.plot(g.micro, g.throughput, marker=marker, color=color, label=strategy)
        _micro_axes(ax, "samples / s (steady state)", runs, model)
    return _finish(fig, f"Throughput vs micro-batch at a fixed effective batch — {device}", path)


def memory(summary: pd.DataFrame, runs: pd.DataFrame, records: list[dict], probe: str, path: Path,
           device: str) -> Path:
    col = f"mem_{probe}"
    models = list(dict.fromkeys(summary.model))
    fig, axes = _grid(len(models))
    for ax, model in zip(axes, models):
        s = summary[(summary.model == model) & summary[col].notna()]
        for strategy, g in s.groupby("strategy"):
            color, marker = STYLE.get(strategy, ("gray", "."))
            g = g.sort_values("micro")
            ax.plot(g.micro, g[col] / 2**20, marker=marker, color=color, linestyle="none",
                    label=strategy)
        try:  # the memory model, fitted as fit-budget fits it
            _, pts, _ = points_from_records(records, model, probe)
            fit = fit_activations(pts)
        except BenchError:
            fit = None
        if fit is not None:
            xs = np.geomspace(s.micro.min(), s.micro.max(), 50)
            ax.plot(xs, [fit.transient(x) / 2**20 for x in xs], color="gray", linestyle="--",
                    label=f"model: {fit.bytes_per_sample / 2**10:.0f} KiB/sample")
        _micro_axes(ax, "peak above baseline (MiB)", runs, model)
    return _finish(fig, f"Peak memory vs micro-batch, probe {probe} — {device}", path)


def curves(records: list[dict], path: Path, device: str) -> Path:
    """Training loss per update and test accuracy per epoch against samples seen (seed 0)."""
    runs = [r for r in records if r["kind"] == "run" and r["status"] == "ok"
            and r["config"]["seed"] == min(x["config"]["seed"] for x in records if x["kind"] == "run")]
    models = list(dict.fromkeys(r["config"]["model"] for r in runs))
    fig, axes = plt.subplots(len(models), 2, figsize=(11, 3.3 * len(models)), squeeze=False)
    for (ax_loss, ax_acc), model in zip(axes, models):
        for r in (x for x in runs if x["config"]["model"] == model):
            c = r["config"]
            color, marker = STYLE.get(c["strategy"], ("gray", "."))
            label = f"{c['strategy']} {c['pair']}"
            alpha = 0.35 + 0.65 / c["accum"]
            seen = np.arange(1, len(r["update_losses"]) + 1) * c["effective_batch"]
            ax_loss.plot(seen, r["update_losses"], color=color, alpha=alpha, lw=1, label=label)
            ax_acc.plot([e["samples_seen"] for e in r["epochs"]],
                        [e["test_accuracy"] for e in r["epochs"]], marker=marker, color=color,
                        alpha=alpha, label=label)
        data = short_label(next(x["dataset"]["label"] for x in runs if x["config"]["model"] == model))
        ax_loss.set_title(f"{model}: training loss per update\n{data}", fontsize=8)
        ax_acc.set_title(f"{model}: test accuracy per epoch", fontsize=8)
        for ax, ylabel in ((ax_loss, "loss (window mean)"), (ax_acc, "test accuracy")):
            ax.set_xlabel("samples seen")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        ax_acc.legend(fontsize=6, ncol=2)
    return _finish(fig, f"Loss and accuracy against samples seen (seed 0) — {device}", path)


def gradient_error(eq: pd.DataFrame, path: Path, device: str) -> Path:
    """Level 1 per model and strategy, log axis, with float32 machine epsilon and tolerances."""
    d = eq[eq.gradient_rel_error.notna() & (eq.lr_schedule == "constant")]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    models = list(dict.fromkeys(d.model))
    strategies = list(dict.fromkeys(d.strategy))
    width = 0.8 / max(1, len(strategies))
    for j, strategy in enumerate(strategies):
        color, marker = STYLE.get(strategy, ("gray", "."))
        for dtype, fill in (("float32", color), ("float64", "none")):
            g = d[(d.strategy == strategy) & (d.dtype == dtype)]
            xs = [models.index(m) + (j - (len(strategies) - 1) / 2) * width for m in g.model]
            ys = np.maximum(g.gradient_rel_error.to_numpy(dtype=float), 1e-18)
            ax.scatter(xs, ys, marker="o", facecolors=fill, edgecolors=color,
                       label=f"{strategy} ({dtype})" if len(g) else None)
    ax.axhline(FLOAT32_EPS, color="gray", ls=":", lw=1, label="float32 machine epsilon (rounding floor)")
    ax.axhline(1e-5, color="tab:green", ls="--", lw=1, label="float32 tolerance 1e-5")
    if (d.dtype == "float64").any():
        ax.axhline(1e-12, color="tab:purple", ls="--", lw=1, label="float64 tolerance 1e-12")
    ax.set_yscale("log")
    ax.set_xticks(range(len(models)), models)
    ax.set_ylabel("relative gradient error vs large batch")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    data = "; ".join(sorted(set(d["dataset"].dropna().map(lambda s: short_label(s).split(" (")[0]))))
    return _finish(fig, f"Level 1: gradient error per model and strategy, every pair — {device}\n{data}", path)
