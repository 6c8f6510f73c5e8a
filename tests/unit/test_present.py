"""analysis.report.present and analysis.viz.markup: escaping of user data, formats, tables."""

from __future__ import annotations

import datetime as dt
import html
import re

import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.data.schemas import ApplicantProfile
from analysis.report import present
from analysis.viz import markup

HOSTILE = ("<script>alert(1)</script>", '" onmouseover="x', "<img src=x onerror=alert(2)>")


def _no_raw(markup: str) -> None:
    for raw in HOSTILE:
        assert raw not in markup, f"unescaped {raw!r}"
    assert "<script" not in markup.lower()
    assert 'onmouseover="' not in markup and "onerror=" not in markup.replace("onerror=a", "")


def _profile(**update) -> ApplicantProfile:
    year = dt.date.today().year + 1
    base = {
        "applicant_id": "t1",
        "name": HOSTILE[0],
        "citizenship": HOSTILE[2],
        "visa_needed": "j1",
        "graduation_year": year - 2,
        "step2_score": 240,
        "target_specialties": ["IM"],
        "match_year": year,
        "notes": HOSTILE[1],
        "usce_months": 1,
    }
    return ApplicantProfile.model_validate(base | update)


# --------------------------------------------------------------------------- the reprs we avoid


def test_polars_html_repr_escapes_but_quotes_strings() -> None:
    markup = pl.DataFrame({"name": list(HOSTILE)})._repr_html_()
    assert "&lt;script&gt;" in markup and "<script>" not in markup
    assert "&quot;" in markup  # escapes quotes, and wraps every string in them


def test_pandas_html_repr_escapes_element_text() -> None:
    markup = pd.DataFrame({"name": list(HOSTILE)})._repr_html_()
    assert "&lt;script&gt;" in markup and "<script>" not in markup


def test_pandas_styler_does_not_escape_by_default() -> None:
    """Why present never renders user data with a Styler: it emits raw markup."""
    markup = pd.DataFrame({"name": [HOSTILE[0]]}).style.to_html()
    assert "<script>alert(1)</script>" in markup


# --------------------------------------------------------------------------- escaping


@given(st.text())
def test_esc_round_trips_any_text(text: str) -> None:
    escaped = markup.esc(text)
    assert not set(escaped) & {"<", ">", '"', "'"}
    assert html.unescape(escaped) == text


def test_format_html_escapes_values_not_the_template() -> None:
    block = markup.format_html("<b>{a}</b> {b}", a=HOSTILE[0], b=HOSTILE[1])
    assert block.html.startswith("<b>&lt;script&gt;")
    _no_raw(block.html)
    inner = markup.format_html("<i>{x}</i>", x="1")
    assert markup.format_html("{y}", y=inner).html == "<i>1</i>"  # Html is inserted as is


def test_md_escape_neutralizes_html_and_markdown() -> None:
    text = markup.md_escape("[x](javascript:alert(1)) <b>*y*</b>")
    assert "<b>" not in text and "](" not in text and "\\*y\\*" in text


@pytest.mark.parametrize("value", HOSTILE)
def test_table_escapes_cells_labels_caption_and_note(value: str) -> None:
    frame = pl.DataFrame({"name": [value], "p": [0.5]})
    block = markup.table(frame, {"name": value, "p": "P"}, formats={"p": "pct"},
                          caption=value, note=value)  # fmt: skip
    _no_raw(block.html)
    assert markup.esc(value) in block.html
    assert value in block.text  # the plain-text fallback shows it as it is


def test_table_accepts_pandas_and_formats_by_dtype() -> None:
    frame = pd.DataFrame(
        {"n": [1234], "x": [0.12345], "ok": [None], "day": [dt.date(2026, 1, 2)], "s": [None]}
    )
    block = markup.table(frame, formats={"ok": "bool", "day": "date"})
    cells = re.findall(r"<td[^>]*>(.*?)</td>", block.html)
    assert cells == ["1,234", "0.12", "unknown", "2026-01-02", "\u2013"]


