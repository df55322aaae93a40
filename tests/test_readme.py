"""The README's summaries are generated from the committed report's stored results, never typed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.report.build import load_levels
from bench.report.summary import markers, summary_block
from tests.helpers import ROOT


def readme_summary(readme: Path, profile: str = "default") -> str:
    """The summary of `profile` currently in the README (between its markers)."""
    text = readme.read_text()
    start, end = markers(profile)
    if start not in text or end not in text:
        raise BenchError(f"{readme} has no summary markers for profile {profile!r}")
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n")


@pytest.mark.parametrize("profile,report,levels", [
    ("default", "reports", None),
    ("study", "reports/study", "reports/results.jsonl.gz")])  # the Makefile's LEVELS
def test_readme_summary_is_the_committed_reports_summary(monkeypatch, profile, report, levels):
    monkeypatch.chdir(ROOT)  # the summary links the report by its path from the README
    assert readme_summary(Path("README.md"), profile) == summary_block(
        Path(report), load_levels(Path(levels) if levels else None))


def test_readme_catalogue_is_the_committed_catalogue():
    from bench.catalogue.report import block, readme_block

    rows = json.loads((ROOT / "reports/catalogue/catalogue.json").read_text())["rows"]
    assert readme_block(ROOT / "README.md") == block(rows)


def test_readme_placeholders_are_filled():
    text = (ROOT / "README.md").read_text()
    assert "⟨" not in text and "⟩" not in text


@pytest.mark.parametrize("name", [b.name for b in __import__(
    "bench.report.readme_blocks", fromlist=["BLOCKS"]).BLOCKS])
def test_readme_record_blocks_are_rendered_from_their_records(name):
    """Times, baselines, gates, levels, the overhead study and coverage: each block is what
    `python -m bench readme` renders from the committed records and the code's constants."""
    from bench.report.readme_blocks import BLOCKS, block_text

    block = next(b for b in BLOCKS if b.name == name)
    assert block_text(ROOT / "README.md", name) == block.render(ROOT)


def _study_facts():
    from bench.report.frames import load
    from bench.report.report_facts import collect

    return collect(load([ROOT / "reports/study/results.jsonl.gz"]),
                   load([ROOT / "reports/results.jsonl.gz"]))


def test_the_committed_reports_contradict_neither_themselves_nor_their_records():
    """The study judges level 3 only; its advice may not drop what levels 1-2 found for the
    same model and strategy in the default profile, at any precision, compiler, EMA or partial
    window, nor quote a cost without its machine; the default report's facts likewise."""
    from bench.report.frames import load
    from bench.report.report_facts import collect, contradictions

    facts = _study_facts()
    assert facts.advice and contradictions(facts) == []
    assert contradictions(collect(load([ROOT / "reports/results.jsonl.gz"]))) == []


def test_the_consistency_check_catches_advice_that_drops_a_caveat():
    from bench.report.report_facts import contradictions

    facts = _study_facts()
    line = next(x for x in facts.advice if x.startswith("**cnn_bn**"))
    facts.advice = [x if x != line else line.split(" — but")[0] + "." for x in facts.advice]
    found = contradictions(facts)
    assert any(f.startswith("cnn_bn: the advice drops accumulate") and "BatchNormalization" in f
               for f in found)


def test_the_studys_advice_quotes_memory_under_every_variant():
    from bench.report.answers import answer_of

    facts = _study_facts()
    for line in facts.advice:
        model = line.split("**")[1]
        variants = {r.variant for r in answer_of(facts.levels, model).variants
                    if r.strategy == "accumulate"}
        assert all(f"under {v}" in line for v in variants), (model, variants, line)


def test_the_study_states_one_status_and_its_machines():
    block = readme_summary(ROOT / "README.md", "study")
    assert ("**Complete**" in block) != ("**Incomplete**" in block)
    assert "machine identities" in block or " on " in block.split("\n")[0]


def test_the_study_names_the_pairs_that_cross_machine_identities():
    from bench.report.facts import crossed_pairs
    from bench.report.frames import load

    crossed = crossed_pairs(load([ROOT / "reports/study/results.jsonl.gz"]))
    assert any(c.startswith("cnn keras_builtin_fixed 64x4 (5 seeds") for c in crossed)
    assert not any(c.startswith(("mlp_mixer", "gmlp", "char_lm")) for c in crossed)
