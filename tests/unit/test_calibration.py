"""The model against the reference, and the sanity a user would check (issue: validity).

The interview-rate and match-rate checks run on the committed demo table, which reproduces
NRMP's programs and the reference's rate distributions: they test the model's consistency
with the reference, not its accuracy on real programs (`imgmatch evaluate` does that).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.config import demo_programs_path
from analysis.data.programs import load_programs
from analysis.data.schemas import ApplicantProfile
from analysis.model import population
from analysis.model.calibration import (
    calibration_long,
    cohort,
    difficulty_consistent,
    difficulty_order,
    interview_rate_calibration,
    match_rate_calibration,
    nrmp_match_rates,
    sensitivity,
    typical_applicant,
)
from analysis.model.engine import chances_for_arrays
from analysis.model.probability import match_chances, model_for

AS_OF = dt.date(2026, 11, 1)
SPECIALTIES = ("IM", "FM", "PEDS", "PSYCH", "NEURO", "ANES", "GS", "DR", "IR", "PMR", "PATH", "EM")


@pytest.fixture(scope="module")
def demo():
    return model_for(load_programs(demo_programs_path()), as_of=AS_OF)


def person(**changes) -> ApplicantProfile:
    base = {
        "applicant_id": "sanity",
        "name": "Sanity Check",
        "citizenship": "Egypt",
        "visa_needed": "j1",
        "graduation_year": 2025,
        "step2_score": 240,
        "usce_months": 2,
        "us_letters": {"IM": 1},
        "target_specialties": ["IM"],
        "match_year": 2028,
        "applications": {"IM": 100},
    }
    return ApplicantProfile(**{**base, **changes})


def p_any(model, **changes) -> float:
    return match_chances(person(**changes), model, curve=False).p_match_any


# --------------------------------------------------------------------------- calibration


def test_cohort_is_deterministic_and_follows_the_population():
    a, targets_a, apps_a = cohort("non_us_img", 200, seed=3)
    b, targets_b, apps_b = cohort("non_us_img", 200, seed=3)
    assert targets_a == targets_b and apps_a == apps_b
    assert np.array_equal(a.step2, b.step2) and np.array_equal(a.visa_needed, b.visa_needed)
    assert set(a.visa_needed) <= {"j1", "h1b", "either", "none"}
    assert (a.step2 >= 214).all()  # the passing standard: no one below applies
    only_ir, targets, _ = cohort(
        "non_us_img", 50, seed=1, specialty="IR", second_specialty_share=0.0
    )
    assert all(t == ["IR"] for t in targets) and len(only_ir) == 50


@pytest.mark.parametrize("group", ["non_us_img", "us_img"])
def test_population_average_interview_rate_is_within_the_tolerance(demo, group):
    table = interview_rate_calibration(demo, group=group).filter(pl.col("calibrated"))
    assert table.height >= 12
    # the tolerance: 0.8-1.25 times the reference mean in every specialty
    assert table["ratio"].is_between(0.8, 1.25).all(), table.select("specialty", "ratio")
    long = calibration_long(demo)
    assert set(long["metric"]) == {
        "mean interview rate",
        "mean interview rate, facts only",
        "share of programs closed",
    }


def test_cohort_match_rates_reproduce_nrmp_with_its_denominator(demo):
    _, non_us = match_rate_calibration(demo, size=3000)
    for year in (2025, 2026):  # within 3 points of both years
        assert non_us["match_rate_certified"] == pytest.approx(nrmp_match_rates()[year], abs=0.03)
    _, us = match_rate_calibration(demo, group="us_img", size=3000)
    for year in (2025, 2026):  # US IMGs within 5 points
        assert us["match_rate_certified"] == pytest.approx(
            nrmp_match_rates("us_img")[year], abs=0.05
        )
    # over everyone who applies (including those with no interview) the rate is lower
    assert non_us["p_match_all_applicants"] < non_us["match_rate_certified"]


def test_specialties_are_ordered_by_difficulty_as_the_reference_shows(demo):
    order = difficulty_order(demo, per_specialty=300)
    assert difficulty_consistent(order)


def test_population_average_applicant_is_close_to_the_cohort(demo):
    """The population-average person and the population itself agree (same targeting)."""
    for s in ("IM", "FM", "PEDS"):
        mine = match_chances(typical_applicant(s, applications=100), demo, curve=False)
        arrays, targets, apps = cohort(
            "non_us_img", 800, seed=5, specialty=s, second_specialty_share=0.0
        )
        apps = [{s: 100} for _ in apps]
        batch = chances_for_arrays(arrays, targets, apps, demo, intervals=False)
        assert mine.p_match_any == pytest.approx(batch["p_match"].mean(), abs=0.10), s


# --------------------------------------------------------------------------- sanity


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    step2=st.integers(215, 270),
    usce=st.sampled_from([0, 1, 2, 4, 8]),
    letters=st.integers(0, 3),
    years=st.integers(0, 9),
    attempts=st.integers(1, 3),
)
def test_p_match_moves_the_way_common_sense_says(demo, step2, usce, letters, years, attempts):
    base = {
        "step2_score": step2,
        "usce_months": usce,
        "us_letters": {"IM": letters},
        "graduation_year": 2028 - years,
        "step1_attempts": attempts,
    }
    p = p_any(demo, **base)
    assert p_any(demo, **{**base, "step2_score": step2 + 5}) >= p - 1e-9
    assert p_any(demo, **{**base, "usce_months": usce + 2}) >= p - 1e-9
    assert p_any(demo, **{**base, "us_letters": {"IM": letters + 1}}) >= p - 1e-9
    assert p_any(demo, **{**base, "applications": {"IM": 140}}) >= p - 1e-9
    assert p_any(demo, **{**base, "step1_attempts": min(attempts + 1, 6)}) <= p + 1e-9
    if years < 9:
        assert p_any(demo, **{**base, "graduation_year": 2028 - years - 1}) <= p + 1e-9


@pytest.mark.parametrize("targets", [["IR", "DR"], ["IM"], ["ANES", "IM"], ["PSYCH", "NEURO"]])
@pytest.mark.parametrize("citizenship", ["Egypt", None])
def test_needing_no_visa_never_lowers_a_chance(demo, targets, citizenship):
    letters = {targets[0]: 1}
    for visa in ("j1", "h1b", "either"):
        needs = match_chances(
            person(
                visa_needed=visa,
                citizenship=citizenship,
                target_specialties=targets,
                us_letters=letters,
                applications={},
            ),
            demo,
            curve=False,
        )
        free = match_chances(
            person(
                visa_needed="none",
                citizenship=citizenship,
                target_specialties=targets,
                us_letters=letters,
                applications={},
            ),
            demo,
            curve=False,
        )
        for a, b in zip(
            needs.specialties.iter_rows(named=True),
            free.specialties.iter_rows(named=True),
            strict=True,
        ):
            assert b["p_match"] >= a["p_match"] - 1e-9, (visa, a["specialty"])
        assert free.p_match_any >= needs.p_match_any - 1e-9


def test_a_harder_specialty_for_the_population_stays_harder_for_a_person(demo):
    order = difficulty_order(demo, per_specialty=300).filter(pl.col("calibrated"))
    rate = dict(zip(order["specialty"], order["match_rate_certified"], strict=True))
    for step2, usce in ((230, 0), (245, 2), (260, 6)):
        mine = {}
        for s in SPECIALTIES:
            a = person(
                step2_score=step2,
                usce_months=usce,
                us_letters={},
                target_specialties=[s],
                applications={s: 60},
            )
            mine[s] = match_chances(a, demo, curve=False).p_match_any
        # pairs the population separates clearly (10 points or more) keep their order; at
        # low chances two such specialties may tie within a point (the person's Step 2 CK sits
        # differently against each specialty's level)
        for s in SPECIALTIES:
            for t in SPECIALTIES:
                if rate[s] < rate[t] - 0.10:
                    assert mine[s] < mine[t] + 0.01, (step2, usce, s, t)


def test_interval_is_wider_far_from_the_population_centre(demo):
    near = match_chances(typical_applicant("IM", applications=60), demo, curve=False)
    far = match_chances(
        person(
            step2_score=272,
            usce_months=12,
            us_letters={"IM": 3},
            graduation_year=2016,
            step1_attempts=2,
            applications={"IM": 60},
        ),
        demo,
        curve=False,
    )
    sd_near = population.standing_sd(
        population.ApplicantArrays.from_profiles([typical_applicant("IM")]), "IM"
    )[0]
    sd_far = population.standing_sd(
        population.ApplicantArrays.from_profiles(
            [
                person(
                    step2_score=272,
                    usce_months=12,
                    us_letters={"IM": 3},
                    graduation_year=2016,
                    step1_attempts=2,
                )
            ]
        ),
        "IM",
    )[0]
    assert sd_far > 1.5 * sd_near
    for c in (near, far):
        assert c.p_match_any_low <= c.p_match_any <= c.p_match_any_high


def test_sensitivity_rows_bracket_the_central_answer(demo):
    table = sensitivity(person(), demo.programs, as_of=AS_OF)
    assert table.height >= 6
    offset = table.filter(pl.col("parameter").str.starts_with("Step 2 CK offset")).row(
        0, named=True
    )
    # a larger offset (weaker population) makes the same person relatively stronger
    assert offset["p_match_high_end"] > offset["p_match_central"] > offset["p_match_low_end"]
