"""Program signals inside the model and for one applicant: every number agrees.

The model with signals (`match_chances(signals=...)`, `interview_chances(signals=...)`) against
the signal planner's own arithmetic; nothing changes without signals; no program opens; an
applicant's own signals are read from the profile and the table's `signal` column.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import analysis
from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.signal_rules import signal_rules
from analysis.errors import DataValidationError
from analysis.model.probability import interview_chances, match_chances, model_for
from analysis.model.signals import signal_effects, signal_map, with_signal
from analysis.planners.signal_choice import own_signals
from analysis.planners.signals import signal_plan

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def programs():
    return analysis.load_programs(demo_programs_path())


@pytest.fixture(scope="module")
def model(programs):
    return model_for(programs, as_of=AS_OF)


@pytest.fixture(scope="module")
def applicants():
    return {
        p.stem: analysis.load_applicant(p) for p in sorted(demo_applicants_dir().glob("*.yaml"))
    }


def _frame_eq(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns
    assert a.equals(b)


def test_no_signals_changes_nothing(model, applicants):
    a = applicants["amira_ir"]
    base = match_chances(a, model)
    for empty in (None, {}, []):
        again = match_chances(a, model, signals=empty)
        assert again.p_match_any == base.p_match_any
        _frame_eq(again.specialties, base.specialties)
        _frame_eq(again.curves, base.curves)
    plain = interview_chances(a, model)
    assert plain["signal"].null_count() == plain.height
    _frame_eq(plain, interview_chances(a, model, signals={}))


def test_a_signal_moves_only_its_program_on_the_log_odds_scale_below_the_ceiling(model, applicants):
    a = applicants["samuel_im"]
    plain = interview_chances(a, model, specialties=["IM"])
    open_ = plain.filter(pl.col("eligible") & (pl.col("p_interview") > 0.02))
    target = open_["program_id"][len(open_) // 2]
    screened = plain.filter(~pl.col("eligible"))["program_id"][0]
    signals = {target: "gold", screened: "silver"}
    signed = interview_chances(a, model, specialties=["IM"], signals=signals)
    both = plain.join(signed, on="program_id", suffix="_s")
    others = both.filter(~pl.col("program_id").is_in(list(signals)))
    assert (others["p_interview"] == others["p_interview_s"]).all()
    assert (others["p_interview_low"] == others["p_interview_low_s"]).all()
    row = both.filter(pl.col("program_id") == target).row(0, named=True)
    e = signal_effects()
    expected = with_signal(row["p_interview"], e.of("gold"), p_considered=row["p_considered"])
    assert row["p_interview_s"] == pytest.approx(float(expected), rel=1e-9)
    assert row["p_interview_s"] > row["p_interview"]
    assert row["p_interview_s"] <= row["p_considered"] + 1e-12
    assert row["p_considered_s"] == row["p_considered"]  # a signal never raises the ceiling
    # the interval ends use the low and high effects
    low = with_signal(row["p_interview_low"], e.of("gold", "low"), p_considered=row["p_considered"])
    high = with_signal(
        row["p_interview_high"], e.of("gold", "high"), p_considered=row["p_considered"]
    )
    assert row["p_interview_low_s"] == pytest.approx(float(low), rel=1e-9)
    assert row["p_interview_high_s"] == pytest.approx(float(high), rel=1e-9)
    shut = both.filter(pl.col("program_id") == screened).row(0, named=True)
    assert shut["p_interview_s"] == shut["p_interview"] == 0.0  # never opens a screened program
    assert signed.filter(pl.col("program_id") == target)["signal"][0] == "gold"


def test_p_considered_bounds_p_interview_everywhere(model, applicants):
    for a in applicants.values():
        table = interview_chances(a, model)
        assert (table["p_interview"] <= table["p_considered"] + 1e-12).all()
        assert (table.filter(~pl.col("eligible"))["p_considered"] == 0).all()


def test_signals_at_a_rotation_program_count_at_the_rotation_factor(model, applicants):
    a = applicants["amira_ir"]
    plain = interview_chances(a, model, specialties=["IM"])
    pid = plain.filter(pl.col("eligible") & (pl.col("p_interview") > 0.02))["program_id"][0]
    rotated = interview_chances(a, model, specialties=["IM"], rotations=[pid])
    signed = interview_chances(a, model, specialties=["IM"], rotations=[pid], signals={pid: "gold"})
    before = rotated.filter(pl.col("program_id") == pid).row(0, named=True)
    after = signed.filter(pl.col("program_id") == pid)["p_interview"][0]
    e = signal_effects()
    expected = with_signal(
        before["p_interview"], e.rotation_factor * e.of("gold"), p_considered=before["p_considered"]
    )
    assert after == pytest.approx(float(expected), rel=1e-9)


def test_the_planner_and_the_model_give_the_same_p_match_for_every_demo_applicant(
    model, applicants
):
    for a in applicants.values():
        plan = signal_plan(a, model, baselines=False)
        base = match_chances(a, model, curve=False)
        assert plan.p_match_any_without == pytest.approx(base.p_match_any, abs=1e-9)
        after = match_chances(a, model, curve=False, signals=plan.optimized_map())
        assert plan.p_match_any_with == pytest.approx(after.p_match_any, abs=1e-9)
        per = dict(zip(after.specialties["specialty"], after.specialties["p_match"], strict=True))
        for r in plan.optimized.specialties.iter_rows(named=True):
            assert r["p_match_with"] == pytest.approx(per[r["specialty"]], abs=1e-9)
        # the interview chances the planner reports are the model's
        table = interview_chances(a, model, signals=plan.optimized_map())
        p = dict(zip(table["program_id"], table["p_interview"], strict=True))
        for r in plan.optimized.signals.iter_rows(named=True):
            assert r["p_interview_with"] == pytest.approx(p[r["program_id"]], rel=1e-9)


def test_demo_applicants_no_signal_to_a_screened_program_and_counts_within_rules(model, applicants):
    for a in applicants.values():
        plan = signal_plan(a, model)
        table = interview_chances(a, model)
        shut = set(table.filter(~pl.col("eligible") | (pl.col("p_interview") <= 0))["program_id"])
        assert not shut & set(plan.optimized.signals["program_id"])
        for row in plan.optimized.pools.iter_rows(named=True):
            assert row["allowed"] is None or row["used"] <= row["allowed"]
        member = {signal_rules(s, a.match_year).pool: s for s in plan.specialties}
        for pool, spec in member.items():
            allowed = signal_rules(spec, a.match_year).allowed()
            used = plan.optimized.pools.filter(pl.col("pool") == pool)
            for tier, n in zip(used["tier"], used["used"], strict=True):
                assert n <= allowed.get(tier, 0)
        assert plan.p_match_any_with >= plan.most_friendly.p_match_any_with - 1e-12
        assert plan.p_match_any_with >= plan.random.p_match_any_with - 1e-12


def test_own_signals_from_the_profile_are_evaluated_and_agree_with_the_model(model, applicants):
    a = applicants["samuel_im"]
    table = interview_chances(a, model, specialties=["IM"])
    ok = table.filter(pl.col("eligible") & (pl.col("p_interview") > 0))["program_id"].to_list()
    # one deep in the list (outside the programs counted without signals): applied to anyway
    mine = {ok[0]: "gold", ok[-1]: "silver", ok[1]: "single"}
    profile = analysis.ApplicantProfile.model_validate({**a.model_dump(), "signals": mine})
    plan = signal_plan(profile, model, baselines=False)
    assert plan.own is not None
    codes = plan.own.flags["code"].to_list()
    assert "wrong_tier" in codes  # IM has gold and silver, not single: counted as silver
    assert plan.own_map == {**mine, ok[1]: "silver"}
    direct = match_chances(profile, model, curve=False, signals=plan.own_map)
    assert plan.own.p_match_any_with == pytest.approx(direct.p_match_any, abs=1e-9)
    assert direct.p_match_any > match_chances(profile, model, curve=False).p_match_any
    # the one deep in the list is applied to, as match_chances does with signaled programs
    listed = {pid for item in [plan.own] for pid in item.signals["program_id"]}
    assert ok[-1] in listed
    doc = plan.to_dict()
    assert doc["own_signals"]["p_match_any"] == round(plan.own.p_match_any_with, 4)
    assert doc["own_signals"]["difference_from_optimized"] <= 1e-4


def test_own_signals_from_the_table_signal_column(tmp_path, programs, applicants):
    a = applicants["zoe_psych"]
    model = model_for(programs, as_of=AS_OF)
    table = interview_chances(a, model, specialties=["PSYCH"])
    picks = table.filter(pl.col("eligible"))["program_id"].head(3).to_list()
    tracker = programs.filter(pl.col("specialty") == "PSYCH").with_columns(
        signal=pl.when(pl.col("program_id").is_in(picks)).then(pl.lit("yes")).otherwise(None)
    )
    path = tmp_path / "my_programs.csv"
    tracker.write_csv(path)
    mine = analysis.load_programs(path)
    found, notes = own_signals(a, mine)
    assert found == dict.fromkeys(picks, "single") and notes == []
    plan = signal_plan(a, model_for(mine, as_of=AS_OF), specialties=["PSYCH"], baselines=False)
    assert plan.own is not None and plan.own.signals.height == 3
    assert set(plan.own.signals["program_id"]) == set(picks)
    # the profile wins where both give a tier, and a note says so
    both = analysis.ApplicantProfile.model_validate(
        {**a.model_dump(), "signals": {picks[0]: "gold"}}
    )
    found, notes = own_signals(both, mine)
    assert found[picks[0]] == "gold" and len(notes) == 1 and picks[0] in notes[0]


def test_bad_tier_words_are_reported_together():
    with pytest.raises(DataValidationError) as info:
        signal_map({"a": "platinum", "b": "gold", "c": "maybe"})
    assert len(info.value.problems) == 2
    assert signal_map([("a", "Gold signal"), ("b", "yes"), ("c", "no")]) == {
        "a": "gold",
        "b": "single",
    }


def test_signals_on_the_whole_plan_start_from_the_plans_p_match(model, applicants):
    from analysis.planners.plan import make_plan
    from analysis.planners.signals import signals_for_plan

    for name in ("amira_ir", "samuel_im"):
        a = applicants[name]
        plan = make_plan(a, model, as_of=AS_OF)
        result = signals_for_plan(plan, model, baselines=False)
        assert result.specialties == plan.backup.rank_list
        assert result.p_match_any_without == pytest.approx(
            plan.p_match_any_without_signals, abs=1e-9
        )
        assert result.p_match_any_with == pytest.approx(plan.chances_with_plan.p_match_any)
        after = match_chances(
            plan.rotations.applicant_after or a,
            model,
            specialties=plan.backup.rank_list,
            applications=plan.backup.applications,
            rotations=plan.rotations.program_ids,
            curve=False,
            signals=result.optimized_map(),
        )
        assert result.p_match_any_with == pytest.approx(after.p_match_any, abs=1e-9)
        assert result.p_match_any_with > result.p_match_any_without


def test_effect_table_and_the_demo_comparison(model, applicants):
    from analysis.model.signals import effect_table
    from analysis.planners.signals import compare_signals

    table = effect_table(starts=(0.18, 0.9))
    gold = table.filter(pl.col("tier") == "gold").row(0, named=True)
    assert gold["from_18"] == pytest.approx(float(with_signal(0.18, 1.3)))
    assert gold["from_18"] - 0.18 > gold["from_90"] - 0.9  # a middling chance moves most
    assert table["low"].to_list() <= table["central"].to_list() <= table["high"].to_list()
    chosen = [applicants["samuel_im"], applicants["zoe_psych"]]
    frame = compare_signals(chosen, model, draws=50)
    assert frame["applicant_id"].to_list() == ["samuel_im", "zoe_psych"]
    for r in frame.iter_rows(named=True):
        assert r["optimized"] >= max(r["most_friendly_first"], r["random"]) > r["without"]
        assert r["to_screened_out"] == 0 and r["signals"] > 0
