"""Levers that can still be pulled: what each would change, and which are left out and why.

A lever is a concrete action and its effect on P(match anywhere) (`match_chances` on the
profile as it would read after it). It is offered only while the season's calendar
(`analysis.planners.season`) leaves time for it at the plan date; the others are listed with
the reason they are left out, and no number:

- **Step 2 CK +5 / +10**: only when the exam is not yet taken (`step2_expected`) and its score,
  `score_report_days` (28) after the exam (planned date, else the plan date), arrives before
  programs start reviewing. A taken score cannot change.
- **Pass Step 3**: only when not passed and a result can arrive before the rank-list deadline;
  Step 3 needs the medical degree, so not before graduation.
- **One more US letter** in the first choice and **one more month of hands-on US clinical
  experience**: only while a month is left for a rotation that ends before letters are due
  (`analysis.planners.rotations.rotation_window`); a graduate's hands-on month needs a program
  that offers rotations to graduates.
- **One more away rotation** at the program of the first choice where it adds most (a
  visiting elective before graduation, an externship for graduates after it): the same window.
- **20 more applications per specialty** and **adding a backup specialty**: until applications
  have effectively closed; a backup only while the rank list has fewer specialties than
  `max_specialties` (`params/backup.yaml`).

- **Signals where they count** and **signals at random**: the season's program signals on the
  applicant's own lists, placed by the signal planner (`analysis.planners.signals`) or at
  random among the programs that can consider them (the mean of 100 draws): what using them
  well is worth against using them blindly. Until applications close, and only where the
  season's counts are known.

`levers(..., signals=...)` measures every lever from the chances with those signals (an
applicant's own, as `imgmatch chances` shows them). Columns: lever, label, baseline,
p_match_any_after, delta, p_match_first_after, delta_first, available, reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from analysis.data.schemas import ApplicantProfile
from analysis.data.vocabulary import specialty_name
from analysis.model.probability import MatchChances, MatchModel, match_chances, model_for
from analysis.model.signals import signal_map
from analysis.planners.backup import adjacent_specialties, max_specialties
from analysis.planners.enrollment import split_months
from analysis.planners.rotations import best_single_rotation, params, rotation_window
from analysis.planners.season import SeasonOverError, check_season, season_calendar
from analysis.planners.signals import ApplicantSignals, signal_plan
from analysis.planners.timeline import letters_ready_by, score_report_days, step2_score_by, step3_by
from analysis.planners.wording import dollars

MORE_APPLICATIONS = 20
RANDOM_DRAWS = 100
_SCHEMA = {
    "lever": pl.String,
    "label": pl.String,
    "baseline": pl.Float64,
    "p_match_any_after": pl.Float64,
    "delta": pl.Float64,
    "p_match_first_after": pl.Float64,
    "delta_first": pl.Float64,
    "available": pl.Boolean,
    "reason": pl.String,
}


@dataclass
class _Lever:
    """One lever: its label and either the change to evaluate or why it is left out."""

    lever: str
    label: str
    reason: str
    applicant: ApplicantProfile | None = None  # the profile after the action
    extra: dict[str, Any] = field(default_factory=dict)  # match_chances keyword arguments
    after: tuple[float, float] | None = None  # (anywhere, first choice) when not one call

    @property
    def available(self) -> bool:
        return self.applicant is not None


@dataclass
class _Context:
    applicant: ApplicantProfile
    model: MatchModel
    as_of: dt.date
    phase: str
    base: MatchChances
    signals: dict[str, str] = field(default_factory=dict)
    _signal_plan: ApplicantSignals | None = None

    def signal_plan(self) -> ApplicantSignals:
        """The signal planner on the applicant's own lists (computed once, unless given)."""
        if self._signal_plan is None or self._signal_plan.random is None:
            self._signal_plan = signal_plan(
                self.applicant,
                self.model,
                as_of=self.as_of,
                baselines=("random",),
                draws=RANDOM_DRAWS,
                seed=0,
            )
        return self._signal_plan


def _day(d: dt.date) -> str:
    return f"{d:%d %b %Y}"


