"""The README's summaries are generated from the committed report's stored results, never typed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.report.summary import readme_summary, summary_block
from tests.helpers import ROOT


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
