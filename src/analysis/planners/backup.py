"""Backup specialties and dual applying: which, in what order, how many programs, what cost.

Method. The options are the specialties adjacent to the first choice, in the order of
`params/backup.yaml` (for IR the backup-planning guide's list: DR with ESIR, then IM, general
surgery, anesthesiology, PM&R; sensible lists for the other specialties), restricted to those
present in the program table. For each option, with this applicant:

- P(match) in that specialty alone (`analysis.probability`), with the number of programs the
  model recommends: the fewest best-fit programs reaching 80% there, or, when 80% is out of
  reach, the point of diminishing returns (10 more programs add under 1 point); a specialty
  where P(match) stays under 5% even with every eligible program is not a realistic backup
  and is left out;
- the share of its programs known to sponsor the applicant's visa (and the share unknown);
- whether it keeps a path back to the first choice (backup.yaml, from the guide: DR keeps
  the most direct path back to IR through ESIR or an independent IR residency);
- the ERAS cost (fee tiers reset for each specialty, reference/fees.csv).

Backups are added in order until P(match anywhere) reaches the target (default 0.85) or the
options run out; the rank list puts the first choice on top, then the backups in that order
(the guide: "rank all IR programs... then DR programs... then IM"), so
P(match anywhere) = 1 - prod(1 - P_i) and P(match in the first choice) is unchanged by
backups. Where the model's number of programs falls outside a guide's rule of thumb (DR
60-100, IM 80-150), both are shown with the reason.

Known limits: independence between specialties given the applicant (in reality a strong
interview season is strong everywhere); no cost of a second personal statement or letters;
the guide's adjacency is IR-specific, the other lists are judgement.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from analysis.config import load_params
from analysis.data.reference import fee_schedule
from analysis.data.schemas import ApplicantProfile
from analysis.data.vocabulary import specialty_name
from analysis.model.friendliness import visa_sponsorship
from analysis.model.probability import match_chances, model_for

_TABLE_SCHEMA = {
    "order": pl.Int64,
    "specialty": pl.String,
    "name": pl.String,
    "included": pl.Boolean,
    "p_match": pl.Float64,
    "p_match_low": pl.Float64,
    "p_match_high": pl.Float64,
    "p_match_first": pl.Float64,
    "p_match_any_cumulative": pl.Float64,
    "applications": pl.Int64,
    "eligible_programs": pl.Int64,
    "recommended_applications": pl.Int64,
    "eras_cost_usd": pl.Float64,
    "cumulative_cost_usd": pl.Float64,
    "share_sponsoring_visa": pl.Float64,
    "share_visa_unknown": pl.Float64,
    "path_back": pl.String,
    "seed_applications": pl.String,
    "note": pl.String,
}


def params() -> dict[str, Any]:
    """The documented backup parameters (`params/backup.yaml`)."""
    return load_params("backup")


def adjacent_specialties(first_choice: str) -> list[str]:
    """Backup options for a first choice, in the guides' order (backup.yaml)."""
    adjacent = params()["adjacent"]
    return [s for s in adjacent.get(first_choice, adjacent["default"]) if s != first_choice]


