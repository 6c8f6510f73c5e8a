"""One applicant's whole plan: chances, away rotations, backup specialties, timeline.

`make_plan` runs the planners in order (rotations first, since they change the chances;
then the backup plan on the same applicant; then the calendar with the chosen rotations)
and computes the plan's P(match anywhere): the rank list of the backup plan followed by any
specialty the applicant already listed, the programs it recommends per specialty (never
fewer than the applicant already plans), and the planned rotations. So the plan never
lowers the applicant's chances: it only adds rotations, backups and applications.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from analysis.data.schemas import ApplicantProfile
from analysis.model.probability import MatchChances, match_chances, model_for
from analysis.planners.backup import BackupPlan, plan_backup
from analysis.planners.rotations import RotationPlan, plan_rotations
from analysis.planners.timeline import build_timeline


@dataclass
class Plan:
    """Everything `imgmatch plan` shows for one applicant."""

    applicant: ApplicantProfile
    chances_now: MatchChances
    chances_with_plan: MatchChances
    rotations: RotationPlan
    backup: BackupPlan
    timeline: pl.DataFrame
    as_of: dt.date

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `imgmatch plan --json` (more keys than required)."""
        rotations = self.rotations.to_dict()
        backup = self.backup.to_dict()
        return {
            "applicant_id": self.applicant.applicant_id,
            "as_of": self.as_of.isoformat(),
            "p_match_any": round(self.chances_with_plan.p_match_any, 3),
            "p_match_any_low": round(self.chances_with_plan.p_match_any_low, 3),
            "p_match_any_high": round(self.chances_with_plan.p_match_any_high, 3),
            "p_match_any_now": round(self.chances_now.p_match_any, 3),
            "rank_list": self.chances_with_plan.specialties["specialty"].to_list(),
            "rotations": rotations["rotations"],
            "rotation_total_cost_usd": rotations["rotation_total_cost_usd"],
            "rotation_budget_usd": rotations["budget_usd"],
            "rotation_notes": rotations["notes"],
            "backup": backup["backup"],
            "backup_notes": backup["notes"],
            "application_cost_usd": round(self.chances_with_plan.total_cost_usd),
            "timeline": [
                {
                    "date": r["start"].isoformat(),
                    "end": r["end"].isoformat() if r["end"] else None,
                    "event": r["event"],
                    "category": r["category"],
                    "approximate": r["approximate"],
                }
                for r in self.timeline.iter_rows(named=True)
            ],
        }


def make_plan(
    applicant: ApplicantProfile,
    programs: Any,
    *,
    target: float = 0.85,
    budget_usd: float | None = None,
    as_of: dt.date | None = None,
) -> Plan:
    """Rotations, backups and calendar for one applicant, and the plan's chances."""
    as_of = as_of or dt.date.today()
    model = model_for(programs, as_of=as_of)
    now = match_chances(applicant, model)
    rotations = plan_rotations(applicant, model, budget_usd, as_of=as_of)
    backup = plan_backup(applicant, model, target, as_of=as_of)
    # The plan keeps what the applicant already intends: their own specialties stay on the
    # rank list (after the recommended ones), with at least as many programs as now.
    included = backup.table.filter(pl.col("included"))
    applications = dict(zip(included["specialty"], included["applications"], strict=True))
    planned_now = dict(
        zip(now.specialties["specialty"], now.specialties["applications"], strict=True)
    )
    for s, n in planned_now.items():
        applications[s] = max(applications.get(s, 0), n)
    rank_list = [
        *backup.rank_list,
        *(s for s in applicant.target_specialties if s not in backup.rank_list),
    ]
    with_plan = match_chances(
        rotations.applicant_after or applicant,
        model,
        specialties=rank_list,
        applications=applications,
        rotations=rotations.program_ids,
    )
    timeline = build_timeline(applicant, rotations.rotations, as_of=as_of)
    return Plan(
        applicant=applicant,
        chances_now=now,
        chances_with_plan=with_plan,
        rotations=rotations,
        backup=backup,
        timeline=timeline,
        as_of=as_of,
    )
