"""The explorer with program signals: marked programs, P(match) that moves, the widgets' toggle."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import polars as pl
import pytest

import analysis
from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.model.probability import match_chances, model_for
from analysis.viz import explorer, explorer_widget
from analysis.viz.explorer import Filters

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def model():
    return model_for(analysis.load_programs(demo_programs_path()), as_of=AS_OF)


@pytest.fixture(scope="module")
def amira():
    return analysis.load_applicant(demo_applicants_dir() / "amira_ir.yaml")


def _middling(view) -> str:
    """An eligible program with a middling chance (where a signal moves most)."""
    frame = view.frame.filter(pl.col("eligible"))
    return frame.filter(pl.col("p_interview").is_between(0.05, 0.6))["program_id"][0]


def test_filters_take_signals_and_check_their_tiers():
    f = Filters("IM").with_signal("A", "gold").with_signal("B", "silver")
    assert f.signal_map() == {"A": "gold", "B": "silver"}
    assert f.with_signal("A", None).signal_map() == {"B": "silver"}
    with pytest.raises(ValueError, match="signal tiers"):
        Filters("IM", signals=(("A", "platinum"),))


def test_a_signal_marks_the_program_and_raises_p_match(model, amira):
    view = explorer.static_view(model, amira)
    assert view.filters.signals == ()  # the demo profile has no signals of its own
    assert view.match["p_match"] == view.match["p_match_without_signals"]
    pid = _middling(view)
    signed = explorer.static_view(model, amira, view.filters.with_signal(pid, "gold"))
    row = signed.frame.filter(pl.col("program_id") == pid).row(0, named=True)
    before = view.frame.filter(pl.col("program_id") == pid)["p_interview"][0]
    assert row["signal"] == "gold" and row["p_interview"] > before
    assert signed.match["p_match"] > view.match["p_match"]
    assert signed.match["p_match_without_signals"] == pytest.approx(view.match["p_match"])
    # the figure is the model's: match_chances on the same person, specialty and signal
    direct = match_chances(
        explorer.person_for(signed.filters, amira),
        model,
        specialties=["IR"],
        curve=False,
        signals={pid: "gold"},
    )
    assert signed.match["p_match"] == pytest.approx(direct.p_match_any, abs=1e-12)
    assert signed.match["signals_used"] == {"gold": 1}
    spec = signed.chart.to_dict()
    subtitle = " ".join(spec["title"]["subtitle"])
    assert "Rings: signaled programs" in subtitle and "P(match) in IR" in subtitle
    assert '"Signal"' in json.dumps(spec)
    assert "Signal" in signed.table.html and "P(match) in IR" in signed.header.html


def test_too_many_signals_are_said_and_a_screened_program_stays_at_zero(model, amira):
    view = explorer.static_view(model, amira)
    eligible = view.frame.filter(pl.col("eligible"))["program_id"].head(7).to_list()
    shut = view.frame.filter(~pl.col("eligible"))["program_id"][0]
    filters = dataclasses.replace(
        view.filters, signals=(*((p, "gold") for p in eligible), (shut, "silver"))
    )
    many = explorer.static_view(model, amira, filters)
    assert many.match["over_limit"] == ["gold"]  # IR and DR: 6 gold in all
    assert "more gold signals than allowed" in explorer.signal_text(many.match)
    assert many.frame.filter(pl.col("program_id") == shut)["p_interview"][0] == 0.0


def test_the_widget_toggles_a_signal_and_p_match_moves(model, amira):
    box = explorer_widget.program_explorer(model, amira, as_of=AS_OF)
    panel = box.explorer
    start = panel.view.match["p_match"]
    pid = _middling(panel.view)
    panel.controls["program"].value = pid
    assert panel.controls["signal"].value == ""
    assert [v for _, v in panel.controls["signal"].options] == ["", "gold", "silver"]
    panel.controls["signal"].value = "silver"
    assert panel.signals == {pid: "silver"}
    silver = panel.view.match["p_match"]
    assert silver > start and "0 gold of 6, 1 silver of 6" in panel.status.value
    panel.controls["signal"].value = "gold"
    assert panel.view.match["p_match"] > silver
    assert panel.controls["program"].value == pid  # the choice survives the redraw
    panel.controls["signal"].value = ""
    assert panel.view.match["p_match"] == pytest.approx(start)
    # psychiatry has one tier: the control offers a plain signal
    panel.controls["specialty"].value = "PSYCH"
    assert [v for _, v in panel.controls["signal"].options] == ["", "single"]
    view = panel.set_signal(panel.controls["program"].value, "single")
    assert view.match["signals_used"] == {"single": 1}
    panel.reset()
    assert panel.signals == {} and panel.view.filters.specialty == "IR"


def test_own_signals_start_the_explorer(model, amira):
    view = explorer.static_view(model, amira)
    pid = _middling(view)
    mine = analysis.ApplicantProfile.model_validate(
        {**amira.model_dump(), "signals": {pid: "gold"}}
    )
    start = explorer.default_filters(model, mine)
    assert start.signals == ((pid, "gold"),)
    own = explorer.static_view(model, mine)
    assert own.match["p_match"] > own.match["p_match_without_signals"]
