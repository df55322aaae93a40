"""The house rules that a grep can check: every shared name defined once, one registration per
strategy and probe reaching the report, no lab notes in code, no report work in the training
layer, a layout section that names every folder."""
from __future__ import annotations

import copy
import gzip
import json
import re

import pytest

from bench.config import names
from bench.report import figures, gallery
from bench.report.answers import answer_of
from bench.report.frames import from_records
from bench.report.tables import memory_paragraph, model_table
from tests.helpers import ROOT

CODE = [p for d in ("bench", "models") for p in sorted((ROOT / d).rglob("*.py"))]
MACHINE_IDENTITY_CODE = {ROOT / "bench/results/machine.py", ROOT / "bench/results/identity.py"}
QUICK_RUN = ROOT / "tests/data/runs/quick.amd-epyc-f25m17-avx512-2c-bfc7eec400.jsonl.gz"


def _occurrences(pattern: str) -> list[str]:
    found = []
    for path in [*CODE, *sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "catalogue").rglob("*.py"))]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line):
                found.append(f"{path.relative_to(ROOT)}:{n}")
    return found


@pytest.mark.parametrize("pattern", [
    r'"tf_allocator",\s*"nvml"',                       # the probe order
    r'"float32",\s*"float64",\s*"mixed_float16"',      # the precision list
    r"2\s*\*\*\s*20",                                  # a mebibyte
])
def test_each_shared_name_is_written_once(pattern):
    assert len(_occurrences(pattern)) == 1, _occurrences(pattern)


DATE = re.compile(r"\b20\d\d-[01]\d(-[0-3]\d)?\b")
CPU = re.compile(r"EPYC|Xeon|Ryzen|AVX|\bfamily \d|this CPU|this machine's CPU")


def test_no_dates_in_code_and_no_cpu_names_outside_the_machine_identity_code():
    dated = [f"{p.relative_to(ROOT)}:{n}" for p in CODE
             for n, line in enumerate(p.read_text().splitlines(), 1) if DATE.search(line)]
    named = [f"{p.relative_to(ROOT)}:{n}" for p in CODE if p not in MACHINE_IDENTITY_CODE
             for n, line in enumerate(p.read_text().splitlines(), 1) if CPU.search(line)]
    assert (dated, named) == ([], [])


def test_the_training_layer_renders_no_report_text():
    """Its entry points are processes (the fork server, the Keras 2 lane, the multi-worker
    tasks); tables and text for people are control's."""
    engine = [p for p in CODE if "bench/engine" in p.as_posix()]
    assert [p.name for p in engine if "tabulate" in p.read_text() or "def render" in p.read_text()] == []


def test_the_layout_section_names_every_folder():
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("## Layout"):text.index("\n## ", text.index("## Layout") + 3)]
    ignored = {".git", ".venv", "results", ".catalogue", ".benchmarks", ".pytest_cache",
               "__pycache__", ".ruff_cache"}
    folders = [p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in ignored
               and not p.name.endswith(".egg-info")]
    folders += [p.name for p in (ROOT / "bench").iterdir() if p.is_dir() and p.name not in ignored]
    assert [f for f in folders if f"{f}/" not in layout] == []


@pytest.fixture
def dummies():
    """A strategy and a probe registered in one place each, and removed afterwards."""
    strategy = names.register_strategy(names.StrategyName(
        "dummy_strategy", "tests.nowhere:Dummy", "dummy (a test's)", "tab:green", "h"))
    probe = names.register_probe(names.ProbeName("dummy_probe", "tests.nowhere:Probe", True,
                                                 "a test's probe"))
    yield strategy, probe
    del names.STRATEGIES[strategy.name], names.PROBES[probe.name]


def _doctored_quick_run() -> list[dict]:
    """A real quick run where Keras' built-in is renamed to the dummy strategy, and the
    allocator's readings are the dummy probe's (the only probe that measured)."""
    records = [json.loads(line) for line in gzip.open(QUICK_RUN, "rt")]
    out = []
    for r in map(copy.deepcopy, records):
        config = r.get("config") or {}
        if config.get("strategy") == "keras_builtin":
            config["strategy"] = "dummy_strategy"
        if r.get("strategy") == "keras_builtin":
            r["strategy"] = "dummy_strategy"
        if r.get("memory"):
            r["memory"] = {"dummy_probe": r["memory"]["tf_allocator"]}
        out.append(r)
    return out


def test_a_registered_strategy_and_probe_reach_the_figures_and_tables(dummies, monkeypatch,
                                                                      tmp_path):
    res = from_records(_doctored_quick_run())
    answers = [answer_of(res, m) for m in res.models]
    drawn = {}

    def capture(panels, ylabel, title, path, caption):
        drawn[path.name] = (panels, caption)
        return path

    monkeypatch.setattr(figures, "ratio_panels", capture)
    gallery.report_figures(res, answers, tmp_path)
    assert res.probes() == ["dummy_probe"] and answers[0].probe == "dummy_probe"
    speed, memory = drawn["speed.png"][0]["cnn"], drawn["memory.png"][0]["cnn"]
    assert "dummy_strategy" in speed and "dummy_strategy" in memory
    assert "dummy_probe" in drawn["memory.png"][1]
    assert list(speed) == sorted(speed, key=names.strategy_rank)
    table = model_table(res, answers[0])
    assert "dummy_strategy" in table or "dummy (a test's)" in table
    assert "Memory (dummy_probe)" in memory_paragraph(answers[0], res)
    assert figures._style("dummy_strategy") == ("tab:green", "h", "-")
