"""PDF copies of the reports, printed by headless Chromium with every chart drawn.

Method (`write_pdfs`, run by `imgmatch report --pdf` once every HTML report and the index
are written, so the warm kernels never wait for it): one Chromium for the whole batch,
driven by Playwright, one tab per report, reused report after report. Each report is opened
from `file://` with every request that is not a local file aborted (a report loads nothing;
this makes sure of it). Before printing, the tab waits until every chart has drawn (each
`.imgmatch-chart` holds its `svg`, or says why it could not be drawn) and the fonts are
ready; then it prints on US Letter with the backgrounds and a footer naming the applicant
and "page N of M". The report's print CSS (`templates/nbconvert/imgmatch_report`) keeps each
chart, figure row and table row on one page (`break-inside: avoid`) and scales charts to the
page width.

Each PDF is written next to its HTML (`<applicant_id>.pdf`), atomically; a PDF newer than
its HTML is kept, so a second run only prints the reports that changed.

Which browser: the path in `IMGMATCH_CHROMIUM`, else Debian's `/usr/bin/chromium`, else the
first of chromium, chromium-browser, google-chrome, google-chrome-stable on the PATH. When
there is none, or the Playwright package is missing, nothing is printed and
`PdfBatch.missing` says what to install; the HTML reports are there either way.

Inputs: the output folder and the batch's records. Outputs: the PDF files, a `PdfBatch`.
Limits: a chart taller than a page is scaled to the page's height by the print CSS; the
footer's name is the profile's (escaped); about 1.5 s per report on two cores (README).
"""

from __future__ import annotations

import html
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.data.files import atomic_output

__all__ = [
    "BROWSER_ARGS",
    "PdfBatch",
    "find_chromium",
    "open_report",
    "print_report",
    "save_pdf",
    "write_pdfs",
]

BROWSER_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Chromium flags: headless, no sandbox (root in containers), nothing fetched in the background."""

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: apt-get install chromium) or set IMGMATCH_CHROMIUM to "
    "the browser's path"
)
CHARTS_DRAWN = """() => document.fonts.status === "loaded" && Array.from(
  document.querySelectorAll(".imgmatch-chart")).every(
    (el) => el.querySelector("svg") !== null || el.classList.contains("imgmatch-chart-error"))"""
"""True once every chart has drawn its SVG, or said it could not."""

_FOOTER = (
    '<div style="font-size:8px;width:100%;padding:0 0.5in;color:#555;'
    'font-family:sans-serif;display:flex;justify-content:space-between">'
    "<span>{name} · imgmatch report</span>"
    '<span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span>'
    "</div>"
)


@dataclass
class PdfBatch:
    """What `write_pdfs` did: PDFs written, kept (up to date), failed, or why none at all."""

    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    missing: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every report that has an HTML file has its PDF."""
        return self.missing is None and not self.failed

    def lines(self) -> list[str]:
        """What the command line prints about the PDFs, one line each."""
        if self.missing is not None:
            return [f"no PDF written: {self.missing}; the HTML reports are written"]
        lines = [
            f"PDF: {len(self.written)} written, {len(self.kept)} unchanged, "
            f"{len(self.failed)} failed in {self.seconds:.1f} s"
        ]
        lines += [f"PDF failed for {who}: {message}" for who, message in self.failed]
        return lines


def find_chromium() -> Path | None:
    """The Chromium to print with (module docstring), or None."""
    configured = os.environ.get("IMGMATCH_CHROMIUM")
    if configured:
        path = Path(configured)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    if DEBIAN_CHROMIUM.is_file():
        return DEBIAN_CHROMIUM
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def _missing_browser() -> str:
    configured = os.environ.get("IMGMATCH_CHROMIUM")
    if configured:
        return f"IMGMATCH_CHROMIUM is {configured!r}, which is not an executable file"
    return f"no Chromium browser found ({', '.join(CANDIDATES)}): {INSTALL_HINT}"


