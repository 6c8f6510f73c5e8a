"""Program signals: rules, effect, planner (greedy vs exhaustive), own choice, baselines."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data.signal_rules import (
    check_signal_table,
    normalize_season,
    season_of_match_year,
    signal_rule_table,
    signal_rules,
)
from analysis.errors import DataValidationError
from analysis.model.signals import signal_effects, with_signal
from analysis.planners.signal_baselines import most_friendly_first, random_signals
from analysis.planners.signal_choice import evaluate_signals
from analysis.planners.signal_lists import SpecialtyList
from analysis.planners.signal_objective import (
    interview_derivative,
    match_given_interviews,
    p_match_any,
    p_match_from_interviews,
)
from analysis.planners.signal_optimizer import (
    exhaustive_best as exhaustive_best_packaged,
)
from analysis.planners.signal_optimizer import plan_signals
from tests.unit.signal_cases import ids, random_small_case, rules_with

SEASON = "2025-2026"
G_IM = match_given_interviews("IM")


# --------------------------------------------------------------------------- rules


def test_season_naming_match_year_2027_is_2026_2027():
    assert season_of_match_year(2027) == "2026-2027"
    assert normalize_season(2027) == "2026-2027"
    assert normalize_season(" 2026 - 2027 ") == "2026-2027"
    for bad in ("2026-2028", "2026", "26-27", "next year", True):
        with pytest.raises(ValueError, match="YYYY-YYYY"):
            normalize_season(bad)


def test_rules_of_a_known_season_are_read_as_published():
    im = signal_rules("IM", "2025-2026")
    assert (im.gold, im.silver, im.total, im.single) == (3, 12, 15, None)
    assert im.allowed() == {"gold": 3, "silver": 12}
    assert im.fallback_from is None and not im.unknown and im.service == "ERAS"
    psych = signal_rules("PSYCH", "2024-2025")
    assert psych.allowed() == {"single": 10} and not psych.tiered
    anes = signal_rules("ANES", 2026)
    assert anes.allowed() == {"gold": 5, "silver": 10}


def test_a_season_without_a_row_falls_back_to_the_latest_known_and_is_flagged():
    dr = signal_rules("DR", 2028)
    assert dr.season == "2024-2025" and dr.fallback_from == "2027-2028"
    assert dr.allowed() == {"gold": 6, "silver": 6}
    assert any("2027-2028" in f and "2024-2025" in f for f in dr.flags())
    im = signal_rules("IM", "2026-2027")
    assert im.season == "2025-2026" and im.fallback_from == "2026-2027"
    # between two rows: the latest before it, not a later one
    ob = signal_rules("OBGYN", "2024-2025")
    assert ob.season == "2023-2024" and ob.allowed() == {"gold": 3, "silver": 15}


def test_em_and_obgyn_on_residencycas_have_unknown_counts_and_say_so():
    for code in ("EM", "OBGYN"):
        r = signal_rules(code, "2025-2026")
        assert r.unknown and r.service == "ResidencyCAS"
        assert r.gold is r.silver is r.single is None and r.allowed() == {}
        assert "ResidencyCAS" in r.unknown_reason
        later = signal_rules(code, 2027)
        assert later.unknown and later.fallback_from == "2026-2027"
    em_before = signal_rules("EM", "2024-2025")
    assert em_before.allowed() == {"single": 5} and em_before.exclude_rotation_programs


def test_specialty_without_rows_is_unknown_and_a_bad_code_is_an_error():
    uro = signal_rules("URO", 2027)
    assert uro.unknown and uro.season is None and "no signal rules" in uro.unknown_reason
    with pytest.raises(ValueError, match="specialty 'XX'"):
        signal_rules("XX", 2027)


def test_dr_and_ir_share_one_pool_and_others_have_their_own():
    dr, ir = signal_rules("DR", 2027), signal_rules("IR", 2027)
    assert dr.pool == ir.pool == "DR+IR" and set(dr.pool_specialties) == {"DR", "IR"}
    assert signal_rules("IM", 2027).pool == "IM"


def test_every_row_of_the_reference_reads_cleanly():
    table = signal_rule_table()
    assert table.height >= 20
    tiered = table.filter(pl.col("gold").is_not_null())
    assert (tiered["gold"] + tiered["silver"] == tiered["total"]).all()
    for row in table.iter_rows(named=True):
        r = signal_rules(row["specialty"], row["season"])
        assert r.fallback_from is None and r.season == row["season"]
        assert sum(r.allowed().values()) == (row["total"] or 0)


def test_a_bad_signal_table_lists_every_problem_with_row_column_and_value():
    raw = pl.DataFrame(
        {
            "specialty": ["IM", "XX", "IM", "DR"],
            "season": ["2025-2026", "2025", "2025-2026", "2024-2025"],
            "gold_signals": ["3", "1", "2.5", "6"],
            "silver_signals": ["12", "", "1", "6"],
            "signals_total": ["16", "", "", "12"],
            "application_service": ["ERAS", "ERAS", "Mail", "ERAS"],
            "source": ["a page", "a page", "", "a page"],
            "source_grade": ["A", "A", "A", "D"],
            "notes": [None, None, None, None],
        }
    )
    with pytest.raises(DataValidationError) as info:
        check_signal_table(raw, "signals.csv")
    found = {(p.row, p.column) for p in info.value.problems}
    assert found >= {
        (2, "signals_total"),  # 3 + 12 != 16
        (3, "specialty"),
        (3, "season"),
        (3, "silver_signals"),  # gold without silver
        (4, "gold_signals"),  # 2.5
        (4, "application_service"),
        (4, "source"),
        (4, "season"),  # duplicate of row 2
        (5, "source_grade"),
    }
    assert all(p.file == "signals.csv" for p in info.value.problems)
    with pytest.raises(DataValidationError, match="missing column"):
        check_signal_table(raw.drop("source"), "signals.csv")


# --------------------------------------------------------------------------- effect


def test_effects_are_ordered_and_gold_is_stronger_than_silver():
    e = signal_effects()
    for tier in ("gold", "silver", "single"):
        assert 0 <= e.of(tier, "low") <= e.of(tier) <= e.of(tier, "high")
    assert e.of("gold") > e.of("silver")
    assert 0 <= e.rotation_factor <= 1


def test_signal_never_opens_a_zero_or_screened_program_and_never_lowers_p():
    p = np.array([0.0, 0.0, 0.3, 0.3, 1.0, 0.5])
    screened = np.array([False, True, True, False, False, False])
    out = with_signal(p, 1.3, screened=screened)
    assert out[0] == 0 and out[1] == 0 and out[2] == 0.3 and out[4] == 1.0
    assert out[3] > 0.3 and out[5] > 0.5
    assert np.all(out >= p)


def test_effect_is_on_the_log_odds_scale():
    p = np.array([0.01, 0.18, 0.5, 0.95])
    out = with_signal(p, 1.3)
    logit = np.log(p / (1 - p))
    assert np.allclose(np.log(out / (1 - out)) - logit, 1.3)
    gain = out - p
    assert gain[1] > gain[0] and gain[2] > gain[3]  # middling moves most


def test_a_signal_cannot_raise_the_chance_that_a_program_is_open_at_all():
    p_considered = np.array([0.4, 0.4, 1.0])
    p = np.array([0.2, 0.4, 0.2])  # the second: certain once open
    out = with_signal(p, 2.0, p_considered=p_considered)
    assert np.all(out <= p_considered + 1e-12)
    assert out[1] == pytest.approx(0.4)  # already certain given open
    # given open, the same log-odds shift: 0.5 -> sigmoid(2)
    assert out[0] / 0.4 == pytest.approx(1 / (1 + math.exp(-2.0)))


@given(
    p=st.lists(st.floats(0, 1), min_size=1, max_size=20),
    effect=st.floats(0, 3),
    more=st.floats(0, 2),
)
def test_signal_effect_is_monotone_in_the_effect(p, effect, more):
    p = np.array(p)
    a, b = with_signal(p, effect), with_signal(p, effect + more)
    assert np.all(a >= p - 1e-15) and np.all(b >= a - 1e-12) and np.all(b <= 1)


# --------------------------------------------------------------------------- objective


def brute_p_match(p, g):
    """P(match) by enumerating every interview outcome (the definition)."""
    total = 0.0
    for outcome in itertools.product([0, 1], repeat=len(p)):
        prob = np.prod([pi if o else 1 - pi for pi, o in zip(p, outcome, strict=True)])
        total += prob * g[min(sum(outcome), g.size - 1)]
    return total


def test_p_match_from_interviews_is_the_engine_definition():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 10)
    g = match_given_interviews("IM")[:6]  # a short curve, so truncation matters
    assert p_match_from_interviews(p, g) == pytest.approx(brute_p_match(p, g), abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_derivative_equals_the_exact_change_of_one_factor(seed):
    rng = np.random.default_rng(seed)
    n = [3, 12, 40, 90, 150, 7][seed]
    p = rng.choice([0.0, 0.001, 0.02, 0.2, 0.5, 0.7, 0.99, 1.0], n) * rng.uniform(0.5, 1, n)
    g = match_given_interviews(["IM", "IR", "PSYCH", "DR", "IM", "ANES"][seed])
    d = interview_derivative(p, g)
    hi, lo = p.copy(), p.copy()
    for j in range(0, n, max(1, n // 15)):
        hi[j], lo[j] = 1.0, 0.0
        exact = p_match_from_interviews(hi, g) - p_match_from_interviews(lo, g)
        assert d[j] == pytest.approx(exact, abs=1e-11)
        hi[j], lo[j] = p[j], p[j]


# --------------------------------------------------------------------------- exhaustive search


def exhaustive_best(lists, rules, effects=None):
    """Best P(match anywhere) over every assignment, each pool on its own (the objective is
    1 - prod over pools of prod over members (1 - P_s), so pools separate)."""
    effects = effects or signal_effects()
    pools: dict[str, list[int]] = {}
    for i, item in enumerate(lists):
        pools.setdefault(rules[item.specialty].pool, []).append(i)
    survival = 1.0
    for members in pools.values():
        rule = rules[lists[members[0]].specialty]
        counts = [(t, n) for t, n in rule.allowed().items()]
        cands = []
        for i in members:
            item = lists[i]
            rotated = item.rotated if item.rotated is not None else np.zeros(len(item.p_interview))
            screened = item.screened if item.screened is not None else np.zeros_like(rotated, bool)
            ok = (np.asarray(item.p_interview) > 0) & ~screened
            if rules[item.specialty].exclude_rotation_programs:
                ok &= ~rotated.astype(bool)
            cands += [(i, j) for j in np.flatnonzero(ok)]
        assignments = list(assignments_of(cands, counts))
        mats = {}  # every assignment at once, per member specialty
        for i in members:
            item = lists[i]
            factor = np.where(
                item.rotated if item.rotated is not None else False, effects.rotation_factor, 1.0
            )
            base = np.asarray(item.p_interview, dtype=float)
            mats[i] = np.broadcast_to(base, (len(assignments), base.size)).copy()
            for tier in ("gold", "silver", "single"):
                table = with_signal(base, effects.of(tier) * factor, screened=item.screened)
                for a, picks in enumerate(assignments):
                    for si, j, t in picks:
                        if si == i and t == tier:
                            mats[i][a, j] = table[j]
        surv = np.ones(len(assignments))
        for i in members:
            g = lists[i].match_given_k
            g = match_given_interviews(lists[i].specialty) if g is None else g
            surv *= 1.0 - p_match_from_interviews(mats[i], g)
        survival *= float(surv.min())
    return 1.0 - survival


def assignments_of(cands, counts, prefix=()):
    """Every way to give each tier's count of signals to distinct candidates (unordered)."""
    if not counts:
        yield list(prefix)
        return
    tier, n = counts[0]
    for group in itertools.combinations(range(len(cands)), min(n, len(cands))):
        rest = [c for k, c in enumerate(cands) if k not in group]
        yield from assignments_of(rest, counts[1:], (*prefix, *((*cands[k], tier) for k in group)))


