"""Away-rotation planner: window, enrollment, kinds, budget, visa, optimality, monotonicity."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.applicants import load_applicant
from analysis.data.programs import load_programs
from analysis.data.schemas import ApplicantProfile
from analysis.model.probability import match_chances, model_for
from analysis.planners.enrollment import split_months, status_for
from analysis.planners.rotations import plan_rotations, rotation_window
from analysis.planners.timeline import letters_ready_by
from tests.unit.engine_frames import applicant, national

AS_OF = dt.date(2026, 11, 23)
PROGRAM_KINDS = {"visiting_elective", "graduate_externship"}


@pytest.fixture(scope="module")
def demo():
    return model_for(load_programs(demo_programs_path()), as_of=AS_OF)


def as_student(person: ApplicantProfile, graduation_year: int = 2028) -> ApplicantProfile:
    """The same applicant, still enrolled through the rotation window (graduates in May)."""
    return ApplicantProfile(**{**person.model_dump(), "graduation_year": graduation_year})


def test_window_skips_interview_season_and_ends_before_letters_are_due():
    months = rotation_window(2028, AS_OF)
    assert months[0] == dt.date(2027, 3, 1)  # at least three months of lead time
    assert months[-1] == dt.date(2027, 8, 1)
    assert all(m.month not in (11, 12, 1) for m in months)
    assert all(m + dt.timedelta(days=27) <= letters_ready_by(2028) for m in months)
    assert rotation_window(2027, AS_OF) == []  # the 2027 cycle is already interviewing
    early = rotation_window(2030, AS_OF)
    assert all(m.month not in (11, 12, 1) for m in early)
    assert early[0] >= dt.date(2028, 9, 1)  # within 12 months of ERAS


def _check_plan(plan, person, model, budget):
    rot = plan.rotations
    assert rot.height <= 4
    assert rot["start"].n_unique() == rot.height  # at most one a month
    window = set(rotation_window(person.match_year, AS_OF))
    assert set(rot["start"].to_list()) <= window
    at_programs = rot.filter(pl.col("kind").is_in(PROGRAM_KINDS))
    assert ((at_programs["end"] - at_programs["start"]).dt.total_days() == 27).all()
    assert (rot["end"] <= letters_ready_by(person.match_year)).all()
    if budget is not None:
        assert rot["cost_usd"].sum() <= budget + 1e-6
    table = model.features(person.visa_needed).table
    for kind, column in (("visiting_elective", "accepts_img_visiting_students"),
                         ("graduate_externship", "accepts_graduates_for_rotations")):  # fmt: skip
        ids = rot.filter(pl.col("kind") == kind)["program_id"].to_list()
        chosen = table.filter(pl.col("program_id").is_in(ids))
        assert chosen[column].fill_null(False).all()
        if person.visa_needed == "j1":  # never a program known not to sponsor the J-1
            assert chosen["sponsors_j1"].fill_null(True).all()
        assert not chosen["closed"].any()
    # enrollment: electives end by graduation, everything else starts after it
    electives = rot.filter(pl.col("kind") == "visiting_elective")
    assert (electives["end"] <= person.graduation_date).all()
    assert (
        rot.filter(pl.col("kind") != "visiting_elective")["start"] > person.graduation_date
    ).all()
    assert rot["hands_on"].to_list() == [k in PROGRAM_KINDS for k in rot["kind"]]


def test_sample_student_gets_two_or_three_visiting_electives_with_a_dr_safety(demo):
    amira = as_student(load_applicant(demo_applicants_dir() / "amira_ir.yaml"))
    plan = plan_rotations(amira, demo, as_of=AS_OF)
    _check_plan(plan, amira, demo, amira.budget_usd)
    rot = plan.rotations
    assert 2 <= rot.height <= 3
    safety = rot.filter(pl.col("role") == "safety")
    assert safety.height >= 1 and (safety["specialty"] == "DR").all()
    assert "IR" in rot["specialty"].to_list()  # at least one rotation in the first choice
    assert plan.p_match_any_after > plan.p_match_any_before
    # the gains are Shapley shares: they add up to the plan's total gain
    assert rot["gain"].sum() == pytest.approx(
        plan.p_match_any_after - plan.p_match_any_before, abs=1e-4
    )
    assert all(r for r in rot["reason"])
    assert set(rot["kind"]) == {"visiting_elective"} and rot["hands_on"].all()
    assert not any("enrollment" in note for note in plan.notes)  # nothing to explain


def test_plan_is_exact_over_its_candidates_and_deterministic(demo):
    amira = as_student(load_applicant(demo_applicants_dir() / "amira_ir.yaml"))
    a = plan_rotations(amira, demo, 6000, as_of=AS_OF)
    b = plan_rotations(amira, demo, 6000, as_of=AS_OF)
    assert a.rotations.equals(b.rotations)
    # no single candidate swap within budget beats the chosen portfolio
    chosen = a.rotations["program_id"].to_list()
    best = match_chances(amira, demo, rotations=chosen, curve=False).p_match_any
    for candidate in a.candidates.head(8)["program_id"]:
        for k in range(len(chosen)):
            trial = [*chosen[:k], candidate, *chosen[k + 1 :]]
            cost = a.candidates.filter(pl.col("program_id").is_in(trial))["cost_usd"].sum()
            if candidate in chosen or cost > 6000:
                continue
            roles = a.candidates.filter(pl.col("program_id").is_in(trial))
            if "IR" not in roles["specialty"].to_list() or "safety" not in roles["role"].to_list():
                continue  # the guides' structure is part of the plan
            other = match_chances(amira, demo, rotations=trial, curve=False).p_match_any
            assert other <= best + 1e-6


def test_no_budget_for_any_rotation_gives_an_empty_plan_with_a_reason(demo):
    amira = as_student(load_applicant(demo_applicants_dir() / "amira_ir.yaml"))
    plan = plan_rotations(amira, demo, 500, as_of=AS_OF)
    assert plan.rotations.height == 0
    assert any("budget" in note for note in plan.notes)
    assert plan.p_match_any_after == plan.p_match_any_before


def test_too_late_for_this_match_says_so(demo):
    late = applicant(match_year=2027, graduation_year=2025)
    plan = plan_rotations(late, demo, 10000, as_of=AS_OF)
    assert plan.rotations.height == 0
    note = next(n for n in plan.notes if "No month is left" in n)
    assert "season is under way" in note and "applications have effectively closed" in note


TABLE = model_for(national(n_per=50, seed=4), as_of=AS_OF)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budget=st.floats(0, 12000),
    extra=st.floats(100, 8000),
    visa=st.sampled_from(["j1", "h1b", "either", "none"]),
    step2=st.integers(215, 265),
    first=st.sampled_from(["IR", "IM", "ANES", "DR"]),
)
def test_students_budget_and_window_hold_and_more_budget_never_lowers_p_match(
    budget, extra, visa, step2, first
):
    targets = [first, "IM"] if first != "IM" else ["IM", "FM"]
    person = applicant(visa_needed=visa, step2_score=step2, target_specialties=targets,
                       graduation_year=2028)  # fmt: skip
    small = plan_rotations(person, TABLE, budget, as_of=AS_OF)
    large = plan_rotations(person, TABLE, budget + extra, as_of=AS_OF)
    _check_plan(small, person, TABLE, budget)
    _check_plan(large, person, TABLE, budget + extra)
    assert large.p_match_any_after >= small.p_match_any_after - 1e-6
    assert np.isfinite(large.total_cost_usd)


# --------------------------------------------------------------------------- enrollment


def test_enrollment_boundary_a_rotation_ending_after_graduation_is_not_an_elective():
    person = applicant(graduation_year=2027, graduation_month=6)
    graduation = person.graduation_date
    assert graduation == dt.date(2027, 6, 30)
    assert status_for(person, dt.date(2027, 6, 3), graduation) == "visiting_elective"
    assert status_for(person, dt.date(2027, 6, 4), graduation + dt.timedelta(days=1)) is None
    assert status_for(person, graduation + dt.timedelta(days=1), dt.date(2027, 7, 28)) == "graduate"
    months = [dt.date(2027, m, 1) for m in (3, 4, 5, 6, 7, 8)]
    visiting, graduate = split_months(person, months, 28)
    assert visiting == months[:4] and graduate == months[4:]
    # a 35-day rotation starting on June 1 would straddle graduation: neither kind
    assert split_months(person, [dt.date(2027, 6, 1)], 35) == ([], [])
    # the default graduation month is May
    assert applicant(graduation_year=2027).graduation_date == dt.date(2027, 5, 31)


def test_graduate_plan_has_no_visiting_elective_and_says_why(demo):
    amira = load_applicant(demo_applicants_dir() / "amira_ir.yaml")  # graduated in 2025
    plan = plan_rotations(amira, demo, as_of=AS_OF)
    _check_plan(plan, amira, demo, amira.budget_usd)
    assert plan.rotations.height >= 1
    assert "visiting_elective" not in plan.rotations["kind"].to_list()
    assert plan.visiting_months == [] and plan.graduate_months == plan.window
    why = plan.notes[0]
    assert "need current enrollment" in why and "so none is planned" in why
    assert plan.p_match_any_after > plan.p_match_any_before
    assert plan.rotations["gain"].sum() == pytest.approx(
        plan.p_match_any_after - plan.p_match_any_before, abs=1e-4
    )


def test_a_student_graduating_mid_window_gets_electives_before_and_graduate_options_after(demo):
    person = as_student(load_applicant(demo_applicants_dir() / "amira_ir.yaml"), 2027)
    person = ApplicantProfile(**{**person.model_dump(), "graduation_month": 6, "budget_usd": None})
    plan = plan_rotations(person, demo, as_of=AS_OF)
    _check_plan(plan, person, demo, None)
    assert [m.month for m in plan.visiting_months] == [3, 4, 5, 6]
    assert [m.month for m in plan.graduate_months] == [7, 8]
    assert any("only in months that end by graduation" in n for n in plan.notes)


def test_student_plan_does_not_depend_on_programs_policy_for_graduates(demo):
    """A student rotating before graduation is planned exactly as before graduate options."""
    table = demo.programs
    for value in (True, False):
        changed = table.with_columns(accepts_graduates_for_rotations=pl.lit(value))
        model = model_for(changed, as_of=AS_OF)
        student = as_student(load_applicant(demo_applicants_dir() / "kenji_ir_h1b.yaml"))
        base = plan_rotations(student, demo, as_of=AS_OF)
        other = plan_rotations(student, model, as_of=AS_OF)
        assert other.rotations.equals(base.rotations)
        assert other.notes == base.notes


def test_observerships_are_never_hands_on_and_fill_months_left(demo):
    # no program takes graduates: only observerships and research positions remain
    table = demo.programs.with_columns(accepts_graduates_for_rotations=pl.lit(False))
    model = model_for(table, as_of=AS_OF)
    person = applicant(applicant_id="obs", step2_score=238, usce_months=0, us_letters={},
                       target_specialties=["IM"], budget_usd=20000)  # fmt: skip
    plan = plan_rotations(person, model, as_of=AS_OF)
    _check_plan(plan, person, model, 20000)
    kinds = plan.rotations["kind"].to_list()
    assert set(kinds) <= {"observership", "research"} and kinds
    assert not plan.rotations["hands_on"].any()
    assert plan.rotations["program_id"].is_null().all()
    assert any("accepts_graduates_for_rotations" in n for n in plan.notes)
    observed = plan.applicant_after.observership_months - person.observership_months
    assert observed == kinds.count("observership")
    assert plan.rotations["gain"].sum() == pytest.approx(
        plan.p_match_any_after - plan.p_match_any_before, abs=1e-4
    )
    # a research position takes six consecutive months, ending before letters are due
    research = plan.rotations.filter(pl.col("kind") == "research")
    for r in research.iter_rows(named=True):
        assert (r["end"] - r["start"]).days > 150


GRADUATE_TABLE = model_for(
    national(n_per=50, seed=5).with_columns(
        accepts_graduates_for_rotations=pl.Series(
            np.random.default_rng(1).choice([True, False, None], 250).tolist(), dtype=pl.Boolean
        )
    ),
    as_of=AS_OF,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budget=st.floats(0, 15000),
    visa=st.sampled_from(["j1", "h1b", "either", "none"]),
    graduation=st.sampled_from([(2020, 5), (2025, 12), (2027, 4), (2027, 6), (2028, 5)]),
    first=st.sampled_from(["IR", "IM", "ANES"]),
)
def test_any_applicant_plan_respects_enrollment_budget_and_window(budget, visa, graduation, first):
    year, month = graduation
    targets = [first, "IM"] if first != "IM" else ["IM", "FM"]
    person = applicant(visa_needed=visa, target_specialties=targets, graduation_year=year,
                       graduation_month=month)  # fmt: skip
    plan = plan_rotations(person, GRADUATE_TABLE, budget, as_of=AS_OF)
    _check_plan(plan, person, GRADUATE_TABLE, budget)
