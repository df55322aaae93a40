"""The backends page (reports/backends/README.md): per model and backend, the verdicts of
levels 1-2 beside TensorFlow's, where the backends disagree and why, level 3 where the profile
trains it, memory and speed relative to the large batch, all from the lane's records (it never
trains)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from tabulate import tabulate

from bench.config.names import BACKENDS, strategy_entry, strategy_rank
from bench.report.backend_costs import median_half_width, memory_rows, speed_rows
from bench.report.backend_figures import draw
from bench.report.backend_outcome import outcome_section, outcome_summary
from bench.results.machine import label
from bench.results.store import read_records

PAGE = "README.md"


def build(records: list[dict], out: Path, tensorflow_results: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    tf = _tensorflow_verdicts(tensorflow_results)
    lane = [r for r in records if r["kind"] == "equivalence" and r.get("backend")]
    models = sorted({r["model"] for r in records}, key=_model_order(records))
    backends = [b for b in BACKENDS if any(r.get("backend") == b for r in records)]
    figures = draw(records, models, backends, out, "; ".join(_machines(records)) or "unknown")
    parts = [_head(records, lane, tensorflow_results, tf),
             _verdicts(lane, tf, backends), _disagreements(lane, tf, backends),
             _large_batches(lane, backends), outcome_section(records),
             _memory(records, models, backends, figures),
             _speed(records, models, backends, figures)]
    page = out / PAGE
    page.write_text("\n\n".join(p for p in parts if p) + "\n")
    return page


def _model_order(records: list[dict]):
    first = {}
    for i, r in enumerate(records):
        first.setdefault(r["model"], i)
    return lambda m: first[m]


def _tensorflow_verdicts(path: Path) -> dict[str, dict]:
    """TensorFlow's default-profile equivalence records by name (none where absent)."""
    if not path.exists():
        return {}
    return {r["id"]["name"]: r for r in read_records(path)
            if r["kind"] == "equivalence" and not r.get("backend")}


def _tf_name(record: dict) -> str:
    return record["id"]["name"].replace(f":{record['backend']}", "", 1)


def _facts(records: list[dict]) -> list[dict]:
    """What each record says about where and with what it ran."""
    return ([r["backend_lane"] for r in records if r.get("backend_lane")]
            + [r for r in records if r["kind"].startswith("backend_") and r["status"] == "ok"])


def _machines(records: list[dict]) -> list[str]:
    return sorted({label(f["machine"]) for f in _facts(records) if f.get("machine")})


def _head(records: list[dict], lane: list[dict], tf_path: Path, tf: dict) -> str:
    facts = _facts(records)
    machines = _machines(records)
    versions = sorted({", ".join(f"{p} {v}" for p, v in f["versions"].items())
                       for f in facts if f.get("versions")})
    devices = sorted({f["device"] for f in facts if f.get("device")})
    gpu = [d for d in devices if not d.startswith(tuple(machines))]
    counts = defaultdict(int)
    for r in records:
        counts[r["kind"]] += 1
    lines = [
        "# The same question on Keras 3's JAX and PyTorch backends",
        "",
        "Built by `make bench-backends` from `reports/backends/records.jsonl` (the backend lane: "
        "a process per backend with `KERAS_BACKEND` set and TensorFlow's import blocked; "
        "README: Backends). Levels 1-2 compare each strategy with the large batch trained on "
        "the same backend, over that backend's own noise floor; the TensorFlow column is "
        f"`{tf_path}`" + ("" if tf else " (absent: not compared)") + ".",
        "",
        f"- Records: {counts['equivalence']} equivalence, {counts['backend_memory']} memory, "
        f"{counts['backend_speed']} speed processes, {counts['backend_outcome']} level-3 "
        "processes (a seed each).",
        f"- Machine: {'; '.join(machines) or 'unknown'}.",
        f"- Software: {'; '.join(versions)}.",
        "- GPU readings: " + (f"seen on {', '.join(gpu)}." if gpu else
                              "none. Every reading here was made on a CPU; the GPU probes "
                              "(JAX's and torch's allocator peaks) are tested against fakes "
                              "only, and `python -m bench.backends.gpu_check` is the prepared run."),
    ]
    return "\n".join(lines)


def _cell(r: dict | None) -> str:
    if r is None:
        return "not run"
    if r["verdict"] == "failed":
        return "failed"
    word = "equivalent" if r["verdict"] == "equivalent" else "**not equivalent**"
    return (f"{word} ({r['gradient_rel_error']:.1e}; {r['trajectory_ratio']:.2g}× floor)")


def _verdict_table(lane: list[dict], tf: dict, backends: list[str], cell=_cell) -> str:
    rows = defaultdict(dict)
    for r in lane:
        rows[_tf_name(r)][r["backend"]] = r
    table = []
    for name, by in sorted(rows.items(), key=lambda kv: _row_order(kv[1])):
        first = next(iter(by.values()))
        table.append([first["model"], strategy_entry(first["strategy"]).label, first["pair"],
                      first["lr_schedule"], *(cell(by.get(b)) for b in backends),
                      cell(tf.get(name))])
    head = ["model", "strategy", "pair", "rate", *backends, "tensorflow"]
    return tabulate(table, head, tablefmt="github", disable_numparse=True)


def _verdicts(lane: list[dict], tf: dict, backends: list[str]) -> str:
    return ("## Levels 1-2 per backend\n\nEach cell: the verdict (level-1 gradient error; "
            "level-2 distance in noise floors, at its largest).\n\n"
            + _verdict_table(lane, tf, backends))


