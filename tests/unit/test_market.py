"""The simulated Match: market invariants, interview offers, scenarios, Monte Carlo backends.

Fast tests run on a 5% sample of the demo table (same shape, applicants follow positions);
the check against NRMP 2025 runs the national market and is marked slow.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.applicants import load_applicants
from analysis.data.programs import load_programs
from analysis.data.reference import interview_fit
from analysis.model import market as market_module
from analysis.model.market import build_market, prepare_setup, simulate_market
from analysis.model.market_setup import TYPES, MarketSetup, scaled_programs
from analysis.model.montecarlo import (
    CHECKED_SPECIALTIES,
    run_replications,
    simulate,
    specialty_calibration,
    type_calibration,
    wilson,
)
from analysis.model.probability import match_chances
from analysis.model.scenarios import parse_scenarios
from analysis.model.seniors import (
    sample_seniors,
    senior_anchor,
    senior_applications,
    senior_chance,
    senior_scores,
)

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def demo_table():
    return load_programs(demo_programs_path())


@pytest.fixture(scope="module")
def small_setup(demo_table) -> MarketSetup:
    """A 5% market with the demo applicants inserted, entry factors solved."""
    applicants = tuple(load_applicants(demo_applicants_dir()))
    return prepare_setup(
        MarketSetup(scaled_programs(demo_table, 0.05, seed=1), AS_OF, applicants=applicants)
    )


# --------------------------------------------------------------------------- one replication


def test_a_replication_keeps_every_count_consistent(small_setup: MarketSetup) -> None:
    market = build_market(small_setup)
    o = simulate_market(market, [7, 0])
    assert (o.matched <= o.certified).all() and (o.certified <= o.entered).all()
    filled = o.matched_by_specialty.sum(axis=1) + o.held
    assert (filled <= o.positions).all()
    assert (o.matched_by_specialty.sum(axis=0) == o.matched).all()
    assert (o.interviews <= o.applications).all()
    assert (o.ranking.sum(axis=1) <= o.interviews.sum(axis=1)).all()
    assert o.inserted_match.shape == (len(small_setup.applicants),)
    for i, match in enumerate(o.inserted_match):
        if match >= 0:  # matched only where they interviewed
            assert o.inserted_interviews[i, match] > 0


def test_a_replication_is_reproducible_from_its_seed(small_setup: MarketSetup) -> None:
    market = build_market(small_setup)
    a, b = simulate_market(market, [3, 1]), simulate_market(market, [3, 1])
    c = simulate_market(market, [3, 2])
    assert np.array_equal(a.matched_by_specialty, b.matched_by_specialty)
    assert np.array_equal(a.inserted_match, b.inserted_match)
    assert not np.array_equal(a.interviews, c.interviews)


def test_applicants_follow_the_tables_positions(demo_table) -> None:
    half = scaled_programs(demo_table, 0.5, seed=2)
    full = build_market(MarketSetup(demo_table, AS_OF, entry=(1.0, 1.0, 1.0, 1.0)))
    part = build_market(MarketSetup(half, AS_OF, entry=(1.0, 1.0, 1.0, 1.0)))
    for (t, s), n in full.counts.items():
        share = part.positions[part.spec_index == part.specialties.index(s)].sum() / max(
            full.positions[full.spec_index == full.specialties.index(s)].sum(), 1
        )
        assert part.counts[(t, s)] == pytest.approx(n * share, abs=1.0)


# --------------------------------------------------------------------------- building blocks


def test_choose_takes_the_best_fit_programs_without_noise() -> None:
    p = np.array([[0.1, 0.5, 0.0, 0.3], [0.2, 0.2, 0.9, 0.0]], dtype=np.float32)
    rows, cols = market_module._choose(p, np.array([2, 5]), 0.0, np.random.default_rng(0))
    assert rows.tolist() == [0, 0, 1, 1, 1]
    assert cols.tolist() == [1, 3, 2, 0, 1]  # never a program with p = 0


def test_seniors_apply_until_they_expect_their_target_interviews(demo_table) -> None:
    side = build_market(MarketSetup(demo_table, AS_OF, entry=(1.0,) * 4)).model.side
    people = sample_seniors("us_md", "IM", 300, 3)
    chance = senior_chance(people, "IM", "us_md")
    per_application = chance * senior_anchor("IM", "us_md").open_share
    target = np.full(300, 12.0)
    rows, cols, p = senior_applications(
        side, people, "IM", "us_md", target, (10, 120), np.random.default_rng(0)
    )
    counts = np.bincount(rows, minlength=300)
    expected = np.clip(np.ceil(12.0 / per_application), 10, 120)
    assert (counts <= expected).all() and (counts >= expected - 3).all()  # minus screened
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == rows.size  # distinct
    assert np.allclose(p, chance[rows].astype(np.float32))
    screens = senior_scores(side, people, "IM", "us_md")
    assert (screens[rows, cols] > 0).all()  # never a program that screens them out


def test_offers_without_limits_invite_every_considered_applicant() -> None:
    rng = np.random.default_rng(1)
    n = 2000
    program, applicant = rng.integers(0, 5, n), rng.integers(0, 300, n)
    order, y, taste = np.zeros(n, np.int8), rng.normal(size=n), rng.normal(size=n)
    considered = np.flatnonzero(rng.random(n) < 0.3)
    invited = market_module._offers(
        program, applicant, order, y, taste, considered, np.full(5, 10**6), 10**6
    )
    assert sorted(invited.tolist()) == sorted(considered.tolist())


def test_offers_respect_capacity_and_attendance() -> None:
    rng = np.random.default_rng(2)
    n = 5000
    program, applicant = rng.integers(0, 5, n), rng.integers(0, 200, n)
    order, y, taste = np.zeros(n, np.int8), rng.normal(size=n), rng.normal(size=n)
    considered = np.arange(n)
    capacity = np.array([50, 100, 0, 400, 2000])
    invited = market_module._offers(program, applicant, order, y, taste, considered, capacity, 8)
    assert (np.bincount(program[invited], minlength=5) <= capacity).all()
    assert np.bincount(applicant[invited]).max() <= 8
    top = considered[program == 0][np.argsort(-y[program == 0])][0]
    assert top in invited or np.bincount(applicant[invited])[applicant[top]] == 8


def test_seniors_reproduce_the_reference_interview_rate(demo_table) -> None:
    side = build_market(MarketSetup(demo_table, AS_OF, entry=(1.0,) * 4)).model.side
    for kind in ("us_md", "us_do"):
        for s in ("IM", "ANES", "PEDS"):
            a = senior_anchor(s, kind)
            people = sample_seniors(kind, s, 2000, 5)
            p = senior_scores(side, people, s, kind)
            observed = float(p[:, np.isnan(side.thresholds["step2"][side.specialty_rows[s]])]
                             .mean()) * a.open_share  # fmt: skip
            assert observed == pytest.approx(a.ref_mean, rel=0.15), (kind, s)
    assert interview_fit("IM", "non_us_img").calibrated


# --------------------------------------------------------------------------- Monte Carlo


def test_without_binding_capacity_the_interviews_are_the_models(small_setup) -> None:
    """With ample interview capacity, an inserted applicant's mean interviews over the
    replications match the heuristic's expected interviews (the same best-fit programs)."""
    profile = next(a for a in small_setup.applicants if a.applicant_id == "zoe_psych")
    roomy = parse_scenarios(["interview-capacity:PSYCH:x20", "interview-capacity:NEURO:x20"])
    setup = MarketSetup(small_setup.programs, AS_OF, (profile,), roomy, small_setup.entry)
    runs = run_replications(setup, 40, 11)
    market = build_market(setup)
    simulated = np.mean([o.inserted_interviews[0] for o in runs.baseline], axis=0)
    chances = match_chances(
        profile,
        market.model,
        specialties=market.inserted.targets[0],
        applications=market.inserted.applications[0],
        curve=False,
    )
    for row in chances.specialties.iter_rows(named=True):
        k = market.specialties.index(row["specialty"])
        se = max(np.sqrt(row["expected_interviews"] / 40), 0.05)
        assert simulated[k] == pytest.approx(row["expected_interviews"], abs=4 * se)


