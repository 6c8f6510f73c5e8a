"""Away-rotation planner: which 1-4 rotations, of which kind, in which months, within budget.

Rules from the advising guides, encoded in `params/rotations.yaml`:

- **Who may rotate where** (`analysis.planners.enrollment`): visiting-student electives need
  current enrollment, so they are planned only in months that end by graduation; months after
  graduation use what graduates can do: hands-on externships at programs that offer them to
  graduates (`accepts_graduates_for_rotations`), observerships and research positions
  (`analysis.planners.graduate`). Every rotation has a `kind` (visiting_elective,
  graduate_externship, observership, research) and `hands_on` (observerships never are).
- **Candidates** are programs in the applicant's target specialties (and, for an IR
  applicant, DR programs with ESIR: "a DR rotation with IR exposure can still be very
  valuable") that take IMG visiting students (electives) or graduates (externships), that are
  known to sponsor the visa the applicant needs (a rotation aims at a match there), that the
  applicant is not screened out of, and where they have not rotated.
- **Roles** (Essential Away Rotation Strategy for Non-US Citizen IMGs in Interventional
  Radiology: "anchor, opportunity and safety"): *anchor*, a large university program that
  sponsors the visa and is at least moderately IMG-friendly; *safety*, a very IMG-friendly
  program that sponsors the visa, for IR a DR program with ESIR; *opportunity*, a friendly
  program with IMG residents. A program that fits none of them is not a candidate.
- **Effect** of a rotation at a program (`analysis.model.probability`,
  `effects.rotation_at_program`):
  a bonus on the interview chance at that program ("essentially a 4-week extended interview",
  Ultimate IMG Residency Guide: Mastering Away Rotations in Internal Medicine), one more US
  letter in its specialty (letters saturate at three), and the program is on the application
  list. An externship for graduates counts the same. The month of hands-on US experience a
  rotation also brings is not added to the applicant's USCE (so the gain shown is
  conservative: one more hands-on month is worth the `usce` effect on top, as the levers
  show).
- **Timing**: 4 weeks starting on the 1st; at most one a month; none in interview season
  (November-January); ending before letters are due (`analysis.planners.timeline`: two weeks
  before programs can review); at least 3 months after the planning date and within 12
  months of ERAS.
- **Cost** per rotation, from `data/reference/fees.csv` ranges: housing (low, mid or high end
  by the state's cost of living), food and transport (midpoint), the program's visiting fee
  if known (else the midpoint of application fees).

**Optimizer** (exact over a pruned set): the gain in P(match anywhere) of every candidate
alone is computed in one vectorized pass; the best `prune_to` (12) plus the best of each role
are kept, and *every* portfolio of 1 to 4 of them is evaluated exactly (the P(match)
generating-function form, vectorized over portfolios); a portfolio uses at most as many
electives as there are months before graduation, at most as many externships as months after
it, and a program once. How many rotations are worth it is decided without the budget: the
largest k whose best portfolio adds at least 1 point of P(match anywhere) over the best of
k - 1. Then the best portfolio of at most k rotations within budget and the window wins (ties:
cheaper, then fewer, then program ids), so a larger budget never lowers the P(match) of the
rotations at programs (a test checks it for students).
For an IR applicant, plans of two or more rotations include a DR/ESIR safety when one exists
(the IR guide's portfolio: "1 Safety DR/ESIR-oriented program"), and every plan includes a
rotation in the first-choice specialty (all three rotation guides); when ignoring those rules
would gain a point or more, the plan says so. Each chosen rotation's `gain` is its Shapley
share of the rotations' gain (letters saturate, so gains interact; the shares sum to the
total). Observerships and research positions for graduates are then added greedily in the
months and budget left (`analysis.planners.graduate`); that greedy step is not monotone in
the budget (a larger budget can buy an externship that takes the months a research position
needed). Deterministic.

Known limits: acceptance for a visiting rotation is not guaranteed (apply to 8-15 programs
for 2-4 rotations, as Mastering Away Rotations: A Guide for Non-US Citizen IMGs in
Anesthesiology advises); the rotation effect is a rule of thumb; letters' strength and the
applicant's performance on the rotation dominate in reality.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from analysis.config import load_params
from analysis.data.reference import match_curve, rotation_cost_ranges
from analysis.data.schemas import ApplicantProfile
from analysis.data.vocabulary import specialty_name
from analysis.model.friendliness import visa_sponsorship
from analysis.model.probability import (
    ApplicantArrays,
    MatchModel,
    default_applications,
    letter_specialties,
    letter_weight,
    match_chances,
    model_for,
    specialty_scores,
)
from analysis.planners.enrollment import HANDS_ON, enrollment_note, split_months
from analysis.planners.graduate import plan_generic
from analysis.planners.season import phase_note
from analysis.planners.timeline import letters_ready_by
from analysis.planners.wording import dollars, points

ROLES = ("anchor", "opportunity", "safety")
ROLE_ORDER = {"safety": 0, "opportunity": 1, "anchor": 2}
"""Month order within a plan: the IR guide's sample plan does the DR (safety/opportunity)
month first and the IR anchor last, with some US experience behind it."""
PROGRAM_KINDS = {
    "visiting_elective": ("accepts_img_visiting_students", "include_unknown_visiting"),
    "graduate_externship": ("accepts_graduates_for_rotations", "include_unknown_graduates"),
}
"""Rotations at a program of the table: the column saying who it takes, and its unknown rule."""
APPLY_NOTE = (
    "Apply to more programs than you plan to attend (8-15 for 2-4 rotations, as the "
    "anesthesiology away-rotation guide advises): places for IMGs are limited and fill 6-9 "
    "months ahead."
)


def params() -> dict[str, Any]:
    """The documented planner parameters (`params/rotations.yaml`)."""
    return load_params("rotations")


# --------------------------------------------------------------------------- window and cost


def rotation_window(match_year: int, as_of: dt.date | None = None) -> list[dt.date]:
    """First days of the months in which a rotation can start (see the module docstring)."""
    as_of = as_of or dt.date.today()
    w = params()["window"]
    letters_due = letters_ready_by(match_year)
    earliest = _add_months(dt.date(as_of.year, as_of.month, 1), int(w["min_lead_months"]))
    if as_of.day > 15:
        earliest = _add_months(earliest, 1)
    oldest = _add_months(
        dt.date(letters_due.year, letters_due.month, 1), -int(w["max_months_before_eras"])
    )
    start = max(earliest, oldest)
    months = []
    month = start
    while month + dt.timedelta(days=int(w["rotation_days"]) - 1) <= letters_due:
        if month.month not in w["excluded_months"]:
            months.append(month)
        month = _add_months(month, 1)
    return months


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def rotation_costs(frame: pl.DataFrame) -> pl.Series:
    """Cost (USD) of a 4-week rotation at each program of a frame (state, visiting_fee_usd)."""
    ranges = rotation_cost_ranges()
    costs = params()["costs"]
    h_lo, h_hi = ranges["housing"]
    f_lo, f_hi = ranges["food_transport"]
    a_lo, a_hi = ranges["application_fees"]
    housing = (
        pl.when(pl.col("state").is_in(costs["housing_high_cost_states"]))
        .then(h_hi)
        .when(pl.col("state").is_in(costs["housing_low_cost_states"]))
        .then(h_lo)
        .otherwise((h_lo + h_hi) / 2)
    )
    fee = pl.col("visiting_fee_usd").fill_null((a_lo + a_hi) / 2)
    return frame.select((housing + (f_lo + f_hi) / 2 + fee).alias("cost_usd")).to_series()


# --------------------------------------------------------------------------- candidates


def _eligible_programs(applicant: ApplicantProfile, model: MatchModel, kind: str) -> pl.DataFrame:
    """Programs of the relevant specialties that take this kind of rotation and are known to
    sponsor the visa the applicant needs (a rotation aims at a match there)."""
    table = model.features(applicant.visa_needed).table
    column, unknown_rule = PROGRAM_KINDS[kind]
    targets = list(applicant.target_specialties)
    ir = "IR" in targets
    specialties = set(targets) | ({"DR"} if ir else set())
    include_unknown = bool(params()["optimizer"][unknown_rule])
    if column not in table.columns:  # a table without the column: the policy is unknown
        takes = pl.lit(include_unknown)
    else:
        takes = pl.col(column).fill_null(True) if include_unknown else pl.col(column).eq(True)
    done = {c.program_id for c in applicant.completed_rotations if c.program_id}
    known_sponsor, _ = visa_sponsorship(applicant.visa_needed)
    frame = table.filter(
        pl.col("specialty").is_in(sorted(specialties))
        & takes
        & known_sponsor
        & ~pl.col("closed")
        & ~pl.col("program_id").is_in(sorted(done))
    )
    # DR programs are candidates for an IR applicant only with ESIR (strong IR exposure)
    if ir and "DR" not in targets:
        frame = frame.filter((pl.col("specialty") != "DR") | pl.col("esir_available").eq(True))
    median_size = table.group_by("specialty").agg(
        median_positions=pl.col("pgy1_positions").median()
    )
    return frame.join(median_size, on="specialty", how="left")


def _role_frame(
    applicant: ApplicantProfile, model: MatchModel, kind: str = "visiting_elective"
) -> pl.DataFrame:
    """Candidate programs of one kind of rotation with their role, kind and cost."""
    r = params()["roles"]
    frame = _eligible_programs(applicant, model, kind)
    ir = "IR" in applicant.target_specialties
    visa_ok, _ = visa_sponsorship(applicant.visa_needed)  # known to sponsor
    f = pl.col("img_friendliness")
    large = pl.col("pgy1_positions").fill_null(0) >= pl.col("median_positions").fill_null(0)
    has_imgs = (pl.col("pct_img_residents") > 0).fill_null(False) | pl.col(
        "img_residents_present"
    ).eq(True)
    dr_esir = (pl.col("specialty") == "DR") & pl.col("esir_available").eq(True)
    anchor = (
        (pl.col("program_type") == "university").fill_null(False)
        & large
        & visa_ok
        & (f >= r["anchor_min_friendliness"])
    )
    safety_base = (f >= r["safety_min_friendliness"]) & visa_ok
    safety = (safety_base & dr_esir) if ir else safety_base
    opportunity = (f >= r["opportunity_min_friendliness"]) & has_imgs
    # For IR the safety role is specific (a DR program with ESIR) and takes precedence.
    first, second = (
        ((safety, "safety"), (anchor, "anchor")) if ir else ((anchor, "anchor"), (safety, "safety"))
    )
    role = (
        pl.when(first[0])
        .then(pl.lit(first[1]))
        .when(second[0])
        .then(pl.lit(second[1]))
        .when(opportunity)
        .then(pl.lit("opportunity"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    frame = frame.with_columns(role=role, kind=pl.lit(kind)).filter(pl.col("role").is_not_null())
    return frame.with_columns(cost_usd=rotation_costs(frame)).sort("program_id")


def _role_reason(row: dict[str, Any], applicant: ApplicantProfile) -> str:
    visa = {"j1": "J-1", "h1b": "H-1B", "either": "J-1 or H-1B", "none": ""}[applicant.visa_needed]
    size = (
        f"{row['pgy1_positions']} first-year positions" if row["pgy1_positions"] else "size unknown"
    )
    score = f"IMG-friendliness {row['img_friendliness']:.0f}"
    if row["role"] == "anchor":
        why = (
            f"anchor: university program, {size} (at or above the {row['specialty']} median), "
            f"{score}"
        )
    elif row["role"] == "safety":
        esir = ", DR with ESIR (a path back to IR)" if row["specialty"] == "DR" else ""
        why = f"safety: very IMG-friendly ({score}){esir}"
    else:
        pct = row["pct_img_residents"]
        imgs = f"{pct:.0f}% IMG residents" if pct is not None else "IMG residents"
        why = f"opportunity: {imgs}, {score}"
    if visa:
        why += f", sponsors the {visa}"
    if row.get("kind") == "graduate_externship":
        why = "hands-on externship offered to graduates; " + why
    return why


# --------------------------------------------------------------------------- exact evaluator


@dataclass
class _SpecialtyArrays:
    specialty: str
    ids: np.ndarray
    p: np.ndarray  # (letters + 1, programs): central p_interview with l extra letters
    p_bonus: np.ndarray  # same, with the rotation bonus at every program
    eligible: np.ndarray
    forced: np.ndarray  # completed rotations: always applied to
    n: int
    q: float
    p_max: float


BLOCK_CELLS = 2_000_000
"""Cells (portfolios x programs) a `PortfolioEvaluator` works on at once: about 16 MB per
float array, so its memory does not grow with the square of the table."""


class PortfolioEvaluator:
    """Exact P(match anywhere) of many rotation portfolios at once (vectorized)."""

    def __init__(
        self,
        applicant: ApplicantProfile,
        model: MatchModel,
        candidates: pl.DataFrame,
        parts: list[_SpecialtyArrays] | None = None,
    ):
        self.applicant = applicant
        self.model = model
        self.cand_ids = candidates["program_id"].to_list()
        self.cand_specialty = candidates["specialty"].to_list()
        self.parts = parts if parts is not None else self._build_parts()

    def with_candidates(self, candidates: pl.DataFrame) -> PortfolioEvaluator:
        """The same applicant and arrays, for another candidate set (no recomputation)."""
        return PortfolioEvaluator(self.applicant, self.model, candidates, self.parts)

    def _build_parts(self) -> list[_SpecialtyArrays]:
        """Per target specialty: p_interview with 0, 0.5, 1... extra letters, with and
        without the rotation bonus at each program (one vectorized call for all steps)."""
        applicant, model = self.applicant, self.model
        visa = applicant.visa_needed
        feat = model.features(visa)
        completed = {c.program_id for c in applicant.completed_rotations if c.program_id}
        # extra letters come in steps of the related weight (0.5: a DR letter for IR)
        steps = np.arange(0.0, int(params()["max_rotations"]) + 0.25, 0.5)
        arrays = ApplicantArrays.from_profiles([applicant] * steps.size)
        parts = []
        for s in applicant.target_specialties:
            rows = feat.specialty_rows.get(s)
            if rows is None:
                continue
            ids = feat.ids[rows]
            everywhere = set(ids.tolist())
            base = specialty_scores(
                model, arrays, s, visa, extra_letters=steps, intervals=False,
                rotations={i: completed for i in range(steps.size)} if completed else None,
            )  # fmt: skip
            bonus = specialty_scores(
                model, arrays, s, visa, extra_letters=steps, intervals=False,
                rotations={i: everywhere for i in range(steps.size)},
            )  # fmt: skip
            eligible = base.screen_bits[0] == 0
            wanted = int(applicant.applications.get(s, default_applications(s)))
            curve = match_curve(s)
            parts.append(
                _SpecialtyArrays(
                    specialty=s,
                    ids=ids,
                    p=base.p,
                    p_bonus=bonus.p,
                    eligible=eligible,
                    forced=np.isin(ids, list(completed)) & eligible,
                    n=min(wanted, int(eligible.sum())),
                    q=curve.q,
                    p_max=curve.p_max,
                )
            )
        return parts

    def evaluate(self, portfolios: np.ndarray) -> np.ndarray:
        """P(match anywhere) for each row of a boolean (portfolios x candidates) matrix.

        Rows are evaluated in blocks of at most `BLOCK_CELLS` (rows x programs of a
        specialty) cells, so memory stays linear in the table even when there are as many
        rows as candidates.
        """
        portfolios = np.asarray(portfolios, dtype=bool)
        rows = self._block_rows()
        if portfolios.shape[0] <= rows:
            return self._evaluate_block(portfolios)
        return np.concatenate(
            [
                self._evaluate_block(portfolios[start : start + rows])
                for start in range(0, portfolios.shape[0], rows)
            ]
        )

    def evaluate_each(self) -> np.ndarray:
        """P(match anywhere) with each candidate alone (the rows of an identity matrix, built
        one block at a time)."""
        n = len(self.cand_ids)
        rows = self._block_rows()
        values = []
        for start in range(0, n, rows):
            block = np.zeros((min(rows, n - start), n), dtype=bool)
            block[np.arange(block.shape[0]), start + np.arange(block.shape[0])] = True
            values.append(self._evaluate_block(block))
        return np.concatenate(values) if values else np.zeros(0)

    def _block_rows(self) -> int:
        widest = max((part.ids.size for part in self.parts), default=1)
        return max(1, BLOCK_CELLS // max(widest, len(self.cand_ids), 1))

    def _evaluate_block(self, portfolios: np.ndarray) -> np.ndarray:
        n_port = portfolios.shape[0]
        p_none = np.ones(n_port)
        for part in self.parts:
            weights = np.array([letter_weight(part.specialty, c) for c in self.cand_specialty])
            extra = portfolios.astype(float) @ weights if weights.size else np.zeros(n_port)
            letters = np.minimum(np.rint(extra * 2).astype(int), part.p.shape[0] - 1)
            probs = part.p[letters]  # (portfolios, programs)
            forced = np.broadcast_to(part.forced, probs.shape).copy()
            col_of = {pid: j for j, pid in enumerate(part.ids.tolist())}
            for k, pid in enumerate(self.cand_ids):
                j = col_of.get(pid)
                if j is None:
                    continue
                chosen = portfolios[:, k]
                if chosen.any():
                    probs[chosen, j] = part.p_bonus[letters[chosen], j]
                    forced[chosen, j] = part.eligible[j]
            if part.n == 0:
                continue
            key = probs + 2.0 * forced
            top = np.argpartition(-key, part.n - 1, axis=1)[:, : part.n]
            chosen_p = np.take_along_axis(probs, top, axis=1)
            p_match = part.p_max * (1.0 - np.exp(np.log1p(-part.q * chosen_p).sum(axis=1)))
            p_none *= 1.0 - p_match
        return 1.0 - p_none


# --------------------------------------------------------------------------- plan


@dataclass
class RotationPlan:
    """Recommended rotations with kinds, dates, costs, gains and reasons.

    `rotations` has one row per rotation (program-level ones have a `program_id`;
    observerships and research positions have none: the applicant chooses the place).
    `applicant_after` is the profile with the effects of those program-less options; the
    plan's chances are `match_chances(applicant_after, rotations=program_ids)`.
    """

    applicant_id: str
    rotations: pl.DataFrame
    candidates: pl.DataFrame
    p_match_any_before: float
    p_match_any_after: float
    p_match_any_after_low: float
    p_match_any_after_high: float
    total_cost_usd: float
    budget_usd: float | None
    window: list[dt.date]
    worth_it: int
    notes: list[str] = field(default_factory=list)
    applicant_after: ApplicantProfile | None = None
    visiting_months: list[dt.date] = field(default_factory=list)
    graduate_months: list[dt.date] = field(default_factory=list)

    @property
    def program_ids(self) -> list[str]:
        """Program ids of the rotations at programs (electives and externships)."""
        return self.rotations["program_id"].drop_nulls().to_list()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (dates as ISO strings)."""
        return {
            "applicant_id": self.applicant_id,
            "p_match_any_before": round(self.p_match_any_before, 3),
            "p_match_any_after": round(self.p_match_any_after, 3),
            "rotations": [
                {
                    "program_id": r["program_id"],
                    "program_name": r["program_name"],
                    "specialty": r["specialty"],
                    "kind": r["kind"],
                    "hands_on": r["hands_on"],
                    "role": r["role"],
                    "start": r["start"].isoformat(),
                    "end": r["end"].isoformat(),
                    "cost_usd": round(r["cost_usd"]),
                    "gain": round(r["gain"], 3),
                    "reason": r["reason"],
                }
                for r in self.rotations.iter_rows(named=True)
            ],
            "rotation_total_cost_usd": round(self.total_cost_usd),
            "budget_usd": self.budget_usd,
            "worthwhile_rotations": self.worth_it,
            "window": [m.isoformat() for m in self.window],
            "notes": self.notes,
        }


