"""The advisor's cohort view: records from report summaries, the risk flag, cohort.csv, the chart.

No kernels: summaries are written here in the shape `present.report_summary` gives (one test
builds a real one from a demo plan). cohort.csv is read back with polars and with `csv`: no
text cell may start a formula, and numeric columns stay numbers (negative ones included).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.report.cohort import (
    COLUMNS,
    RISK_THRESHOLD,
    cohort_frame,
    cohort_record,
    risk,
    risk_line,
    write_cohort_csv,
)
from analysis.report.html import IndexPage, IndexRow, render_index
from analysis.viz.cohort import cohort_chart

FORMULA = re.compile(r"^[=+\-@\t\r]")
HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1", "<b>x</b>"]
NUMERIC = [name for name, dtype in COLUMNS.items() if dtype in (pl.Int64, pl.Float64)]

PAGE = IndexPage(
    generated_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
    version="9.9.9",
    as_of="2026-11-01",
    programs_file="programs.csv",
    programs_sha256="cd" * 32,
    template="applicant_report.ipynb",
)


def summary(applicant_id: str, **changes: Any) -> dict[str, Any]:
    """A report summary as `present.report_summary` writes it."""
    base: dict[str, Any] = {
        "applicant_id": applicant_id,
        "name": f"Applicant {applicant_id}",
        "target_specialties": ["IR", "DR", "IM"],
        "p_match": {"IR": 0.3, "DR": 0.4, "IM": 0.5},
        "p_match_any": 0.62,
        "p_match_any_low": 0.5,
        "p_match_any_high": 0.71,
        "p_match_any_with_plan": 0.81,
        "p_match_any_with_plan_low": 0.7,
        "p_match_any_with_plan_high": 0.9,
        "rotations": 2,
        "rotation_cost_usd": 5400,
        "application_fees_usd": 8310,
        "visa_needed": "j1",
        "step2_ck": 244,
        "step2_ck_status": "taken",
        "usce_months": 1.5,
        "first_choice": "IR",
        "first_choice_eligible_programs": 54,
    }
    return base | changes


def row(applicant_id: str, status: str = "written", **changes: Any) -> IndexRow:
    data = summary(applicant_id, **changes)
    return IndexRow(
        label=f"{applicant_id}.yaml",
        applicant_id=applicant_id,
        status=status,
        name=data["name"],
        href=f"{applicant_id}.html",
        summary=data,
    )


def failed(label: str, message: str) -> IndexRow:
    return IndexRow(label=label, applicant_id=None, status="failed", stage="validate",
                    message=message)  # fmt: skip


# --------------------------------------------------------------------------- records, risk


def test_record_reads_every_column_from_the_summary() -> None:
    record = cohort_record(row("a", step2_ck=250, step2_ck_status="expected"))
    assert set(record) == set(COLUMNS)
    assert record["p_match_any_now"] == 0.62 and record["p_match_any_with_plan"] == 0.81
    assert (record["p_match_any_with_plan_low"], record["p_match_any_with_plan_high"]) == (0.7, 0.9)
    assert record["step2_ck"] == 250 and record["step2_ck_status"] == "expected"
    assert record["target_specialties"] == "IR; DR; IM" and record["first_choice"] == "IR"
    assert record["usce_months"] == 1.5 and record["rotations"] == 2
    assert record["application_fees_usd"] == 8310 and record["report"] == "a.html"
    assert record["at_risk"] is False and record["risk_reason"] is None


def test_risk_is_the_plan_under_half_or_no_eligible_program_in_the_first_choice() -> None:
    assert risk(summary("a", p_match_any_with_plan=RISK_THRESHOLD)) == (False, None)
    low, why = risk(summary("a", p_match_any_with_plan=0.4))
    assert low and why == "40% with the plan, under 50%"
    closed, why = risk(summary("a", first_choice_eligible_programs=0))
    assert closed and why == "no eligible program in IR"
    both, why = risk(summary("a", p_match_any_with_plan=0.1, first_choice_eligible_programs=0))
    assert both and "10% with the plan" in why and "no eligible program" in why
    assert risk({"p_match_any": 0.3}) == (None, None)  # a custom template: not assessed


def test_failed_and_placeholder_rows_carry_no_numbers() -> None:
    bad = cohort_record(failed("x.yaml", "row 3: bad visa"))
    assert bad["status"] == "failed" and bad["error"] == "row 3: bad visa"
    assert all(bad[name] is None for name in NUMERIC) and bad["at_risk"] is None
    placeholder = cohort_record(row("p", placeholder=True, p_match_any_with_plan=0.1))
    assert placeholder["p_match_any_now"] is None and placeholder["at_risk"] is None


def test_numbers_a_notebook_could_send_wrong_are_left_empty() -> None:
    record = cohort_record(
        row("a", p_match_any="0.5", step2_ck=True, usce_months=float("nan"), rotations=None)
    )
    assert record["p_match_any_now"] is None and record["step2_ck"] is None
    assert record["usce_months"] is None and record["rotations"] is None


def test_risk_line_counts_at_risk_failed_and_unknown() -> None:
    rows = [row("a"), row("b", p_match_any_with_plan=0.2), failed("c.yaml", "bad")]
    assert risk_line(cohort_frame(rows)) == "1 of 3 applicants at risk (1 without a report)"
    assert risk_line(cohort_frame([row("a")])) == "0 of 1 applicant at risk"


def test_a_real_plan_gives_a_summary_the_dashboard_reads() -> None:
    from analysis.config import demo_applicants_dir, demo_programs_path
    from analysis.data.applicants import load_applicant
    from analysis.data.programs import load_programs
    from analysis.model.probability import model_for
    from analysis.planners.plan import make_plan
    from analysis.report.present import data_sources, report_summary

    as_of = dt.date(2026, 6, 1)
    programs = load_programs(demo_programs_path())
    applicant = load_applicant(demo_applicants_dir() / "samuel_im.yaml")
    plan = make_plan(applicant, model_for(programs, as_of=as_of), as_of=as_of)
    data = report_summary(applicant, plan, data_sources(programs, as_of), as_of.isoformat())
    record = cohort_record(IndexRow("s.yaml", "samuel_im", "written", summary=data, href="s.html"))
    assert record["p_match_any_now"] == plan.chances_now.p_match_any
    assert record["p_match_any_with_plan"] == plan.chances_with_plan.p_match_any
    assert record["p_match_any_with_plan_low"] == plan.chances_with_plan.p_match_any_low
    assert record["rotations"] == plan.rotations.rotations.height
    assert record["application_fees_usd"] == round(plan.chances_with_plan.total_cost_usd)
    assert record["step2_ck"] == applicant.step2_for_model and record["visa_needed"] == "j1"
    assert record["first_choice_eligible_programs"] > 0
    assert record["at_risk"] == (plan.chances_with_plan.p_match_any < RISK_THRESHOLD)


# --------------------------------------------------------------------------- cohort.csv


def read_back(path: Path) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return pl.read_csv(path), list(csv.DictReader(handle))


def assert_no_formula(rows: list[dict[str, str]]) -> None:
    for line in rows:
        for name, cell in line.items():
            if name in NUMERIC and cell:
                float(cell)  # a number (negative ones start with '-': still a number)
            else:
                assert not FORMULA.match(cell), f"{name}: {cell!r} would run as a formula"


def test_cohort_csv_escapes_formulas_and_keeps_numbers_numeric(tmp_path: Path) -> None:
    rows = [row(f"a{i}", name=text, first_choice=text) for i, text in enumerate(HOSTILE)]
    rows += [row("neg", rotation_cost_usd=-50, usce_months=-0.5), failed("=1+1.yaml", "-bad")]
    path = write_cohort_csv(tmp_path / "cohort.csv", rows)
    frame, lines = read_back(path)
    assert frame.columns == list(COLUMNS) and frame.height == len(rows)
    assert_no_formula(lines)
    for name in NUMERIC:
        assert frame.schema[name].is_numeric() or frame[name].null_count() == frame.height, name
    negative = frame.filter(pl.col("applicant_id") == "neg").row(0, named=True)
    assert negative["rotation_cost_usd"] == -50 and negative["usce_months"] == -0.5
    assert [line["name"] for line in lines[: len(HOSTILE)]] == ["'" + t if FORMULA.match(t)
                                                               else t for t in HOSTILE]  # fmt: skip
    assert lines[-1]["name"] == "'=1+1.yaml" and lines[-1]["error"] == "'-bad"
    assert not list(tmp_path.glob(".*.tmp*")), "no temporary file left"


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=20), st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_cohort_csv_never_writes_a_formula(tmp_path_factory: Any, name: str, value: float) -> None:
    path = tmp_path_factory.mktemp("csv") / "cohort.csv"
    write_cohort_csv(path, [row("a", name=name or "x", usce_months=value)])
    frame, lines = read_back(path)
    assert_no_formula(lines)
    assert frame["usce_months"].dtype == pl.Float64


# --------------------------------------------------------------------------- chart, index


def test_cohort_chart_has_one_point_per_applicant_with_both_numbers() -> None:
    rows = [row("a"), row("b", first_choice="IM", p_match_any_with_plan=0.3), failed("c", "x")]
    spec = cohort_chart(cohort_frame(rows)).to_dict()
    datasets = list(spec["datasets"].values())
    points = next(d for d in datasets if isinstance(d, str) and "applicant_id" in d)
    frame = pl.read_json(points.encode())
    assert frame["applicant_id"].to_list() == ["a", "b"]
    assert frame["first_choice"].to_list() == ["IR", "IM"]
    assert set(frame["risk"]) == {"", "30% with the plan, under 50%"}


def test_cohort_chart_without_numbers_says_why() -> None:
    spec = cohort_chart(cohort_frame([failed("c", "x")])).to_dict()
    assert "No applicant has both numbers yet." in str(spec)


def test_index_dashboard_escapes_summaries_and_offers_the_filters() -> None:
    evil = "<script>alert(1)</script>"
    rows = [
        row("a", name=evil, visa_needed="h1b"),
        row(
            "b",
            p_match_any_with_plan=0.2,
            step2_ck_status="expected",
            first_choice="IM",
            target_specialties=["IM", "FM"],
        ),
        failed("c.yaml", evil),
    ]
    html = render_index(rows, PAGE)
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "1 of 3 applicants at risk (1 without a report)" in html
    assert 'data-risk="yes"' in html and 'data-risk="no"' in html and 'data-risk="unknown"' in html
    assert 'data-targets="IM FM"' in html and 'data-visa="h1b"' in html
    assert re.findall(r'<option value="([^"]*)"', html) == [
        "", "DR", "FM", "IM", "IR", "", "h1b", "j1", "", "yes", "no",
    ]  # fmt: skip
    assert ">244 expected<" in html and 'id="cohort-chart"' in html
    assert not re.search(r"<th[^>]*aria-sort", html)  # no column sorted yet
