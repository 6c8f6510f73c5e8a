"""What a graduate can do instead of visiting electives: observerships and research positions.

Hands-on externships for graduates are program-level and planned with the away rotations
(`analysis.planners.rotations`, candidates where `accepts_graduates_for_rotations` is true).
This module adds the two options that are not tied to a program of the table, in the
applicant's first-choice specialty, in the months a graduate has left (`params/rotations.yaml`
`graduate_options`: cost, duration, lead time, evidence, effect):

- **observership** (4 weeks, never hands-on): one observership month, which the model
  counts at `effects.usce.observership_weight` of a hands-on month, and one US letter
  counted at that same share (an observer's letter is more generic); at most two;
- **research position** (6 months, not hands-on): one publication, one poster and one US
  letter by the time programs review; it needs six consecutive free months.

Effects are changes to the profile's own inputs (`observership_months`, `us_letters`,
`research`), so the model prices them with its parameters (`params/probability.yaml`).
Costs: housing and food at the midpoint of `data/reference/fees.csv` per 4 weeks (no state is
known), plus the option's fee.

Selection is greedy: the option adding most to P(match anywhere), on top of the planned
rotations, while it adds at least `min_gain_per_rotation` (1 point), fits the budget left and
the free months. Each option's `gain` is its marginal gain in that order.

Known limits: places, fees and output vary widely; a research position's paper may come
later than the application; the letter weights are judgement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from analysis.config import load_params
from analysis.data.reference import rotation_cost_ranges
from analysis.data.schemas import ApplicantProfile
from analysis.data.vocabulary import specialty_name
from analysis.model.probability import MatchModel, match_chances
from analysis.planners.wording import points

GENERIC_KINDS = ("research", "observership")


def option_params() -> dict[str, Any]:
    """`params/rotations.yaml` `graduate_options`."""
    return load_params("rotations")["graduate_options"]


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def option_cost(kind: str) -> float:
    """Cost (USD) of an observership or a research position without a known place."""
    ranges = rotation_cost_ranges()
    living = sum(ranges["housing"]) / 2 + sum(ranges["food_transport"]) / 2  # per 4 weeks
    option = option_params()[kind]
    months = int(option.get("duration_months", 1))
    return living * months + float(option.get("fee_usd", 0))


def letter_share(kind: str) -> float:
    """The share of a US letter an option's letter counts for (see the module docstring)."""
    weight = option_params()[kind]["effect"].get("letter_weight", 0)
    if weight == "observership_weight":
        return float(load_params("probability")["effects"]["usce"]["observership_weight"])
    return float(weight)


def apply_effect(applicant: ApplicantProfile, kind: str, specialty: str) -> ApplicantProfile:
    """The profile as it would read after the option (the model's own inputs)."""
    effect = option_params()[kind]["effect"]
    letters = dict(applicant.us_letters)
    letters[specialty] = letters.get(specialty, 0) + letter_share(kind)
    research = applicant.research.model_copy(
        update={
            "publications": applicant.research.publications + int(effect.get("publications", 0)),
            "posters": applicant.research.posters + int(effect.get("posters", 0)),
        }
    )
    return applicant.model_copy(
        update={
            "us_letters": letters,
            "observership_months": applicant.observership_months
            + float(effect.get("observership_months", 0)),
            "research": research,
        }
    )


@dataclass
class GenericChoice:
    """One chosen observership or research position."""

    kind: str
    start: dt.date
    end: dt.date
    cost_usd: float
    gain: float
    specialty: str

    def row(self) -> dict[str, Any]:
        """A row of the rotation plan's frame (no program: the applicant chooses the place)."""
        option = option_params()[self.kind]
        name = specialty_name(self.specialty)
        where = (
            f"{option['label']} in {name} at a US teaching hospital of your choice"
            if self.kind == "observership"
            else f"{option['label']} in {name} at a US academic department of your choice"
        )
        effect = (
            "no patient care: not hands-on experience; an observership month and a letter "
            "that counts less than a hands-on rotation's"
            if self.kind == "observership"
            else "not hands-on experience; research output and a US letter by the time "
            "programs review"
        )
        return {
            "program_id": None,
            "program_name": where,
            "specialty": self.specialty,
            "state": None,
            "city": None,
            "role": None,
            "kind": self.kind,
            "hands_on": bool(option["hands_on"]),
            "start": self.start,
            "end": self.end,
            "cost_usd": self.cost_usd,
            "gain": self.gain,
            "img_friendliness": None,
            "reason": f"{effect}; adds {self.gain * 100:.1f} points of P(match anywhere); "
            f"evidence: {' '.join(option['evidence'].split())}",
        }