_ROTATION_SCHEMA = {
    "program_id": pl.String,
    "program_name": pl.String,
    "specialty": pl.String,
    "state": pl.String,
    "city": pl.String,
    "role": pl.String,
    "kind": pl.String,
    "hands_on": pl.Boolean,
    "start": pl.Date,
    "end": pl.Date,
    "cost_usd": pl.Float64,
    "gain": pl.Float64,
    "img_friendliness": pl.Float64,
    "reason": pl.String,
}


def _portfolio_matrix(n: int, max_size: int) -> np.ndarray:
    combos = [c for k in range(1, max_size + 1) for c in itertools.combinations(range(n), k)]
    matrix = np.zeros((len(combos), n), dtype=bool)
    for i, combo in enumerate(combos):  # builds the (small) design matrix once
        matrix[i, list(combo)] = True
    return matrix


@dataclass
class _Context:
    """What every step of one plan shares."""

    applicant: ApplicantProfile
    model: MatchModel
    as_of: dt.date
    budget: float | None
    cap: int
    window: list[dt.date]
    visiting: list[dt.date]
    graduate: list[dt.date]
    before: Any
    notes: list[str]
    applicant_after: ApplicantProfile | None = None


def plan_rotations(
    applicant: ApplicantProfile,
    programs: Any,
    budget_usd: float | None = None,
    *,
    as_of: dt.date | None = None,
    max_rotations: int | None = None,
) -> RotationPlan:
    """Plan up to 4 rotations maximizing P(match anywhere) within budget and the window.

    Args:
        applicant: the profile (its `budget_usd` is used when `budget_usd` is None; no
            budget at all means no cost limit).
        programs: a program table or a prepared `MatchModel`.
        budget_usd: the most to spend on rotations (housing, food, transport, fees).
        as_of: the planning date (default today): months too soon to apply for are skipped.
        max_rotations: cap (default 4, params/rotations.yaml).
    """
    as_of = as_of or dt.date.today()
    model = model_for(programs, as_of=as_of)
    p = params()
    window = rotation_window(applicant.match_year, as_of)
    visiting, graduate = split_months(applicant, window, int(p["window"]["rotation_days"]))
    ctx = _Context(
        applicant=applicant,
        model=model,
        as_of=as_of,
        budget=applicant.budget_usd if budget_usd is None else budget_usd,
        cap=int(max_rotations or p["max_rotations"]),
        window=window,
        visiting=visiting,
        graduate=graduate,
        before=match_chances(applicant, model, curve=False),
        notes=[],
    )
    note = enrollment_note(applicant, visiting, graduate, as_of)
    if note:
        ctx.notes.append(note)
    if not window:
        ctx.notes.append(_no_window_note(applicant, as_of))
        return _result(ctx, pl.DataFrame(schema=_ROTATION_SCHEMA), 0, _candidate_view(None))
    frame = _candidates(ctx)
    chosen, worth = _choose_programs(ctx, frame)
    rows = _schedule(chosen, visiting, graduate, applicant)
    if graduate:
        rows = _add_generic(ctx, rows)
    if rows.height:
        ctx.notes.append(APPLY_NOTE)
    return _result(ctx, rows, worth, _candidate_view(frame))


