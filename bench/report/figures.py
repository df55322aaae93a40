"""Report figures (PNG, readable in print). Each one is drawn from stored results only.

Conventions: one panel per model with a shared y axis where the quantity compares across
models; ratios to the large batch have a y = 1 line; error bars are 95% intervals (speed:
bootstrap over update times; outcome: t-interval over paired seeds); the title names the data
and the device.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from bench.config.names import MIB, strategy_entry  # noqa: E402
from bench.judge.verdict import LEVEL2_FACTOR, envelope  # noqa: E402


def _style(strategy: str) -> tuple[str, str, str]:
    """Colour, marker and line style, as the strategy's registration gives them."""
    e = strategy_entry(strategy)
    return e.color, e.marker, e.line


def _label(strategy: str) -> str:
    return strategy_entry(strategy).label


def _grid(n: int, width: float = 4.6, height: float = 3.6, sharey: bool = True):
    cols = min(3, max(1, n))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(max(7.0, width * cols), height * rows + 0.8),
                             squeeze=False, sharey=sharey)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _finish(fig, title: str, path: Path, caption: str | None = None,
            legend: list | None = None) -> Path:
    """Title, caption under the panels, and (optionally) one legend for all panels under the
    title, where it cannot cover a point."""
    width, height = fig.get_size_inches()
    fig.suptitle("\n".join(textwrap.wrap(title, int(width * 11))), fontsize=11)
    top = 1 - 0.45 / height
    if legend:
        handles, labels = legend
        # as many columns as fit the figure's width (an entry: marker, gap and its text at 8 pt)
        entry = 0.5 + 0.062 * max(len(label) for label in labels)
        ncol = max(1, min(len(labels), int(width * 0.95 // entry)))
        rows = -(-len(labels) // ncol)
        fig.legend(handles, labels, loc="upper center", ncol=ncol, fontsize=8,
                   frameon=False, bbox_to_anchor=(0.5, top))
        top -= (0.08 + 0.2 * rows) / height
    bottom = 0.0
    if caption:
        lines = textwrap.wrap(caption, int(width * 15))
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=8, va="bottom", ha="left", color="0.25")
        bottom = min(0.4, (0.16 * len(lines) + 0.15) / height)
    fig.tight_layout(rect=(0, bottom, 1, top))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _k_axis(ax, ks: list[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("accumulation steps k (micro-batch b = B/k)")
    ax.grid(alpha=0.3)


def ratio_panels(panels: dict[str, dict[str, list[tuple[int, float, float | None, float | None]]]],
                 ylabel: str, title: str, path: Path, caption: str) -> Path:
    """Per model: for each strategy, (k, ratio, low, high) points against k, y = 1 line."""
    fig, axes = _grid(len(panels))
    for ax, (model, series) in zip(axes, panels.items()):
        ks = sorted({p[0] for pts in series.values() for p in pts} | {1})
        ax.axhline(1.0, color="black", lw=0.8)
        offset = {s: 1 + 0.04 * (i - (len(series) - 1) / 2) for i, s in enumerate(series)}
        for strategy, pts in series.items():
            color, marker, ls = _style(strategy)
            pts = sorted(pts)
            x = [p[0] * offset[strategy] for p in pts]
            y = [p[1] for p in pts]
            err = None
            if all(p[2] is not None for p in pts):
                err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
            ax.errorbar(x, y, yerr=err, color=color, marker=marker, ls=ls, capsize=3,
                        label=_label(strategy))
        _k_axis(ax, ks)
        ax.set_xlim(min(ks) / 1.3, max(ks) * 1.3)  # room for the markers set beside the last k
        ax.set_title(model, fontsize=10)
        ax.set_ylabel(ylabel)
    return _finish(fig, title, path, caption, legend=_legend(axes))


def _legend(axes) -> list:
    """One entry per label across all panels."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    return [list(seen.values()), list(seen)]


def memory_model(panels: dict[str, dict], title: str, path: Path, caption: str) -> Path:
    """Per model: plain training's peak above the held state against the batch (linear axis)
    with its fitted line, and the accumulation runs with what they add beyond it."""
    fig, axes = _grid(len(panels), sharey=False)
    for ax, (model, d) in zip(axes, panels.items()):
        split = d["split"]
        fit = split.fit
        xs = np.linspace(0, max(d["B"] or 0, *(b for b, _ in split.plain)), 50)
        worst = fit.worst_residual()
        ax.plot(xs, [fit.transient(x) / MIB for x in xs], color="tab:gray", ls="--", lw=1,
                label=f"{fit.intercept_bytes / MIB:.1f} MiB + "
                      f"{fit.bytes_per_sample / 2**10:.0f} KiB × b"
                      + (f"\n(largest residual {worst[0] / MIB:.2f} MiB, {worst[1]:.1%})"
                         if worst else ""))
        ax.scatter([b for b, _ in split.plain], [p / MIB for _, p in split.plain],
                   color="black", zorder=3, label="plain training (fitted)")
        if split.accumulate:
            ax.scatter([b for b, _ in split.accumulate], [p / MIB for _, p in split.accumulate],
                       color="tab:blue", marker="^", zorder=3, label="accumulate at b")
            for b, p in split.accumulate:
                ax.annotate(f"{split.extra(b, p) / MIB:+.1f} MiB", (b, p / MIB),
                            textcoords="offset points", xytext=(6, 4), fontsize=7,
                            color="tab:blue")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("batch b (samples)")
        ax.set_ylabel(f"peak above held state, MiB ({d['probe']})")
        ax.set_title(model, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")  # the points rise to the right
    return _finish(fig, title, path, caption)


def level1(panels: dict[str, list[dict]], title: str, path: Path, caption: str) -> Path:
    """Per model: relative gradient error against k, per strategy; float64 hollow; tolerances."""
    fig, axes = _grid(len(panels))
    for ax, (model, rows) in zip(axes, panels.items()):
        ks = sorted({r["accum"] for r in rows} | {1})
        strategies = list(dict.fromkeys(r["strategy"] for r in rows))
        for i, strategy in enumerate(strategies):
            color, marker, _ = _style(strategy)
            for dtype, face in (("float32", color), ("float64", "none")):
                g = [r for r in rows if r["strategy"] == strategy and r["dtype"] == dtype]
                if not g:
                    continue
                shift = 1 + 0.06 * (i - (len(strategies) - 1) / 2) + (0.02 if dtype == "float64" else 0)
                filled = {"color": color} if marker == "x" else {"facecolors": face,
                                                                  "edgecolors": color}
                ax.scatter([r["accum"] * shift for r in g],
                           [max(r["gradient_rel_error"], 1e-18) for r in g], marker=marker,
                           s=40, zorder=3, **filled,
                           label=f"{_label(strategy)}, {dtype}")
        ax.axhline(1e-5, color="tab:green", ls="--", lw=1, label="float32 tolerance 1e-5")
        ax.axhline(1e-12, color="tab:purple", ls="--", lw=1, label="float64 tolerance 1e-12")
        ax.set_yscale("log")
        _k_axis(ax, ks)
        ax.set_xlim(0.9, max(ks) * 1.3)  # room for the markers shifted right of the last k
        ax.set_ylabel("relative error of the applied gradient")
        ax.set_title(model, fontsize=10)
    return _finish(fig, title, path, caption, legend=_legend(axes))


def level2(panels: dict[str, list[dict]], title: str, path: Path, caption: str) -> Path:
    """Per model: distance to the large batch over the noise floor's running maximum, per
    update, for each analysed (strategy, pair, schedule); the limit at LEVEL2_FACTOR."""
    fig, axes = _grid(len(panels))
    for ax, (model, rows) in zip(axes, panels.items()):
        for r in rows:
            floor = envelope(r["noise_floor"])
            ratio = [d / f if f > 0 else np.nan for d, f in zip(r["trajectory"], floor)]
            color, marker, ls = _style(r["strategy"])
            pitfall = r["lr_schedule"] != "constant"
            # a strategy keeps its own line style (the naive loop's is dotted); a decaying
            # schedule is told apart by hollow, larger markers
            ax.plot(range(1, len(ratio) + 1), ratio, color=color, ls=ls, marker=marker,
                    ms=6 if pitfall else 3, mfc="none" if pitfall else color, lw=1,
                    label=_label(r['strategy'])
                          + (f", {r['lr_schedule']} lr" if pitfall else "")
                          + (f", {r['dtype']}" if r["dtype"] != "float32" else ""))
        ax.axhline(LEVEL2_FACTOR, color="tab:red", lw=1, ls="--", label=f"limit: {LEVEL2_FACTOR:g}× the floor")
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("update")
        ax.set_ylabel("distance to B×1 / noise floor")
        ax.set_title(model, fontsize=10)
        ax.grid(alpha=0.3)
    return _finish(fig, title, path, caption, legend=_legend(axes))


#: The study's follow-up questions, drawn in a panel of their own (the main one stays legible)
def _panel(label: str) -> str:
    """The learning-curve panel of a "strategy pair" label, as the strategy's registration says."""
    return strategy_entry(label.split(" ")[0]).panel


def learning_curves(panels: dict[str, dict[str, list[list[dict]]]], title: str, path: Path,
                    caption: str) -> Path:
    """Per model: test accuracy against samples seen, mean over seeds with the seeds' range
    shaded; the naive loop, whose curves are far below, in a panel of its own, and so are the
    follow-up questions (Keras' built-in with the schedule fixed, no accumulation) where any
    model has them."""
    models = list(panels)
    follow = any(_panel(label) == "follow_up" for m in models for label in panels[m])
    naive = any(_panel(label) == "apart" for m in models for label in panels[m])
    cols = 1 + naive + follow  # a panel the profile has nothing for is left out
    fig, axes = plt.subplots(len(models), cols, figsize=(6.5 * max(cols, 2), 4.0 * len(models)),
                             squeeze=False)
    for row, model in zip(axes, models):
        ax_main = row[0]
        ax_naive = row[1] if naive else None
        ax_follow = row[1 + naive] if follow else None
        panel_of = {"apart": ax_naive, "follow_up": ax_follow}
        # colour and marker say the strategy, the line the pair (solid: the smallest k)
        ks = sorted({_k(label) for label in panels[model]} - {1})
        for label, runs in panels[model].items():
            strategy = label.split(" ")[0]
            ax = panel_of.get(_panel(label)) or ax_main
            color, marker, ls = _style(strategy)
            if _k(label) > 1:
                ls = ("-", "--", ":", "-.")[ks.index(_k(label)) % 4]
            x = np.array([p["samples_seen"] for p in runs[0]], dtype=float)
            ys = np.array([[p["test_accuracy"] for p in r[: len(x)]] for r in runs
                           if len(r) >= len(x)])
            if not len(ys):
                continue
            ax.plot(x, ys.mean(axis=0), color=color, ls=ls, marker=marker, ms=3,
                    label=f"{label} (n={len(ys)})")
            ax.fill_between(x, ys.min(axis=0), ys.max(axis=0), color=color, alpha=0.15)
            if strategy == "large_batch":  # the reference, repeated beside the others
                for other in (ax_naive, ax_follow):
                    if other is not None:
                        other.plot(x, ys.mean(axis=0), color=color, ls=ls, lw=1, label=label)
        panel_axes = [(ax_main, "large batch, accumulation, Keras built-in")]
        for ax, what, present in (
                (ax_naive, "the naive blog loop against the large batch",
                 any(_panel(label) == "apart" for label in panels[model])),
                (ax_follow, "Keras' built-in with the schedule fixed; no accumulation (b, "
                            "scaled rate)",
                 any(_panel(label) == "follow_up" for label in panels[model]))):
            if ax is None:
                continue
            if present:
                panel_axes.append((ax, what))
                continue
            ax.clear()  # nothing to set apart: say so instead of an empty panel
            ax.axis("off")
            ax.text(0.5, 0.5, f"{model}: no finished run of\n{what.split(' against')[0]}",
                    ha="center", va="center", fontsize=9, color="0.4", transform=ax.transAxes)
        for ax, what in panel_axes:
            ax.set_title(f"{model}: {what}", fontsize=9)
            ax.set_xlabel("training samples seen")
            ax.xaxis.set_major_locator(MaxNLocator(6))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
            ax.set_ylabel("test accuracy")
            ax.grid(alpha=0.3)
            # beside the panel, where it cannot cover a curve
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _finish(fig, title, path, caption)


def time_to_accuracy(panels: dict[str, dict], title: str, path: Path, caption: str) -> Path:
    """Per model: test accuracy against seconds of timed updates, mean over seeds (each seed's
    curve interpolated onto the first seed's times), one machine identity per panel."""
    fig, axes = _grid(len(panels), width=6.0, sharey=False)
    for ax, (model, d) in zip(axes, panels.items()):
        for label, runs in sorted(d["curves"].items()):
            strategy = label.split(" ")[0]
            color, marker, ls = _style(strategy)
            t = np.mean([[p[0] for p in r] for r in runs if len(r) == len(runs[0])], axis=0)
            acc = np.mean([[p[1] for p in r] for r in runs if len(r) == len(runs[0])], axis=0)
            ax.plot(t, acc, color=color, marker=marker, ls=ls, ms=3,
                    label=f"{_label(strategy)} {label.split(' ')[1]} (n={len(runs)})")
        ax.set_title(f"{model} — {d['identity']}", fontsize=8)
        ax.set_xlabel("seconds of timed training updates")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
    # one legend under the title: a legend inside a panel covered its lowest curve
    return _finish(fig, title, path, caption, legend=_legend(axes))


def _k(label: str) -> int:
    """k of a curve labelled 'strategy BxK'."""
    return int(label.rsplit("x", 1)[-1])


def outcome_intervals(panels: dict[str, dict], title: str, path: Path, caption: str) -> Path:
    """Per model: per judged (strategy, pair), each seed's paired accuracy difference, their
    mean and 95% interval, against the equivalence margin (shaded)."""
    most = max((len(d["rows"]) for d in panels.values()), default=1)
    # two label lines per row: about 0.45 inch each, or the labels run into each other
    fig, axes = _grid(len(panels), width=5.2, height=max(3.6, 0.45 * most + 1.0), sharey=False)
    for ax, (model, d) in zip(axes, panels.items()):
        margin = d["margin"] * 100
        ax.axvspan(-margin, margin, color="tab:green", alpha=0.12)
        ax.axvline(0, color="black", lw=0.8)
        for i, row in enumerate(d["rows"]):
            color, marker, _ = _style(row["strategy"])
            diffs = [100 * (a - b) for a, b in zip(row["accuracy"], row["reference"])]
            ax.scatter(diffs, [i] * len(diffs), color=color, marker=marker, alpha=0.5, s=18)
            v = row["verdict"]
            if v.low is not None:
                ax.errorbar([100 * v.mean_difference], [i], xerr=[[100 * (v.mean_difference - v.low)],
                            [100 * (v.high - v.mean_difference)]], color=color, capsize=4,
                            marker="|", ms=12, lw=2)
        ax.set_yticks(range(len(d["rows"])),
                      [f"{r['strategy']} {r['pair']}\n{r['verdict'].verdict}, "
                       f"{len(r['accuracy'])} seed{'s' if len(r['accuracy']) != 1 else ''}"
                       for r in d["rows"]],
                      fontsize=7)
        ax.set_ylim(-0.7, len(d["rows"]) - 0.3)
        ax.invert_yaxis()
        ax.set_xlabel("test accuracy − the large batch's, same seed (points)", fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(5))  # wide panels' labels ran into each other
        # the margin in the title: a legend box covered the rows furthest from 0
        ax.set_title(f"{model} (shaded: equivalence margin ±{margin:.2g} pts)", fontsize=10)
        ax.grid(alpha=0.3, axis="x")
    return _finish(fig, title, path, caption)