def _step2(ctx: _Context, points: int) -> _Lever:
    a = ctx.applicant
    lever, label = f"step2_plus_{points}", f"Step 2 CK +{points}"
    if a.step2_taken:
        return _Lever(lever, label, f"Step 2 CK is taken (score {a.step2_score}): a score "
                      "cannot change")  # fmt: skip
    due = step2_score_by(a.match_year)
    exam = a.step2_exam_date or ctx.as_of
    if a.step2_exam_date is not None and a.step2_exam_date < ctx.as_of:
        return _Lever(lever, label, f"the exam date ({_day(a.step2_exam_date)}) has passed")
    ready = exam + dt.timedelta(days=score_report_days())
    if ready > due:
        return _Lever(lever, label, f"a score from an exam on {_day(exam)} arrives about "
                      f"{_day(ready)}, after programs start reviewing ({_day(due)})")  # fmt: skip
    new = min(300, a.step2_for_model + points)
    latest = due - dt.timedelta(days=score_report_days())
    when = f"the exam on {_day(exam)}" if a.step2_exam_date else f"an exam by {_day(latest)}"
    return _Lever(lever, label, f"expected {a.step2_for_model} -> {new}, if {when} goes that "
                  "much better", a.model_copy(update={"step2_expected": new}))  # fmt: skip


def _step3(ctx: _Context) -> _Lever:
    a = ctx.applicant
    lever, label = "step3", "Pass Step 3"
    if a.step3_passed:
        return _Lever(lever, label, "Step 3 is already passed")
    deadline = step3_by(a.match_year)
    earliest = max(ctx.as_of, a.step3_exam_date or ctx.as_of, a.graduation_date)
    ready = earliest + dt.timedelta(days=score_report_days())
    if ready > deadline:
        why = (
            f"Step 3 needs the medical degree (graduation {_day(a.graduation_date)})"
            if a.graduation_date >= ctx.as_of
            else f"an exam on {_day(earliest)}"
        )
        return _Lever(lever, label, f"{why}: the result would arrive after the rank-list "
                      f"deadline ({_day(deadline)})")  # fmt: skip
    need = " (H-1B sponsorship needs it)" if a.visa_needed in ("h1b", "either") else ""
    return _Lever(lever, label, f"a result before the rank-list deadline ({_day(deadline)}) is "
                  f"still possible{need}", a.model_copy(update={"step3_passed": True}))  # fmt: skip


def _months(ctx: _Context) -> tuple[list[dt.date], list[dt.date]]:
    a = ctx.applicant
    window = rotation_window(a.match_year, ctx.as_of)
    return split_months(a, window, int(params()["window"]["rotation_days"]))


def _no_month(ctx: _Context) -> str:
    due = letters_ready_by(ctx.applicant.match_year)
    return f"no month is left for a rotation that ends before letters are due ({_day(due)})"


def _letter(ctx: _Context) -> _Lever:
    a = ctx.applicant
    first = a.target_specialties[0]
    lever, label = "letter", f"One more US letter ({first})"
    visiting, graduate = _months(ctx)
    if not visiting and not graduate:
        return _Lever(lever, label, _no_month(ctx))
    letters = dict(a.us_letters)
    letters[first] = letters.get(first, 0) + 1
    return _Lever(lever, label, f"from a rotation in {specialty_name(first)} that ends before "
                  "letters are due", a.model_copy(update={"us_letters": letters}))  # fmt: skip


def _usce(ctx: _Context) -> _Lever:
    a = ctx.applicant
    lever, label = "usce", "One more month of hands-on US clinical experience"
    visiting, graduate = _months(ctx)
    after = a.model_copy(update={"usce_months": a.usce_months + 1})
    if visiting:
        return _Lever(lever, label, "a visiting elective before graduation", after)
    if not graduate:
        return _Lever(lever, label, _no_month(ctx))
    table = ctx.model.features(a.visa_needed).table
    column = "accepts_graduates_for_rotations"
    offered = (
        table.filter(pl.col("specialty").is_in(list(a.target_specialties)) & pl.col(column))
        if column in table.columns
        else table.head(0)
    )
    if offered.height == 0:
        return _Lever(lever, label, "as a graduate, only through an externship for graduates, "
                      "and no program of your specialties in the table is known to offer one "
                      "(observerships are not hands-on)")  # fmt: skip
    return _Lever(lever, label, f"as a graduate: an externship for graduates ({offered.height} "
                  "programs of your specialties offer them)", after)  # fmt: skip