def best_single_rotation(
    applicant: ApplicantProfile,
    programs: Any,
    *,
    specialty: str | None = None,
    as_of: dt.date | None = None,
) -> tuple[str, str] | None:
    """(program id, kind) of the one rotation at a program of `specialty` (default the first
    choice) that adds most to P(match anywhere), among those the planner could plan now:
    visiting electives in months before graduation, externships for graduates after it.
    None when no month or no candidate is left."""
    as_of = as_of or dt.date.today()
    model = model_for(programs, as_of=as_of)
    specialty = specialty or applicant.target_specialties[0]
    window = rotation_window(applicant.match_year, as_of)
    visiting, graduate = split_months(applicant, window, int(params()["window"]["rotation_days"]))
    frames = [
        _role_frame(applicant, model, kind)
        for kind, months in (("visiting_elective", visiting), ("graduate_externship", graduate))
        if months
    ]
    frames = [f.filter(pl.col("specialty") == specialty) for f in frames]
    frames = [f for f in frames if f.height]
    if not frames:
        return None
    frame = pl.concat(frames, how="diagonal_relaxed").sort(["program_id", "kind"])
    evaluator = PortfolioEvaluator(applicant, model, frame)
    gains = evaluator.evaluate_each()
    best = int(np.argmax(gains))
    return str(frame["program_id"][best]), str(frame["kind"][best])