def test_table_cuts_long_tables_and_says_so() -> None:
    block = markup.table(pl.DataFrame({"i": range(30)}), max_rows=10)
    assert block.html.count("<tr>") == 11  # header + 10
    assert "20 more rows not shown." in block.html


def test_table_refuses_unknown_columns_and_formats() -> None:
    frame = pl.DataFrame({"a": [1]})
    with pytest.raises(KeyError, match="no column"):
        markup.table(frame, ["b"])
    with pytest.raises(KeyError, match="formats for columns not shown"):
        markup.table(frame, ["a"], formats={"b": "pct"})
    with pytest.raises(ValueError, match="unknown format"):
        markup.table(frame, formats={"a": "percent"})


def test_key_figures_and_bullets_escape() -> None:
    figures = markup.key_figures([(HOSTILE[0], HOSTILE[1], HOSTILE[2]), ("a", "b")])
    bullets = markup.bullet_list([HOSTILE[0], markup.Html("<em>ok</em>")], title=HOSTILE[1])
    _no_raw(figures.html)
    _no_raw(bullets.html)
    assert "<em>ok</em>" in bullets.html
    assert f"- {HOSTILE[0]}" in bullets.text


def test_profile_table_escapes_every_free_text_field() -> None:
    block = present.profile_table(
        _profile(completed_rotations=[{"specialty": "IM", "program_id": HOSTILE[1]}])
    )
    _no_raw(block.html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in block.html
    assert "1 month hands-on" in block.html and "0 months observership" in block.html


def test_method_shows_the_docstring_escaped() -> None:
    class Module:
        """Intro.

        Method: <b>x</b> = 1

        Known limits: none.
        """

    full = present.method(Module)
    assert "&lt;b&gt;x&lt;/b&gt;" in full.html and full.html.startswith("<pre")
    part = present.method(Module, start="Method", end="Known limits")
    assert "Intro" not in part.text and "Known limits" not in part.text
    with pytest.raises(ValueError, match="no line"):
        present.method(Module, start="absent")


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.523, "52%"), (0.001, "<1%"), (0.0, "0%"), (0.999, ">99%"), (1.0, "100%"),
     (None, "\u2013"), (float("nan"), "\u2013")],
)  # fmt: skip
def test_pct(value: float | None, shown: str) -> None:
    assert markup.pct(value) == shown


def test_interval_money_and_tri_state() -> None:
    assert markup.pct_interval(0.52, 0.41, 0.63) == "52% (41\u201363%)"
    assert markup.pct_interval(0.52, None, 0.63) == "52%"
    assert markup.usd(1050.4) == "$1,050" and markup.usd(None) == "\u2013"
    assert [markup.tri_state(v) for v in (True, False, None)] == ["yes", "no", "unknown"]
    assert markup.num(1234.56, 1) == "1,234.6"


# --------------------------------------------------------------------------- summaries


def test_data_sources_counts_stale_rows_per_source() -> None:
    programs = pl.DataFrame(
        {
            "source": ["a", "a", "b", None],
            "last_verified": [dt.date(2024, 1, 1), dt.date(2026, 6, 1), None, dt.date(2026, 1, 1)],
        }
    )
    out = present.data_sources(programs, dt.date(2026, 11, 1))
    rows = {r["source"]: r for r in out.iter_rows(named=True)}
    assert out["source"].to_list()[0] == "a"  # most programs first
    assert rows["a"]["stale_share"] == 0.5 and rows["a"]["oldest_verified"] == dt.date(2024, 1, 1)
    assert rows["b"]["never_verified"] == 1 and rows["(not given)"]["programs"] == 1


def test_reference_sources_have_grades_and_dates() -> None:
    out = present.reference_sources()
    assert out.height >= 6 and out["source_grade"].null_count() == 0
    covers = dict(zip(out["table"], out["covers"], strict=False))
    nrmp = set(out.filter(pl.col("table") == "nrmp_match_rates")["covers"])
    assert nrmp == {"2022-2025", "2026"}  # two sources: 2026 is quoted by secondary pages
    assert covers["interview_rates_by_specialty"] == "2024"


