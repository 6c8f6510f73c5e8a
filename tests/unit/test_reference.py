"""The reference figures as model inputs: fits, Step 2 levels, match curves, fees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.config import reference_table
from analysis.data.reference import (
    expected_sigmoid,
    fee_schedule,
    interview_fit,
    interview_fits,
    match_curve,
    rotation_cost_ranges,
)
from analysis.model.population import step2_level

REFERENCE_ROWS = {
    r["specialty"]: r for r in reference_table("interview_rates_by_specialty").iter_rows(named=True)
}


@pytest.mark.parametrize("group", ["non_us_img", "us_img"])
def test_every_fit_reproduces_the_reference_mean_and_share_at_zero(group):
    for (code, g), fit in interview_fits().items():
        if g != group:
            continue
        assert fit.model_mean() == pytest.approx(fit.ref_mean, rel=1e-3), code
        assert 0.0 <= fit.share_zero < 1.0
        assert 0.2 < fit.tau < 3.0


def test_fitted_median_is_consistent_with_the_rounded_reference_median():
    # IM: 21% of programs at zero, median 0.02 (rounded to 0.01), p90 0.05.
    fit = interview_fit("IM", "non_us_img")
    q_open = (0.5 - fit.share_zero) / (1 - fit.share_zero)
    from statistics import NormalDist

    median = 1 / (1 + math.exp(-(fit.mu + fit.tau * NormalDist().inv_cdf(q_open))))
    assert 0.015 <= median <= 0.025
    p90 = 1 / (
        1
        + math.exp(
            -(
                fit.mu
                + fit.tau * NormalDist().inv_cdf((0.9 - fit.share_zero) / (1 - fit.share_zero))
            )
        )
    )
    assert 0.04 <= p90 <= 0.065


def test_specialties_without_reference_rows_borrow_a_stand_in_and_say_so():
    fit = interview_fit("TY", "non_us_img")
    assert not fit.calibrated
    assert fit.source_specialty == "IM"
    assert interview_fit("IR", "non_us_img").calibrated


def test_expected_sigmoid_matches_monte_carlo():
    rng = np.random.default_rng(1)
    draws = rng.normal(-3.0, 0.8, 400_000)
    mc = (1 / (1 + np.exp(-draws))).mean()
    assert float(expected_sigmoid(-3.0, 0.8)) == pytest.approx(mc, rel=0.01)


def test_step2_levels_come_from_2024_md_seniors_minus_the_group_offset():
    # IM: 2024 US MD senior applicants (3,024 matched at 251, 64 unmatched at 234), minus 10.
    md_im = (3024 * 251 + 64 * 234) / 3088
    assert step2_level("IM", "non_us_img") == pytest.approx(md_im - 10)
    assert step2_level("IM", "us_img") == pytest.approx(md_im - 15)
    assert step2_level("IM", "non_us_img", offset=5) == pytest.approx(md_im - 5)
    # Pathology has no 2024 row: IM's level moved by its 2013 non-US IMG gap to IM (228 - 236).
    assert step2_level("PATH", "non_us_img") == pytest.approx(md_im - 8 - 10)
    # No figure at all: the stand-in specialty's level.
    assert step2_level("IM-PRELIM", "non_us_img") == step2_level("IM", "non_us_img")
    # harder specialties sit higher
    assert (
        step2_level("DR", "non_us_img")
        > step2_level("IM", "non_us_img")
        > step2_level("FM", "non_us_img")
    )


def test_match_curve_is_anchored_on_nrmp_im_figure_and_saturates():
    im = match_curve("IM")
    # the fitted scale keeps the curve near NRMP's "about 85% at 11-15 ranks" for IMGs in IM
    assert 0.78 <= float(im.p_match_given(13)) <= 0.88
    assert float(match_curve("IM", q_scale=1.0).p_match_given(13)) == pytest.approx(0.85, abs=1e-9)
    ks = np.arange(0, 80)
    values = im.p_match_given(ks)
    assert values[0] == 0
    assert np.all(np.diff(values) >= 0)
    assert values[-1] <= im.p_max
    # more applicants per position -> each interview converts less often
    assert match_curve("IR").q < match_curve("DR").q < match_curve("IM").q < match_curve("FM").q


def test_eras_fee_tiers_reset_per_specialty_and_match_the_issue_examples():
    fees = fee_schedule()
    assert fees.eras_cost(40) == 630  # 30 x $11 + 10 x $30
    assert fees.eras_cost(80) == 1830
    assert fees.eras_cost(0) == 0
    assert fees.transcript_usd == 80


def test_rotation_costs_come_from_fees_csv():
    ranges = rotation_cost_ranges()
    assert ranges["housing"] == (800, 2000)
    assert set(ranges) == {"housing", "food_transport", "application_fees"}