def _no_window_note(applicant: ApplicantProfile, as_of: dt.date) -> str:
    season = phase_note(applicant.match_year, as_of)
    due = letters_ready_by(applicant.match_year)
    text = (
        f"No month is left for a rotation whose letter is in before letters are due for the "
        f"{applicant.match_year} Match ({due:%d %b %Y}; planning date {as_of:%d %b %Y}): "
        "rotations now would come too late for this application; consider a later Match "
        "year, or a late rotation for experience only."
    )
    return f"{season} {text}" if season else text


def _candidates(ctx: _Context) -> pl.DataFrame:
    """Program-level candidates of each kind the months allow, with a note when none."""
    frames = []
    for kind, months in (("visiting_elective", ctx.visiting), ("graduate_externship",
                                                              ctx.graduate)):  # fmt: skip
        if not months:
            continue
        frame = _role_frame(ctx.applicant, ctx.model, kind)
        if frame.height == 0:
            ctx.notes.append(_no_candidates_note(kind))
        frames.append(frame)
    if not frames:
        return _role_frame(ctx.applicant, ctx.model).head(0)
    return pl.concat(frames, how="diagonal_relaxed").sort(["program_id", "kind"])


def _no_candidates_note(kind: str) -> str:
    if kind == "visiting_elective":
        return (
            "No program in the table both takes IMG visiting students and fits a role "
            "(anchor, opportunity, safety) for this applicant; ask coordinators directly "
            "(programs with an unknown visiting policy are not counted)."
        )
    return (
        "No program in the table is known to offer hands-on rotations to graduates and to fit "
        "a role for this applicant (column accepts_graduates_for_rotations; unknown is not "
        "counted); some programs and hospitals offer them: ask coordinators."
    )


