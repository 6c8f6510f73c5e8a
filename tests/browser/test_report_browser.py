"""A report and the index, opened from file:// in headless Chromium with the network cut.

Renders two applicants with the real template (`notebooks/applicant_report.ipynb`) and the
report fixture program table, whose program names try to break out of script tags and
attributes; one applicant is named `<script>alert(1)</script>`. In Chromium, every request
that is not `file:` is aborted and recorded. Asserts: charts drawn (`.vega-embed svg`), no
console error, no page error, no dialog (no script ran), no network request, the hostile
name shown as text, the index sortable. Screenshots go to `tests/artifacts/` (git-ignored).

Uses Debian's `/usr/bin/chromium` through Playwright; installs nothing; skipped (with the
reason) when that browser is absent. `.ci/run` installs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.report.runner import ReportOptions, run_reports
from tests.browser.conftest import CHROMIUM

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
PROGRAMS = ROOT / "tests" / "fixtures" / "report" / "programs.csv"
TEMPLATE = ROOT / "notebooks" / "applicant_report.ipynb"
HOSTILE_NAME = "<script>alert(1)</script>"
ATTRIBUTE_BREAKER = '" onmouseover="x'
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two reports and the index, rendered once for the module."""
    root = tmp_path_factory.mktemp("browser")
    applicants = root / "applicants"
    applicants.mkdir()
    match_year = dt.date.today().year + 1
    (applicants / "hostile.yaml").write_text(
        "applicant_id: hostile\n"
        f"name: '{HOSTILE_NAME}'\n"
        "visa_needed: j1\ngraduation_year: 2022\nstep2_score: 238\n"
        f"target_specialties: [IM, FM]\nmatch_year: {match_year}\n"
        f"notes: '{ATTRIBUTE_BREAKER}'\n",
        encoding="utf-8",
    )
    (applicants / "plain.yaml").write_text(
        "applicant_id: plain\nname: Plain Applicant\n"
        "visa_needed: h1b\ngraduation_year: 2023\nstep2_score: 250\n"
        f"target_specialties: [IR, DR]\nmatch_year: {match_year}\n",
        encoding="utf-8",
    )
    out = root / "out"
    result = run_reports(ReportOptions(PROGRAMS, out, (applicants,), template=TEMPLATE))
    assert result.exit_code == 0, [r.message for r in result.failed]
    return out


class Page:
    """A page opened offline, with everything it tried to do recorded."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.route("**/*", self._route)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        # errors, and warnings such as Vega's "Infinite extent for field ...": a chart that
        # warns draws an empty or misleading axis
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.requests == [], f"network requests attempted: {self.requests}"
        assert self.errors == [], f"console errors or warnings, page errors: {self.errors}"
        assert self.dialogs == [], f"a script from user data ran: {self.dialogs}"
        assert self.page.locator("div.error, .imgmatch-chart-error").count() == 0


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened: list[Page] = []

    def open_(path: Path) -> Page:
        page = Page(context.new_page())
        page.page.goto(path.as_uri(), wait_until="load")
        opened.append(page)
        return page

    yield open_
    context.close()


def test_report_draws_its_charts_offline_and_shows_the_name_as_text(
    reports: Path, open_page: Any
) -> None:
    view = open_page(reports / "hostile.html")
    page = view.page
    page.wait_for_selector(".vega-embed svg", timeout=20_000)
    assert page.locator(".vega-embed svg").count() >= 1
    page.wait_for_timeout(300)  # let every chart finish drawing
    assert page.get_by_text(HOSTILE_NAME, exact=True).count() >= 1
    assert page.locator("text=Generated").count() == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report_hostile.png"), full_page=True)
    view.assert_clean()


def test_chart_tooltips_keep_hostile_program_names_as_data(reports: Path, open_page: Any) -> None:
    view = open_page(reports / "plain.html")
    page = view.page
    page.wait_for_selector(".vega-embed svg", timeout=20_000)
    marks = page.locator(".vega-embed svg .mark-symbol path")
    assert marks.count() >= 1
    marks.first.hover(force=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "report_plain.png"), full_page=True)
    view.assert_clean()


def test_index_is_offline_escaped_and_sortable(reports: Path, open_page: Any) -> None:
    view = open_page(reports / "index.html")
    page = view.page
    assert page.get_by_text(HOSTILE_NAME, exact=True).count() == 1
    rows = page.locator("#cohort tbody tr")
    assert rows.count() == 2
    header = page.locator("#cohort thead th").first
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    first_names = [rows.nth(i).locator("td").first.inner_text() for i in range(2)]
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(2)] == first_names[::-1]
    page.locator("#filter").fill("plain")
    assert page.locator("#cohort tbody tr:not([hidden])").count() == 1
    page.locator("#filter").fill("")
    page.screenshot(path=str(ARTIFACTS / "index.png"), full_page=True)
    href = page.locator("#cohort tbody a").first.get_attribute("href")
    assert href in ("hostile.html", "plain.html")
    view.assert_clean()