def test_json_has_exactly_the_documented_shape(small_setup) -> None:
    doc = simulate(small_setup, runs=2, seed=5).to_dict()
    json.dumps(doc)
    assert list(doc) == ["runs", "seed", "match_rate_by_type", "specialties", "applicants"]
    assert (doc["runs"], doc["seed"]) == (2, 5)
    assert list(doc["match_rate_by_type"]) == list(TYPES)
    spec = doc["specialties"][0]
    assert list(spec) == ["specialty", "positions", "fill_rate", "share_filled_by"]
    assert list(spec["share_filled_by"]) == list(TYPES)
    applicant = doc["applicants"][0]
    assert list(applicant) == [
        "applicant_id",
        "p_match_any",
        "p_match_any_low",
        "p_match_any_high",
        "heuristic_p_match_any",
        "specialties",
    ]
    assert list(applicant["specialties"][0]) == ["specialty", "p_match", "heuristic_p_match"]
    rates = [*doc["match_rate_by_type"].values()]
    rates += [s["fill_rate"] for s in doc["specialties"]]
    rates += [v for s in doc["specialties"] for v in s["share_filled_by"].values()]
    for a in doc["applicants"]:
        rates += [a["p_match_any"], a["p_match_any_low"], a["p_match_any_high"]]
        assert a["p_match_any_low"] <= a["p_match_any"] <= a["p_match_any_high"]
    assert all(0.0 <= r <= 1.0 for r in rates)