def _result(
    ctx: _Context, rotations: pl.DataFrame, worth: int, candidates: pl.DataFrame
) -> RotationPlan:
    after_applicant = ctx.applicant_after or ctx.applicant
    ids = rotations["program_id"].drop_nulls().to_list()
    changed = bool(ids) or after_applicant is not ctx.applicant
    after = (
        match_chances(after_applicant, ctx.model, rotations=ids, curve=False)
        if changed
        else ctx.before
    )
    return RotationPlan(
        applicant_id=ctx.applicant.applicant_id,
        rotations=rotations,
        candidates=candidates,
        p_match_any_before=ctx.before.p_match_any,
        p_match_any_after=after.p_match_any,
        p_match_any_after_low=after.p_match_any_low,
        p_match_any_after_high=after.p_match_any_high,
        total_cost_usd=float(rotations["cost_usd"].sum()) if rotations.height else 0.0,
        budget_usd=ctx.budget,
        window=ctx.window,
        worth_it=worth,
        notes=ctx.notes,
        applicant_after=after_applicant,
        visiting_months=ctx.visiting,
        graduate_months=ctx.graduate,
    )


def _choose_programs(ctx: _Context, frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The best portfolio of program-level rotations (with Shapley gains) and how many are
    worth it; notes say why not more."""
    empty = frame.head(0).with_columns(gain=pl.lit(None, dtype=pl.Float64))
    if frame.height == 0:
        return empty, 0
    p = params()
    threshold = float(p["min_gain_per_rotation"])
    evaluator = PortfolioEvaluator(ctx.applicant, ctx.model, frame)
    base_value = float(evaluator.evaluate(np.zeros((1, frame.height), dtype=bool))[0])
    alone = evaluator.evaluate_each() - base_value
    pool = _prune(frame.with_columns(gain_alone=pl.Series(alone)), ctx.applicant)
    max_size = min(ctx.cap, len(ctx.visiting) + len(ctx.graduate), pool.height)
    sub_eval = evaluator.with_candidates(pool)
    matrix = _portfolio_matrix(pool.height, max_size)
    matrix = matrix[_fits_months(matrix, pool, ctx)]
    sizes = matrix.sum(axis=1)
    unconstrained = (matrix, sizes)
    rule_notes: list[str] = []
    matrix, sizes = _guide_rules(matrix, sizes, pool, ctx.applicant, rule_notes)
    values = sub_eval.evaluate(matrix)
    costs = matrix.astype(float) @ pool["cost_usd"].to_numpy()
    # how many rotations are worth it: decided without the budget
    best_by_size = [base_value] + [
        float(values[sizes == k].max()) if (sizes == k).any() else -np.inf
        for k in range(1, max_size + 1)
    ]
    worth = 0
    for k in range(1, max_size + 1):
        if best_by_size[k] - best_by_size[k - 1] < threshold:
            break
        worth = k
    if worth == 0:
        ctx.notes.append(
            f"No rotation at a program adds {points(threshold)} or more to P(match anywhere) for "
            "this applicant and table; rotations may still help with letters and experience."
        )
        return empty, 0
    limit = ctx.budget if ctx.budget is not None else np.inf
    feasible = (sizes <= worth) & (costs <= limit + 1e-9)
    if not feasible.any():
        cheapest = int(np.argmin(np.where(sizes <= worth, costs, np.inf)))
        picks = pool.filter(pl.Series(matrix[cheapest]))
        where = ", ".join(
            f"{r['program_name']} ({r['specialty']})" for r in picks.iter_rows(named=True)
        )
        ctx.notes.append(
            f"The budget ({dollars(ctx.budget)}) is below the cheapest rotation plan that "
            f"follows the guides' structure ({dollars(costs[cheapest])}: {where}); no rotation "
            "at a program is planned."
        )
        return empty, worth
    # best feasible: highest P, then cheaper, then fewer, then first in program-id order
    order = np.lexsort((np.arange(len(values)), sizes, costs, -np.round(values, 12)))
    best = next(i for i in order if feasible[i])
    chosen = pool.filter(pl.Series(matrix[best]))
    chosen = chosen.with_columns(gain=pl.Series(_shapley_gains(sub_eval, matrix[best])))
    ctx.notes.extend(rule_notes)
    _note_unconstrained(unconstrained, values[best] - base_value, worth, ctx.budget, pool,
                        sub_eval, base_value, ctx.notes)  # fmt: skip
    ctx.notes.append(_count_note(worth, chosen.height, ctx.budget, threshold, max_size))
    return chosen, worth


def _prune(frame: pl.DataFrame, applicant: ApplicantProfile) -> pl.DataFrame:
    """The best `prune_to` candidates by their gain alone, plus the best of each role and
    the three best in the first choice."""
    ranked = frame.sort(["gain_alone", "program_id", "kind"], descending=[True, False, False])
    keep = ranked.head(int(params()["optimizer"]["prune_to"])).select("program_id", "kind")
    extra = [ranked.filter(pl.col("role") == role).head(1) for role in ROLES]
    first = applicant.target_specialties[0]
    extra.append(ranked.filter(pl.col("specialty") == first).head(3))
    keys = pl.concat([keep, *(e.select("program_id", "kind") for e in extra)]).unique()
    return frame.join(keys, on=["program_id", "kind"], how="semi").sort(["program_id", "kind"])


def _fits_months(matrix: np.ndarray, pool: pl.DataFrame, ctx: _Context) -> np.ndarray:
    """Portfolios with at most one rotation per month of each kind and each program once."""
    elective = (pool["kind"] == "visiting_elective").to_numpy()
    ok = (matrix[:, elective].sum(axis=1) <= len(ctx.visiting)) & (
        matrix[:, ~elective].sum(axis=1) <= len(ctx.graduate)
    )
    ids = pool["program_id"].to_list()
    for pid in {i for i in ids if ids.count(i) > 1}:  # a program offering both kinds
        cols = [j for j, i in enumerate(ids) if i == pid]
        ok &= matrix[:, cols].sum(axis=1) <= 1
    return ok


def _count_note(
    worth: int, planned: int, budget: float | None, threshold: float, max_size: int
) -> str:
    """One sentence for how many rotations: worthwhile, affordable, planned (one count each)."""
    s = "s" if planned != 1 else ""
    verb = "is" if planned == 1 else "are"
    if budget is not None and planned < worth:
        return (
            f"{worth} rotations would each add {points(threshold)} or more to P(match "
            f"anywhere); the budget ({dollars(budget)}) pays for {planned}, so {planned} {verb} "
            "planned."
        )
    if worth < max_size:
        return (
            f"{planned} rotation{s} {verb} planned: a further one would add under "
            f"{points(threshold)} to P(match anywhere) (returns diminish, as the guides say)."
        )
    return (
        f"{planned} rotation{s} {verb} planned: as many as the window, the candidates and the "
        "cap allow."
    )


def _guide_rules(
    matrix: np.ndarray,
    sizes: np.ndarray,
    pool: pl.DataFrame,
    applicant: ApplicantProfile,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the portfolios that follow the guides' structure (budget-independent rules).

    - At least one rotation in the first-choice specialty when any is possible (IR guide: "at
      least one rotation where the primary goal is a strong IR letter"; anesthesiology guide:
      "1 strong anesthesia away rotation is the minimum"; IM guide: core IM wards first).
    - IR: plans of two or more rotations include a DR program with ESIR as the safety ("1
      Safety DR/ESIR-oriented program").
    """
    allowed = np.ones(len(sizes), dtype=bool)
    first = applicant.target_specialties[0]
    in_first = (pool["specialty"] == first).to_numpy()
    if in_first.any():
        allowed &= matrix[:, in_first].any(axis=1)
        notes.append(
            f"Every plan includes a rotation in your first choice ({specialty_name(first)}), "
            "as the guides advise."
        )
    is_safety = (pool["role"] == "safety").to_numpy()
    if first == "IR" and is_safety.any():
        allowed &= (sizes < 2) | matrix[:, is_safety].any(axis=1)
        notes.append(
            "Following the IR guide's portfolio (anchor, opportunity, and one DR program with "
            "ESIR as a safety), plans of two or more rotations include a DR/ESIR safety."
        )
    return matrix[allowed], sizes[allowed]


def _note_unconstrained(
    unconstrained: tuple[np.ndarray, np.ndarray],
    chosen_gain: float,
    worth: int,
    budget: float | None,
    pool: pl.DataFrame,
    evaluator: PortfolioEvaluator,
    base_value: float,
    notes: list[str],
) -> None:
    """Say so when ignoring the guides' structure would raise P(match anywhere) more."""
    matrix, sizes = unconstrained
    costs = matrix.astype(float) @ pool["cost_usd"].to_numpy()
    ok = (sizes <= worth) & (costs <= (budget if budget is not None else np.inf) + 1e-9)
    if not ok.any():
        return
    gains = evaluator.evaluate(matrix[ok]) - base_value
    best = int(np.argmax(gains))
    if gains[best] - chosen_gain >= float(params()["min_gain_per_rotation"]):
        picks = pool.filter(pl.Series(matrix[ok][best]))
        where = ", ".join(
            f"{r['program_name']} ({r['specialty']})" for r in picks.iter_rows(named=True)
        )
        notes.append(
            f"Rotating only where the model gains most ({where}) would add "
            f"{gains[best] * 100:.1f} points to P(match anywhere) instead of "
            f"{chosen_gain * 100:.1f}, mostly through your backups' chances rather than your "
            "first choice's."
        )


def _shapley_gains(evaluator: PortfolioEvaluator, portfolio: np.ndarray) -> np.ndarray:
    """Each chosen rotation's fair share of the plan's gain (Shapley values; they sum to it).

    Letters saturate, so a rotation's gain depends on the others; averaging its marginal gain
    over every order of adding the (at most four) rotations splits the total fairly.
    """
    positions = np.flatnonzero(portfolio)
    k = positions.size
    subsets = np.array(list(itertools.product([False, True], repeat=k)), dtype=bool)
    full = np.zeros((subsets.shape[0], portfolio.size), dtype=bool)
    full[:, positions] = subsets
    value = dict(zip(map(tuple, subsets), evaluator.evaluate(full), strict=True))
    gains = np.zeros(k)
    for i in range(k):
        for subset in value:
            if subset[i]:
                continue
            with_i = tuple(True if j == i else subset[j] for j in range(k))
            size = sum(subset)
            weight = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            gains[i] += weight * (value[with_i] - value[subset])
    return gains


def _candidate_view(frame: pl.DataFrame | None) -> pl.DataFrame:
    columns = ["program_id", "program_name", "specialty", "state", "city", "role", "kind",
               "cost_usd", "gain_alone", "img_friendliness"]  # fmt: skip
    if frame is None or "gain_alone" not in frame.columns:
        schema = {c: _ROTATION_SCHEMA.get(c, pl.Float64) for c in columns}
        return pl.DataFrame(schema=schema)
    return frame.select(columns).sort(["gain_alone", "program_id"], descending=[True, False])


def _schedule(
    chosen: pl.DataFrame,
    visiting: list[dt.date],
    graduate: list[dt.date],
    applicant: ApplicantProfile,
) -> pl.DataFrame:
    """Assign months: the latest months each kind may use, safety first and anchor last."""
    days = int(params()["window"]["rotation_days"])
    rows = []
    for kind, months in (("visiting_elective", visiting), ("graduate_externship", graduate)):
        of_kind = chosen.filter(pl.col("kind") == kind) if chosen.height else chosen
        if of_kind.height == 0:
            continue
        ordered = of_kind.with_columns(
            role_order=pl.col("role").replace_strict(ROLE_ORDER, return_dtype=pl.Int64)
        ).sort(["role_order", "gain", "program_id"], descending=[False, True, False])
        for month, r in zip(months[-ordered.height :], ordered.iter_rows(named=True),
                            strict=True):  # fmt: skip
            rows.append(_scheduled_row(r, month, days, applicant))
    return pl.DataFrame(rows, schema=_ROTATION_SCHEMA).sort("start")


def _scheduled_row(
    r: dict[str, Any], month: dt.date, days: int, applicant: ApplicantProfile
) -> dict[str, Any]:
    letters_for = ", ".join(
        s for s in applicant.target_specialties if r["specialty"] in letter_specialties(s)
    )
    counts = f" (counts for {letters_for})" if letters_for else ""
    reason = (
        f"{_role_reason(r, applicant)}; its share of the rotations' gain: "
        f"{r['gain'] * 100:.1f} points of P(match anywhere); a US letter in "
        f"{specialty_name(r['specialty'])}{counts}"
    )
    return {
        "program_id": r["program_id"],
        "program_name": r["program_name"],
        "specialty": r["specialty"],
        "state": r["state"],
        "city": r["city"],
        "role": r["role"],
        "kind": r["kind"],
        "hands_on": HANDS_ON[r["kind"]],
        "start": month,
        "end": month + dt.timedelta(days=days - 1),
        "cost_usd": float(r["cost_usd"]),
        "gain": float(r["gain"]),
        "img_friendliness": float(r["img_friendliness"]),
        "reason": reason,
    }


def _add_generic(ctx: _Context, rows: pl.DataFrame) -> pl.DataFrame:
    """Observerships and research positions in the graduate months left (greedy)."""
    used = set(rows["start"].to_list())
    free = [m for m in ctx.graduate if m not in used]
    ids = rows["program_id"].drop_nulls().to_list()
    spent = float(rows["cost_usd"].sum()) if rows.height else 0.0
    base = match_chances(ctx.applicant, ctx.model, rotations=ids, curve=False).p_match_any
    generic = plan_generic(
        ctx.applicant,
        ctx.model,
        program_ids=ids,
        free_months=free,
        budget_left=None if ctx.budget is None else ctx.budget - spent,
        base_value=base,
        min_gain=float(params()["min_gain_per_rotation"]),
        rotation_days=int(params()["window"]["rotation_days"]),
        slots=max(ctx.cap - rows.height, 0),
    )
    ctx.applicant_after = generic.applicant_after
    ctx.notes.extend(generic.notes)
    if not generic.choices:
        return rows
    extra = pl.DataFrame([c.row() for c in generic.choices], schema=_ROTATION_SCHEMA)
    return pl.concat([rows, extra]).sort("start")
