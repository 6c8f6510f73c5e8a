"""Away-rotation planner: window, budget, visa, optimality, monotonicity, the seed's applicant."""

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
from analysis.model.probability import match_chances, model_for
from analysis.planners.rotations import plan_rotations, rotation_window
from analysis.planners.timeline import letters_ready_by
from tests.unit.engine_frames import applicant, national

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo():
    return model_for(load_programs(demo_programs_path()), as_of=AS_OF)


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
    assert ((rot["end"] - rot["start"]).dt.total_days() == 27).all()
    if budget is not None:
        assert rot["cost_usd"].sum() <= budget + 1e-6
    table = model.features(person.visa_needed).table
    chosen = table.filter(pl.col("program_id").is_in(rot["program_id"].to_list()))
    assert chosen["accepts_img_visiting_students"].fill_null(False).all()
    if person.visa_needed == "j1":
        assert chosen["sponsors_j1"].fill_null(False).all()
    assert not chosen["closed"].any()


def test_seed_sample_applicant_gets_two_or_three_rotations_with_a_dr_safety(demo):
    amira = load_applicant(demo_applicants_dir() / "amira_ir.yaml")
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


def test_plan_is_exact_over_its_candidates_and_deterministic(demo):
    amira = load_applicant(demo_applicants_dir() / "amira_ir.yaml")
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
    amira = load_applicant(demo_applicants_dir() / "amira_ir.yaml")
    plan = plan_rotations(amira, demo, 500, as_of=AS_OF)
    assert plan.rotations.height == 0
    assert any("budget" in note for note in plan.notes)
    assert plan.p_match_any_after == plan.p_match_any_before


def test_too_late_for_this_match_says_so(demo):
    late = applicant(match_year=2027, graduation_year=2025)
    plan = plan_rotations(late, demo, 10000, as_of=AS_OF)
    assert plan.rotations.height == 0
    assert "No month is left" in plan.notes[0]


TABLE = model_for(national(n_per=50, seed=4), as_of=AS_OF)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budget=st.floats(0, 12000),
    extra=st.floats(100, 8000),
    visa=st.sampled_from(["j1", "h1b", "either", "none"]),
    step2=st.integers(215, 265),
    first=st.sampled_from(["IR", "IM", "ANES", "DR"]),
)
def test_budget_and_window_hold_and_more_budget_never_lowers_p_match(
    budget, extra, visa, step2, first
):
    targets = [first, "IM"] if first != "IM" else ["IM", "FM"]
    person = applicant(visa_needed=visa, step2_score=step2, target_specialties=targets)
    small = plan_rotations(person, TABLE, budget, as_of=AS_OF)
    large = plan_rotations(person, TABLE, budget + extra, as_of=AS_OF)
    _check_plan(small, person, TABLE, budget)
    _check_plan(large, person, TABLE, budget + extra)
    assert large.p_match_any_after >= small.p_match_any_after - 1e-6
    assert np.isfinite(large.total_cost_usd)
