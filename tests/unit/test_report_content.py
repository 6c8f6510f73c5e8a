"""The demo reports, rendered with the real template: what a reader sees is consistent.

No internal path or review note ("shared/", "seeds:", a "seed" grade), no lever drawn for a
taken exam, no timeline step still to do that is dated before the plan date, and the headline
agrees with the notes. Renders six reports with real kernels: marked slow.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re

import pytest

from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.applicants import load_applicant
from analysis.report.runner import ReportOptions, run_reports

pytestmark = pytest.mark.slow

AS_OF = dt.date(2026, 12, 1)
DEMO = sorted(p.stem for p in demo_applicants_dir().glob("*.yaml"))


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("reports")
    options = ReportOptions(demo_programs_path(), out, (demo_applicants_dir(),), workers=2,
                            as_of=AS_OF)  # fmt: skip
    result = run_reports(options)
    assert all(r.status == "written" for r in result.records), result.records
    return {name: (out / f"{name}.html").read_text(encoding="utf-8") for name in DEMO}


def _text(page: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("name", DEMO)
def test_no_internal_paths_or_review_notes(reports, name):
    page = reports[name]
    for needle in ("shared/", "seeds:", "seeds/", "seed_applications", '"seed"', "uncertain;",
                   "2016-17 page"):  # fmt: skip
        assert needle not in page, needle
    assert not re.search(r">\s*seed\s*<", page)  # a grade called "seed"


def _section(text: str, title: str, until: str) -> str:
    start = text.index(title)
    return text[start : text.index(until, start)]


@pytest.mark.parametrize("name", DEMO)
def test_no_open_timeline_step_is_dated_before_the_plan_date(reports, name):
    rows = re.findall(r"<tr>(.*?)</tr>", reports[name], flags=re.S)
    checked = 0
    for row in rows:
        cells = [_text(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        if len(cells) != 5 or cells[3] not in ("done", "overdue", "due", "upcoming"):
            continue  # not a timeline row (When, What, Kind, Status, Source)
        checked += 1
        first = re.search(r"\d{2} \w{3} \d{4}", cells[0])
        day = dt.datetime.strptime(first.group(0), "%d %b %Y").date()
        if cells[3] in ("due", "upcoming"):
            assert day >= AS_OF, cells
    assert checked >= 10


def _labels(node) -> list[str]:
    """Every `label` value of the data rows anywhere in a chart spec."""
    if isinstance(node, dict):
        found = [node["label"]] if isinstance(node.get("label"), str) else []
        return found + [x for value in node.values() for x in _labels(value)]
    if isinstance(node, list):
        return [x for value in node for x in _labels(value)]
    if isinstance(node, str) and node.startswith("[{"):  # inline data, as a JSON string
        return _labels(json.loads(node))
    return []


@pytest.mark.parametrize("name", DEMO)
def test_no_lever_is_drawn_for_a_taken_exam(reports, name):
    applicant = load_applicant(demo_applicants_dir() / f"{name}.yaml")
    page = reports[name]
    decoder = json.JSONDecoder()
    labels = []
    for match in re.finditer(r"vegaEmbed\(el,", page):
        spec, _ = decoder.raw_decode(page, match.end())  # the chart's spec, as embedded
        labels += _labels(spec)
    if applicant.step2_taken:
        assert not any(str(label).startswith("Step 2 CK +") for label in labels if label)
    if applicant.step3_passed:
        assert "Pass Step 3" not in labels
    assert any("more applications" in label for label in labels)  # the levers chart was found


@pytest.mark.parametrize("name", DEMO)
def test_headline_and_notes_agree(reports, name):
    text = " ".join(_text(reports[name]).split())
    headline = re.search(r"P\(match anywhere\): (.*?) \(80% interval", text).group(1)
    # the backup notes speak of the plan before signals; the signals come on top of it
    step = re.search(r"(\d+)% before signals", headline) or re.search(
        r"(\d+)% with the whole plan", headline
    )
    noted = re.search(r"P\(match anywhere\) is (\d+)%", text)
    assert noted and int(noted.group(1)) == int(step.group(1))