def test_scenarios_move_the_numbers_the_right_way(small_setup) -> None:
    base = MarketSetup(small_setup.programs, AS_OF, small_setup.applicants, entry=small_setup.entry)
    more = parse_scenarios(["applicants:non_us_img:IM:+400"])
    sim = simulate(base, runs=4, seed=21, scenario=more)
    before, after = sim.baseline, sim.scenario
    assert after is not None
    assert after.match_rate_by_type["non_us_img"] < before.match_rate_by_type["non_us_img"]
    roomier = simulate(base, runs=4, seed=21, scenario=parse_scenarios(["positions:IM:+200"]))
    assert roomier.scenario is not None
    assert (
        roomier.scenario.match_rate_by_type["non_us_img"]
        > roomier.baseline.match_rate_by_type["non_us_img"]
    )
    assert sim.to_dict()["scenario"]["changes"] == ["+400 non_us_img applicants to IM"]


def test_applying_more_and_ranking_fewer_move_the_applicant(small_setup) -> None:
    zoe = next(a for a in small_setup.applicants if a.applicant_id == "zoe_psych")
    zoe = zoe.model_copy(update={"applications": {"PSYCH": 2, "NEURO": 2}})
    base = MarketSetup(small_setup.programs, AS_OF, (zoe,), entry=small_setup.entry)
    wider = run_replications(base, 6, 8, scenario=parse_scenarios(["applications:+15"]))
    assert wider.scenario is not None
    before = sum(o.inserted_interviews.sum() for o in wider.baseline)
    after = sum(o.inserted_interviews.sum() for o in wider.scenario)
    assert after > before
    fewer = run_replications(base, 6, 8, scenario=parse_scenarios(["rank-limit:1"]))
    assert fewer.scenario is not None
    matched = sum(int(o.inserted_match[0] >= 0) for o in fewer.baseline)
    assert sum(int(o.inserted_match[0] >= 0) for o in fewer.scenario) <= matched


def test_wilson_interval_contains_the_estimate() -> None:
    for k, n in ((0, 10), (3, 10), (10, 10), (50, 200)):
        lo, hi = wilson(k, n)
        assert 0 <= lo <= k / n <= hi <= 1
    assert wilson(0, 0) == (0.0, 1.0)


def test_local_dask_cluster_gives_the_same_replications(small_setup) -> None:
    distributed = pytest.importorskip("distributed")
    local = run_replications(small_setup, 3, 17)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        remote = run_replications(small_setup, 3, 17, scheduler=cluster.scheduler_address)
    assert remote.backend.startswith("dask")
    for a, b in zip(local.baseline, remote.baseline, strict=True):
        assert np.array_equal(a.matched_by_specialty, b.matched_by_specialty)
        assert np.array_equal(a.inserted_match, b.inserted_match)


@pytest.mark.slow
def test_local_processes_give_the_same_replications(small_setup) -> None:
    local = run_replications(small_setup, 3, 19)
    spread = run_replications(small_setup, 3, 19, workers=2)
    assert spread.backend == "local processes" and spread.workers == 2
    for a, b in zip(local.baseline, spread.baseline, strict=True):
        assert np.array_equal(a.matched_by_specialty, b.matched_by_specialty)


@pytest.mark.slow
def test_national_market_reproduces_nrmp_2025(demo_table) -> None:
    """Match rate of each applicant type within 4 points of NRMP 2025; the non-US IMG share
    of filled positions in IM, FM, PEDS, NEURO, PATH and PSYCH within 5 points."""
    sim = simulate(MarketSetup(demo_table, AS_OF), runs=2, seed=2025)
    types = type_calibration(sim.baseline)
    worst = types.sort("difference").row(0, named=True)
    assert (types["difference"].abs() <= 0.04).all(), worst
    shares = specialty_calibration(sim.baseline).filter("checked")
    assert sorted(shares["specialty"].to_list()) == sorted(CHECKED_SPECIALTIES)
    assert (shares["difference"].abs() <= 0.05).all(), shares.to_dicts()
