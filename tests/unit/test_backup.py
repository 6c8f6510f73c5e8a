"""Backup planner: guide order, target, cap, cost against what each adds, closed seasons."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.applicants import load_applicant
from analysis.data.programs import load_programs
from analysis.data.reference import fee_schedule
from analysis.model.probability import match_chances, model_for
from analysis.planners.backup import _guide_note, adjacent_specialties, max_specialties, plan_backup
from tests.unit.engine_frames import applicant

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo():
    return model_for(load_programs(demo_programs_path()), as_of=AS_OF)


def test_ir_backups_follow_the_guide_order():
    assert adjacent_specialties("IR")[:5] == ["DR", "IM", "GS", "ANES", "PMR"]


def test_sample_applicant_backs_up_with_dr_then_im(demo):
    amira = load_applicant(demo_applicants_dir() / "amira_ir.yaml")
    plan = plan_backup(amira, demo, as_of=AS_OF)
    assert plan.rank_list[:3] == ["IR", "DR", "IM"]
    table = plan.table
    assert table["order"].to_list() == list(range(1, table.height + 1))
    dr = table.filter(pl.col("specialty") == "DR").row(0, named=True)
    assert "ESIR" in dr["path_back"]
    assert dr["guide_applications"] == "60-100" and dr["note"]
    # P(match anywhere) accumulates as 1 - prod(1 - p) over the included specialties
    included = table.filter(pl.col("included"))
    p = included["p_match"].to_numpy()
    assert plan.p_match_any == pytest.approx(1 - (1 - p).prod())
    assert included["p_match_any_cumulative"].is_sorted()
    assert plan.p_match_first == pytest.approx(p[0])


def test_backups_stop_at_the_target_and_fees_reset_per_specialty(demo):
    strong = applicant(applicant_id="strong", step2_score=262, usce_months=8,
                       us_letters={"IR": 3}, target_specialties=["IR"])  # fmt: skip
    plan = plan_backup(strong, demo, target=0.6, as_of=AS_OF)
    included = plan.table.filter(pl.col("included"))
    assert plan.reached
    assert included["p_match_any_cumulative"][-1] >= 0.6
    if included.height > 1:
        assert included["p_match_any_cumulative"][-2] < 0.6  # the last one was needed
    fees = fee_schedule()
    for r in included.iter_rows(named=True):
        assert r["eras_cost_usd"] == fees.eras_cost(r["applications"])
    # one number: the plan's fees are those of the final rank list (ERAS, transcript, NRMP)
    assert plan.total_cost_usd == plan.chances.total_cost_usd
    assert plan.total_cost_usd >= (
        included["eras_cost_usd"].sum() + fees.transcript_usd + fees.nrmp_registration_usd
    )


def test_invalid_target_is_refused(demo):
    with pytest.raises(ValueError, match="target"):
        plan_backup(applicant(), demo, target=1.5)


def test_specialties_are_capped_and_each_backup_shows_its_cost_against_what_it_adds(demo):
    weak = applicant(applicant_id="weak", step2_score=228, usce_months=0, us_letters={},
                     target_specialties=["ANES"])  # fmt: skip
    plan = plan_backup(weak, demo, as_of=AS_OF)
    cap = max_specialties()
    assert cap == 3 and len(plan.rank_list) <= cap
    table = plan.table
    included = table.filter(pl.col("included"))
    # what each specialty adds sums to the plan's P(match anywhere): one number, two views
    assert included["adds"].sum() == pytest.approx(plan.p_match_any)
    assert plan.p_match_any == pytest.approx(plan.chances.p_match_any)
    for r in included.filter(pl.col("order") > 1).iter_rows(named=True):
        assert r["cost_per_point_usd"] == pytest.approx(r["eras_cost_usd"] / (r["adds"] * 100))
        assert any(n.startswith(f"Adding {r['specialty']} ") for n in plan.notes)
    left = table.filter(~pl.col("included"))
    assert left["why_not"].is_not_null().all()
    if len(plan.rank_list) == cap and left.height:
        capped = left.filter(pl.col("why_not").str.contains("already has 3 specialties"))
        for r in capped.iter_rows(named=True):
            assert any(n.startswith(f"Not added: {r['specialty']} would add") for n in plan.notes)
    assert any("Essential Backup Specialty Planning" in n for n in plan.notes)  # the reasoning


def test_own_specialties_are_kept_even_past_the_cap_and_the_plan_says_so(demo):
    many = applicant(applicant_id="many", target_specialties=["IR", "DR", "IM", "FM"])
    plan = plan_backup(many, demo, as_of=AS_OF)
    assert plan.rank_list == ["IR", "DR", "IM", "FM"]
    assert any("You list 4 specialties, more than the 3" in n for n in plan.notes)


def test_program_count_outside_the_guide_range_says_why_in_one_sentence(demo):
    for step2, needle in ((226, "fewer than the guide's 60-100, because"),
                          (240, "fewer than the guide's 60-100, because")):  # fmt: skip
        person = applicant(applicant_id="range", step2_score=step2, target_specialties=["IR"])
        dr = plan_backup(person, demo, as_of=AS_OF).table.filter(pl.col("specialty") == "DR")
        note = dr["note"][0]
        assert dr["applications"][0] < 60 and needle in note
        assert note.count(". ") == 0 and note.endswith(".")  # one sentence
    assert "more than the guide's 80-150, because" in _guide_note("IM", 207, None, "80-150")
    assert "within the guide's 80-150" in _guide_note("IM", 100, 100, "80-150")
    # the applicant's own larger plan is kept and named before the comparison
    own = applicant(applicant_id="own", step2_score=240, target_specialties=["IR", "IM"],
                    applications={"IM": 300})  # fmt: skip
    im = (
        plan_backup(own, demo, as_of=AS_OF)
        .table.filter(pl.col("specialty") == "IM")
        .row(0, named=True)
    )
    assert im["applications"] >= 300 and im["note"].startswith("your plan: 300 programs; ")


def test_a_closed_season_adds_no_specialty_and_no_program(demo):
    late = applicant(match_year=2027, target_specialties=["IR", "DR"])
    plan = plan_backup(late, demo, as_of=dt.date(2026, 12, 1))
    assert plan.rank_list == ["IR", "DR"]
    assert plan.table["included"].all()
    now = match_chances(late, demo, curve=False)
    assert plan.applications == dict(
        zip(now.specialties["specialty"], now.specialties["applications"], strict=True)
    )
    assert plan.p_match_any == pytest.approx(now.p_match_any)
    assert "effectively closed" in plan.notes[0]
