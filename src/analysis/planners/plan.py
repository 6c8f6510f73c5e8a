"""One applicant's whole plan: chances, rotations, backup specialties, levers, timeline.

`make_plan` refuses a season that is over (`SeasonOverError`) and plans a season under way as
it is. It runs the planners in order: rotations first (they change the chances), then the
backup plan on the applicant with those rotations (so every number of the backup table already
includes them), then the levers still open and the calendar with the chosen rotations.

One number per fact: the plan's P(match anywhere) is `chances_with_plan`, the final rank list
with its programs, the planned rotations and the program signals the signal planner chooses
for them (`analysis.planners.signals`; once applications have closed, the applicant's own
signals); the steps on the way are the chances now (`chances_now`), with the rotations alone
(`rotations.p_match_any_after`) and the plan before signals (`backup.chances`,
`p_match_any_without_signals`). The
headline, the notes, the command line and the report all read these fields. The plan only
adds rotations, backups and applications, so it never lowers the applicant's chances.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from analysis.data.schemas import ApplicantProfile
from analysis.model.probability import MatchChances, match_chances, model_for
from analysis.planners.backup import BackupPlan, plan_backup
from analysis.planners.levers import levers as levers_for
from analysis.planners.rotations import RotationPlan, plan_rotations
from analysis.planners.season import check_season, phase_note
from analysis.planners.signals import ApplicantSignals, signals_for_plan
from analysis.planners.timeline import build_timeline
from analysis.planners.wording import percent


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
    levers: pl.DataFrame | None = None
    season_phase: str = "preparing"
    season_note: str | None = None
    signals: ApplicantSignals | None = None

    @property
    def p_match_any_without_signals(self) -> float:
        """P(match anywhere) with the plan's rotations and backups, before any signal."""
        return self.backup.p_match_any

    @property
    def signals_used(self) -> str | None:
        """Which signals the whole plan counts: "optimized", "own" (applications closed) or
        None (no signal changes it)."""
        if self.signals is None or self.chances_with_plan is self.backup.chances:
            return None
        return "own" if self.season_phase == "interviewing" else "optimized"

    @property
    def p_match_any_with_rotations(self) -> float:
        """P(match anywhere) with the planned rotations and the applicant's own rank list."""
        return self.rotations.p_match_any_after

    def headline(self) -> str:
        """The plan in one sentence: P(match anywhere) now, with the rotations, with the plan."""
        now, after = self.chances_now, self.chances_with_plan
        steps = [f"{percent(now.p_match_any)} now"]
        if self.rotations.rotations.height:
            steps.append(f"{percent(self.p_match_any_with_rotations)} with the rotations")
        if self.signals_used:
            steps.append(f"{percent(self.p_match_any_without_signals)} before signals")
        steps.append(f"{percent(after.p_match_any)} with the whole plan")
        interval = f"{percent(after.p_match_any_low)}-{percent(after.p_match_any_high)}"
        return (
            f"P(match anywhere): {' -> '.join(steps)} (80% interval {interval}); rank list "
            f"{' -> '.join(self.backup.rank_list)}."
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `imgmatch plan --json` (more keys than required)."""
        rotations = self.rotations.to_dict()
        backup = self.backup.to_dict()
        signals = {} if self.signals is None else self.signals.to_dict()
        if self.signals_used == "own" and signals.get("own_signals"):
            signals["signals"] = signals["own_signals"]["signals"]
        return {
            "applicant_id": self.applicant.applicant_id,
            "as_of": self.as_of.isoformat(),
            "season_phase": self.season_phase,
            "season_note": self.season_note,
            "headline": self.headline(),
            "p_match_any": round(self.chances_with_plan.p_match_any, 3),
            "p_match_any_low": round(self.chances_with_plan.p_match_any_low, 3),
            "p_match_any_high": round(self.chances_with_plan.p_match_any_high, 3),
            "p_match_any_now": round(self.chances_now.p_match_any, 3),
            "p_match_any_with_rotations": round(self.p_match_any_with_rotations, 3),
            "rank_list": self.backup.rank_list,
            "rotations": rotations["rotations"],
            "rotation_total_cost_usd": rotations["rotation_total_cost_usd"],
            "rotation_budget_usd": rotations["budget_usd"],
            "worthwhile_rotations": rotations["worthwhile_rotations"],
            "rotation_notes": rotations["notes"],
            "backup": backup["backup"],
            "backup_left_out": backup["left_out"],
            "max_specialties": backup["max_specialties"],
            "backup_notes": backup["notes"],
            "application_cost_usd": round(self.chances_with_plan.total_cost_usd),
            "levers": [] if self.levers is None else lever_records(self.levers),
            **signals,
            "signals_used": self.signals_used,
            "p_match_any_without_signals": round(self.p_match_any_without_signals, 3),
            "timeline": [
                {
                    "date": r["start"].isoformat(),
                    "end": r["end"].isoformat() if r["end"] else None,
                    "event": r["event"],
                    "category": r["category"],
                    "kind": r["kind"],
                    "status": r["status"],
                    "approximate": r["approximate"],
                    "source": r["source"],
                }
                for r in self.timeline.iter_rows(named=True)
            ],
        }


def lever_records(levers: pl.DataFrame) -> list[dict[str, Any]]:
    """The levers as JSON records (`chances --json` and `plan --json`)."""
    return [
        {
            "lever": r["lever"],
            "label": r["label"],
            "p_match_any_after": None
            if r["p_match_any_after"] is None
            else round(r["p_match_any_after"], 3),
            "delta": None if r["delta"] is None else round(r["delta"], 3),
            "available": r["available"],
            "reason": r["reason"],
        }
        for r in levers.iter_rows(named=True)
    ]


def make_plan(
    applicant: ApplicantProfile,
    programs: Any,
    *,
    target: float = 0.85,
    budget_usd: float | None = None,
    as_of: dt.date | None = None,
) -> Plan:
    """Rotations, backups, levers and calendar for one applicant, and the plan's chances.

    Raises:
        SeasonOverError: the applicant's Match season is over at `as_of` (a
            `DataValidationError`: the command line reports it as bad input).
    """
    as_of = as_of or dt.date.today()
    phase = check_season(applicant.match_year, as_of)
    model = model_for(programs, as_of=as_of)
    now = match_chances(applicant, model)
    rotations = plan_rotations(applicant, model, budget_usd, as_of=as_of)
    backup = plan_backup(
        rotations.applicant_after or applicant,
        model,
        target,
        as_of=as_of,
        rotations=rotations.program_ids,
    )
    assert backup.chances is not None
    timeline = build_timeline(applicant, rotations.rotations, as_of=as_of)
    plan = Plan(
        applicant=applicant,
        chances_now=now,
        chances_with_plan=backup.chances,
        rotations=rotations,
        backup=backup,
        timeline=timeline,
        as_of=as_of,
        levers=levers_for(applicant, model, as_of=as_of),
        season_phase=phase,
        season_note=phase_note(applicant.match_year, as_of),
    )
    plan.signals = signals_for_plan(plan, model, draws=100)
    closed = phase == "interviewing"  # signals went with the applications
    chosen = plan.signals.own_map if closed else plan.signals.optimized_map()
    if chosen:
        plan.chances_with_plan = match_chances(
            rotations.applicant_after or applicant,
            model,
            specialties=backup.rank_list,
            applications=backup.applications,
            rotations=rotations.program_ids,
            signals=chosen,
            curve=False,
        )
    return plan