@dataclass
class GenericPlan:
    """The observerships and research chosen, the profile after them, and why not more."""

    choices: list[GenericChoice]
    applicant_after: ApplicantProfile
    p_match_any_after: float
    notes: list[str] = field(default_factory=list)


def _research_block(
    free: list[dt.date], months: int, rotation_days: int
) -> tuple[dt.date, dt.date] | None:
    """The earliest run of `months` consecutive free calendar months (start, last day)."""
    ordered = sorted(free)
    for i in range(len(ordered) - months + 1):
        run = ordered[i : i + months]
        if all(_add_months(run[0], k) == run[k] for k in range(months)):
            return run[0], run[-1] + dt.timedelta(days=rotation_days - 1)
    return None


def _slot(
    kind: str, free: list[dt.date], rotation_days: int
) -> tuple[dt.date, dt.date, list[dt.date]] | None:
    """Where an option would go, and the months it takes (None when it does not fit)."""
    if kind == "research":
        months = int(option_params()["research"]["duration_months"])
        block = _research_block(free, months, rotation_days)
        if block is None:
            return None
        taken = [_add_months(block[0], k) for k in range(months)]
        return block[0], block[1], taken
    if not free:
        return None
    month = max(free)
    return month, month + dt.timedelta(days=rotation_days - 1), [month]


def plan_generic(
    applicant: ApplicantProfile,
    model: MatchModel,
    *,
    program_ids: list[str],
    free_months: list[dt.date],
    budget_left: float | None,
    base_value: float,
    min_gain: float,
    rotation_days: int,
    slots: int,
) -> GenericPlan:
    """Greedy choice of observerships and research positions (see the module docstring).

    At most `slots` of them (the planner's cap on rotations, less those at programs).
    """
    specialty = applicant.target_specialties[0]
    current, value, free = applicant, base_value, list(free_months)
    left = float("inf") if budget_left is None else budget_left
    counts = dict.fromkeys(GENERIC_KINDS, 0)
    choices: list[GenericChoice] = []
    blocked: dict[str, str] = {}
    while len(choices) < slots:
        best = None
        for kind in GENERIC_KINDS:
            why = _blocked(kind, counts, free, left, rotation_days)
            if why:
                blocked[kind] = why
                continue
            trial = apply_effect(current, kind, specialty)
            after = match_chances(trial, model, rotations=program_ids, curve=False).p_match_any
            if after - value < min_gain:
                blocked[kind] = f"it would add under {points(min_gain)} to P(match anywhere)"
                continue
            if best is None or after - value > best[1] - value:
                best = (kind, after, trial)
        if best is None:
            break
        kind, after, trial = best
        start, end, taken = _slot(kind, free, rotation_days)  # type: ignore[misc]
        cost = option_cost(kind)
        choices.append(GenericChoice(kind, start, end, cost, after - value, specialty))
        free = [m for m in free if m not in taken]
        left -= cost
        counts[kind] += 1
        current, value = trial, after
    if len(choices) >= slots and slots:
        blocked = {k: "the plan already has as many rotations as the cap allows" for k in blocked}
    notes = _generic_notes(blocked, counts)
    return GenericPlan(choices, current, value, notes)


def _blocked(
    kind: str, counts: dict[str, int], free: list[dt.date], left: float, rotation_days: int
) -> str | None:
    option = option_params()[kind]
    most = int(option.get("max_count", 1))
    if counts[kind] >= most:
        return f"at most {most} {'is' if most == 1 else 'are'} planned"
    if _slot(kind, free, rotation_days) is None:
        if kind == "research":
            months = int(option["duration_months"])
            return f"it needs {months} consecutive free months before letters are due"
        return "no free month is left before letters are due"
    cost = option_cost(kind)
    if cost > left + 1e-9:
        return f"it costs about ${cost:,.0f}, more than the budget left (${max(left, 0):,.0f})"
    return None


def _generic_notes(blocked: dict[str, str], counts: dict[str, int]) -> list[str]:
    names = {"research": "A research position", "observership": "An observership"}
    notes = []
    for kind, why in blocked.items():
        if why and counts[kind] == 0:
            notes.append(f"{names[kind]} is not planned: {why}.")
    return notes
