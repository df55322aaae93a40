"""The README's summary is generated from the committed report's stored results, never typed."""
from __future__ import annotations

from bench.report.summary import readme_summary, summary_block
from tests.helpers import ROOT


def test_readme_summary_is_the_committed_reports_summary():
    assert readme_summary(ROOT / "README.md") == summary_block(ROOT / "reports")


def test_readme_placeholders_are_filled():
    text = (ROOT / "README.md").read_text()
    assert "⟨" not in text and "⟩" not in text
