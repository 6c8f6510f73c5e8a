"""Away-rotation planner: which 1-4 programs, in which months, for what gain, within budget.

Rules from the advising guides (shared/seeds), encoded in `params/rotations.yaml`:

- **Candidates** are programs in the applicant's target specialties (and, for an IR
  applicant, DR programs with ESIR: "a DR rotation with IR exposure can still be very
  valuable") that take IMG visiting students, that the applicant is not screened out of
  (never a program known not to sponsor their visa), and where they have not rotated.
- **Roles** (IR away-rotation guide, "anchor, opportunity and safety"): *anchor*, a large
  university program that sponsors the visa and is at least moderately IMG-friendly ("strong
  academic centers... visa-friendly and at least moderately IMG-friendly"); *safety*, a very
  IMG-friendly program that sponsors the visa, for IR a DR program with ESIR ("DR programs with
  ESIR... highly IMG-friendly DR departments with visa support"); *opportunity*, a friendly
  program with IMG residents ("historically match IMGs... realistic chance to match"). A
  program that fits none of them is not a candidate.
- **Effect** of a rotation (`analysis.probability`): +1.5 log-odds on the interview chance at
  that program ("essentially a 4-week extended interview"), one more US letter in its
  specialty (letters saturate at three: "returns diminish past 3-4"), and the program is on
  the application list.
- **Timing**: 4 weeks starting on the 1st; at most one a month; none in interview season
  (November-January); ending before letters are due (two weeks before ERAS opens to programs in
  September of the year before the Match: "letters ready for ERAS"); at least 3 months after
  the planning date (applications close 6-9 months ahead) and within 12 months of ERAS.
- **Cost** per rotation, from `reference/fees.csv` ranges: housing (low, mid or high end by the
  state's cost of living), food and transport (midpoint), the program's visiting fee if known
  (else the midpoint of application fees).

**Optimizer** (exact over a pruned set): the gain in P(match anywhere) of every candidate
alone is computed in one vectorized pass; the best `prune_to` (12) plus the best of each role
are kept, and *every* portfolio of 1 to 4 of them is evaluated exactly (the P(match)
generating-function form, vectorized over portfolios). How many rotations are worth it is
decided without the budget: the largest k whose best portfolio adds at least 1 point of
P(match anywhere) over the best of k - 1. Then the best portfolio of at most k rotations
within budget and the window wins (ties: cheaper, then fewer, then program ids), so a larger
budget never lowers the plan's P(match). For an IR applicant, plans of two or more rotations
include a DR/ESIR safety when one exists (the IR guide's portfolio: "1 Safety DR/ESIR-oriented
program"), and every plan includes a rotation in the first-choice specialty (all three guides);
when ignoring those rules would gain a point or more, the plan says so. Each chosen
rotation's `gain` is its Shapley share of the plan's gain (letters saturate, so gains
interact; the shares sum to the total). Deterministic.

Known limits: acceptance for a visiting rotation is not guaranteed (apply to 8-15 programs
for 2-4 rotations, as the anesthesiology guide advises); the rotation effect is a rule of
thumb; letters' strength and the applicant's performance on the rotation dominate in reality.
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
from analysis.planners.timeline import letters_ready_by

ROLES = ("anchor", "opportunity", "safety")
ROLE_ORDER = {"safety": 0, "opportunity": 1, "anchor": 2}
"""Month order within a plan: the seeds' sample plan does the DR (safety/opportunity) month
first and the IR anchor last, with some US experience behind it."""


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
    if as_of.day > 1:
        earliest = _add_months(earliest, 1) if as_of.day > 15 else earliest
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


def _role_frame(applicant: ApplicantProfile, model: MatchModel) -> pl.DataFrame:
    """Programs of the relevant specialties with eligibility, role and cost."""
    r = params()["roles"]
    feat = model.features(applicant.visa_needed)
    table = feat.table
    targets = list(applicant.target_specialties)
    ir = "IR" in targets
    specialties = set(targets) | ({"DR"} if ir else set())
    include_unknown = bool(params()["optimizer"]["include_unknown_visiting"])
    visiting = pl.col("accepts_img_visiting_students")
    takes_visitors = visiting.fill_null(include_unknown) if include_unknown else visiting.eq(True)
    visa_ok, _ = visa_sponsorship(applicant.visa_needed)  # known to sponsor
    done = {c.program_id for c in applicant.completed_rotations if c.program_id}
    frame = table.filter(
        pl.col("specialty").is_in(sorted(specialties))
        & takes_visitors
        & ~pl.col("closed")
        & ~pl.col("program_id").is_in(sorted(done))
    )
    # DR programs are candidates for an IR applicant only with ESIR (strong IR exposure)
    if ir and "DR" not in targets:
        frame = frame.filter((pl.col("specialty") != "DR") | pl.col("esir_available").eq(True))
    median_size = table.group_by("specialty").agg(
        median_positions=pl.col("pgy1_positions").median()
    )
    frame = frame.join(median_size, on="specialty", how="left")
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
    frame = frame.with_columns(role=role).filter(pl.col("role").is_not_null())
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
        """P(match anywhere) for each row of a boolean (portfolios x candidates) matrix."""
        portfolios = np.asarray(portfolios, dtype=bool)
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
    """A recommended set of away rotations with dates, costs, gains and reasons."""

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


def plan_rotations(
    applicant: ApplicantProfile,
    programs: Any,
    budget_usd: float | None = None,
    *,
    as_of: dt.date | None = None,
    max_rotations: int | None = None,
) -> RotationPlan:
    """Plan 1-4 away rotations maximizing P(match anywhere) within budget and the window.

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
    budget = applicant.budget_usd if budget_usd is None else budget_usd
    cap = int(max_rotations or p["max_rotations"])
    window = rotation_window(applicant.match_year, as_of)
    before = match_chances(applicant, model, curve=False)
    notes: list[str] = []
    frame = _role_frame(applicant, model)
    empty = pl.DataFrame(schema=_ROTATION_SCHEMA)

    def result(rotations: pl.DataFrame, worth: int, candidates: pl.DataFrame) -> RotationPlan:
        chosen = rotations["program_id"].to_list()
        after = match_chances(applicant, model, rotations=chosen, curve=False) if chosen else before
        return RotationPlan(
            applicant_id=applicant.applicant_id,
            rotations=rotations,
            candidates=candidates,
            p_match_any_before=before.p_match_any,
            p_match_any_after=after.p_match_any,
            p_match_any_after_low=after.p_match_any_low,
            p_match_any_after_high=after.p_match_any_high,
            total_cost_usd=float(rotations["cost_usd"].sum()) if rotations.height else 0.0,
            budget_usd=budget,
            window=window,
            worth_it=worth,
            notes=notes,
        )

    if not window:
        notes.append(
            f"No month is left for a rotation whose letter is ready before ERAS opens for the "
            f"{applicant.match_year} Match (planning date {as_of.isoformat()}); consider a later "
            "Match year, or a late rotation for visibility only."
        )
        return result(empty, 0, frame.head(0))
    if frame.height == 0:
        notes.append(
            "No program in the table both takes IMG visiting students and fits a role "
            "(anchor, opportunity, safety) for this applicant; ask coordinators directly "
            "(programs with an unknown visiting policy are not counted)."
        )
        return result(empty, 0, frame)

    evaluator = PortfolioEvaluator(applicant, model, frame)
    base_value = float(evaluator.evaluate(np.zeros((1, frame.height), dtype=bool))[0])
    alone = evaluator.evaluate(np.eye(frame.height, dtype=bool)) - base_value
    frame = frame.with_columns(gain_alone=pl.Series(alone))
    keep = set(
        frame.sort(["gain_alone", "program_id"], descending=[True, False]).head(
            int(p["optimizer"]["prune_to"])
        )["program_id"]
    )
    first_choice = applicant.target_specialties[0]
    ranked = frame.sort(["gain_alone", "program_id"], descending=[True, False])
    for role in ROLES:
        keep |= set(ranked.filter(pl.col("role") == role).head(1)["program_id"])
    keep |= set(ranked.filter(pl.col("specialty") == first_choice).head(3)["program_id"])
    pool = frame.filter(pl.col("program_id").is_in(sorted(keep))).sort("program_id")
    max_size = min(cap, len(window), pool.height)
    sub_eval = evaluator.with_candidates(pool)
    matrix = _portfolio_matrix(pool.height, max_size)
    sizes = matrix.sum(axis=1)
    unconstrained = (matrix, sizes)
    rule_notes: list[str] = []
    matrix, sizes = _seed_rules(matrix, sizes, pool, applicant, rule_notes)
    values = sub_eval.evaluate(matrix)
    costs = matrix.astype(float) @ pool["cost_usd"].to_numpy()

    # how many rotations are worth it: decided without the budget
    best_by_size = [base_value] + [float(values[sizes == k].max()) for k in range(1, max_size + 1)]
    threshold = float(p["min_gain_per_rotation"])
    worth = 0
    for k in range(1, max_size + 1):
        if best_by_size[k] - best_by_size[k - 1] >= threshold:
            worth = k
        else:
            break
    if worth == 0:
        notes.append(
            f"No rotation adds {threshold:.0%} or more to P(match anywhere) for this applicant "
            "and table; rotations may still help with letters and experience."
        )
        return result(empty, 0, _candidate_view(frame))
    feasible = (sizes <= worth) & (costs <= (budget if budget is not None else np.inf) + 1e-9)
    if not feasible.any():
        cheapest = float(pool["cost_usd"].min())
        notes.append(
            f"The budget (${budget:,.0f}) is below the cheapest candidate rotation "
            f"(${cheapest:,.0f}); no rotation is planned."
        )
        return result(empty, worth, _candidate_view(frame))
    # best feasible: highest P, then cheaper, then fewer, then first in program-id order
    order = np.lexsort((np.arange(len(values)), sizes, costs, -np.round(values, 12)))
    best = next(i for i in order if feasible[i])
    chosen = pool.filter(pl.Series(matrix[best]))
    chosen = chosen.with_columns(gain=pl.Series(_shapley_gains(sub_eval, matrix[best])))
    notes.extend(rule_notes)
    _note_unconstrained(unconstrained, values[best], worth, budget, pool, sub_eval, notes)
    rotations = _schedule(chosen, window, applicant)
    if worth < max_size:
        notes.append(
            f"{worth} rotation{'s' if worth > 1 else ''} recommended: a further one would add "
            f"under {threshold:.0%} to P(match anywhere) (returns diminish, as the guides say)."
        )
    if budget is not None and chosen.height < worth:
        notes.append(
            f"The budget (${budget:,.0f}) allows {chosen.height} of the {worth} worthwhile "
            "rotations."
        )
    notes.append(
        "Apply to more programs than you plan to attend (8-15 for 2-4 rotations): visiting "
        "spots for IMGs are limited and fill 6-9 months ahead."
    )
    return result(rotations, worth, _candidate_view(frame))