p_value = st.one_of(
    st.just(0.0),
    st.floats(0.001, 0.05),
    st.floats(0.05, 0.7),
    st.floats(0.7, 0.99),
)


@st.composite
def small_case(draw):
    """8-12 programs in IM (1-2 gold, 1-3 silver), sometimes with a DR+IR pool as well."""
    n = draw(st.integers(8, 12))
    gold, silver = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    p = np.array(draw(st.lists(p_value, min_size=n, max_size=n)))
    screened = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))) & (
        np.arange(n) % 3 == 0
    )
    rotated = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))) & (
        np.arange(n) % 4 == 1
    )
    lists = [SpecialtyList("IM", ids("IM", n), p, screened=screened, rotated=rotated)]
    rules = {"IM": rules_with("IM", gold, silver)}
    if draw(st.booleans()):
        m1, m2 = draw(st.integers(2, 5)), draw(st.integers(2, 5))
        pg, ps = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        for code, m in (("IR", m1), ("DR", m2)):
            q = np.array(draw(st.lists(p_value, min_size=m, max_size=m)))
            lists.insert(0, SpecialtyList(code, ids(code, m), q))
            rules[code] = rules_with(code, pg, ps)
    return lists, rules


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=small_case())
def test_greedy_is_within_one_point_of_exhaustive_search(case):
    lists, rules = case
    best = exhaustive_best(lists, rules)
    greedy = plan_signals(lists, season=SEASON, rules=rules, improve=False)
    improved = plan_signals(lists, season=SEASON, rules=rules)
    assert improved.p_match_any_with <= best + 1e-9  # exhaustive is the optimum
    assert improved.p_match_any_with >= greedy.p_match_any_with - 1e-12
    assert best - greedy.p_match_any_with <= 0.01