@contextmanager
def _chromium(path: Path) -> Iterator[Any]:
    """One headless Chromium (Playwright) for a whole batch."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(path), args=list(BROWSER_ARGS))
        try:
            yield browser
        finally:
            browser.close()


def _offline(route: Any) -> None:
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort()


def open_report(page: Any, source: Path, timeout: float) -> None:
    """Open an HTML report in a tab and wait until its charts have drawn.

    Raises:
        TimeoutError: the charts did not draw within `timeout` seconds.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(source.resolve().as_uri(), wait_until="load", timeout=timeout * 1000)
    try:
        page.wait_for_function(CHARTS_DRAWN, timeout=timeout * 1000)
    except PlaywrightTimeout:
        raise TimeoutError(f"the charts did not draw within {timeout:g} s") from None


def save_pdf(page: Any, target: Path, name: str) -> None:
    """Print the open tab to `target` (atomically): US Letter, backgrounds, a footer."""
    with atomic_output(target) as tmp:
        page.pdf(
            path=str(tmp),
            format="Letter",
            print_background=True,
            display_header_footer=True,
            header_template="<span></span>",
            footer_template=_FOOTER.format(name=html.escape(name)),
            margin={"top": "0.5in", "bottom": "0.6in", "left": "0.5in", "right": "0.5in"},
        )


def print_report(page: Any, source: Path, target: Path, name: str, timeout: float) -> None:
    """Print one HTML report to a PDF once its charts have drawn (`open_report`, `save_pdf`)."""
    open_report(page, source, timeout)
    save_pdf(page, target, name)


def _todo(out_dir: Path, records: Sequence[Any], force: bool) -> tuple[list, list[str]]:
    """(reports to print as (id, name, html, pdf), ids whose PDF is up to date)."""
    from analysis.report.outputs import report_path

    todo, kept = [], []
    for record in records:
        if record.status == "failed" or not record.applicant_id:
            continue
        source = report_path(out_dir, record.applicant_id)
        if not source.is_file():
            continue
        target = source.with_suffix(".pdf")
        if not force and target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
            kept.append(record.applicant_id)
            continue
        name = (record.summary or {}).get("name") or record.applicant_id
        todo.append((record.applicant_id, str(name), source, target))
    return todo, kept


def write_pdfs(
    out_dir: Path,
    records: Sequence[Any],
    *,
    force: bool = False,
    timeout: float = 60.0,
    browser_path: Path | None = None,
) -> PdfBatch:
    """Print every report of the batch that has an HTML file to `<applicant_id>.pdf`.

    Args:
        out_dir: the batch's output folder.
        records: the batch's records (`outputs.ReportRecord`: applicant_id, status, summary).
        force: print again even when the PDF is newer than its HTML.
        timeout: seconds one report may take to open and draw its charts.
        browser_path: the Chromium to use (default: `find_chromium()`).
    """
    started = time.perf_counter()
    batch = PdfBatch()
    todo, batch.kept = _todo(Path(out_dir), records, force)
    if not todo:
        return batch
    path = browser_path or find_chromium()
    if path is None:
        batch.missing = _missing_browser()
        return batch
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        batch.missing = (
            f"printing needs the Python package playwright (pip install 'imgmatch[pdf]'); "
            f"it drives the Chromium at {path}"
        )
        return batch
    _print_all(path, todo, batch, timeout)
    batch.seconds = time.perf_counter() - started
    return batch


def _print_all(path: Path, todo: list, batch: PdfBatch, timeout: float) -> None:
    """Print each report in one browser; a report that fails never stops the others."""
    from analysis.errors import short_message

    try:
        with _chromium(path) as browser:
            context = browser.new_context()
            context.route("**/*", _offline)
            page = context.new_page()
            for applicant_id, name, source, target in todo:
                try:
                    if page.is_closed():
                        page = context.new_page()
                    print_report(page, source, target, name, timeout)
                    batch.written.append(applicant_id)
                except Exception as error:  # one report's failure is that report's only
                    batch.failed.append((applicant_id, short_message(error)))
            context.close()
    except Exception as error:  # the browser would not start, or died
        done = set(batch.written) | {who for who, _ in batch.failed}
        message = f"Chromium at {path} failed: {short_message(error)}"
        batch.failed += [(who, message) for who, _, _, _ in todo if who not in done]
