"""analysis.viz.explorer: filters, the view they select, the chart, and the widget callbacks,
driven without a browser (setting control values calls the observers as JupyterLab would)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data import applicants, programs
from analysis.model.probability import model_for
from analysis.viz import explorer, explorer_widget, markup
from analysis.viz.explorer import Filters

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def model():
    return model_for(programs.load_programs(demo_programs_path()), as_of=AS_OF)


@pytest.fixture(scope="module")
def amira():
    return applicants.load_applicant(demo_applicants_dir() / "amira_ir.yaml")


def _amira_ir(**changes) -> Filters:
    return Filters(**({"specialty": "IR", "visa_needed": "j1", "step2_score": 244} | changes))


# --------------------------------------------------------------------------- filters


def test_filters_are_checked() -> None:
    with pytest.raises(ValueError, match="visa_needed"):
        Filters("IM", visa_needed="f1")
    with pytest.raises(ValueError, match="USPS"):
        Filters("IM", states=("XX",))
    with pytest.raises(ValueError, match="min_friendliness"):
        Filters("IM", min_friendliness=120)


def test_default_filters_follow_the_applicant(model, amira) -> None:
    assert explorer.default_filters(model, amira) == Filters(
        "IR", visa_needed="j1", step2_score=244
    )
    assert explorer.default_filters(model) == Filters("IM", visa_needed="j1", step2_score=None)


def test_frame_keeps_the_specialty_sorted_by_chance(model, amira) -> None:
    frame = explorer.explorer_frame(model, _amira_ir(), amira)
    all_ir = model.programs.filter(pl.col("specialty") == "IR").height
    assert frame.height == all_ir and set(frame["specialty"]) == {"IR"}
    assert frame["p_interview"].is_sorted(descending=True)
    screened = frame.filter(~pl.col("eligible"))
    assert screened.height > 0
    assert (screened["p_interview"] == 0).all() and screened["screen_reason"].null_count() == 0
    assert (screened["status"] == "screened out").all()
    assert (frame["p_interview_low"] <= frame["p_interview"]).all()
    assert (frame["p_interview"] <= frame["p_interview_high"]).all()


def test_states_and_minimum_score_filter(model, amira) -> None:
    frame = explorer.explorer_frame(
        model, _amira_ir(states=("NY", "PA"), min_friendliness=45), amira
    )
    assert frame.height > 0
    assert set(frame["state"]) <= {"NY", "PA"}
    assert (frame["img_friendliness"] >= 45).all()


def test_higher_step2_never_lowers_an_interview_chance(model, amira) -> None:
    low = explorer.explorer_frame(model, _amira_ir(step2_score=230), amira)
    high = explorer.explorer_frame(model, _amira_ir(step2_score=260), amira)
    joined = low.join(high, on="program_id", suffix="_260")
    assert (joined["p_interview_260"] >= joined["p_interview"] - 1e-12).all()
    assert joined["p_interview_260"].sum() > joined["p_interview"].sum()
    # a higher score can only lift Step 2 CK screens, never add one
    assert joined.filter(pl.col("eligible") & ~pl.col("eligible_260")).is_empty()


def test_typical_applicant_when_no_profile(model) -> None:
    person = explorer.person_for(Filters("PSYCH", visa_needed="none"))
    assert person.visa_needed == "none" and person.target_specialties == ["PSYCH"]
    view = explorer.static_view(model, None, Filters("PSYCH", visa_needed="none"))
    assert view.frame.height > 0 and "typical US IMG" in view.header.html
    assert view.summary["screened_out"] == view.frame.filter(~pl.col("eligible")).height


def test_summary_totals(model, amira) -> None:
    frame = explorer.explorer_frame(model, _amira_ir(), amira)
    summary = explorer.explorer_summary(frame)
    eligible = frame.filter(pl.col("eligible"))["p_interview"]
    assert summary["expected_interviews"] == pytest.approx(eligible.sum())
    assert summary["p_any_interview"] == pytest.approx(1 - (1 - eligible).product())
    assert summary["good_chance"] == int((eligible >= 0.05).sum())
    reasons = summary["screen_reasons"]
    assert sum(reasons.values()) >= summary["screened_out"]  # a program can have several
    assert list(reasons.values()) == sorted(reasons.values(), reverse=True)


# --------------------------------------------------------------------------- chart and table


def test_chart_is_valid_with_tooltips_and_inline_data(model, amira) -> None:
    view = explorer.static_view(model, amira, _amira_ir())
    spec = view.chart.to_dict()  # validates against the vega-lite schema
    assert spec["encoding"]["x"]["field"] == "img_friendliness"
    assert spec["encoding"]["y"]["field"] == "p_interview"
    assert spec["encoding"]["y"]["scale"]["type"] == "sqrt"
    tooltips = {t["field"] for t in spec["encoding"]["tooltip"]}
    assert {"program_name", "chance", "screen_reason", "visa", "stale"} <= tooltips
    assert "url" not in json.dumps(spec["data"])
    rows = json.loads(next(iter(spec["datasets"].values())))
    assert len(rows) == view.frame.height
    title = spec["title"]["text"]
    assert title.startswith("Interventional Radiology:") and "5%+ interview chance" in title
    assert "closed" not in spec["encoding"]["color"]["scale"]["domain"]


def test_empty_view_says_so(model, amira) -> None:
    view = explorer.static_view(model, amira, _amira_ir(states=("WY",), min_friendliness=99))
    assert view.frame.is_empty() and view.summary["programs"] == 0
    spec = view.chart.to_dict()
    assert "no programs" in spec["title"]


def test_table_flags_stale_facts_and_hides_an_empty_reason_column(model, amira) -> None:
    view = explorer.static_view(model, amira, _amira_ir(), top=5)
    assert view.table.html.count("<tr>") == 6
    assert "(stale)" in view.table.html or not view.frame.head(5)["stale"].any()
    assert "Screened out because" not in view.table.html  # the top 5 are all eligible
    screened = view.frame.filter(~pl.col("eligible"))
    table = explorer.explorer_table(screened, top=3)
    assert "Screened out because" in table.html


# --------------------------------------------------------------------------- widgets


@pytest.fixture
def panel(model):
    return explorer_widget.ProgramExplorer(model, None)


def test_widget_starts_with_the_static_view(model, amira) -> None:
    box = explorer_widget.program_explorer(model, amira)
    import ipywidgets

    assert isinstance(box, ipywidgets.VBox)
    panel = box.explorer
    assert panel.filters == Filters("IR", visa_needed="j1", step2_score=244)
    assert panel.view.summary == explorer.static_view(model, amira).summary
    (output,) = panel.chart.outputs
    assert output["output_type"] == "display_data" and output["data"]
    assert panel.table.value == panel.view.table.html
    assert len(panel.redraw_seconds) == 1 and "Redrawn in" in panel.status.value


def test_step2_slider_redraws_the_chances(panel) -> None:
    panel.controls["specialty"].value = "IR"
    before = panel.view.summary["expected_interviews"]
    draws = len(panel.redraw_seconds)
    panel.controls["step2"].value = 265
    assert len(panel.redraw_seconds) == draws + 1
    assert panel.view.filters.step2_score == 265
    assert panel.view.summary["expected_interviews"] > before
    assert "Step 2 CK 265" in panel.header.value


def test_specialty_change_updates_states_and_the_typical_score(panel, model) -> None:
    panel.controls["states"].value = ("NY", "WY")
    draws = len(panel.redraw_seconds)
    panel.controls["specialty"].value = "IR"
    assert len(panel.redraw_seconds) == draws + 1  # one redraw for the whole change
    ir_states = set(model.programs.filter(pl.col("specialty") == "IR")["state"].drop_nulls())
    assert set(panel.controls["states"].options) == ir_states
    assert panel.controls["states"].value == tuple(s for s in ("NY", "WY") if s in ir_states)
    typical = explorer.person_for(Filters("IR", visa_needed="j1")).step2_score
    assert panel.controls["step2"].value == typical
    assert set(panel.view.frame["specialty"]) == {"IR"}


def test_visa_states_and_minimum_score_controls(panel) -> None:
    panel.controls["visa"].value = "h1b"
    assert panel.view.filters.visa_needed == "h1b"
    panel.controls["states"].value = ("TX",)
    assert set(panel.view.frame["state"]) <= {"TX"}
    panel.controls["min_friendliness"].value = 50
    assert (panel.view.frame["img_friendliness"] >= 50).all()


def test_reset_restores_the_defaults_in_one_redraw(panel) -> None:
    start = panel.filters
    with panel.hold():
        panel.controls["specialty"].value = "PSYCH"
        panel.controls["min_friendliness"].value = 40
    assert panel.view.filters.specialty == "PSYCH"
    draws = len(panel.redraw_seconds)
    panel.reset_button.click()
    assert panel.filters == start and panel.view.filters == start
    assert len(panel.redraw_seconds) == draws + 1


def test_redraw_benchmark_reports_each_slider_move(model, amira) -> None:
    result = explorer_widget.redraw_benchmark(model, amira, step2_values=(240, 250, 260))
    assert result["redraws"] == 3
    assert 0 < result["redraw_median_s"] <= result["redraw_max_s"]


def test_screen_reasons_are_counted_by_kind_with_thresholds_on_hover(model, amira) -> None:
    frame = explorer.explorer_frame(model, _amira_ir(), amira)
    summary = explorer.explorer_summary(frame)
    reasons, thresholds = summary["screen_reasons"], summary["screen_thresholds"]
    closed = frame.filter(~pl.col("eligible"))
    expected = {
        label: closed.filter(pl.col("screen_kinds").list.contains(kind)).height
        for kind, label in explorer.SCREEN_KINDS.items()
    }
    assert reasons == {label: n for label, n in expected.items() if n}
    assert list(reasons.values()) == sorted(reasons.values(), reverse=True)
    # Amira's IR programs ask for different Step 2 CK minimums: still one kind, one count
    minimums = closed.filter(pl.col("screen_kinds").list.contains("step2"))["min_step2_score"]
    assert minimums.n_unique() > 1 and reasons["Step 2 CK minimum"] == minimums.len()
    assert f"{minimums.min()}\u2013{minimums.max()}" in thresholds["Step 2 CK minimum"]
    for joined, kinds in zip(closed["screen_reason"], closed["screen_kinds"], strict=True):
        assert len(joined.split("; ")) == len(kinds)  # one reason per kind of screen
    view = explorer.static_view(model, amira, _amira_ir())
    for label in list(reasons)[:3]:  # the three commonest kinds, thresholds on hover
        assert f'title="{markup.esc(thresholds[label])}"' in view.header.html
        assert f"{label}: {reasons[label]}" in view.header.text


def test_the_commonest_screen_reaches_the_top_three(model) -> None:
    samuel = applicants.load_applicant(demo_applicants_dir() / "samuel_im.yaml")
    frame = explorer.explorer_frame(model, Filters("IM", visa_needed="j1"), samuel)
    summary = explorer.explorer_summary(frame)
    step2 = frame.filter(pl.col("screen_kinds").list.contains("step2"))
    assert step2["min_step2_score"].n_unique() > 1  # worded differently, counted together
    assert "Step 2 CK minimum" in list(summary["screen_reasons"])[:3]