def _seed_rules(
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
    chosen_value: float,
    worth: int,
    budget: float | None,
    pool: pl.DataFrame,
    evaluator: PortfolioEvaluator,
    notes: list[str],
) -> None:
    """Say so when ignoring the guides' structure would raise P(match anywhere) more."""
    matrix, sizes = unconstrained
    costs = matrix.astype(float) @ pool["cost_usd"].to_numpy()
    ok = (sizes <= worth) & (costs <= (budget if budget is not None else np.inf) + 1e-9)
    if not ok.any():
        return
    values = evaluator.evaluate(matrix[ok])
    best = int(np.argmax(values))
    if values[best] - chosen_value >= float(params()["min_gain_per_rotation"]):
        picks = pool.filter(pl.Series(matrix[ok][best]))
        where = ", ".join(
            f"{r['program_name']} ({r['specialty']})" for r in picks.iter_rows(named=True)
        )
        notes.append(
            f"Rotating only where the model gains most ({where}) would give P(match anywhere) "
            f"{values[best]:.0%} instead of {chosen_value:.0%}, mostly through your backups' "
            "chances rather than your first choice's."
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


def _candidate_view(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        "program_id", "program_name", "specialty", "state", "city", "role", "cost_usd",
        "gain_alone", "img_friendliness",
    ).sort(["gain_alone", "program_id"], descending=[True, False])  # fmt: skip


def _schedule(
    chosen: pl.DataFrame, window: list[dt.date], applicant: ApplicantProfile
) -> pl.DataFrame:
    """Assign months: the latest months of the window, safety first and anchor last."""
    days = int(params()["window"]["rotation_days"])
    ordered = chosen.with_columns(
        role_order=pl.col("role").replace_strict(ROLE_ORDER, return_dtype=pl.Int64)
    ).sort(["role_order", "gain", "program_id"], descending=[False, True, False])
    months = window[-ordered.height :]
    rows = []
    for month, r in zip(months, ordered.iter_rows(named=True), strict=True):
        reason = _role_reason(r, applicant)
        letters_for = ", ".join(
            s for s in applicant.target_specialties if r["specialty"] in letter_specialties(s)
        )
        reason += (
            f"; its share of the plan's gain: {r['gain'] * 100:.1f} points of P(match anywhere); "
            f"a US letter "
            f"in {specialty_name(r['specialty'])}"
            + (f" (counts for {letters_for})" if letters_for else "")
        )
        rows.append(
            {
                "program_id": r["program_id"],
                "program_name": r["program_name"],
                "specialty": r["specialty"],
                "state": r["state"],
                "city": r["city"],
                "role": r["role"],
                "start": month,
                "end": month + dt.timedelta(days=days - 1),
                "cost_usd": float(r["cost_usd"]),
                "gain": float(r["gain"]),
                "img_friendliness": float(r["img_friendliness"]),
                "reason": reason,
            }
        )
    return pl.DataFrame(rows, schema=_ROTATION_SCHEMA).sort("start")
