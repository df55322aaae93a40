"""The README's summary is generated from the committed report's stored results, never typed."""
from __future__ import annotations

from pathlib import Path

from bench.report.summary import readme_summary, summary_block
from tests.helpers import ROOT


def test_readme_summary_is_the_committed_reports_summary(monkeypatch):
    monkeypatch.chdir(ROOT)  # the summary links the report by its path from the README
    assert readme_summary(Path("README.md")) == summary_block(Path("reports"))


def test_readme_placeholders_are_filled():
    text = (ROOT / "README.md").read_text()
    assert "⟨" not in text and "⟩" not in text
