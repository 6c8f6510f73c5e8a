"""Backup specialties and dual applying: which, how many, in what order, at what cost.

Method. The applicant's own specialties are always on the rank list, in their own order. The
options are the specialties adjacent to the first choice (`params/backup.yaml`: for IR the
order of Essential Backup Specialty Planning for Non-US Citizen IMG in IR Residency: DR with
ESIR, then IM, general surgery, anesthesiology, PM&R; judgement lists for the others) present
in the program table. For each, with this applicant and the planned rotations:

- P(match) in that specialty alone (`analysis.model.probability`), at the number of programs
  the model recommends: the fewest best-fit programs reaching 80% there, or the point of
  diminishing returns (10 more programs add under 1 point) when 80% is out of reach or lies
  past it; never fewer than the applicant already plans. A specialty where P(match) stays
  under 5% even with every eligible program is not a realistic backup;
- its ERAS fees (tiers reset for each specialty, `data/reference/fees.csv`), the share of its
  programs known to sponsor the applicant's visa, and its path back to the first choice.

**How many.** At most `max_specialties` (3) on the rank list, the first choice included: each
needs its own personal statement, letters and interview preparation (the IR backup-planning
guide: "dual applying (or even triple applying)", separate statements, a letter from the
backup specialty; its sample plan is IR, then DR, then IM). Backups are added while
P(match anywhere) is under the target (default 0.85) and a place is left: first those that
keep a direct path back to the first choice (`keeps_path_back`: the guide's "Backup 1 (close
to IR)"), then the one adding most to P(match anywhere) (its "Backup 2 (higher match
probability)"), each only if it adds at least `min_added` (1 point). Every option shows what
it adds (or would add) in points and its fees, so the cost of each added specialty stands
against what it buys.

**One number.** With independence between specialties given the applicant,
P(match anywhere) = 1 - prod(1 - P_i); the plan's figure is the one `match_chances` returns
for the final rank list (with the rotations), computed once and used by every note.

**Season under way.** Once applications have effectively closed (`analysis.planners.season`)
no specialty or program is added: the plan shows the chances of what the applicant applied to.

Where the model's number of programs falls outside the guide's rule of thumb (DR 60-100, IM
80-150), one sentence says why.

Known limits: independence between specialties (a strong season is strong everywhere); no
cost of a second personal statement or letters; adjacency outside IR is judgement.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from analysis.config import load_params
from analysis.data.schemas import ApplicantProfile
from analysis.data.vocabulary import specialty_name
from analysis.model.friendliness import visa_sponsorship
from analysis.model.probability import MatchChances, MatchModel, match_chances, model_for
from analysis.planners.season import season_phase
from analysis.planners.wording import dollars, percent, plural, points

_TABLE_SCHEMA = {
    "order": pl.Int64,
    "specialty": pl.String,
    "name": pl.String,
    "own": pl.Boolean,
    "included": pl.Boolean,
    "p_match": pl.Float64,
    "p_match_low": pl.Float64,
    "p_match_high": pl.Float64,
    "p_match_first": pl.Float64,
    "adds": pl.Float64,
    "p_match_any_cumulative": pl.Float64,
    "applications": pl.Int64,
    "eligible_programs": pl.Int64,
    "recommended_applications": pl.Int64,
    "eras_cost_usd": pl.Float64,
    "cumulative_cost_usd": pl.Float64,
    "cost_per_point_usd": pl.Float64,
    "share_sponsoring_visa": pl.Float64,
    "share_visa_unknown": pl.Float64,
    "path_back": pl.String,
    "guide_applications": pl.String,
    "why_not": pl.String,
    "note": pl.String,
}
REALISTIC = 0.05
"""Under this P(match) with every eligible program, a specialty is not a realistic backup."""


def params() -> dict[str, Any]:
    """The documented backup parameters (`params/backup.yaml`)."""
    return load_params("backup")


def adjacent_specialties(first_choice: str) -> list[str]:
    """Backup options for a first choice, in the guides' order (backup.yaml)."""
    adjacent = params()["adjacent"]
    return [s for s in adjacent.get(first_choice, adjacent["default"]) if s != first_choice]