def greedy_gaps(cases: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Exhaustive optimum minus the planner's P(match anywhere), greedy alone and improved."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {"greedy": [], "improved": []}
    for _ in range(cases):
        lists, rules = random_small_case(rng)
        best = exhaustive_best(lists, rules)
        for key, improve in (("greedy", False), ("improved", True)):
            plan = plan_signals(lists, season=SEASON, rules=rules, improve=improve)
            out[key].append(best - plan.p_match_any_with)
    return {k: np.array(v) for k, v in out.items()}


def test_the_packaged_exhaustive_search_agrees_with_the_one_written_here():
    rng = np.random.default_rng(4)
    for _ in range(25):
        lists, rules = random_small_case(rng)
        assert exhaustive_best_packaged(lists, season=SEASON, rules=rules) == pytest.approx(
            exhaustive_best(lists, rules), abs=1e-12
        )


def test_greedy_vs_exhaustive_on_seeded_cases():
    gaps = greedy_gaps(120, seed=11)
    for key in ("greedy", "improved"):
        assert gaps[key].max() <= 0.01, key
        assert gaps[key].min() >= -1e-9, key  # never above the optimum
    assert np.all(gaps["improved"] <= gaps["greedy"] + 1e-12)
    assert np.mean(gaps["improved"] < 1e-9) > 0.8  # the optimum itself, most of the time


# --------------------------------------------------------------------------- planner rules


@st.composite
def planner_case(draw):
    """Lists for 1-3 specialties among every coded specialty, random screens and rotations."""
    codes = draw(
        st.lists(
            st.sampled_from(["IM", "DR", "IR", "EM", "PSYCH", "ANES", "FM", "OBGYN", "URO"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    season = draw(st.sampled_from(["2023-2024", "2024-2025", "2025-2026", "2027-2028"]))
    lists = []
    for code in codes:
        n = draw(st.integers(0, 25))
        p = np.array(draw(st.lists(p_value, min_size=n, max_size=n)))
        screened = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        rotated = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        lists.append(SpecialtyList(code, ids(code, n), p, screened=screened, rotated=rotated))
    return lists, season


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=planner_case())
def test_planner_respects_counts_pools_screens_and_guidance(case):
    lists, season = case
    plan = plan_signals(lists, season=season)
    by_id = {pid: (item, j) for item in lists for j, pid in enumerate(item.program_ids)}
    used: dict[tuple[str, str], int] = {}
    for r in plan.signals.iter_rows(named=True):
        item, j = by_id[r["program_id"]]
        rule = signal_rules(item.specialty, season)
        assert not rule.unknown, "no signals where the counts are unknown"
        assert r["tier"] in rule.tiers()
        assert item.p_interview[j] > 0 and not item.screened[j]
        if rule.exclude_rotation_programs:
            assert not item.rotated[j]
        assert r["p_interview_with"] >= r["p_interview_without"]
        used[(rule.pool, r["tier"])] = used.get((rule.pool, r["tier"]), 0) + 1
    for (pool, tier), n in used.items():
        member = next(i.specialty for i in lists if signal_rules(i.specialty, season).pool == pool)
        assert n <= signal_rules(member, season).allowed()[tier]
    assert len(plan.signals["program_id"].unique()) == plan.signals.height
    assert plan.p_match_any_with >= plan.p_match_any_without - 1e-12
    assert plan.p_match_any_with_low <= plan.p_match_any_with <= plan.p_match_any_with_high + 1e-12


def test_dr_and_ir_draw_from_one_pool():
    rng = np.random.default_rng(5)
    lists = [
        SpecialtyList("IR", ids("IR", 20), rng.uniform(0.05, 0.6, 20)),
        SpecialtyList("DR", ids("DR", 20), rng.uniform(0.05, 0.6, 20)),
    ]
    plan = plan_signals(lists, season="2024-2025")
    counts = plan.signals.group_by("tier").len().sort("tier")
    assert dict(counts.iter_rows()) == {"gold": 6, "silver": 6}  # 6 + 6 together, not each
    assert set(plan.signals["specialty"]) == {"IR", "DR"}
    pools = plan.pools.filter(pl.col("pool") == "DR+IR")
    assert pools["allowed"].to_list() == [6, 6] and pools["used"].to_list() == [6, 6]


def test_pool_members_with_different_rules_use_the_smaller_counts_and_say_so():
    lists = [
        SpecialtyList("IR", ids("IR", 10), np.full(10, 0.3)),
        SpecialtyList("DR", ids("DR", 10), np.full(10, 0.3)),
    ]
    rules = {"IR": rules_with("IR", 4, 4), "DR": rules_with("DR", 6, 6)}
    plan = plan_signals(lists, season="2024-2025", rules=rules)
    assert plan.signals.height == 8
    assert any("differ" in note for note in plan.notes)


def test_greedy_gives_gold_first_to_the_largest_gold_gain():
    p = np.array([0.05, 0.3, 0.6, 0.9])
    lists = [SpecialtyList("IM", ids("IM", 4), p)]
    plan = plan_signals(lists, season=SEASON, rules={"IM": rules_with("IM", 1, 1)}, improve=False)
    g = match_given_interviews("IM")
    gains = []
    for j in range(4):
        q = p.copy()
        q[j] = with_signal(p[j], signal_effects().of("gold"))
        gains.append(p_match_from_interviews(q, g))
    gold = plan.signals.filter(pl.col("tier") == "gold")["program_id"].to_list()
    assert gold == [f"IM-{int(np.argmax(gains)):03d}"]


def test_em_guidance_no_signal_to_rotation_programs():
    p = np.array([0.5, 0.45, 0.4, 0.3, 0.2, 0.1, 0.05])
    rotated = np.array([True, True, False, False, False, False, False])
    lists = [SpecialtyList("EM", ids("EM", 7), p, rotated=rotated)]
    plan = plan_signals(lists, season="2024-2025")  # EM on ERAS: 5 signals
    chosen = set(plan.signals["program_id"])
    assert chosen == {"EM-002", "EM-003", "EM-004", "EM-005", "EM-006"}
    # in IM, a rotation program stays a candidate at a reduced effect
    im = [SpecialtyList("IM", ids("IM", 3), np.array([0.3, 0.3, 0.3]),
                        rotated=np.array([True, False, False]))]  # fmt: skip
    plan_im = plan_signals(im, season=SEASON, rules={"IM": rules_with("IM", 1, 1)})
    assert set(plan_im.signals["program_id"]) == {"IM-001", "IM-002"}
    plan_im3 = plan_signals(im, season=SEASON, rules={"IM": rules_with("IM", 1, 2)})
    row = plan_im3.signals.filter(pl.col("program_id") == "IM-000").row(0, named=True)
    assert row["rotation"] and "rotate here" in row["reason"]
    factor = signal_effects().rotation_factor
    assert row["p_interview_with"] == pytest.approx(
        float(with_signal(0.3, factor * signal_effects().of("silver")))
    )


def test_unknown_counts_place_no_signals_and_say_why():
    lists = [SpecialtyList("EM", ids("EM", 5), np.full(5, 0.3))]
    plan = plan_signals(lists, season=2027)
    assert plan.signals.height == 0
    assert any("ResidencyCAS" in note for note in plan.notes)
    assert plan.p_match_any_with == plan.p_match_any_without


def test_gold_before_silver_and_reasons_name_the_change():
    p = np.array([0.02, 0.18, 0.3, 0.45, 0.6, 0.9, 0.0])
    lists = [SpecialtyList("IM", ids("IM", 7), p)]
    plan = plan_signals(lists, season=SEASON, rules={"IM": rules_with("IM", 2, 3)})
    tiers = plan.signals["tier"].to_list()
    assert tiers == ["gold", "gold", "silver", "silver", "silver"]
    assert "IM-006" not in set(plan.signals["program_id"])
    first = plan.signals.row(0, named=True)
    pct_with = f"{first['p_interview_with']:.0%}"
    assert f"-> {pct_with} with a gold signal" in first["reason"]
    assert "IM programs" in first["reason"] and "\n" not in first["reason"]
    # each reported gain is what P(match anywhere) loses without that one signal
    g = match_given_interviews("IM")
    with_all = p.copy()
    for r in plan.signals.iter_rows(named=True):
        with_all[int(r["program_id"][3:])] = r["p_interview_with"]
    for r in plan.signals.iter_rows(named=True):
        j = int(r["program_id"][3:])
        alt = with_all.copy()
        alt[j] = p[j]
        loss = p_match_from_interviews(with_all, g) - p_match_from_interviews(alt, g)
        assert r["gain_p_match_any"] == pytest.approx(loss, abs=1e-12)
        assert "more than it would at any other of your IM programs" in r["reason"]


def test_plan_figures_agree_with_a_direct_recomputation():
    rng = np.random.default_rng(9)
    lists = [
        SpecialtyList("IR", ids("IR", 30), rng.uniform(0, 0.5, 30)),
        SpecialtyList("DR", ids("DR", 50), rng.uniform(0, 0.3, 50)),
        SpecialtyList("IM", ids("IM", 80), rng.uniform(0, 0.1, 80)),
    ]
    plan = plan_signals(lists, season=2027)
    values = []
    for item in lists:
        p = np.array(item.p_interview, dtype=float)
        for r in plan.signals.filter(pl.col("specialty") == item.specialty).iter_rows(named=True):
            j = list(item.program_ids).index(r["program_id"])
            assert r["p_interview_without"] == p[j]
            p[j] = r["p_interview_with"]
        values.append(float(p_match_from_interviews(p, match_given_interviews(item.specialty))))
    assert plan.p_match_any_with == pytest.approx(p_match_any(values), abs=1e-12)
    assert plan.specialties["p_match_with"].to_list() == pytest.approx(values, abs=1e-12)
    doc = plan.to_dict()
    assert {"program_id", "specialty", "tier", "p_interview_without", "p_interview_with",
            "reason"} <= set(doc["signals"][0])  # fmt: skip
    assert doc["p_match_any_without_signals"] <= doc["p_match_any"]


def test_bad_inputs_are_reported_all_at_once():
    lists = [
        SpecialtyList("IM", ["a", "b", "c"], np.array([0.2, 1.5, np.nan])),
        SpecialtyList("DR", ["a", "d"], np.array([0.1, 0.2]), screened=np.array([True])),
        SpecialtyList("IM", ["e"], np.array([0.1])),
        SpecialtyList("ZZ", ["f"], np.array([0.1])),
    ]
    with pytest.raises(DataValidationError) as info:
        plan_signals(lists, season=2027)
    text = str(info.value)
    assert "1.5" in text and "nan" in text  # both bad probabilities
    assert "screened" in text and "used once" in text and "each specialty once" in text
    assert "'ZZ'" in text
    assert len(info.value.problems) >= 6


# --------------------------------------------------------------------------- own choice


def test_own_choice_is_evaluated_and_rule_breaks_are_flagged():
    p = np.array([0.3, 0.2, 0.1, 0.05, 0.4, 0.0])
    screened = np.array([False, False, False, True, False, False])
    im = SpecialtyList("IM", ids("IM", 6), p, screened=screened)
    dr = SpecialtyList("DR", ids("DR", 5), np.full(5, 0.2))
    ir = SpecialtyList("IR", ids("IR", 4), np.full(4, 0.2))
    psych = SpecialtyList("PSYCH", ids("PSYCH", 2), np.array([0.3, 0.3]))
    choice = [
        ("IM-000", "Gold"), ("IM-001", "gold"), ("IM-002", "gold"), ("IM-004", "gold"),
        ("IM-003", "silver"),  # screened out
        ("IM-005", "silver"),  # zero chance
        ("IM-000", "silver"),  # duplicate
        ("DR-000", "gold"), ("DR-001", "gold"), ("DR-002", "gold"), ("DR-003", "gold"),
        ("IR-000", "gold"), ("IR-001", "gold"), ("IR-002", "gold"),  # 7 gold in DR+IR
        ("PSYCH-000", "gold"),  # PSYCH has plain signals
        ("PSYCH-001", "maybe"),
        ("NOPE-1", "silver"),
    ]  # fmt: skip
    ev = evaluate_signals([im, dr, ir, psych], choice, season="2025-2026")
    codes = ev.flags["code"].to_list()
    for code in ("too_many", "pool_exceeded", "screened_out", "zero_chance", "duplicate",
                 "wrong_tier", "unknown_tier", "not_on_list"):  # fmt: skip
        assert code in codes, code
    exceeded = ev.flags.filter(pl.col("code") == "pool_exceeded").row(0, named=True)
    assert exceeded["specialty"] == "DR+IR" and exceeded["program_id"] is None
    too_many = ev.flags.filter(pl.col("code") == "too_many").row(0, named=True)
    assert "4 gold" in too_many["message"] and "3 allowed" in too_many["message"]
    assert "DR and IR together" in ev.flags.filter(pl.col("code") == "pool_exceeded")["message"][0]
    # evaluated as entered: a screened or zero-chance signal changes nothing; others count
    rows = {r["program_id"]: r for r in ev.signals.iter_rows(named=True)}
    assert rows["IM-003"]["p_interview_with"] == rows["IM-003"]["p_interview_without"]
    assert rows["IM-005"]["p_interview_with"] == 0.0
    assert rows["PSYCH-000"]["tier"] == "single"
    assert ev.p_match_any_with > ev.p_match_any_without


def test_own_choice_probability_matches_a_direct_recomputation_and_em_guidance():
    p = np.array([0.4, 0.3, 0.2])
    em = SpecialtyList("EM", ids("EM", 3), p, rotated=np.array([True, False, False]))
    ev = evaluate_signals([em], {"EM-000": "yes", "EM-001": "yes"}, season="2024-2025")
    assert ev.flags.filter(pl.col("code") == "guidance").height == 1
    e = signal_effects().of("single")
    q = p.copy()
    # evaluated as entered (it is the rule that is broken), at the reduced rotation effect
    q[0] = with_signal(0.4, signal_effects().rotation_factor * e)
    q[1] = with_signal(0.3, e)
    g = match_given_interviews("EM")
    assert ev.p_match_any_with == pytest.approx(float(p_match_from_interviews(q, g)), abs=1e-12)


def test_own_choice_with_no_signals_is_the_baseline():
    im = SpecialtyList("IM", ids("IM", 4), np.full(4, 0.2))
    ev = evaluate_signals([im], [], season=SEASON)
    assert ev.signals.height == 0 and ev.flags.height == 0
    assert ev.p_match_any_with == ev.p_match_any_without


@settings(max_examples=80, deadline=None)
@given(
    p=st.lists(p_value, min_size=2, max_size=15),
    picks=st.lists(st.tuples(st.integers(0, 14), st.sampled_from(["gold", "silver"])), max_size=8),
    extra=st.tuples(st.integers(0, 14), st.sampled_from(["gold", "silver"])),
)
def test_adding_a_signal_never_lowers_p_match(p, picks, extra):
    n = len(p)
    im = SpecialtyList("IM", ids("IM", n), np.array(p))
    fm = SpecialtyList("FM", ids("FM", 3), np.array([0.1, 0.2, 0.3]))
    chosen = {f"IM-{j % n:03d}": t for j, t in picks}
    before = evaluate_signals([im, fm], chosen, season=SEASON)
    key = f"IM-{extra[0] % n:03d}"
    after_choice = dict(chosen)
    # a new signal, or an existing one made gold (the stronger tier)
    after_choice[key] = "gold" if key in after_choice else extra[1]
    after = evaluate_signals([im, fm], after_choice, season=SEASON)
    assert after.p_match_any_with >= before.p_match_any_with - 1e-12
    assert before.p_match_any_with >= before.p_match_any_without - 1e-12


# --------------------------------------------------------------------------- baselines


def test_baselines_use_the_same_candidates_and_the_planner_beats_them():
    rng = np.random.default_rng(21)
    n = 40
    p = rng.choice([0.0, 0.01, 0.05, 0.2, 0.4, 0.9], n) * rng.uniform(0.7, 1.0, n)
    screened = rng.random(n) < 0.2
    friendly = np.where(p > 0.5, 90.0, rng.uniform(0, 80, n))  # friendliest: sure things
    lists = [SpecialtyList("IM", ids("IM", n), p, screened=screened)]
    plan = plan_signals(lists, season=SEASON)
    friendly_plan = most_friendly_first(lists, {"IM": friendly}, season=SEASON)
    rand = random_signals(lists, season=SEASON, draws=300, seed=1)
    again = random_signals(lists, season=SEASON, draws=300, seed=1)
    assert rand == again  # seeded
    assert plan.p_match_any_with >= friendly_plan.p_match_any_with
    assert plan.p_match_any_with > rand.p_match_any_with
    assert rand.p_match_any_without == pytest.approx(plan.p_match_any_without)
    for frame in (friendly_plan.signals,):
        chosen = [int(pid.split("-")[1]) for pid in frame["program_id"]]
        assert not screened[chosen].any() and (p[chosen] > 0).all()
    assert friendly_plan.signals["tier"].to_list()[:3] == ["gold"] * 3
    # a random draw fills every count when there are enough candidates
    single = random_signals(lists, season=SEASON, draws=1, seed=3)
    assert single.p_match_any_with >= single.p_match_any_without


# --------------------------------------------------------------------------- demo applicants


@pytest.fixture(scope="module")
def demo():
    import analysis
    from analysis.config import demo_applicants_dir, demo_programs_path
    from analysis.planners.signal_lists import lists_from_chances

    programs = analysis.load_programs(demo_programs_path())
    model = analysis.MatchModel(programs)
    out = []
    for path in sorted(demo_applicants_dir().glob("*.yaml")):
        applicant = analysis.load_applicant(path)
        chances = analysis.interview_chances(applicant, model)
        engine = analysis.match_chances(applicant, model, curve=False)
        apps = dict(zip(engine.specialties["specialty"], engine.specialties["applications"],
                        strict=True))  # fmt: skip
        lists = lists_from_chances(chances, apps, include_screened=True)
        out.append((applicant, chances, engine, lists))
    return out


def test_on_the_demo_applicants_the_planner_beats_both_baselines(demo):
    for applicant, chances, engine, lists in demo:
        season = applicant.match_year
        plan = plan_signals(lists, season=season)
        assert plan.p_match_any_without == pytest.approx(engine.p_match_any, abs=1e-9)
        friendliness = {
            item.specialty: pl.DataFrame({"program_id": list(item.program_ids)})
            .join(chances.select("program_id", "img_friendliness"), on="program_id", how="left")[
                "img_friendliness"
            ]
            .to_numpy()
            for item in lists
        }
        friendly = most_friendly_first(lists, friendliness, season=season)
        rand = random_signals(lists, season=season, draws=100, seed=0)
        assert plan.p_match_any_with >= friendly.p_match_any_with - 1e-12
        assert plan.p_match_any_with >= rand.p_match_any_with - 1e-12
        screened = chances.filter(~pl.col("eligible"))["program_id"].to_list()
        assert not set(plan.signals["program_id"]) & set(screened)