def _rotation(ctx: _Context) -> _Lever:
    a = ctx.applicant
    first = a.target_specialties[0]
    lever, label = "rotation", f"One more away rotation ({first})"
    visiting, graduate = _months(ctx)
    if not visiting and not graduate:
        return _Lever(lever, label, _no_month(ctx))
    best = best_single_rotation(a, ctx.model, as_of=ctx.as_of)
    if best is None:
        who = "take IMG visiting students" if visiting else "offer rotations to graduates"
        return _Lever(lever, label, f"no program of {specialty_name(first)} in the table is "
                      f"known to {who} and fit a role")  # fmt: skip
    program, kind = best
    name = ctx.model.features(a.visa_needed).table.filter(pl.col("program_id") == program)
    what = "a visiting elective" if kind == "visiting_elective" else "an externship for graduates"
    return _Lever(lever, label, f"{what} at {name['program_name'][0]}", a,
                  {"rotations": [program]})  # fmt: skip


def _applications(ctx: _Context) -> _Lever:
    lever = "applications"
    label = f"{MORE_APPLICATIONS} more applications per specialty"
    if ctx.phase == "interviewing":
        return _Lever(lever, label, _closed(ctx))
    table = ctx.base.specialties
    more = {s: int(n) + MORE_APPLICATIONS for s, n in
            zip(table["specialty"], table["applications_requested"], strict=True)}  # fmt: skip
    after = match_chances(ctx.applicant, ctx.model, applications=more, curve=False)
    extra = after.total_cost_usd - ctx.base.total_cost_usd
    return _Lever(lever, label, f"about {dollars(extra)} more in fees", ctx.applicant,
                  {"applications": more})  # fmt: skip


def _closed(ctx: _Context) -> str:
    cal = season_calendar(ctx.applicant.match_year)
    return (
        f"applications for the {ctx.applicant.match_year} Match have effectively closed "
        f"(programs began reviewing on {_day(cal['programs_review'])})"
    )


def _backup(ctx: _Context) -> _Lever:
    a = ctx.applicant
    lever, label = "backup", "Add a backup specialty"
    if ctx.phase == "interviewing":
        return _Lever(lever, label, _closed(ctx))
    cap = max_specialties()
    if len(a.target_specialties) >= cap:
        return _Lever(lever, label, f"you already list {len(a.target_specialties)} specialties, "
                      f"the most one person can credibly prepare for is {cap}")  # fmt: skip
    present = set(ctx.model.specialties())
    options = [s for s in adjacent_specialties(a.target_specialties[0])
               if s not in a.target_specialties and s in present]  # fmt: skip
    if not options:
        return _Lever(lever, label, "no adjacent specialty is left in the table")
    backup = options[0]
    return _Lever(lever, f"Add {backup} as a backup", f"{specialty_name(backup)} after "
                  f"{', '.join(a.target_specialties)}", a,
                  {"specialties": [*a.target_specialties, backup]})  # fmt: skip


def _no_signals(ctx: _Context) -> str | None:
    """Why no signal can be placed (applications closed, counts unknown), or None."""
    if ctx.phase == "interviewing":
        return _closed(ctx)
    plan = ctx.signal_plan()
    if plan.optimized.signals.height == 0:
        notes = [n for n in plan.optimized.notes if "not known" in n or "left unused" in n]
        return notes[0] if notes else "no program on your lists can take a signal"
    return None


def _signal_counts(plan: ApplicantSignals) -> str:
    counts = plan.optimized.signals.group_by("tier").len().sort("tier")
    return ", ".join(f"{n} {tier}" for tier, n in counts.iter_rows())


def _signals_well(ctx: _Context) -> _Lever:
    lever, label = "signals", "Signals where they count"
    why = _no_signals(ctx)
    if why:
        return _Lever(lever, label, why)
    plan = ctx.signal_plan()
    first = plan.optimized.specialties.filter(
        pl.col("specialty") == ctx.applicant.target_specialties[0]
    )["p_match_with"]
    after = (plan.p_match_any_with, float(first[0]))  # = match_chances with these signals
    return _Lever(lever, label, f"the planner's {_signal_counts(plan)} signals, each where it "
                  "adds most; effect sizes are upper bounds for IMGs", ctx.applicant,
                  after=after)  # fmt: skip


