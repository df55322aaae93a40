"""Install, import and judge each catalogue entry, each step in a process of its own, so that
what one package does to its interpreter stays there; a step that fails becomes the row's
status with its reason, and the next entry runs."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from bench.catalogue.entries import Entry

#: the judged pair and the columns: levels 1-2 at 16x4 of B = 64 over 4 updates, on the CNN, its
#: BatchNormalization variant (which no accumulation can make equivalent), the token model on
#: real text (a masked loss: the mean of micro-batch means is not the large batch's) and the
#: CNN with an EMA of the weights (`use_ema`, for the large batch and the strategy alike)
COLUMNS = {"cnn": ("--model", "cnn"), "cnn_bn": ("--model", "cnn_bn"),
           "char_lm": ("--model", "char_lm"), "cnn + EMA": ("--model", "cnn", "--ema", "0.9")}
MODELS = tuple(COLUMNS)
SETTINGS = ("--effective-batch", "64", "--micro", "16", "--updates", "4")

Runner = Callable[..., subprocess.CompletedProcess]


@dataclass
class Row:
    entry: str
    what: str
    keras: str
    installed: dict[str, str] = field(default_factory=dict)   # distribution -> version
    install_note: str = ""      # why --no-deps (what its declared dependencies would change)
    package: str = ""           # the distribution the entry is about (its first pin)
    note: str = ""
    status: str = "judged"      # judged | not installed | does not import | not judged
    reason: str = ""
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)  # label -> model -> record

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def slug(entry: Entry) -> str:
    return re.sub(r"[^a-z0-9]+", "-", entry.name.lower()).strip("-")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith(("WARNING:", "I0000", "W0000", "E0000"))]
    return lines[-1][:300] if lines else "(no output)"


def install(entry: Entry, root: Path, run: Runner = subprocess.run) -> tuple[Path, str | None]:
    """`pip install --no-deps --target` of the entry's pins, once (the folder is kept)."""
    target = root / slug(entry)
    if (target / ".installed").exists() or not entry.install:
        return target, None
    out = run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
               str(target), *entry.install], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return target, f"pip install failed: {_last_line(out.stderr + out.stdout)}"
    (target / ".installed").write_text("\n".join(entry.install) + "\n")
    return target, None


def installed_versions(target: Path) -> dict[str, str]:
    if not target.exists():
        return {}
    return {d.metadata["Name"]: d.version for d in metadata.distributions(path=[str(target)])}


def _env(target: Path | None) -> dict[str, str]:
    paths = ([str(target)] if target is not None else []) + [os.getcwd()]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]),
            "TF_CPP_MIN_LOG_LEVEL": "3"}


def import_error(entry: Entry, target: Path | None, run: Runner = subprocess.run) -> str | None:
    if entry.module is None:
        return None
    out = run([sys.executable, "-c", f"import {entry.module}"], capture_output=True, text=True,
              env=_env(target), timeout=600)
    return None if out.returncode == 0 else _last_line(out.stderr)


def judge(entry: Entry, target: Path | None, run: Runner = subprocess.run) -> dict[str, dict]:
    """label -> model -> the equivalence record (or {"error": ...}); each strategy in a command
    of its own, so one that fails does not take the others with it."""
    verdicts: dict[str, dict] = {}
    for label, strategy in entry.strategies.items():
        verdicts[label] = {}
        for model, column in COLUMNS.items():
            lane = (["--keras", "2"] if entry.keras == "2" else
                    ["--backend", entry.backend] if entry.backend != "tensorflow" else [])
            out = run([sys.executable, "-m", "bench", "equivalence", *column, *SETTINGS,
                       "--strategy", strategy, *lane, "--json"],
                      capture_output=True, text=True, env=_env(target), timeout=1800)
            records = [json.loads(ln) for ln in out.stdout.splitlines() if ln.startswith("{")]
            verdicts[label][model] = ({k: records[0].get(k) for k in (
                "verdict", "reasons", "levels", "gradient_rel_error", "trajectory_ratio",
                "dataset")} if records else {"error": _last_line(out.stderr)})
    return verdicts


def catalogue(entries: list[Entry], root: Path, run: Runner = subprocess.run,
              say: Callable[[str], None] = print) -> list[Row]:
    rows = []
    for entry in entries:
        keras = entry.keras if entry.backend == "tensorflow" else f"{entry.keras} on {entry.backend}"
        row = Row(entry.name, entry.what, keras, install_note=entry.why_no_deps, note=entry.note,
                  package=entry.install[0].split("==")[0] if entry.install else "")
        rows.append(row)
        target = None
        if not entry.install:  # the project's own: Keras, or the backend lane's framework
            row.package = "keras" if entry.backend == "tensorflow" else entry.module
            row.installed = {row.package: metadata.version(row.package)}
        if entry.install:
            target, failure = install(entry, root, run)
            row.installed = installed_versions(target)
            if failure:
                row.status, row.reason = "not installed", failure
                say(f"{entry.name}: {failure}")
                continue
        error = import_error(entry, target, run)
        if error:
            row.status, row.reason = "does not import", error
        elif entry.strategies:
            row.verdicts = judge(entry, target, run)
        else:
            row.status = "not judged"
        if entry.keras not in ("2", "3"):  # Keras 2 code runs in the Keras 2 lane (--keras 2)
            row.status = "not judged"
            row.reason = "; ".join(filter(None, [row.reason, "targets Keras 2.2-2.3 on TensorFlow "
                                                 "1, which does not install on Python 3.11"]))
        say(f"{entry.name}: {row.status}{' - ' + row.reason if row.reason else ''}")
    return rows