def test_specialty_overview_follows_the_visa_need() -> None:
    scored = pl.DataFrame(
        {
            "specialty": ["IM", "IM", "IM"],
            "pgy1_positions": [10, 5, None],
            "sponsors_j1": [True, None, False],
            "sponsors_h1b": [False, True, None],
            "tier": ["friendly", "moderate", "closed"],
            "img_friendliness": [60.0, 30.0, 0.0],
            "confidence": [0.8, 0.5, 0.9],
            "stale": [False, True, False],
        }
    )
    j1 = present.specialty_overview(scored, "j1").row(0, named=True)
    h1b = present.specialty_overview(scored, "h1b").row(0, named=True)
    either = present.specialty_overview(scored, "either").row(0, named=True)
    assert j1["sponsors_visa_share"] == pytest.approx(1 / 3)
    assert j1["visa_unknown_share"] == pytest.approx(1 / 3)
    assert h1b["sponsors_visa_share"] == pytest.approx(1 / 3)
    assert either["sponsors_visa_share"] == pytest.approx(2 / 3)
    assert either["visa_unknown_share"] == pytest.approx(1 / 3)  # J-1 no, H-1B unknown
    assert j1["name"] == "Internal Medicine" and j1["pgy1_positions"] == 15


def test_unknown_facts_reports_null_shares() -> None:
    programs = pl.DataFrame({"sponsors_j1": [True, None], "program_type": ["community", None]})
    out = dict(present.unknown_facts(programs).select("column", "unknown_share").iter_rows())
    assert out == {"sponsors_j1": 0.5, "program_type": 0.5}


def test_summary_output_has_the_index_mimetype() -> None:
    out = present.summary_output({"applicant_id": "a1", "name": HOSTILE[0]})
    bundle = out._repr_mimebundle_()
    assert bundle[present.SUMMARY_MIMETYPE]["name"] == HOSTILE[0]
    assert bundle["text/plain"].startswith("summary of a1")


# --------------------------------------------------------------------------- planner tables


def test_planner_tables_escape_program_names_and_notes() -> None:
    day = dt.date(2027, 7, 1)
    rotations = pl.DataFrame(
        {
            "program_id": ["p1"], "program_name": [HOSTILE[0]], "specialty": ["IR"],
            "state": ["NY"], "city": [HOSTILE[1]], "role": ["anchor"], "start": [day],
            "end": [dt.date(2027, 7, 28)], "cost_usd": [2900.0], "gain": [0.061],
            "reason": [HOSTILE[2]],
        }
    )  # fmt: skip
    block = present.rotations_table(rotations)
    _no_raw(block.html)
    assert "+6.1 points" in block.html and "$2,900" in block.html and "01 Jul 2027" in block.html
    kinds = rotations.with_columns(kind=pl.lit("observership"), hands_on=pl.lit(False))
    block = present.rotations_table(kinds)
    assert "observership" in block.html and "Hands-on" in block.html and ">no<" in block.html
    assert "No away rotation" in present.rotations_table(rotations.clear()).html

    backup = pl.DataFrame(
        {
            "order": [1, 2], "name": ["Interventional Radiology", HOSTILE[0]],
            "included": [True, False], "p_match": [0.2, 0.1], "p_match_low": [0.1, 0.05],
            "p_match_high": [0.3, 0.2], "p_match_any_cumulative": [0.2, 0.28],
            "applications": [54, 30], "eras_cost_usd": [1050.0, 330.0],
            "share_sponsoring_visa": [0.7, 0.6], "share_visa_unknown": [0.1, 0.2],
            "path_back": ["first choice", HOSTILE[1]], "note": [HOSTILE[2], ""],
        }
    )  # fmt: skip
    block = present.backup_table(backup)
    _no_raw(block.html)
    assert "first choice" in block.html and "70% (unknown 10%)" in block.html

    timeline = pl.DataFrame(
        {
            "start": [day, dt.date(2028, 3, 17)], "end": [dt.date(2027, 7, 28), None],
            "event": [HOSTILE[0], "Match Day"], "category": ["rotation", "match"],
            "approximate": [False, True], "source": [HOSTILE[1], "NRMP"], "past": [False, True],
        }
    )  # fmt: skip
    block = present.timeline_table(timeline)
    _no_raw(block.html)
    assert "~ 17 Mar 2028" in block.html and "past" in block.html
    block = present.timeline_table(timeline.with_columns(status=pl.Series(["done", "upcoming"])))
    assert "done" in block.html and "upcoming" in block.html