def _signals_random(ctx: _Context) -> _Lever:
    lever, label = "signals_random", "Signals at random"
    why = _no_signals(ctx)
    if why:
        return _Lever(lever, label, why)
    plan = ctx.signal_plan()
    assert plan.random is not None
    after = (
        plan.random.p_match_any_with,
        plan.random.p_match_with[ctx.applicant.target_specialties[0]],
    )
    return _Lever(lever, label, f"the same {_signal_counts(plan)} signals sent to programs "
                  f"picked at random among those that can consider you (mean of {RANDOM_DRAWS} "
                  "draws)", ctx.applicant, after=after)  # fmt: skip


LEVER_NAMES = (
    ("step2_plus_5", "Step 2 CK +5"),
    ("step2_plus_10", "Step 2 CK +10"),
    ("step3", "Pass Step 3"),
    ("letter", "One more US letter"),
    ("usce", "One more month of hands-on US clinical experience"),
    ("rotation", "One more away rotation"),
    ("applications", f"{MORE_APPLICATIONS} more applications per specialty"),
    ("backup", "Add a backup specialty"),
    ("signals", "Signals where they count"),
    ("signals_random", "Signals at random"),
)
"""Every lever, in the order shown (labels name the specialty once an applicant is known)."""

LEVERS: tuple[Callable[[_Context], _Lever], ...] = (
    lambda ctx: _step2(ctx, 5),
    lambda ctx: _step2(ctx, 10),
    _step3,
    _letter,
    _usce,
    _rotation,
    _applications,
    _backup,
    _signals_well,
    _signals_random,
)


def levers(
    applicant: ApplicantProfile,
    programs: Any,
    *,
    as_of: dt.date | None = None,
    on_past: Literal["raise", "explain"] = "raise",
    signals: Any = None,
    signal_plan: ApplicantSignals | None = None,
) -> pl.DataFrame:
    """Every lever with its effect on P(match anywhere) when available, else why not.

    Args:
        applicant: the profile.
        programs: a program table or a prepared `MatchModel`.
        as_of: the plan date (default today).
        on_past: for a season that is over, "raise" `SeasonOverError` (plans refuse it) or
            "explain": every lever left out, with the season's end as the reason (the
            chances of a past season can still be shown).
        signals: program signals every lever is measured with ({program_id: tier}, as
            `match_chances` takes them); the signal levers replace them.
        signal_plan: `analysis.planners.signals.signal_plan` of this applicant and table with
            a random baseline, when the caller has it (else it is computed).

    Raises:
        SeasonOverError: the season is over at `as_of` and `on_past` is "raise".
    """
    as_of = as_of or dt.date.today()
    model = model_for(programs, as_of=as_of)
    base = match_chances(applicant, model, curve=False, signals=signals)
    try:
        phase = check_season(applicant.match_year, as_of)
    except SeasonOverError as error:
        if on_past == "raise":
            raise
        reason = error.problems[0].expected.split(":")[0]
        return pl.DataFrame(
            [{"lever": lever, "label": label, "baseline": base.p_match_any,
              "p_match_any_after": None, "delta": None, "p_match_first_after": None,
              "delta_first": None, "available": False, "reason": reason}
             for lever, label in LEVER_NAMES],
            schema=_SCHEMA,
        )  # fmt: skip
    ctx = _Context(applicant, model, as_of, phase, base, signal_map(signals), signal_plan)
    first = applicant.target_specialties[0]
    base_first = float(base.specialties["p_match"][0])
    rows = []
    for make in LEVERS:
        item = make(ctx)
        after_any = after_first = None
        if item.available and item.after is not None:
            after_any, after_first = item.after
        elif item.available:
            extra = {"signals": ctx.signals, **item.extra}
            after = match_chances(item.applicant, model, curve=False, **extra)
            after_any = after.p_match_any
            after_first = float(
                after.specialties.filter(pl.col("specialty") == first)["p_match"][0]
            )
        rows.append(
            {
                "lever": item.lever,
                "label": item.label,
                "baseline": base.p_match_any,
                "p_match_any_after": after_any,
                "delta": None if after_any is None else after_any - base.p_match_any,
                "p_match_first_after": after_first,
                "delta_first": None if after_first is None else after_first - base_first,
                "available": item.available,
                "reason": item.reason,
            }
        )
    return pl.DataFrame(rows, schema=_SCHEMA)
