"""A personal calendar from now to Match Day: preparation, exams, rotations, ERAS, the Match.

Method: the cycle's dates that change every year (ERAS opening to applicants and programs,
NRMP registration, rank-list deadline, Match Day) are rules relative to the Match year in
`params/timeline.yaml`, each with its source, all marked approximate: check the current AAMC
and NRMP calendars. Personal milestones follow the advising guides (shared/seeds): research
programs and contact coordinators 18-12 months before the Match; Step 2 CK done before ERAS
opens; Step 3 before the rank-list deadline when an H-1B is wanted; apply to each rotation
about 6 months ahead; ask for the letter in its final week; letters in two weeks before
programs start reading; interviews November to January.

Inputs: the applicant profile, optionally the chosen rotations (a frame with `start`, `end`,
`program_name`, `specialty`, `role`). Output: one row per milestone: start, end (null for a
single day), event, category, approximate, source, past (before `as_of`).

Known limits: rules reproduce recent cycles; AAMC and NRMP can move dates (ERAS opened in
late September in 2025 but has moved before); individual programs' deadlines vary.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import polars as pl

from analysis.config import load_params
from analysis.data.schemas import ApplicantProfile

CATEGORIES = ("preparation", "exam", "rotation", "application", "interviews", "match", "visa")
_WEEKDAYS = {name: i for i, name in enumerate(calendar.day_name)}


def _nth_weekday(year: int, month: int, weekday: str, nth: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (_WEEKDAYS[weekday] - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 7 * (nth - 1))


def _resolve(rule: dict[str, Any], match_year: int, known: dict[str, dt.date]) -> dt.date:
    if "relative_to" in rule:
        return known[rule["relative_to"]] + dt.timedelta(days=int(rule["days"]))
    year = match_year + int(rule.get("year_offset", 0))
    if "weekday" in rule:
        return _nth_weekday(year, int(rule["month"]), rule["weekday"], int(rule["nth"]))
    return dt.date(year, int(rule["month"]), int(rule.get("day", 1)))


def cycle_dates(match_year: int) -> dict[str, dt.date]:
    """The cycle's key dates for a Match year (approximate; see params/timeline.yaml)."""
    cycle = load_params("timeline")["cycle"]
    known: dict[str, dt.date] = {}
    pending = dict(cycle)
    while pending:  # rules may refer to dates resolved earlier (match_day first if needed)
        progressed = False
        for name, item in list(pending.items()):
            rule = item["rule"]
            if "relative_to" in rule and rule["relative_to"] not in known:
                continue
            known[name] = _resolve(rule, match_year, known)
            del pending[name]
            progressed = True
        if not progressed:
            raise ValueError(f"circular date rules in timeline.yaml: {sorted(pending)}")
    return known


def letters_ready_by(match_year: int) -> dt.date:
    """The date letters must be in: two weeks before ERAS opens to programs."""
    personal = load_params("timeline")["personal"]
    dates = cycle_dates(match_year)
    return _resolve(personal["letters_due"]["rule"], match_year, dates)


def _months_before(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + (day.month - 1) - months
    return dt.date(total // 12, total % 12 + 1, 1)


def build_timeline(
    applicant: ApplicantProfile,
    rotations: pl.DataFrame | None = None,
    *,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Dated milestones for one applicant, sorted by date.

    Columns: start, end (Date or null), event, category, approximate, source, past.
    """
    as_of = as_of or dt.date.today()
    p = load_params("timeline")
    cycle, personal = p["cycle"], p["personal"]
    year = applicant.match_year
    dates = cycle_dates(year)
    rows: list[dict[str, Any]] = []

    def add(start, end, event, category, source, approximate=True):
        rows.append(
            {
                "start": start,
                "end": end,
                "event": event,
                "category": category,
                "approximate": approximate,
                "source": source,
            }
        )

    research = personal["research_programs"]
    add(
        _months_before(dates["match_day"], research["start_months_before_match"]),
        _months_before(dates["match_day"], research["end_months_before_match"]),
        "Research programs; email coordinators about visiting-student and visa policies",
        "preparation",
        research["source"],
    )
    step2 = _resolve(personal["step2_by"]["rule"], year, dates)
    add(
        step2,
        None,
        f"Step 2 CK score in hand before ERAS opens (profile: {applicant.step2_for_model})",
        "exam",
        personal["step2_by"]["source"],
    )
    if applicant.visa_needed in ("h1b", "either") and not applicant.step3_passed:
        add(
            _resolve(personal["step3_by"]["rule"], year, dates),
            None,
            "Pass Step 3 before the rank-list deadline (H-1B sponsorship needs it)",
            "exam",
            personal["step3_by"]["source"],
        )
    lead = int(personal["rotation_application_lead_months"])
    ask_days = int(personal["letter_request_days_before_end"])
    if rotations is not None and rotations.height:
        for r in rotations.sort("start").iter_rows(named=True):
            where = f"{r['program_name']} ({r['specialty']}, {r['role']})"
            add(
                _months_before(r["start"], lead),
                None,
                f"Apply for the away rotation at {where}",
                "application",
                "seeds: rotations fill 6-9 months in advance",
            )
            add(r["start"], r["end"], f"Away rotation: {where}", "rotation",
                "imgmatch rotation plan", approximate=False)  # fmt: skip
            add(
                r["end"] - dt.timedelta(days=ask_days),
                None,
                f"Ask for a strong letter at {r['program_name']}",
                "application",
                "seeds: ask during the final week of the rotation",
            )
    add(
        letters_ready_by(year),
        None,
        "All letters uploaded to ERAS",
        "application",
        personal["letters_due"]["source"],
    )
    add(
        dates["eras_opens_to_applicants"],
        None,
        "ERAS opens to applicants: start the application",
        "application",
        cycle["eras_opens_to_applicants"]["source"],
    )
    add(
        dates["nrmp_registration_opens"],
        None,
        "NRMP registration opens",
        "match",
        cycle["nrmp_registration_opens"]["source"],
    )
    add(
        dates["eras_opens_to_programs"],
        None,
        "ERAS opens to programs: submit by this day",
        "application",
        cycle["eras_opens_to_programs"]["source"],
    )
    add(
        dates["interview_season"],
        _resolve(cycle["interview_season"]["end"], year, dates),
        "Interview season (keep free for interviews; no rotations)",
        "interviews",
        cycle["interview_season"]["source"],
    )
    add(dates["rank_list_opens"], None, "Rank order list opens", "match",
        cycle["rank_list_opens"]["source"])  # fmt: skip
    add(
        dates["rank_list_deadline"],
        None,
        "Rank order list deadline: certify your list",
        "match",
        cycle["rank_list_deadline"]["source"],
    )
    add(dates["match_day"], None, "Match Day", "match", cycle["match_day"]["source"])
    if applicant.visa_needed != "none":
        visa = personal["visa_processing"]
        add(
            _resolve(visa["rule"], year, dates),
            _resolve(visa["end"], year, dates),
            "Visa paperwork with the matched program (J-1 through ECFMG, or H-1B petition)",
            "visa",
            visa["source"],
        )
    add(dates["residency_starts"], None, "Residency starts", "match",
        cycle["residency_starts"]["source"])  # fmt: skip
    frame = pl.DataFrame(
        rows,
        schema={
            "start": pl.Date,
            "end": pl.Date,
            "event": pl.String,
            "category": pl.String,
            "approximate": pl.Boolean,
            "source": pl.String,
        },
    )
    return frame.with_columns(
        past=pl.coalesce("end", "start") < pl.lit(as_of),
    ).sort(["start", "event"])
