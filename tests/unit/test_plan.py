"""The whole plan: one number per fact, kinds and statuses in JSON, seasons under way or over."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.applicants import load_applicant
from analysis.data.programs import load_programs
from analysis.model.probability import model_for
from analysis.planners.plan import make_plan
from analysis.planners.season import SeasonOverError
from analysis.planners.timeline import STATUSES
from tests.unit.engine_frames import applicant

AS_OF = dt.date(2026, 12, 1)
DEMO = ["amira_ir", "daniel_fm_us_img", "kenji_ir_h1b", "lucia_anes", "samuel_im", "zoe_psych"]


@pytest.fixture(scope="module")
def demo():
    return model_for(load_programs(demo_programs_path()), as_of=AS_OF)


@pytest.fixture(scope="module")
def plans(demo):
    return {
        name: make_plan(load_applicant(demo_applicants_dir() / f"{name}.yaml"), demo, as_of=AS_OF)
        for name in DEMO
    }


@pytest.mark.parametrize("name", DEMO)
def test_every_percent_shown_is_one_of_the_plans_numbers(plans, name):
    plan = plans[name]
    doc = plan.to_dict()
    assert doc["p_match_any"] == round(plan.chances_with_plan.p_match_any, 3)
    assert doc["p_match_any_without_signals"] == round(plan.backup.p_match_any, 3)
    # the whole plan is the backup plan's lists with the planner's signals
    assert plan.signals is not None
    assert plan.signals.p_match_any_without == pytest.approx(plan.backup.p_match_any, abs=1e-9)
    assert plan.chances_with_plan.p_match_any == pytest.approx(
        plan.signals.p_match_any_with, abs=1e-9
    )
    assert doc["p_match_any_with_signals"] == pytest.approx(doc["p_match_any"], abs=1e-3)
    facts = {
        round(100 * p)
        for p in (
            plan.chances_now.p_match_any,
            plan.p_match_any_with_rotations,
            plan.p_match_any_without_signals,
            plan.chances_with_plan.p_match_any,
            plan.chances_with_plan.p_match_any_low,
            plan.chances_with_plan.p_match_any_high,
            plan.backup.target,
            0.8,  # the interval's level ("80% interval")
        )
    }
    # the backup notes are about the plan before signals
    notes = [plan.headline(), *plan.rotations.notes, *plan.backup.notes]
    shown = {
        int(m) for text in notes for m in re.findall(r"P\(match anywhere\)[^.;]*?(\d+)%", text)
    }
    shown |= {int(m) for m in re.findall(r"(\d+)%", plan.headline())}
    assert shown <= facts, (shown - facts, notes)
    # the headline's last step is the plan's P(match anywhere)
    assert f"{plan.chances_with_plan.p_match_any:.0%} with the whole plan" in plan.headline()


@pytest.mark.parametrize("name", DEMO)
def test_rotation_counts_are_said_once_and_agree(plans, name):
    plan = plans[name]
    planned = plan.rotations.rotations.filter(
        plan.rotations.rotations["kind"].is_in(["visiting_elective", "graduate_externship"])
    ).height
    for note in plan.rotations.notes:
        assert "recommended" not in note
        match = re.search(r"so (\d+) (?:is|are) planned", note) or re.match(
            r"(\d+) rotations? (?:is|are) planned", note
        )
        if match:
            assert int(match.group(1)) == planned


@pytest.mark.parametrize("name", DEMO)
def test_json_rotations_have_kind_and_hands_on_and_the_timeline_a_status(plans, name):
    doc = json.loads(json.dumps(plans[name].to_dict()))  # valid JSON (no NaN)
    for r in doc["rotations"]:
        assert r["kind"] in {"visiting_elective", "graduate_externship", "observership", "research"}
        assert r["hands_on"] is (r["kind"] in {"visiting_elective", "graduate_externship"})
    for t in doc["timeline"]:
        assert t["status"] in STATUSES
        if t["status"] in ("due", "upcoming"):
            assert t["date"] >= doc["as_of"]  # nothing scheduled in the past
    assert {lever["lever"] for lever in doc["levers"]} >= {"step2_plus_10", "applications"}


def test_graduates_get_no_visiting_elective(plans):
    for name in ("amira_ir", "kenji_ir_h1b", "lucia_anes", "samuel_im", "zoe_psych"):
        plan = plans[name]
        assert plan.applicant.graduation_date < AS_OF
        assert "visiting_elective" not in plan.rotations.rotations["kind"].to_list()
        assert "need current enrollment" in plan.rotations.notes[0]


def test_a_past_season_is_refused_and_one_under_way_is_planned_as_it_is(demo):
    with pytest.raises(SeasonOverError):
        make_plan(applicant(match_year=2026, graduation_year=2024), demo, as_of=AS_OF)
    late = applicant(match_year=2027, graduation_year=2025, target_specialties=["IR", "DR"])
    plan = make_plan(late, demo, as_of=AS_OF)
    assert plan.season_phase == "interviewing"
    assert "effectively closed" in plan.season_note
    assert plan.rotations.rotations.height == 0
    assert plan.backup.rank_list == ["IR", "DR"]
    assert plan.chances_with_plan.p_match_any == pytest.approx(plan.chances_now.p_match_any)
    assert plan.signals_used is None  # signals went with the applications; none of its own
    open_levers = plan.levers.filter(plan.levers["available"])["lever"].to_list()
    assert "applications" not in open_levers and "backup" not in open_levers


def test_once_applications_closed_the_plan_counts_only_the_applicants_own_signals(demo):
    from analysis.model.probability import interview_chances

    late = applicant(match_year=2027, graduation_year=2025, target_specialties=["IM"])
    pid = interview_chances(late, demo).filter("eligible")["program_id"][0]
    mine = type(late).model_validate({**late.model_dump(), "signals": {pid: "gold"}})
    plan = make_plan(mine, demo, as_of=AS_OF)
    assert plan.signals_used == "own"
    assert plan.chances_with_plan.p_match_any > plan.p_match_any_without_signals
    doc = plan.to_dict()
    assert [s["program_id"] for s in doc["signals"]] == [pid]
    assert any("Applications have closed" in n for n in doc["signal_notes"])