@dataclass
class BackupPlan:
    """The recommended rank-list structure: first choice, then backups until the target."""

    applicant_id: str
    table: pl.DataFrame
    rank_list: list[str]
    p_match_first: float
    p_match_any: float
    total_cost_usd: float
    target: float
    reached: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: the included backups (the first choice is `rank_list[0]`)."""
        backups = self.table.filter(pl.col("included") & (pl.col("order") > 1))
        return {
            "rank_list": self.rank_list,
            "p_match_first": round(self.p_match_first, 3),
            "p_match_any": round(self.p_match_any, 3),
            "target": self.target,
            "reached": self.reached,
            "total_cost_usd": round(self.total_cost_usd),
            "backup": [
                {
                    "specialty": r["specialty"],
                    "p_match": round(r["p_match"], 3),
                    "applications": r["applications"],
                    "eras_cost_usd": round(r["eras_cost_usd"]),
                    "path_back": r["path_back"],
                    "share_sponsoring_visa": round(r["share_sponsoring_visa"], 3),
                    "seed_applications": r["seed_applications"],
                    "note": r["note"],
                }
                for r in backups.iter_rows(named=True)
            ],
            "notes": self.notes,
        }


def _visa_shares(model: Any, applicant: ApplicantProfile, specialty: str) -> tuple[float, float]:
    """(share known to sponsor the applicant's visa, share unknown) among a specialty's programs."""
    table = model.programs.filter(pl.col("specialty") == specialty)
    if table.height == 0:
        return 0.0, 0.0
    known_yes, unknown = visa_sponsorship(applicant.visa_needed)
    shares = table.select(yes=known_yes.mean(), unknown=unknown.mean())
    return float(shares["yes"][0]), float(shares["unknown"][0])


def _seed_note(specialty: str, n: int | None, rec: int | None, seed: str | None) -> str:
    """Compare the model's number of programs with a guide's rule of thumb, and say why."""
    if n is None:
        return (
            f"out of reach for this profile: P(match) in {specialty} stays under 5% even "
            "applying to every eligible program"
        )
    reach = (
        f"{n} best-fit programs reach 80% in {specialty} alone"
        if rec is not None
        else f"80% is out of reach in {specialty} alone; past {n} programs, 10 more add "
        "under a point"
    )
    if not seed:
        return reach + "."
    match = re.fullmatch(r"(\d+)-(\d+)", seed)
    if not match:
        return f"{reach}; the guide says: {seed}."
    low, high = int(match.group(1)), int(match.group(2))
    if n < low:
        return (
            f"{reach}, fewer than the guide's {seed}: the guide's figure is for an average IMG "
            "applying without program-level data; this list is ranked by your own interview "
            "chances (visa sponsors, IMG-heavy programs first), so the extra programs add little."
        )
    if n > high:
        return (
            f"{reach}, more than the guide's {seed}: your interview chances are below those of "
            "the average IMG the guide has in mind, so a wider net pays."
        )
    return f"{reach}, within the guide's {seed}."


def plan_backup(
    applicant: ApplicantProfile,
    programs: Any,
    target: float = 0.85,
    *,
    as_of: dt.date | None = None,
) -> BackupPlan:
    """Backup specialties in the guides' order until P(match anywhere) reaches `target`.

    Returns a `BackupPlan` whose `table` has one row per option (the first choice is order 1):
    P(match) alone with its 80% interval, recommended programs and ERAS cost, visa shares,
    path back to the first choice, the guide's rule of thumb and a note comparing them.
    """
    if not 0 < target < 1:
        raise ValueError(f"target must be between 0 and 1, not {target}")
    model = model_for(programs, as_of=as_of)
    first = applicant.target_specialties[0]
    present = set(model.specialties())
    if first not in present:
        raise ValueError(f"the program table has no {first} programs to plan around")
    options = [s for s in adjacent_specialties(first) if s in present]
    paths = params()["path_back"].get(first, {})
    seeds = params()["seed_applications"]
    fees = fee_schedule()
    rows = []
    p_none = 1.0
    cost = 0.0
    reached = False
    first_p = 0.0
    for order, s in enumerate([first, *options], start=1):
        alone = match_chances(applicant, model, specialties=[s])
        row = alone.specialties.row(0, named=True)
        rec = row["recommended_applications"]
        planned = applicant.applications.get(s)
        if order == 1:
            n = row["applications"]  # the applicant's own (or default) plan for the first choice
            note = f"your plan: {n} programs; " + _seed_note(s, rec or n, rec, seeds.get(s))
            realistic = True
        else:
            suggested = rec if rec is not None else row["diminishing_returns_applications"]
            realistic = suggested is not None
            n = max(int(suggested or 0), int(planned or 0)) or row["applications"]
            note = _seed_note(s, suggested, rec, seeds.get(s))
        n = min(int(n), row["eligible_programs"])
        chosen = match_chances(applicant, model, specialties=[s], applications={s: n}, curve=False)
        chosen_row = chosen.specialties.row(0, named=True)
        p = chosen_row["p_match"]
        include = order == 1 or (realistic and not reached)
        if include:
            p_none *= 1.0 - p
            cost += float(fees.eras_cost(n))
        if order == 1:
            first_p = p
        yes, unknown = _visa_shares(model, applicant, s)
        seed = seeds.get(s)
        rows.append(
            {
                "order": order,
                "specialty": s,
                "name": specialty_name(s),
                "included": include,
                "p_match": p,
                "p_match_low": chosen_row["p_match_low"],
                "p_match_high": chosen_row["p_match_high"],
                "p_match_first": first_p,
                "p_match_any_cumulative": 1.0 - p_none,
                "applications": n,
                "eligible_programs": row["eligible_programs"],
                "recommended_applications": rec,
                "eras_cost_usd": float(fees.eras_cost(n)),
                "cumulative_cost_usd": cost,
                "share_sponsoring_visa": yes,
                "share_visa_unknown": unknown,
                "path_back": "first choice"
                if order == 1
                else paths.get(s, f"no direct path back to {first}"),
                "seed_applications": seed,
                "note": note,
            }
        )
        if include and 1.0 - p_none >= target:
            reached = True
    table = pl.DataFrame(rows, schema=_TABLE_SCHEMA)
    included = table.filter(pl.col("included"))
    rank_list = included["specialty"].to_list()
    p_any = float(1.0 - (1.0 - included["p_match"]).product())
    total = cost + fees.transcript_usd + fees.nrmp_registration_usd
    notes = []
    skipped = table.filter(~pl.col("included") & pl.col("note").str.starts_with("out of reach"))
    if skipped.height:
        notes.append(
            "Not realistic backups for this profile (under 5% even with every eligible "
            f"program): {', '.join(skipped['specialty'])}."
        )
    if reached:
        notes.append(
            f"With {' -> '.join(rank_list)}, P(match anywhere) reaches {p_any:.0%} "
            f"(target {target:.0%})."
        )
    else:
        notes.append(
            f"Even with every adjacent specialty ({' -> '.join(rank_list)}), P(match anywhere) is "
            f"{p_any:.0%}, under the {target:.0%} target: strengthen the application (see the "
            "what-if levers) or plan a research or preliminary year."
        )
    own = list(applicant.target_specialties)
    if own != rank_list:
        notes.append(
            f"Your listed order is {' -> '.join(own)}; the plan suggests {' -> '.join(rank_list)}."
        )
    notes.append(
        "Rank your first choice's programs on top, then each backup's, and rank only programs "
        "you would attend. Use a separate personal statement per specialty."
    )
    return BackupPlan(
        applicant_id=applicant.applicant_id,
        table=table,
        rank_list=rank_list,
        p_match_first=first_p,
        p_match_any=p_any,
        total_cost_usd=total,
        target=target,
        reached=reached,
        notes=notes,
    )