def max_specialties() -> int:
    """The most specialties on one rank list, the first choice included (backup.yaml)."""
    return int(params()["max_specialties"])


@dataclass
class BackupPlan:
    """The recommended rank list: the applicant's specialties, then backups up to the cap.

    `chances` is `match_chances` for the rank list with the planned rotations: the plan's
    P(match anywhere) (`p_match_any`) and its fees (`total_cost_usd`) come from it.
    """

    applicant_id: str
    table: pl.DataFrame
    rank_list: list[str]
    p_match_first: float
    p_match_any: float
    total_cost_usd: float
    target: float
    reached: bool
    chances: MatchChances | None = None
    applications: dict[str, int] = field(default_factory=dict)
    max_specialties: int = 3
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: the included backups (the first choice is `rank_list[0]`) and
        the options left out with what they would add."""
        backups = self.table.filter(pl.col("included") & (pl.col("order") > 1))
        left_out = self.table.filter(~pl.col("included"))
        return {
            "rank_list": self.rank_list,
            "p_match_first": round(self.p_match_first, 3),
            "p_match_any": round(self.p_match_any, 3),
            "target": self.target,
            "reached": self.reached,
            "max_specialties": self.max_specialties,
            "total_cost_usd": round(self.total_cost_usd),
            "backup": [_row_dict(r) for r in backups.iter_rows(named=True)],
            "left_out": [
                {**_row_dict(r), "why_not": r["why_not"]} for r in left_out.iter_rows(named=True)
            ],
            "notes": self.notes,
        }


def _row_dict(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "specialty": r["specialty"],
        "p_match": round(r["p_match"], 3),
        "adds": round(r["adds"], 3) if r["adds"] is not None else None,
        "applications": r["applications"],
        "eras_cost_usd": round(r["eras_cost_usd"]),
        "path_back": r["path_back"],
        "share_sponsoring_visa": round(r["share_sponsoring_visa"], 3),
        "guide_applications": r["guide_applications"],
        "note": r["note"],
    }


def _visa_shares(model: Any, applicant: ApplicantProfile, specialty: str) -> tuple[float, float]:
    """(share known to sponsor the applicant's visa, share unknown) among a specialty's programs."""
    table = model.programs.filter(pl.col("specialty") == specialty)
    if table.height == 0:
        return 0.0, 0.0
    known_yes, unknown = visa_sponsorship(applicant.visa_needed)
    shares = table.select(yes=known_yes.mean(), unknown=unknown.mean())
    return float(shares["yes"][0]), float(shares["unknown"][0])


def _guide_note(specialty: str, n: int | None, rec: int | None, guide: str | None) -> str:
    """The model's number of programs, and one sentence on how it compares with the guide."""
    if n is None:
        return (
            f"out of reach for this profile: P(match) in {specialty} stays under "
            f"{percent(REALISTIC)} even applying to every eligible program"
        )
    reach = (
        f"{n} best-fit programs reach 80% in {specialty} alone"
        if rec is not None
        else f"80% is out of reach in {specialty} alone; past {n} programs, 10 more add "
        "under a point"
    )
    match = re.fullmatch(r"(\d+)-(\d+)", guide or "")
    if not guide:
        return reach + "."
    if not match:
        return f"{reach}; the guide says: {guide}."
    low, high = int(match.group(1)), int(match.group(2))
    if n < low:
        why = "80% is reached" if rec is not None else "programs past it add little"
        return (
            f"{reach}: fewer than the guide's {guide}, because this list ranks programs by your "
            f"own interview chances, so {why} before the guide's range (a range for an average "
            "IMG without program-level data)."
        )
    if n > high:
        why = (
            "reaching 80% takes that many programs at your interview chances"
            if rec is not None
            else "up to there each 10 more programs still add a point or more"
        )
        return f"{reach}: more than the guide's {guide}, because {why}."
    return f"{reach}, within the guide's {guide}."


@dataclass
class _Option:
    """One specialty at the number of programs the plan would apply to."""

    specialty: str
    own: bool
    p: float
    p_low: float
    p_high: float
    n: int
    eligible: int
    rec: int | None
    realistic: bool
    cost: float
    note: str


def _evaluate(
    applicant: ApplicantProfile,
    model: MatchModel,
    specialty: str,
    rotations: list[str],
    *,
    first: bool,
    closed: bool,
) -> _Option:
    """P(match) in one specialty alone at the programs the plan applies to."""
    guides = params()["guide_applications"]
    own = specialty in applicant.target_specialties
    alone = match_chances(applicant, model, specialties=[specialty], rotations=rotations,
                          curve=not closed)  # fmt: skip
    row = alone.specialties.row(0, named=True)
    rec, dim = row["recommended_applications"], row["diminishing_returns_applications"]
    if first or closed:
        n = int(row["applications"])  # the applicant's own (or default) plan
        note = f"your plan: {n} programs; " + _guide_note(specialty, rec or n, rec,
                                                          guides.get(specialty))  # fmt: skip
        realistic = True
    else:
        # the fewest programs reaching 80%, unless returns diminish before that
        suggested = rec if rec is not None and (dim is None or rec <= dim) else dim
        realistic = dim is not None or rec is not None
        planned = int(row["applications"]) if own else 0
        n = max(int(suggested or 0), planned) or int(row["applications"])
        note = _guide_note(specialty, suggested, rec if suggested == rec else None,
                           guides.get(specialty))  # fmt: skip
        if planned > int(suggested or 0):
            note = f"your plan: {planned} programs; " + note
    n = min(n, int(row["eligible_programs"]))
    if n != row["applications"]:
        chosen = match_chances(applicant, model, specialties=[specialty],
                               applications={specialty: n}, rotations=rotations,
                               curve=False)  # fmt: skip
        row = {**row, **chosen.specialties.row(0, named=True)}
    return _Option(
        specialty=specialty,
        own=own,
        p=float(row["p_match"]),
        p_low=float(row["p_match_low"]),
        p_high=float(row["p_match_high"]),
        n=n,
        eligible=int(row["eligible_programs"]),
        rec=rec,
        realistic=realistic,
        cost=float(row["eras_cost_usd"]),
        note=note,
    )


def _select(
    options: dict[str, _Option], own: list[str], first: str, target: float, cap: int
) -> tuple[list[str], dict[str, str]]:
    """The specialties added to the applicant's own, in order, and why the others were not."""
    p = params()
    min_added = float(p["min_added"])
    path_back = [s for s in p["keeps_path_back"].get(first, []) if s in options]
    chosen = list(own)
    p_none = _p_none([options[s].p for s in chosen])
    why: dict[str, str] = {}
    candidates = [s for s in options if s not in chosen]
    for s in candidates:
        if not options[s].realistic:
            why[s] = "out of reach for this profile"
    candidates = [s for s in candidates if s not in why]
    while candidates and len(chosen) < cap and 1 - p_none < target:
        first_back = [s for s in path_back if s in candidates]
        pick = first_back[0] if first_back else max(candidates, key=lambda s: options[s].p)
        candidates.remove(pick)
        if options[pick].p * p_none < min_added:
            why[pick] = f"it would add under {points(min_added)}"
            continue
        chosen.append(pick)
        p_none *= 1 - options[pick].p
    for s in candidates:
        if len(chosen) >= cap:
            why[s] = f"the rank list already has {plural(cap, 'specialty', 'specialties')}"
        elif 1 - p_none >= target:
            why[s] = f"P(match anywhere) already reaches the {percent(target)} target"
        else:
            why[s] = f"it would add under {points(min_added)}"
    return chosen[len(own) :], why


def _p_none(ps: list[float]) -> float:
    out = 1.0
    for p in ps:
        out *= 1.0 - p
    return out


def plan_backup(
    applicant: ApplicantProfile,
    programs: Any,
    target: float = 0.85,
    *,
    as_of: dt.date | None = None,
    rotations: list[str] | None = None,
) -> BackupPlan:
    """The rank list: the applicant's specialties, then backups until the target or the cap.

    Args:
        applicant: the profile (with the effects of planned observerships or research
            positions, if any: `RotationPlan.applicant_after`).
        programs: a program table or a prepared `MatchModel`.
        target: the P(match anywhere) the plan aims for, in (0, 1).
        as_of: the planning date (default today): once applications have closed nothing is
            added.
        rotations: program ids of planned rotations (their effect is in every number).

    Returns a `BackupPlan` whose `table` has one row per option: the rank list first, then
    the options left out with what they would add and why they were left out.
    """
    if not 0 < target < 1:
        raise ValueError(f"target must be between 0 and 1, not {target}")
    as_of = as_of or dt.date.today()
    model = model_for(programs, as_of=as_of)
    ids = list(rotations or [])
    first = applicant.target_specialties[0]
    present = set(model.specialties())
    if first not in present:
        raise ValueError(f"the program table has no {first} programs to plan around")
    closed = season_phase(applicant.match_year, as_of) in ("interviewing", "over")
    own = [s for s in applicant.target_specialties if s in present]
    extra = [] if closed else [s for s in adjacent_specialties(first) if s in present]
    names = list(dict.fromkeys([*own, *extra]))
    options = {
        s: _evaluate(applicant, model, s, ids, first=(s == first), closed=closed) for s in names
    }
    cap = max_specialties()
    added, why = _select(options, own, first, target, cap) if not closed else ([], {})
    order = {s: i for i, s in enumerate(adjacent_specialties(first))}
    rank_list = own + sorted(added, key=lambda s: order.get(s, len(order)))
    applications = {s: options[s].n for s in rank_list}
    chances = match_chances(applicant, model, specialties=rank_list, applications=applications,
                            rotations=ids, curve=False)  # fmt: skip
    table = _table(applicant, model, options, rank_list, why, chances)
    notes = _notes(applicant, table, rank_list, chances, target, cap, closed)
    return BackupPlan(
        applicant_id=applicant.applicant_id,
        table=table,
        rank_list=rank_list,
        p_match_first=float(chances.specialties["p_match"][0]),
        p_match_any=chances.p_match_any,
        total_cost_usd=chances.total_cost_usd,
        target=target,
        reached=chances.p_match_any >= target,
        chances=chances,
        applications=applications,
        max_specialties=cap,
        notes=notes,
    )


def _table(
    applicant: ApplicantProfile,
    model: MatchModel,
    options: dict[str, _Option],
    rank_list: list[str],
    why: dict[str, str],
    chances: MatchChances,
) -> pl.DataFrame:
    """One row per option: the rank list in order, then the options left out."""
    first = rank_list[0]
    paths = params()["path_back"].get(first, {})
    guides = params()["guide_applications"]
    p_first = options[first].p
    rows, p_none, cost = [], 1.0, 0.0
    plan_p_none = _p_none([options[s].p for s in rank_list])
    plan_cost = sum(options[s].cost for s in rank_list)
    left_out = [s for s in options if s not in rank_list]
    for order, s in enumerate([*rank_list, *left_out], start=1):
        o = options[s]
        included = s in rank_list
        if included:
            adds = o.p * p_none
            p_none *= 1 - o.p
            cost += o.cost
            cumulative, spent = 1 - p_none, cost
        else:  # what it would add on top of the plan
            adds = o.p * plan_p_none
            cumulative, spent = 1 - plan_p_none * (1 - o.p), plan_cost + o.cost
        yes, unknown = _visa_shares(model, applicant, s)
        rows.append(
            {
                "order": order,
                "specialty": s,
                "name": specialty_name(s),
                "own": o.own,
                "included": included,
                "p_match": o.p,
                "p_match_low": o.p_low,
                "p_match_high": o.p_high,
                "p_match_first": p_first,
                "adds": adds,
                "p_match_any_cumulative": cumulative,
                "applications": o.n,
                "eligible_programs": o.eligible,
                "recommended_applications": o.rec,
                "eras_cost_usd": o.cost,
                "cumulative_cost_usd": spent,
                "cost_per_point_usd": o.cost / (adds * 100) if adds > 0 and s != first else None,
                "share_sponsoring_visa": yes,
                "share_visa_unknown": unknown,
                "path_back": "first choice"
                if s == first
                else paths.get(s, f"no direct path back to {first}"),
                "guide_applications": guides.get(s),
                "why_not": None if included else why.get(s, "not needed"),
                "note": o.note,
            }
        )
    return pl.DataFrame(rows, schema=_TABLE_SCHEMA)


def _notes(
    applicant: ApplicantProfile,
    table: pl.DataFrame,
    rank_list: list[str],
    chances: MatchChances,
    target: float,
    cap: int,
    closed: bool,
) -> list[str]:
    """The backup plan's notes, every number taken from `table` and `chances`."""
    p_any = chances.p_match_any
    chain = " -> ".join(rank_list)
    notes = []
    if closed:
        notes.append(
            f"Applications for the {applicant.match_year} Match have effectively closed: the "
            "plan adds no specialty and no program; it shows the chances of the specialties "
            f"you listed ({chain}), P(match anywhere) {percent(p_any)}."
        )
        return notes
    for r in table.filter(pl.col("included") & ~pl.col("own")).iter_rows(named=True):
        notes.append(
            f"Adding {r['specialty']} ({r['applications']} programs) adds {points(r['adds'])} "
            f"to P(match anywhere) for {dollars(r['eras_cost_usd'])} of ERAS fees "
            f"(about {dollars(r['cost_per_point_usd'])} a point)."
        )
    skipped = table.filter(~pl.col("included") & (pl.col("why_not") != "out of reach for "
                                                    "this profile"))  # fmt: skip
    for r in skipped.iter_rows(named=True):
        notes.append(
            f"Not added: {r['specialty']} would add {points(r['adds'])} for "
            f"{dollars(r['eras_cost_usd'])} ({r['why_not']})."
        )
    unreachable = table.filter(pl.col("why_not") == "out of reach for this profile")
    if unreachable.height:
        notes.append(
            f"Not realistic backups for this profile (under {percent(REALISTIC)} even with "
            f"every eligible program): {', '.join(unreachable['specialty'])}."
        )
    notes.append(_cap_note(applicant, rank_list, cap))
    if p_any >= target:
        notes.append(f"With {chain}, P(match anywhere) is {percent(p_any)} (target "
                     f"{percent(target)}).")  # fmt: skip
    else:
        notes.append(
            f"With {chain}, P(match anywhere) is {percent(p_any)}, under the {percent(target)} "
            "target: strengthen the application (see the levers still open) or plan a "
            "research or preliminary year."
        )
    notes.append(
        "Rank your first choice's programs on top, then each backup's, and rank only programs "
        "you would attend. Use a separate personal statement per specialty."
    )
    return notes


def _cap_note(applicant: ApplicantProfile, rank_list: list[str], cap: int) -> str:
    reason = (
        "each needs its own personal statement, letters and interview preparation (Essential "
        "Backup Specialty Planning for Non-US Citizen IMG in IR Residency: dual or triple "
        "applying, a separate statement per specialty)"
    )
    own = len(applicant.target_specialties)
    if own > cap:
        return (
            f"You list {own} specialties, more than the {cap} one person can credibly prepare "
            f"for: {reason}; consider dropping the ones you are least committed to."
        )
    return f"At most {plural(cap, 'specialty', 'specialties')} on the rank list: {reason}."
