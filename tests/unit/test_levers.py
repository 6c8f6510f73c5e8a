"""Levers: only what can still be pulled at the plan date, the rest listed with the reason."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analysis.config import demo_programs_path
from analysis.data.programs import load_programs
from analysis.model.probability import model_for
from analysis.planners.levers import levers
from analysis.planners.season import SeasonOverError
from analysis.planners.timeline import score_report_days, step2_score_by
from tests.unit.engine_frames import applicant

AS_OF = dt.date(2026, 12, 1)
NAMES = ["step2_plus_5", "step2_plus_10", "step3", "letter", "usce", "rotation",
         "applications", "backup", "signals", "signals_random"]  # fmt: skip


@pytest.fixture(scope="module")
def demo():
    return model_for(load_programs(demo_programs_path()), as_of=AS_OF)


def by_name(frame: pl.DataFrame) -> dict[str, dict]:
    return {r["lever"]: r for r in frame.iter_rows(named=True)}


def check_shape(frame: pl.DataFrame) -> None:
    assert frame["lever"].to_list() == NAMES
    for r in frame.iter_rows(named=True):
        assert r["reason"]  # every lever says why, available or not
        if r["available"]:
            assert r["p_match_any_after"] is not None
            assert r["delta"] == pytest.approx(r["p_match_any_after"] - r["baseline"])
            assert r["delta"] >= -1e-9  # pulling a lever never hurts
        else:
            assert r["p_match_any_after"] is None and r["delta"] is None


def test_a_taken_step2_is_not_a_lever_and_an_expected_one_is(demo):
    taken = by_name(levers(applicant(step2_score=240), demo, as_of=AS_OF))
    assert not taken["step2_plus_10"]["available"]
    assert "taken (score 240)" in taken["step2_plus_10"]["reason"]
    planned = applicant(step2_score=None, step2_expected=240, step2_exam_date=dt.date(2027, 5, 1))
    result = levers(planned, demo, as_of=AS_OF)
    check_shape(result)
    open_ = by_name(result)
    assert open_["step2_plus_5"]["available"] and open_["step2_plus_10"]["available"]
    assert 0 < open_["step2_plus_5"]["delta"] < open_["step2_plus_10"]["delta"]
    assert "240 -> 250" in open_["step2_plus_10"]["reason"]


def test_step2_exam_too_late_for_the_programs_review_is_left_out(demo):
    due = step2_score_by(2028)
    late_exam = due - dt.timedelta(days=score_report_days() - 1)  # score one day too late
    late = applicant(step2_score=None, step2_expected=240, step2_exam_date=late_exam)
    row = by_name(levers(late, demo, as_of=AS_OF))["step2_plus_5"]
    assert not row["available"] and "after programs start reviewing" in row["reason"]
    just_in_time = applicant(step2_score=None, step2_expected=240,
                             step2_exam_date=late_exam - dt.timedelta(days=1))  # fmt: skip
    assert by_name(levers(just_in_time, demo, as_of=AS_OF))["step2_plus_5"]["available"]
    past = applicant(step2_score=None, step2_expected=240, step2_exam_date=dt.date(2026, 11, 1))
    row = by_name(levers(past, demo, as_of=AS_OF))["step2_plus_5"]
    assert not row["available"] and "has passed" in row["reason"]


def test_step3_only_if_not_passed_and_a_result_can_come_before_the_rank_list(demo):
    passed = by_name(levers(applicant(step3_passed=True), demo, as_of=AS_OF))["step3"]
    assert not passed["available"] and "already passed" in passed["reason"]
    graduate = by_name(levers(applicant(visa_needed="h1b"), demo, as_of=AS_OF))["step3"]
    assert graduate["available"] and "H-1B" in graduate["reason"]
    # Step 3 needs the degree: a student graduating after the rank-list deadline cannot
    student = applicant(graduation_year=2028, graduation_month=5)
    row = by_name(levers(student, demo, as_of=AS_OF))["step3"]
    assert not row["available"] and "medical degree" in row["reason"]


def test_a_season_under_way_leaves_only_what_can_still_change(demo):
    late = applicant(match_year=2027, graduation_year=2025)
    result = levers(late, demo, as_of=AS_OF)  # applications closed, interviews under way
    check_shape(result)
    rows = by_name(result)
    for name in ("letter", "usce", "rotation"):
        assert not rows[name]["available"] and "no month is left" in rows[name]["reason"]
    for name in ("applications", "backup", "signals", "signals_random"):
        assert not rows[name]["available"] and "effectively closed" in rows[name]["reason"]
    assert rows["step3"]["available"]  # a result before the rank-list deadline is possible
    with pytest.raises(SeasonOverError):
        levers(applicant(match_year=2026, graduation_year=2024), demo, as_of=AS_OF)


def test_backup_lever_respects_the_cap_and_more_applications_are_open_before_close(demo):
    full = by_name(levers(applicant(target_specialties=["IR", "DR", "IM"]), demo, as_of=AS_OF))
    assert not full["backup"]["available"] and "credibly prepare" in full["backup"]["reason"]
    assert full["applications"]["available"] and "more in fees" in full["applications"]["reason"]
    two = by_name(levers(applicant(target_specialties=["IR", "DR"]), demo, as_of=AS_OF))
    assert two["backup"]["available"] and two["backup"]["label"] == "Add IM as a backup"


def test_graduate_hands_on_month_needs_a_program_that_offers_it(demo):
    graduate = applicant(graduation_year=2024, target_specialties=["IM"])
    rows = by_name(levers(graduate, demo, as_of=AS_OF))
    assert rows["usce"]["available"] and "externship for graduates" in rows["usce"]["reason"]
    closed = demo.programs.with_columns(accepts_graduates_for_rotations=pl.lit(False))
    rows = by_name(levers(graduate, model_for(closed, as_of=AS_OF), as_of=AS_OF))
    assert (
        not rows["usce"]["available"]
        and "observerships are not hands-on" in (rows["usce"]["reason"])
    )
    assert not rows["rotation"]["available"]
    assert rows["letter"]["available"]  # an observership can still bring a letter


def test_signals_used_well_beat_signals_at_random_and_both_are_model_numbers(demo):
    from analysis.model.probability import match_chances
    from analysis.planners.signals import signal_plan

    a = applicant()
    rows = by_name(levers(a, demo, as_of=AS_OF))
    well, blind = rows["signals"], rows["signals_random"]
    assert well["available"] and blind["available"]
    assert well["delta"] > blind["delta"] > 0
    assert "gold" in well["reason"] and "silver" in well["reason"]
    plan = signal_plan(a, demo, as_of=AS_OF, draws=100, seed=0)
    assert well["p_match_any_after"] == pytest.approx(plan.p_match_any_with, abs=1e-9)
    assert blind["p_match_any_after"] == pytest.approx(plan.random.p_match_any_with, abs=1e-12)
    direct = match_chances(a, demo, curve=False, signals=plan.optimized_map())
    assert well["p_match_any_after"] == pytest.approx(direct.p_match_any, abs=1e-9)


def test_levers_measured_from_the_applicants_own_signals(demo):
    from analysis.model.probability import interview_chances, match_chances

    a = applicant(target_specialties=["IM"])
    table = interview_chances(a, demo)
    pid = table.filter(pl.col("eligible"))["program_id"][0]
    own = {pid: "gold"}
    rows = by_name(levers(a, demo, as_of=AS_OF, signals=own))
    base = match_chances(a, demo, curve=False, signals=own).p_match_any
    assert rows["letter"]["baseline"] == pytest.approx(base)
    assert rows["letter"]["delta"] > 0


def test_no_signal_lever_where_the_season_has_no_known_counts(demo):
    em = by_name(levers(applicant(target_specialties=["EM"]), demo, as_of=AS_OF))
    assert not em["signals"]["available"] and "ResidencyCAS" in em["signals"]["reason"]
