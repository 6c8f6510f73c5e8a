"""The advisor's dashboard, cohort.csv and the PDF reports, checked in headless Chromium.

One batch (`run_reports(..., pdf=True)`) of four applicants and one invalid profile, on the
report fixture program table: a hostile name, an H-1B applicant, a US IMG, one whose Step 2
CK is still expected. The index is opened from file:// with every non-file request aborted:
sorting sets `aria-sort` on the clicked column only and reorders the rows; the specialty,
visa and risk filters show exactly the applicants cohort.csv says they should; the cohort
chart draws one point per applicant. cohort.csv is read back with polars and with `csv`.
Each PDF is a valid PDF whose footers count its pages ("page i of N" on page i), and in the
print layout no chart and no table row is cut by a page break: markers put at the top and
bottom of every chart and row land on the same page of the PDF.

Uses Debian's `/usr/bin/chromium` through Playwright and pypdf; skipped when absent.
Screenshots go to `tests/artifacts/` (git-ignored).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from analysis.report.cohort import COLUMNS
from analysis.report.runner import ReportOptions, run_reports
from tests.browser.conftest import CHROMIUM

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
PROGRAMS = ROOT / "tests" / "fixtures" / "report" / "programs.csv"
TEMPLATE = ROOT / "notebooks" / "applicant_report.ipynb"
HOSTILE_NAME = '=HYPERLINK("x") <script>alert(1)</script>'
FORMULA = re.compile(r"^[=+\-@\t\r]")
NUMERIC = [name for name, dtype in COLUMNS.items() if dtype in (pl.Int64, pl.Float64)]

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed")

from analysis.report.pdf import open_report, save_pdf  # noqa: E402


def _profile(applicant_id: str, name: str, visa: str, targets: str, step2: str) -> str:
    year = dt.date.today().year + 1
    return (
        f"applicant_id: {applicant_id}\nname: '{name}'\nvisa_needed: {visa}\n"
        f"graduation_year: {year - 3}\n{step2}\ntarget_specialties: [{targets}]\n"
        f"match_year: {year}\nusce_months: 2\n"
    )


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Four reports, one failure, the index, cohort.csv and the PDFs, rendered once."""
    root = tmp_path_factory.mktemp("cohort")
    folder = root / "applicants"
    folder.mkdir()
    exam_day = dt.date.today() + dt.timedelta(days=60)
    profiles = {
        "hostile": ("j1", "IM, FM", "step2_score: 238"),
        "plain": ("h1b", "IR, DR", "step2_score: 250"),
        "usimg": ("none", "FM, IM", "step2_score: 226"),
        "later": ("j1", "IM", f"step2_expected: 245\nstep2_exam_date: {exam_day}"),
    }
    for applicant_id, (visa, targets, step2) in profiles.items():
        name = HOSTILE_NAME if applicant_id == "hostile" else f"Applicant {applicant_id}"
        text = _profile(applicant_id, name, visa, targets, step2)
        (folder / f"{applicant_id}.yaml").write_text(text, encoding="utf-8")
    (folder / "broken.yaml").write_text("applicant_id: broken\nname: [\n", encoding="utf-8")
    out = root / "out"
    options = ReportOptions(PROGRAMS, out, (folder,), template=TEMPLATE, pdf=True)
    result = run_reports(options)
    assert [r.label for r in result.failed] == [str(folder / "broken.yaml")]
    assert result.pdf is not None and result.pdf.ok, result.pdf and result.pdf.lines()
    return result


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    errors: list[str] = []

    def route(request_route: Any) -> None:
        if request_route.request.url.startswith("file:"):
            request_route.continue_()
        else:
            requests.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("console", lambda m: m.type == "error" and errors.append(m.text))
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("dialog", lambda d: (errors.append(f"dialog {d.message}"), d.dismiss()))
    yield tab
    assert requests == [] and errors == [], (requests, errors)
    context.close()


def cohort(batch: Any) -> pl.DataFrame:
    return pl.read_csv(batch.out_dir / "cohort.csv")


def visible_ids(tab: Any) -> list[str]:
    return tab.eval_on_selector_all(
        "#cohort tbody tr:not([hidden])",
        "rows => rows.map(r => (r.querySelector('.id') || {}).textContent || r.cells[0].innerText)",
    )


def sort_keys(tab: Any, column: int) -> list[str]:
    return tab.eval_on_selector_all(
        "#cohort tbody tr", f"rows => rows.map(r => r.cells[{column}].getAttribute('data-sort'))"
    )


# --------------------------------------------------------------------------- the dashboard


