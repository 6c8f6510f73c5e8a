"""Interview and match probability: exactness, screens, dual applying, levers, properties."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data.reference import match_curve
from analysis.model.engine import chances_batch
from analysis.model.probability import (
    MatchModel,
    interview_chances,
    match_chances,
    poisson_binomial_pmf,
)
from tests.unit.engine_frames import applicant, national, program, table

AS_OF = dt.date(2026, 11, 1)
TABLE = national(n_per=60)
MODEL = MatchModel(TABLE, as_of=AS_OF)


def brute_force_pmf(p):
    pmf = np.zeros(len(p) + 1)
    for outcome in itertools.product([0, 1], repeat=len(p)):
        prob = np.prod([pi if o else 1 - pi for pi, o in zip(p, outcome, strict=True)])
        pmf[sum(outcome)] += prob
    return pmf


@pytest.mark.parametrize("n", [1, 2, 5, 9, 12])
def test_poisson_binomial_pmf_is_exact(n):
    rng = np.random.default_rng(n)
    p = rng.uniform(0, 1, n)
    exact = brute_force_pmf(p)
    got = poisson_binomial_pmf(p, k_max=n)
    assert np.allclose(got, exact, atol=1e-12)


def test_poisson_binomial_pmf_truncation_keeps_the_tail_in_the_last_bin():
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 1, 12)
    exact = brute_force_pmf(p)
    got = poisson_binomial_pmf(p, k_max=4)
    assert np.allclose(got[:4], exact[:4], atol=1e-12)
    assert got[4] == pytest.approx(exact[4:].sum(), abs=1e-12)
    batch = poisson_binomial_pmf(np.stack([p, p[::-1]]), k_max=4)
    assert np.allclose(batch[0], batch[1], atol=1e-12)  # order does not matter


def test_p_match_equals_the_generating_function_identity():
    # sum_k P(K=k) g(k) with g geometric equals p_max (1 - prod(1 - q p_i)), up to truncation.
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.4, 150)
    curve = match_curve("IM")
    pmf = poisson_binomial_pmf(p, curve.k_max)
    via_pmf = float((pmf * curve.p_match_given(np.arange(curve.k_max + 1))).sum())
    closed = curve.p_max * (1 - np.prod(1 - curve.q * p))
    bound = curve.p_max * (1 - curve.q) ** curve.k_max  # truncation error bound
    assert abs(via_pmf - closed) <= bound + 1e-12


def test_chances_have_the_documented_shape_and_ranges():
    a = applicant()
    result = match_chances(a, MODEL)
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["applicant_id"] == a.applicant_id
    assert [s["specialty"] for s in doc["specialties"]] == ["IR", "DR", "IM"]
    for s in doc["specialties"]:
        for key in ("applications", "expected_interviews", "p_match", "p_match_low", "p_match_high",
                    "recommended_applications", "eras_cost_usd"):  # fmt: skip
            assert key in s
        assert 0 <= s["p_match_low"] <= s["p_match"] <= s["p_match_high"] <= 1
    assert 0 <= result.p_match_any_low <= result.p_match_any <= result.p_match_any_high <= 1
    # dual applying: P(match anywhere) = 1 - prod(1 - p_i); P(match in each) sums to it
    p = result.specialties["p_match"].to_numpy()
    assert result.p_match_any == pytest.approx(1 - np.prod(1 - p))
    assert result.specialties["p_match_in"].sum() == pytest.approx(result.p_match_any)
    # interview distribution sums to one per specialty
    sums = result.interviews.group_by("specialty").agg(pl.col("probability").sum())
    assert (sums["probability"] - 1).abs().max() < 1e-9


def test_eras_cost_resets_per_specialty():
    a = applicant(applications={"IR": 40, "DR": 40, "IM": 40})
    result = match_chances(a, MODEL)
    assert result.specialties["eras_cost_usd"].to_list() == [630.0, 630.0, 630.0]


def test_screens_make_programs_ineligible_with_the_reason():
    rows = [
        program("A", "IM", sponsors_j1=False),
        program("B", "IM", min_step2_score=250),
        program("C", "IM", yog_cutoff_years=2),
        program("D", "IM", usce_required_months=6.0),
        program("E", "IM", max_attempts=1),
        program("F", "IM", program_type="military"),
        program("G", "IM", sponsors_j1=True),
        program("H", "IM"),
    ]
    a = applicant(target_specialties=["IM"], step2_score=240, graduation_year=2022,
                  usce_months=3, step1_attempts=2)  # fmt: skip
    out = interview_chances(a, table(rows), as_of=AS_OF).sort("program_id")
    reasons = dict(zip(out["program_id"], out["screen_reason"], strict=True))
    assert "J-1" in reasons["A"]
    assert reasons["B"] == "Step 2 CK 240 under the program's minimum of 250"
    assert (
        reasons["C"] == "graduated 6 years before the match, over the program's cutoff of 2 years"
    )
    assert (
        reasons["D"] == "3 months of hands-on US clinical experience, under the 6 months required"
    )
    assert reasons["E"] == "2 attempts on a USMLE Step, over the 1 allowed"
    assert "military" in reasons["F"]
    assert all(";" not in r for r in reasons.values() if r)
    assert reasons["G"] is None and reasons["H"] is None
    ineligible = out.filter(~pl.col("eligible"))
    assert ineligible.height == 6
    assert (ineligible["p_interview"] == 0).all()
    assert out.filter(pl.col("eligible"))["p_interview"].min() > 0
    # a sponsor known to sponsor scores higher than one unknown
    assert (
        reasons
        and out.filter(pl.col("program_id") == "G")["p_interview"][0]
        > out.filter(pl.col("program_id") == "H")["p_interview"][0]
    )


def test_ineligible_programs_contribute_nothing():
    a = applicant(target_specialties=["IM"])
    base_rows = [
        program(f"P{i}", "IM", sponsors_j1=True, pct_img_residents=50.0) for i in range(20)
    ]
    closed_rows = [
        program(f"X{i}", "IM", sponsors_j1=False, pct_img_residents=90.0) for i in range(30)
    ]
    alone = match_chances(a, table(base_rows), as_of=AS_OF)
    with_closed = match_chances(a, table(base_rows + closed_rows), as_of=AS_OF)
    assert with_closed.specialties["p_match"][0] == pytest.approx(alone.specialties["p_match"][0])
    assert with_closed.specialties["eligible_programs"][0] == 20


def test_us_citizen_img_is_never_screened_by_visa():
    a = applicant(visa_needed="none", target_specialties=["IM"])
    rows = [program(f"P{i}", "IM", sponsors_j1=False, sponsors_h1b=False) for i in range(10)]
    out = interview_chances(a, table(rows), as_of=AS_OF)
    assert out["eligible"].all()


def test_h1b_need_without_step3_is_penalized_and_step3_helps():
    rows = [program(f"P{i}", "IM", sponsors_j1=True, sponsors_h1b=True, pct_img_residents=60.0)
            for i in range(40)]  # fmt: skip
    t = table(rows)
    without = match_chances(applicant(visa_needed="h1b", target_specialties=["IM"]), t, as_of=AS_OF)
    with3 = match_chances(
        applicant(visa_needed="h1b", step3_passed=True, target_specialties=["IM"]), t, as_of=AS_OF
    )
    assert with3.p_match_any > without.p_match_any


def test_a_rotation_raises_the_chance_at_that_program():
    a = applicant()
    base = interview_chances(a, MODEL)
    target = base.filter(pl.col("eligible") & (pl.col("specialty") == "IR"))["program_id"][0]
    after = interview_chances(a, MODEL, rotations=[target])
    before_p = base.filter(pl.col("program_id") == target)["p_interview"][0]
    after_p = after.filter(pl.col("program_id") == target)["p_interview"][0]
    assert after_p > before_p
    assert after.filter(pl.col("program_id") == target)["rotation"][0]


def test_recommended_applications_reach_the_target_on_the_curve():
    a = applicant(target_specialties=["IM"], step2_score=250, usce_months=6, us_letters={"IM": 2})
    result = match_chances(a, MODEL)
    curve = result.curves
    assert curve["p_match"].is_sorted()  # more applications never lower P(match)
    rec = result.specialties["recommended_applications"][0]
    if rec is not None:
        at = curve.filter(pl.col("applications") == rec)["p_match"][0]
        before = curve.filter(pl.col("applications") == rec - 1)["p_match"]
        assert at >= 0.8 and (before.len() == 0 or before[0] < 0.8)
        assert curve.filter(pl.col("recommended"))["applications"].to_list() == [rec]


def test_batch_agrees_with_single_applicant_chances():
    people = [
        applicant(applicant_id="a1"),
        applicant(applicant_id="a2", visa_needed="none", target_specialties=["FM", "IM"]),
        applicant(
            applicant_id="a3", visa_needed="either", step2_score=230, target_specialties=["ANES"]
        ),
        applicant(
            applicant_id="a4", visa_needed="h1b", step3_passed=True, target_specialties=["IM", "FM"]
        ),
    ]
    batch = chances_batch(people, MODEL)
    for person in people:
        single = match_chances(person, MODEL)
        rows = batch.filter(pl.col("applicant_id") == person.applicant_id).sort("preference")
        assert rows["specialty"].to_list() == single.specialties["specialty"].to_list()
        # the batch computes in float32: agreement to ~1e-6
        assert np.allclose(rows["p_match"], single.specialties["p_match"], atol=1e-5)
        assert np.allclose(rows["p_match_low"], single.specialties["p_match_low"], atol=1e-5)
        assert rows["p_match_any"][0] == pytest.approx(single.p_match_any, abs=1e-5)
        assert (
            rows["recommended_applications"].to_list()
            == single.specialties["recommended_applications"].to_list()
        )


profiles = st.fixed_dictionaries(
    {
        "step2_score": st.integers(200, 290),
        "usce_months": st.floats(0, 24),
        "letters": st.integers(0, 4),
        "applications": st.integers(1, 80),
        "visa_needed": st.sampled_from(["none", "j1", "h1b", "either"]),
        "step3_passed": st.booleans(),
        "specialty": st.sampled_from(["IM", "IR", "DR", "FM", "ANES"]),
    }
)


def _person(d, **changes):
    d = {**d, **changes}
    return applicant(
        step2_score=d["step2_score"],
        usce_months=d["usce_months"],
        us_letters={d["specialty"]: d["letters"]},
        visa_needed=d["visa_needed"],
        step3_passed=d["step3_passed"],
        target_specialties=[d["specialty"]],
        applications={d["specialty"]: d["applications"]},
    )


def _p(person):
    return match_chances(person, MODEL, curve=False).specialties.row(0, named=True)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(d=profiles, more=st.integers(1, 40))
def test_higher_step2_never_lowers_p_match(d, more):
    base = _p(_person(d))["p_match"]
    up = _p(_person(d, step2_score=min(300, d["step2_score"] + more)))["p_match"]
    assert up >= base - 1e-12


@SETTINGS
@given(d=profiles, more=st.floats(0.5, 24))
def test_more_usce_never_lowers_p_match(d, more):
    base = _p(_person(d))["p_match"]
    up = _p(_person(d, usce_months=min(120, d["usce_months"] + more)))["p_match"]
    assert up >= base - 1e-12


@SETTINGS
@given(d=profiles, more=st.integers(1, 4))
def test_more_letters_never_lower_p_match(d, more):
    base = _p(_person(d))["p_match"]
    up = _p(_person(d, letters=d["letters"] + more))["p_match"]
    assert up >= base - 1e-12


@SETTINGS
@given(d=profiles, more=st.integers(1, 100))
def test_more_applications_never_lower_p_match(d, more):
    base = _p(_person(d))["p_match"]
    up = _p(_person(d, applications=d["applications"] + more))["p_match"]
    assert up >= base - 1e-12


@SETTINGS
@given(d=profiles)
def test_probabilities_stay_in_range_and_intervals_are_ordered(d):
    person = _person(d)
    row = _p(person)
    assert 0 <= row["p_match_low"] <= row["p_match"] <= row["p_match_high"] <= 1
    per_program = interview_chances(person, MODEL)
    assert per_program["p_interview"].is_between(0, 1).all()
    assert (per_program["p_interview_low"] <= per_program["p_interview"] + 1e-15).all()
    assert (per_program["p_interview"] <= per_program["p_interview_high"] + 1e-15).all()
    assert (per_program.filter(~pl.col("eligible"))["p_interview"] == 0).all()