def _word(r: dict | None) -> str:
    return "not run" if r is None else r["verdict"]


def summary(records: list[dict], tensorflow_results: Path) -> str:
    """The README's block: the verdicts per backend beside TensorFlow's, where they were
    measured, and where the page is."""
    lane = [r for r in records if r["kind"] == "equivalence" and r.get("backend")]
    if not lane:
        return "No backend-lane records yet: `make bench-backends` writes them."
    tf = _tensorflow_verdicts(tensorflow_results)
    backends = [b for b in BACKENDS if any(r.get("backend") == b for r in records)]
    machines = _machines(records)
    differ = _disagreements(lane, tf, backends).count("\n- ")
    return (f"Levels 1-2 on {', '.join(backends)} beside TensorFlow's default profile, measured "
            f"on {'; '.join(machines)}; "
            + ("every verdict agrees across backends" if not differ else
               f"{differ} configurations differ between backends")
            + " (the page: [reports/backends/README.md](reports/backends/README.md), with "
              "memory and speed).\n\n" + _verdict_table(lane, tf, backends, _word)
            + (f"\n\n{level3}" if (level3 := outcome_summary(records)) else ""))


def _row_order(by: dict) -> tuple:
    r = next(iter(by.values()))
    return (r["model"], r["lr_schedule"] != "constant", strategy_rank(r["strategy"]))


def _disagreements(lane: list[dict], tf: dict, backends: list[str]) -> str:
    rows = defaultdict(dict)
    for r in lane:
        rows[_tf_name(r)][r["backend"]] = r
    found = []
    for name, by in rows.items():
        verdicts = {b: r["verdict"] for b, r in by.items()}
        if name in tf:
            verdicts["tensorflow"] = tf[name]["verdict"]
        if len(set(verdicts.values())) > 1:
            why = "; ".join(f"{b}: {r['verdict']} — {r['reasons'][0]}" for b, r in by.items())
            found.append(f"- {name}: " + ", ".join(f"{b} {v}" for b, v in verdicts.items())
                         + f". {why}")
    body = "\n".join(found) if found else (
        "None: every configuration judged on more than one backend has the same verdict on "
        "each" + (", TensorFlow's included" if tf else "") + ".")
    return "## Where the backends disagree\n\n" + body


def _large_batches(lane: list[dict], backends: list[str]) -> str:
    seen = {}
    for r in lane:
        apart = r["backend_lane"].get("large_batch_vs_tensorflow")
        if apart and r["lr_schedule"] == "constant":
            seen[(r["model"], r["backend"])] = (len(apart), apart[-1],
                                                r["backend_lane"][
                                                    "large_batch_vs_tensorflow_floors"])
    if not seen:
        return ""
    table = [[m, b, n, f"{d:.1e}", f"{f:.2g}×"] for (m, b), (n, d, f) in seen.items()]
    return ("## The large batch on each backend against TensorFlow's\n\nFrom TensorFlow's "
            "initial weights and the same windows: how far each backend's large batch ends from "
            "TensorFlow's, relative to its weights and in TensorFlow's own noise floors (the "
            "largest over the updates).\n\n"
            + tabulate(table, ["model", "backend", "updates", "distance at the end",
                               "in TensorFlow's floors"], tablefmt="github",
                       disable_numparse=True))


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _memory(records: list[dict], models: list[str], backends: list[str], figures) -> str:
    parts = ["## Memory\n\nResident peak of the process above its baseline (VmHWM after a "
             "reset, one configuration per process) on both backends; under JAX also what XLA "
             "planned for the compiled steps (deterministic: exact per machine identity), and "
             "each relative to the large batch's. A dash: not measured."]
    if "memory" in figures:
        parts.append(f"![memory]({figures['memory']})")
    for model in models:
        table = []
        for backend in backends:
            for row in memory_rows(records, model, backend):
                table.append([backend, strategy_entry(row.strategy).label, row.pair,
                              _fmt(row.rss_mib, ".0f"), _fmt(row.rss_ratio, ".2f"),
                              _fmt(row.compiled_mib, ".1f"), _fmt(row.compiled_ratio, ".2f"),
                              _fmt(row.accelerator_mib, ".0f")])
        if table:
            parts.append(f"### {model}\n\n" + tabulate(
                table, ["backend", "strategy", "pair", "RSS MiB", "RSS / large", "compiled MiB",
                        "compiled / large", "GPU peak MiB"], tablefmt="github",
                disable_numparse=True))
    return "\n\n".join(parts)


def _speed(records: list[dict], models: list[str], backends: list[str], figures) -> str:
    parts = ["## Speed\n\nSamples per second over the large batch's, timed side by side in one "
             "process (shuffled rounds of blocks), with the 95% rerun interval from the spread "
             "between speed processes (pooled over a model's ratios, floored by the block "
             "rounds' spread)."]
    if "speed" in figures:
        parts.append(f"![speed]({figures['speed']})")
    widths = []
    for model in models:
        table = []
        for backend in backends:
            rows = speed_rows(records, model, backend)
            if (w := median_half_width(rows)) is not None:
                widths.append(f"{model} on {backend} ±{w:.0%}")
            table += [[backend, strategy_entry(r.strategy).label, r.pair,
                       r.ratio.text() if r.ratio else "—", r.processes] for r in rows]
        if table:
            parts.append(f"### {model}\n\n" + tabulate(
                table, ["backend", "strategy", "pair", "speed / large batch", "processes"],
                tablefmt="github", disable_numparse=True))
    if widths:
        parts.insert(1, f"Median half-width of the intervals: {'; '.join(widths)}.")
    return "\n\n".join(parts)