def test_chances_and_what_if_tables() -> None:
    specialties = pl.DataFrame(
        {
            "specialty": ["IR", "DR"], "preference": [1, 2], "applications": [54, 80],
            "eligible_programs": [54, 121], "programs_in_table": [98, 204],
            "expected_interviews": [2.34, 2.2], "p_any_interview": [0.93, 0.91],
            "p_match": [0.21, 0.23], "p_match_low": [0.12, 0.14], "p_match_high": [0.34, 0.38],
            "p_match_in": [0.21, 0.18], "recommended_applications": [None, 60],
            "recommended_cost_usd": [None, 1230.0], "eras_cost_usd": [1050.0, 1830.0],
        }
    )  # fmt: skip
    block = present.chances_table(specialties)
    assert "Interventional Radiology (IR)" in block.html and "21% (12\u201334%)" in block.html
    assert "target not reachable" in block.html and "60 ($1,230)" in block.html
    levers = pl.DataFrame(
        {
            "lever": ["a", "b"], "label": [HOSTILE[0], "Pass Step 3"], "baseline": [0.5, 0.5],
            "p_match_any": [0.62, 0.5], "delta": [0.12, 0.001], "p_match_first": [0.3, 0.2],
            "delta_first": [0.1, 0.0], "note": [HOSTILE[1], "already passed"],
        }
    )  # fmt: skip
    block = present.what_if_table(levers)
    _no_raw(block.html)
    assert "+12 points" in block.html and "+0.1 points" in block.html
    assert block.html.index("+12 points") < block.html.index("+0.1 points")  # largest first
    levers = pl.DataFrame(
        {
            "lever": ["step2_plus_10", "letter"], "label": ["Step 2 CK +10", HOSTILE[0]],
            "baseline": [0.5, 0.5], "p_match_any_after": [None, 0.55], "delta": [None, 0.05],
            "available": [False, True], "reason": ["Step 2 CK is taken (score 244)", HOSTILE[1]],
        }
    )  # fmt: skip
    block = present.what_if_table(levers)
    _no_raw(block.html)
    assert ">left out<" in block.html and "Step 2 CK is taken (score 244)" in block.html
    assert block.html.index("+5 points") < block.html.index(">left out<")  # open levers first


def test_welcome_table_follows_targets_and_visa_need() -> None:
    scored = pl.DataFrame(
        {
            "specialty": ["IM", "FM", "IR"], "pgy1_positions": [10, 5, 2],
            "sponsors_j1": [True, None, False], "sponsors_h1b": [False, True, None],
            "tier": ["friendly", "moderate", "closed"], "img_friendliness": [60.0, 30.0, 0.0],
            "confidence": [0.8, 0.5, 0.9], "stale": [False, True, False],
        }
    )  # fmt: skip
    j1 = present.welcome_table(scored, _profile(target_specialties=["FM", "IM"]))
    assert j1.html.index("Family Medicine") < j1.html.index("Internal Medicine")
    assert "Interventional" not in j1.html and "Sponsor your visa" in j1.html
    us = present.welcome_table(scored, _profile(visa_needed="none"))
    assert "Sponsor your visa" not in us.html and "Internal Medicine" in us.html


def test_prob_never_claims_certainty() -> None:
    assert markup.prob(1.0) == ">99%" and markup.prob(0.996) == ">99%"
    assert markup.prob(0.0) == "0%" and markup.prob(0.002) == "<1%"
    assert markup.pct(1.0) == "100%"  # a share can be whole
    assert markup.pct_interval(0.98, 0.95, 1.0) == "98% (95\u2013>99%)"
