"""The backends page's figures: memory and speed of the harness's accumulation against k,
relative to the large batch, one panel per model, a line per backend and reading."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from bench.report.backend_costs import memory_rows, speed_rows  # noqa: E402

COLORS = {"jax": "tab:purple", "torch": "tab:red"}


def _panels(models: list[str]):
    cols = min(3, len(models))
    rows = -(-len(models) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _k_axis(ax) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("k (accumulation steps)")


def draw(records: list[dict], models: list[str], backends: list[str], out: Path,
         machine: str) -> dict:
    """Writes memory.png and speed.png where there is something to draw; their names.
    `machine`: where the records were measured, named in each title."""
    drawn = {}
    if models and _memory(records, models, backends, out / "memory.png", machine):
        drawn["memory"] = "memory.png"
    if models and _speed(records, models, backends, out / "speed.png", machine):
        drawn["speed"] = "speed.png"
    for name in ("memory.png", "speed.png"):  # a figure the records no longer draw goes
        if name.split(".")[0] not in drawn and (out / name).exists():
            (out / name).unlink()
    return drawn


def _memory(records, models, backends, path: Path, machine: str) -> bool:
    fig, axes = _panels(models)
    any_line = False
    for ax, model in zip(axes, models):
        for backend in backends:
            rows = [r for r in memory_rows(records, model, backend)
                    if r.strategy in ("large_batch", "accumulate")]
            for attr, style, what in (("rss_ratio", "-o", "RSS"),
                                      ("compiled_ratio", "--s", "compiled")):
                points = [(r.accum, getattr(r, attr)) for r in rows
                          if getattr(r, attr) is not None]
                if points:
                    any_line = True
                    ax.plot(*zip(*points), style, color=COLORS.get(backend),
                            label=f"{backend} {what}")
        ax.axhline(1.0, color="black", lw=0.8)
        _k_axis(ax)
        ax.set_title(model)
        ax.set_ylabel("accumulate / large batch")
        ax.legend(fontsize=7)
    fig.suptitle(f"Memory of the harness's accumulation relative to the large batch\n{machine}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return any_line


def _speed(records, models, backends, path: Path, machine: str) -> bool:
    fig, axes = _panels(models)
    any_line = False
    for ax, model in zip(axes, models):
        for backend in backends:
            rows = [r for r in speed_rows(records, model, backend)
                    if r.strategy == "accumulate" and r.ratio is not None]
            if not rows:
                continue
            any_line = True
            ks = [r.accum for r in rows]
            values = [r.ratio.value for r in rows]
            errors = [[r.ratio.value - (r.ratio.low or r.ratio.value) for r in rows],
                      [(r.ratio.high or r.ratio.value) - r.ratio.value for r in rows]]
            ax.errorbar(ks, values, yerr=errors, fmt="-o", capsize=3,
                        color=COLORS.get(backend), label=backend)
        ax.axhline(1.0, color="black", lw=0.8)
        _k_axis(ax)
        ax.set_title(model)
        ax.set_ylabel("samples/s over the large batch's")
        ax.legend(fontsize=7)
    fig.suptitle(f"Speed of the harness's accumulation relative to the large batch (95% rerun "
                 f"intervals)\n{machine}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return any_line
