"""IMG-friendliness score: components, closure, unknowns, confidence, contributions."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.data.programs import load_programs
from analysis.model.friendliness import (
    COMPONENTS,
    component_contributions,
    score_programs,
    specialty_priors,
    weight_sensitivity,
)
from tests.unit.engine_frames import national, program, table

AS_OF = dt.date(2026, 11, 1)


def score_one(visa_needed=None, **facts):
    scored = score_programs(table([program("P1", **facts)]), visa_needed, as_of=AS_OF)
    return scored.row(0, named=True)


def test_scores_and_components_are_in_range():
    scored = score_programs(national(), "j1", as_of=AS_OF)
    assert scored["img_friendliness"].is_between(0, 100).all()
    for c in COMPONENTS:
        assert scored[f"component_{c}"].is_between(0, 1).all(), c
    assert scored["confidence"].is_between(0, 1).all()
    assert set(scored["tier"].unique()) <= {
        "closed",
        "unfriendly",
        "moderate",
        "friendly",
        "very friendly",
    }
    # sorted best first
    assert scored["img_friendliness"].is_sorted(descending=True)


def test_known_non_sponsor_is_closed_with_its_reason_but_unknown_is_not_no():
    closed = score_one("j1", sponsors_j1=False, pct_img_residents=80.0)
    assert closed["img_friendliness"] == 0
    assert closed["tier"] == "closed"
    assert "J-1" in closed["closed_reason"]
    unknown = score_one("j1", pct_img_residents=80.0)
    assert unknown["img_friendliness"] > 0
    assert unknown["closed_reason"] is None
    assert unknown["tier"] != "closed"
    sponsor = score_one("j1", sponsors_j1=True, pct_img_residents=80.0)
    assert sponsor["img_friendliness"] > unknown["img_friendliness"]


def test_visa_need_decides_what_closes():
    facts = dict(sponsors_j1=True, sponsors_h1b=False, pct_img_residents=50.0)
    assert score_one("j1", **facts)["tier"] != "closed"
    assert score_one("h1b", **facts)["tier"] == "closed"
    assert score_one("either", **facts)["tier"] != "closed"
    assert score_one("none", **facts)["component_visa"] == 1.0
    both_no = dict(sponsors_j1=False, sponsors_h1b=False)
    assert score_one("either", **both_no)["tier"] == "closed"
    assert score_one("none", **both_no)["tier"] != "closed"
    assert score_one(None, **both_no)["tier"] != "closed"  # generic view closes nothing
    military = score_one("j1", program_type="military")
    assert military["tier"] == "closed" and "citizens" in military["closed_reason"]


def test_more_imgs_among_residents_never_lowers_the_score():
    scores = [
        score_one("j1", pct_img_residents=p)["img_friendliness"] for p in (0, 10, 40, 80, 100)
    ]
    assert scores == sorted(scores)


def test_an_observed_zero_interview_rate_lowers_the_score_below_the_prior():
    unknown = score_one("j1", sponsors_j1=True)
    zero = score_one("j1", sponsors_j1=True, non_us_img_interview_rate=0.0)
    high = score_one("j1", sponsors_j1=True, non_us_img_interview_rate=0.15)
    assert zero["img_friendliness"] < unknown["img_friendliness"] < high["img_friendliness"]


def test_unknown_facts_take_the_specialty_prior_and_lower_confidence():
    blank = score_one("j1")
    priors = specialty_priors().filter(pl.col("specialty") == "IM").row(0, named=True)
    assert blank["component_img_share"] == pytest.approx(priors["prior_img_share"])
    assert blank["component_interview_rate"] == pytest.approx(priors["prior_interview_rate"])
    full = score_one(
        "j1",
        sponsors_j1=True,
        pct_img_residents=40.0,
        pct_non_us_img_residents=30.0,
        non_us_img_interview_rate=0.03,
        accepts_img_visiting_students=True,
        min_step2_score=220,
        yog_cutoff_years=5,
        usce_required_months=0.0,
        max_attempts=2,
        program_type="community",
    )
    assert blank["confidence"] == 0.0
    assert full["confidence"] == pytest.approx(1.0)
    partial = score_one("j1", pct_img_residents=40.0)  # non-US share inferred: half credit
    assert 0 < partial["confidence"] < full["confidence"]


def test_stale_facts_are_flagged_and_cost_confidence():
    fresh = score_one("j1", sponsors_j1=True, last_verified=dt.date(2026, 6, 1))
    stale = score_one("j1", sponsors_j1=True, last_verified=dt.date(2025, 1, 1))
    assert not fresh["stale"] and stale["stale"]
    assert stale["confidence"] == pytest.approx(0.8 * fresh["confidence"])


def test_contributions_sum_to_the_score_and_mark_imputed_values():
    from analysis.model.friendliness import component_frame

    frame = component_frame(national(n_per=10), "j1", as_of=AS_OF)
    contrib = component_contributions(frame)
    sums = contrib.group_by("program_id").agg(pl.col("contribution").sum())
    check = frame.select("program_id", "img_friendliness").join(sums, on="program_id")
    assert (check["img_friendliness"] - check["contribution"]).abs().max() < 1e-9
    per_program = contrib.group_by("program_id").agg(pl.col("weight").sum())
    assert (per_program["weight"] - 1.0).abs().max() < 1e-9
    assert contrib["imputed"].any() and not contrib["imputed"].all()


def test_weights_can_be_overridden_and_are_checked():
    t = national(n_per=10)
    only_visa = score_programs(
        t, "j1", weights={c: 0.0 for c in COMPONENTS} | {"visa": 1.0}, as_of=AS_OF
    )
    assert (only_visa["img_friendliness"] - 100 * only_visa["component_visa"]).abs().max() < 1e-9
    with pytest.raises(ValueError, match="unknown weight"):
        score_programs(t, weights={"prestige": 1.0})
    with pytest.raises(ValueError, match="visa_needed"):
        score_programs(t, visa_needed="f1")


def test_pandas_input_goes_through_the_loader():
    t = national(n_per=5)
    with pytest.raises(TypeError, match="analysis.load_programs"):
        score_programs(t.to_pandas(), "j1", as_of=AS_OF)  # validation is the caller's job
    from_pandas = score_programs(load_programs(t.to_pandas()), "j1", as_of=AS_OF)
    assert from_pandas.equals(score_programs(t, "j1", as_of=AS_OF))


def test_weight_sensitivity_reports_rank_stability_per_component():
    out = weight_sensitivity(national(n_per=20), "j1", top=10, as_of=AS_OF)
    assert out.height == 2 * len(COMPONENTS)
    assert out["spearman"].is_between(-1, 1).all()
    assert out["top10_overlap"].is_between(0, 1).all()


@settings(max_examples=60, deadline=None)
@given(
    pct=st.one_of(st.none(), st.floats(0, 100)),
    rate=st.one_of(st.none(), st.floats(0, 1)),
    j1=st.sampled_from([True, False, None]),
    h1b=st.sampled_from([True, False, None]),
    visa=st.sampled_from([None, "none", "j1", "h1b", "either"]),
    ptype=st.sampled_from(
        [None, "university", "community", "community_university_affiliated", "other"]
    ),
)
def test_any_combination_of_facts_gives_a_valid_score(pct, rate, j1, h1b, visa, ptype):
    row = score_one(
        visa,
        pct_img_residents=pct,
        non_us_img_interview_rate=rate,
        sponsors_j1=j1,
        sponsors_h1b=h1b,
        program_type=ptype,
    )
    assert 0 <= row["img_friendliness"] <= 100
    assert 0 <= row["confidence"] <= 1
    assert (row["tier"] == "closed") == (row["closed_reason"] is not None)
