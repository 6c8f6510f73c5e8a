"""`imgmatch report --pdf` without a browser: which reports to print, the message, the exit code.

Printing itself (Chromium, charts drawn, page breaks): tests/browser/test_cohort_browser.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis.report import pdf
from analysis.report.outputs import ReportRecord
from analysis.report.pdf import PdfBatch, find_chromium, write_pdfs
from analysis.report.runner import BatchResult
from analysis.report.text import print_report_summary


def records(out: Path) -> list[ReportRecord]:
    """Two reports on disk, one failed applicant."""
    out.mkdir(exist_ok=True)
    for name in ("a", "b"):
        (out / f"{name}.html").write_text("<html></html>", encoding="utf-8")
    return [
        ReportRecord("a.yaml", "a", "written", summary={"name": "A"}),
        ReportRecord("b.yaml", "b", "unchanged", summary={"name": "B"}),
        ReportRecord("c.yaml", "c", "failed", stage="execute", message="boom"),
    ]


def test_a_missing_browser_is_named_and_nothing_is_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("IMGMATCH_CHROMIUM", str(tmp_path / "no-such-chromium"))
    batch = write_pdfs(tmp_path / "out", records(tmp_path / "out"))
    assert not batch.ok and batch.written == [] and batch.failed == []
    assert "IMGMATCH_CHROMIUM" in batch.missing and "no-such-chromium" in batch.missing
    assert batch.lines() == [f"no PDF written: {batch.missing}; the HTML reports are written"]
    assert not list((tmp_path / "out").glob("*.pdf"))


def test_no_chromium_on_the_path_says_how_to_install_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("IMGMATCH_CHROMIUM", raising=False)
    monkeypatch.setattr(pdf, "DEBIAN_CHROMIUM", tmp_path / "chromium")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_chromium() is None
    batch = write_pdfs(tmp_path / "out", records(tmp_path / "out"))
    assert (
        "no Chromium browser found" in batch.missing and "apt-get install chromium" in batch.missing
    )


def test_a_configured_browser_must_be_an_executable_file(tmp_path: Path, monkeypatch) -> None:
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setenv("IMGMATCH_CHROMIUM", str(browser))
    assert find_chromium() is None
    browser.chmod(0o755)
    assert find_chromium() == browser


def test_up_to_date_pdfs_are_kept_and_failed_applicants_skipped(
    tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "out"
    batch_records = records(out)
    (out / "a.pdf").write_bytes(b"%PDF-1.4")
    html_time = (out / "a.html").stat().st_mtime
    os.utime(out / "a.pdf", (html_time + 10, html_time + 10))
    monkeypatch.setenv("IMGMATCH_CHROMIUM", str(tmp_path / "none"))
    batch = write_pdfs(out, batch_records)
    assert batch.kept == ["a"] and batch.missing is not None  # b still needs printing
    (out / "b.pdf").write_bytes(b"%PDF-1.4")
    os.utime(out / "b.pdf", (html_time + 10, html_time + 10))
    assert write_pdfs(out, batch_records) == PdfBatch(kept=["a", "b"])  # nothing to print


def test_exit_code_and_summary_line_report_the_pdfs(capsys: pytest.CaptureFixture[str]) -> None:
    written = [ReportRecord("a.yaml", "a", "written", seconds=1.0)]
    ok = BatchResult(
        written, Path("out"), 1.0, 1, "local", "2026-12-01", pdf=PdfBatch(written=["a"])
    )
    assert ok.exit_code == 0
    missing = PdfBatch(missing="no Chromium browser found (chromium): install Chromium")
    result = BatchResult(written, Path("out"), 1.0, 1, "local", "2026-12-01", pdf=missing)
    assert result.exit_code == 1
    print_report_summary(result)
    out = capsys.readouterr().out
    assert "no PDF written: no Chromium browser found" in out and "HTML reports are written" in out
    failed = PdfBatch(written=["a"], failed=[("b", "the charts did not draw within 60 s")])
    assert BatchResult(written, Path("o"), 1.0, 1, "local", "x", pdf=failed).exit_code == 1
    assert failed.lines()[1] == "PDF failed for b: the charts did not draw within 60 s"
