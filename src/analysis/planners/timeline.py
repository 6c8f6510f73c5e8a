"""A personal calendar from now to Match Day: preparation, exams, rotations, ERAS, the Match.

Method: every date derives from the season's calendar (`analysis.planners.season`, dates and
sources in `params/timeline.yaml`: AAMC ERAS timeline, NRMP Main Residency Match calendar).
The applicant's own steps are placed relative to it, following the advising guides: research
programs and contact coordinators 18-12 months before the Match (Essential Away Rotation
Strategy for Non-US Citizen IMGs in Interventional Radiology); the Step 2 CK score in the
application when programs start reviewing, so the exam at least a score-reporting delay
before (USMLE score reporting); Step 3 passed before the rank-list deadline when an H-1B is
wanted (Mastering Interventional Radiology: A Guide for Non-US Citizen IMGs); apply for each
rotation about 6 months ahead and ask for the letter in its final week (Ultimate IMG
Residency Guide: Mastering Away Rotations in Internal Medicine); letters in two weeks before
programs review (judgement).

Status of each row against the plan date `as_of`: a *calendar* event is `done` once it has
passed, `due` while it is happening, else `upcoming`; an applicant's *task* is `done` when the
profile shows it (Step 2 CK taken, Step 3 passed), `overdue` when its last day has passed,
`due` when it is under way or starts within `due_within_days` (30), else `upcoming`. A task
under way is shown from the plan date, never scheduled in the past.

Output: one row per milestone: start, end (null for a single day), event, category, kind
(calendar or task), status, approximate, source, past (done or overdue).

Known limits: rules reproduce recent seasons; AAMC and NRMP can move dates; programs'
own deadlines vary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from analysis.config import load_params
from analysis.data.schemas import ApplicantProfile
from analysis.planners.season import SeasonCalendar, season_calendar

CATEGORIES = ("preparation", "exam", "rotation", "application", "interviews", "match", "visa")
STATUSES = ("done", "overdue", "due", "upcoming")
_SCHEMA = {
    "start": pl.Date,
    "end": pl.Date,
    "event": pl.String,
    "category": pl.String,
    "kind": pl.String,
    "done": pl.Boolean,
    "approximate": pl.Boolean,
    "source": pl.String,
}
_CALENDAR_CATEGORY = {
    "myeras_opens": "application",
    "myeras_submission": "application",
    "nrmp_registration_opens": "match",
    "programs_review": "application",
    "applications_close": "application",
    "interview_season": "interviews",
    "nrmp_registration_deadline": "match",
    "rank_list_opens": "match",
    "rank_list_deadline": "match",
    "match_day": "match",
    "residency_starts": "match",
}
Add = Callable[..., None]


def _personal() -> dict[str, Any]:
    return load_params("timeline")["personal"]


def _text(source: str) -> str:
    return " ".join(str(source).split())


def letters_ready_by(match_year: int) -> dt.date:
    """The date letters must be in: two weeks before programs can review (timeline.yaml)."""
    cal = season_calendar(match_year)
    return cal.resolve(_personal()["letters_due"]["rule"])


def step2_score_by(match_year: int) -> dt.date:
    """The date the Step 2 CK score should be in the application (programs' review)."""
    return season_calendar(match_year).resolve(_personal()["step2_score_by"]["rule"])


def step3_by(match_year: int) -> dt.date:
    """The date Step 3 should be passed by (the rank-list deadline)."""
    return season_calendar(match_year).resolve(_personal()["step3_by"]["rule"])


def score_report_days() -> int:
    """Days from a USMLE exam to its score (timeline.yaml)."""
    return int(_personal()["score_report_days"])


def _months_before(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + (day.month - 1) - months
    return dt.date(total // 12, total % 12 + 1, 1)


def _calendar_rows(cal: SeasonCalendar, add: Add) -> None:
    for name, event in cal.events.items():
        add(event.start, event.end, event.label, _CALENDAR_CATEGORY.get(name, "match"),
            event.source, approximate=event.approximate, kind="calendar")  # fmt: skip


def _exam_rows(applicant: ApplicantProfile, cal: SeasonCalendar, add: Add) -> None:
    """Step 2 CK (taken, or planned with its score date) and Step 3 for an H-1B."""
    p = _personal()
    lag = dt.timedelta(days=score_report_days())
    score_by = cal.resolve(p["step2_score_by"]["rule"])
    source = _text(p["step2_score_by"]["source"])
    if applicant.step2_taken:
        add(score_by, None, f"Step 2 CK taken (score {applicant.step2_score})", "exam", source,
            done=True)  # fmt: skip
    else:
        exam = applicant.step2_exam_date or score_by - lag
        when = "planned" if applicant.step2_exam_date else "latest date"
        add(exam, None, f"Step 2 CK exam ({when}; expected score {applicant.step2_expected})",
            "exam", _text(p["score_report_source"]))  # fmt: skip
        ready = exam + lag
        late = ready > score_by
        event = (
            f"Step 2 CK score expected after programs start reviewing ({score_by:%d %b %Y}): "
            "they first read the application without it"
            if late
            else "Step 2 CK score in hand before programs start reviewing"
        )
        add(ready, None, event, "exam", source)
    if applicant.visa_needed in ("h1b", "either"):
        deadline = cal.resolve(p["step3_by"]["rule"])
        if applicant.step3_passed:
            add(deadline, None, "Step 3 passed (H-1B sponsorship needs it)", "exam",
                _text(p["step3_by"]["source"]), done=True)  # fmt: skip
        else:
            exam = applicant.step3_exam_date or deadline - lag
            add(exam, None, "Take Step 3 (its result is due before the rank-list deadline; "
                "H-1B sponsorship needs it)", "exam", _text(p["step3_by"]["source"]))  # fmt: skip


def _rotation_rows(rotations: pl.DataFrame | None, as_of: dt.date, add: Add) -> None:
    """Apply, rotate, ask for the letter: one group per planned rotation or option."""
    if rotations is None or rotations.height == 0:
        return
    p = _personal()
    lead = int(p["rotation_application_lead_months"])
    ask = dt.timedelta(days=int(p["letter_request_days_before_end"]))
    for r in rotations.sort("start").iter_rows(named=True):
        kind = r.get("kind") or "visiting_elective"
        if r.get("program_id"):
            what = _ROTATION_NAMES.get(kind, "away rotation")
            where = f"{r['program_name']} ({r['specialty']}, {r['role']})"
            applied, held = f"the {what} at {where}", f"{what[0].upper()}{what[1:]}: {where}"
            letter = f"Ask for a strong letter at {r['program_name']}"
        else:  # an observership or research position: the applicant chooses the place
            applied, held = r["program_name"], r["program_name"]
            letter = f"Ask for a letter at the end of the {kind.replace('_', ' ')}"
        apply_on = _months_before(r["start"], lead)
        late = " (apply now: places fill 6-9 months ahead)" if apply_on < as_of else ""
        add(max(apply_on, as_of), None, f"Apply for {applied}{late}", "application",
            _text(p["rotation_application_source"]))  # fmt: skip
        add(r["start"], r["end"], held, "rotation", "imgmatch rotation plan", approximate=False)
        add(r["end"] - ask, None, letter, "application", _text(p["letter_request_source"]))


_ROTATION_NAMES = {
    "visiting_elective": "away rotation (visiting-student elective)",
    "graduate_externship": "hands-on externship for graduates",
}


def _application_rows(applicant: ApplicantProfile, cal: SeasonCalendar, add: Add) -> None:
    p = _personal()
    research = p["research_programs"]
    add(
        _months_before(cal["match_day"], research["start_months_before_match"]),
        _months_before(cal["match_day"], research["end_months_before_match"]),
        "Research programs; email coordinators about visiting, visa and eligibility policies",
        "preparation",
        _text(research["source"]),
    )
    add(cal.resolve(p["letters_due"]["rule"]), None, "All letters uploaded to ERAS",
        "application", _text(p["letters_due"]["source"]))  # fmt: skip
    add(cal["myeras_submission"], cal.resolve(p["submit_by"]["rule"]),
        "Submit the application in MyERAS (before programs can review)", "application",
        _text(p["submit_by"]["source"]))  # fmt: skip
    add(cal["nrmp_registration_opens"], cal["nrmp_registration_deadline"],
        "Register for the NRMP Main Residency Match", "match",
        cal.events["nrmp_registration_deadline"].source)  # fmt: skip
    add(cal["rank_list_opens"], cal["rank_list_deadline"],
        "Enter and certify your rank order list", "match",
        cal.events["rank_list_deadline"].source)  # fmt: skip
    if applicant.visa_needed != "none":
        visa = p["visa_processing"]
        add(cal.resolve(visa["rule"]), cal.resolve(visa["end"]),
            "Visa paperwork with the matched program (J-1 through ECFMG, or H-1B petition)",
            "visa", _text(visa["source"]))  # fmt: skip


def with_status(frame: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Add `status` and `past` (see the module docstring); tasks under way start at `as_of`."""
    soon = as_of + dt.timedelta(days=int(_personal()["due_within_days"]))
    last = pl.coalesce("end", "start")
    task = pl.col("kind") == "task"
    status = (
        pl.when(pl.col("done"))
        .then(pl.lit("done"))
        .when(last < as_of)
        .then(pl.when(task).then(pl.lit("overdue")).otherwise(pl.lit("done")))
        .when(pl.col("start") <= as_of)
        .then(pl.lit("due"))
        .when(task & (pl.col("start") <= soon))
        .then(pl.lit("due"))
        .otherwise(pl.lit("upcoming"))
    )
    frame = frame.with_columns(status=status)
    under_way = task & (pl.col("status") == "due") & (pl.col("start") < as_of)
    return frame.with_columns(
        start=pl.when(under_way).then(pl.lit(as_of)).otherwise(pl.col("start")),
        past=pl.col("status").is_in(["done", "overdue"]),
    )


def build_timeline(
    applicant: ApplicantProfile,
    rotations: pl.DataFrame | None = None,
    *,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Dated milestones for one applicant, sorted by date.

    Columns: start, end (Date or null), event, category, kind, status, approximate, source,
    past. `rotations`: the planned rotations (start, end, program_name, specialty, role and,
    when known, kind).
    """
    as_of = as_of or dt.date.today()
    cal = season_calendar(applicant.match_year)
    rows: list[dict[str, Any]] = []

    def add(start, end, event, category, source, *, approximate=True, kind="task", done=False):
        rows.append({"start": start, "end": end, "event": event, "category": category,
                     "kind": kind, "done": done, "approximate": approximate,
                     "source": source})  # fmt: skip

    _calendar_rows(cal, add)
    _application_rows(applicant, cal, add)
    _exam_rows(applicant, cal, add)
    _rotation_rows(rotations, as_of, add)
    frame = with_status(pl.DataFrame(rows, schema=_SCHEMA), as_of)
    return frame.drop("done").sort(["start", "event"])


def cycle_dates(match_year: int) -> dict[str, dt.date]:
    """The season's dates by event name (see `analysis.planners.season`)."""
    return {name: event.start for name, event in season_calendar(match_year).events.items()}