def test_dashboard_sorts_with_aria_sort(batch: Any, page: Any) -> None:
    page.goto((batch.out_dir / "index.html").as_uri())
    page.wait_for_selector("#cohort-chart svg", timeout=20_000)
    headers = page.locator("#cohort thead th")
    names = [headers.nth(i).inner_text() for i in range(headers.count())]
    column = names.index("With the plan")
    header = headers.nth(column)
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert page.locator("#cohort thead th[aria-sort]").count() == 1
    keys = [float(k) for k in sort_keys(page, column) if k]
    assert keys == sorted(keys) and len(keys) == 4
    assert sort_keys(page, column)[-1] == ""  # the failed row (no number) sorts last
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    keys = [float(k) for k in sort_keys(page, column) if k]
    assert keys == sorted(keys, reverse=True)
    step2 = headers.nth(names.index("Step 2 CK"))
    step2.locator("button").click()
    assert (
        step2.get_attribute("aria-sort") == "ascending"
        and header.get_attribute("aria-sort") is None
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cohort_index.png"), full_page=True)


def test_dashboard_filters_by_specialty_visa_and_risk(batch: Any, page: Any) -> None:
    page.goto((batch.out_dir / "index.html").as_uri())
    frame = cohort(batch).filter(pl.col("status") != "failed")
    assert set(visible_ids(page)) >= set(frame["applicant_id"])
    page.select_option("#filter-specialty", "FM")
    wanted = frame.filter(pl.col("target_specialties").str.contains(r"\bFM\b"))["applicant_id"]
    assert sorted(visible_ids(page)) == sorted(wanted) == ["hostile", "usimg"]
    assert page.locator("#shown").inner_text() == f"2 of {frame.height + 1} shown"
    page.select_option("#filter-specialty", "")
    page.select_option("#filter-visa", "h1b")
    assert visible_ids(page) == ["plain"]
    page.select_option("#filter-visa", "")
    page.select_option("#filter-risk", "yes")
    at_risk = frame.filter(pl.col("at_risk"))["applicant_id"].to_list()
    assert sorted(visible_ids(page)) == sorted(at_risk)
    page.select_option("#filter-risk", "no")
    assert sorted(visible_ids(page)) == sorted(set(frame["applicant_id"]) - set(at_risk))
    page.select_option("#filter-risk", "")
    page.locator("#filter").fill("applicant later")
    assert visible_ids(page) == ["later"]


def test_dashboard_shows_the_columns_chart_and_risk_line(batch: Any, page: Any) -> None:
    page.goto((batch.out_dir / "index.html").as_uri())
    page.wait_for_selector("#cohort-chart svg", timeout=20_000)
    assert page.get_by_text(HOSTILE_NAME, exact=True).count() == 1  # text, not markup
    points = page.locator("#cohort-chart svg .mark-symbol.role-mark path")
    assert points.count() == 4  # one per applicant with a report
    frame = cohort(batch)
    at_risk = int(frame["at_risk"].fill_null(False).sum())
    line = page.locator("#risk-line").inner_text()
    assert line.startswith(f"{at_risk} of 5 applicants at risk (1 without a report)")
    later = page.locator("#cohort tbody tr", has_text="Applicant later")
    assert "245 expected" in later.inner_text()


# --------------------------------------------------------------------------- cohort.csv


def test_cohort_csv_opens_as_data(batch: Any) -> None:
    path = batch.out_dir / "cohort.csv"
    frame = pl.read_csv(path)
    assert frame.columns == list(COLUMNS) and frame.height == 5
    for name in NUMERIC:
        assert frame.schema[name].is_numeric() or frame[name].null_count() == 5, name
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for name, cell in row.items():
            if name in NUMERIC and cell:
                float(cell)
            else:
                assert not FORMULA.match(cell), (name, cell)
    hostile = next(r for r in rows if r["applicant_id"] == "hostile")
    assert hostile["name"] == "'" + HOSTILE_NAME  # shown as text by a spreadsheet
    report = frame.filter(pl.col("applicant_id") == "plain").row(0, named=True)
    summary = next(r.summary for r in batch.records if r.applicant_id == "plain")
    assert report["p_match_any_with_plan"] == round(summary["p_match_any_with_plan"], 4)


# --------------------------------------------------------------------------- PDF


def footers(reader: Any) -> list[tuple[int, int]]:
    found = []
    for page in reader.pages:
        match = re.search(r"page (\d+) of (\d+)", page.extract_text())
        assert match, "a page without its footer"
        found.append((int(match.group(1)), int(match.group(2))))
    return found


def test_every_report_has_a_complete_pdf(batch: Any) -> None:
    written = [r.applicant_id for r in batch.records if r.status != "failed"]
    assert sorted(batch.pdf.written) == sorted(written)
    for applicant_id in written:
        path = batch.out_dir / f"{applicant_id}.pdf"
        assert path.read_bytes()[:5] == b"%PDF-"
        reader = pypdf.PdfReader(path)
        pages = len(reader.pages)
        assert pages >= 3
        assert footers(reader) == [(i, pages) for i in range(1, pages + 1)]
    assert not list(batch.out_dir.glob(".*.tmp*"))


MARK = """() => {
  const mark = (box, id) => {
    box.style.position = "relative";
    for (const [edge, label] of [["top", "TOP"], ["bottom", "END"]]) {
      const tag = document.createElement("span");
      tag.textContent = `MK${id}${label}`;
      tag.style.cssText = `position:absolute;left:0;${edge}:0;font-size:6px;line-height:6px`;
      box.appendChild(tag);
    }
  };
  const charts = [...document.querySelectorAll(".imgmatch-chart")];
  charts.forEach((el, i) => mark(el, `C${i}X`));
  const cells = [...document.querySelectorAll("tbody tr")].map((tr) => tr.cells[0]);
  cells.forEach((td, i) => mark(td, `R${i}X`));
  return [charts.length, cells.length];
}"""


def test_page_breaks_cut_no_chart_and_no_table_row(
    batch: Any, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context()
    context.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
    )
    tab = context.new_page()
    open_report(tab, batch.out_dir / "plain.html", timeout=60)
    charts, rows = tab.evaluate(MARK)
    assert charts >= 4 and rows >= 10
    save_pdf(tab, tmp_path / "marked.pdf", "plain")
    context.close()
    where: dict[str, int] = {}
    for number, page in enumerate(pypdf.PdfReader(tmp_path / "marked.pdf").pages):
        for tag in re.findall(r"MK([CR]\d+X(?:TOP|END))", page.extract_text()):
            where[tag] = number
    for kind, count in (("C", charts), ("R", rows)):
        for i in range(count):
            top, end = where.get(f"{kind}{i}XTOP"), where.get(f"{kind}{i}XEND")
            assert top is not None and end is not None, f"marker {kind}{i} not printed"
            assert top == end, f"{'chart' if kind == 'C' else 'row'} {i} cut: pages {top}-{end}"
