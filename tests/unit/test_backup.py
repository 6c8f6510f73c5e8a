"""Backup planner: adjacency order, target, costs per specialty, the seed's applicant."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.applicants import load_applicant
from analysis.data.programs import load_programs
from analysis.data.reference import fee_schedule
from analysis.model.probability import model_for
from analysis.planners.backup import adjacent_specialties, plan_backup
from tests.unit.engine_frames import applicant

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo():
    return model_for(load_programs(demo_programs_path()), as_of=AS_OF)


def test_ir_backups_follow_the_guide_order():
    assert adjacent_specialties("IR")[:5] == ["DR", "IM", "GS", "ANES", "PMR"]


def test_seed_sample_applicant_backs_up_with_dr_then_im(demo):
    amira = load_applicant(demo_applicants_dir() / "amira_ir.yaml")
    plan = plan_backup(amira, demo, as_of=AS_OF)
    assert plan.rank_list[:3] == ["IR", "DR", "IM"]
    table = plan.table
    assert table["order"].to_list() == list(range(1, table.height + 1))
    dr = table.filter(pl.col("specialty") == "DR").row(0, named=True)
    assert "ESIR" in dr["path_back"]
    assert dr["seed_applications"] == "60-100" and dr["note"]
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
    assert plan.total_cost_usd == pytest.approx(
        included["eras_cost_usd"].sum() + fees.transcript_usd + fees.nrmp_registration_usd
    )


def test_invalid_target_is_refused(demo):
    with pytest.raises(ValueError, match="target"):
        plan_backup(applicant(), demo, target=1.5)
