"""The README's summaries are generated from the committed report's stored results, never typed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.report.summary import markers, summary_block
from tests.helpers import ROOT


def readme_summary(readme: Path, profile: str = "default") -> str:
    """The summary of `profile` currently in the README (between its markers)."""
    text = readme.read_text()
    start, end = markers(profile)
    if start not in text or end not in text:
        raise BenchError(f"{readme} has no summary markers for profile {profile!r}")
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n")


@pytest.mark.parametrize("profile,report", [("default", "reports"), ("study", "reports/study")])
def test_readme_summary_is_the_committed_reports_summary(monkeypatch, profile, report):
    monkeypatch.chdir(ROOT)  # the summary links the report by its path from the README
    assert readme_summary(Path("README.md"), profile) == summary_block(Path(report))


def test_readme_catalogue_is_the_committed_catalogue():
    from bench.catalogue.report import block, readme_block

    rows = json.loads((ROOT / "reports/catalogue/catalogue.json").read_text())["rows"]
    assert readme_block(ROOT / "README.md") == block(rows)


def test_readme_placeholders_are_filled():
    text = (ROOT / "README.md").read_text()
    assert "⟨" not in text and "⟩" not in text
