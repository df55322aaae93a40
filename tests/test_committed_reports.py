"""The committed reports are what their committed records render to: a report is never edited by
hand, and a change to the report code that changes a sentence shows here until the report is
rebuilt (make bench-report)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.report.backends import build as build_backends_page
from bench.report.build import COVERAGE, build_report
from bench.results.store import read
from tests.helpers import ROOT


@pytest.mark.parametrize("report,levels", [
    ("reports", None),
    ("reports/study", "reports/results.jsonl.gz")])  # the Makefile's LEVELS for the study
def test_a_committed_report_is_its_records_rendering(tmp_path, monkeypatch, report, levels):
    monkeypatch.chdir(ROOT)
    if (ROOT / report / COVERAGE).exists():
        shutil.copy(ROOT / report / COVERAGE, tmp_path / COVERAGE)
    build_report([Path(report) / "results.jsonl.gz"], tmp_path, Path(levels) if levels else None)
    assert (tmp_path / "README.md").read_text() == (ROOT / report / "README.md").read_text()
    drawn = sorted(p.name for p in tmp_path.glob("*.png"))
    assert drawn == sorted(p.name for p in (ROOT / report).glob("*.png"))


def test_the_backends_page_is_its_records_rendering(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    page = build_backends_page(read(ROOT / "reports/backends/records.jsonl"), tmp_path,
                 Path("reports/results.jsonl.gz"))
    assert page.read_text() == (ROOT / "reports/backends/README.md").read_text()
    drawn = sorted(p.name for p in tmp_path.glob("*.png"))
    assert drawn == sorted(p.name for p in (ROOT / "reports/backends").glob("*.png"))
