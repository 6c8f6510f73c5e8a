"""The season's calendar: one table of dates per Match year, and where a plan date falls in it.

Every dated event of a plan derives from `season_calendar(match_year)`: MyERAS opening,
submission, programs' review, the effective close of applications, interview season, NRMP
registration, the rank-list deadline, Match Day, residency. The dates come from
`params/timeline.yaml`: the published dates of a season where listed (AAMC ERAS timeline,
NRMP Main Residency Match calendar), else rules relative to the Match year that reproduce the
published 2026 season; projected dates are marked approximate.

`season_phase` places a plan date in the season: preparing (before MyERAS opens), applying
(MyERAS open, applications still read in time), interviewing (applications have effectively
closed; interviews and ranking), or over (after Match Day). A plan for a season that is over
is refused with `SeasonOverError`, a `DataValidationError`, so the command line reports it as
bad input (exit 2) without a traceback.

Known limits: AAMC and NRMP can move dates; the projected ones repeat the 2026 pattern; the
close of applications is a judgement (programs differ).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from analysis.config import load_params
from analysis.errors import DataValidationError, Problem

PHASES = ("preparing", "applying", "interviewing", "over")
_WEEKDAYS = {name: i for i, name in enumerate(calendar.day_name)}


class SeasonOverError(DataValidationError):
    """A plan was asked for a Match season whose Match Day has passed."""

    def __init__(self, match_year: int, match_day: dt.date, as_of: dt.date) -> None:
        self.match_year = match_year
        super().__init__(
            [
                Problem(
                    file=None,
                    row=None,
                    column="match_year",
                    value=match_year,
                    expected=(
                        f"the {match_year} Match is over (Match Day was {match_day.isoformat()}, "
                        f"before the plan date {as_of.isoformat()}): give a later match_year "
                        "or an earlier --as-of"
                    ),
                )
            ],
            source="the applicant profile",
        )


@dataclass(frozen=True)
class SeasonEvent:
    """One dated event of the season's calendar."""

    name: str
    label: str
    start: dt.date
    end: dt.date | None
    approximate: bool
    source: str


@dataclass(frozen=True)
class SeasonCalendar:
    """The dates of one Match season (see the module docstring)."""

    match_year: int
    events: dict[str, SeasonEvent]

    def __getitem__(self, name: str) -> dt.date:
        return self.events[name].start

    def end(self, name: str) -> dt.date:
        """The last day of an event (its date when it is a single day)."""
        event = self.events[name]
        return event.end or event.start

    def resolve(self, rule: dict[str, Any]) -> dt.date:
        """A date from a rule of `params/timeline.yaml` relative to this season."""
        return _resolve(rule, self.match_year, {k: e.start for k, e in self.events.items()})


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


def _dates(match_year: int, fixed: dict[str, dt.date]) -> dict[str, dt.date]:
    """Every event's date: the fixed ones as given, the others from their rules (rules may
    refer to other events, fixed or not)."""
    events = load_params("timeline")["events"]
    known = dict(fixed)
    pending = {name: item for name, item in events.items() if name not in known}
    while pending:
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


def projected_dates(match_year: int) -> dict[str, dt.date]:
    """The rules' dates for a season, ignoring published ones (to check the rules)."""
    return _dates(match_year, {})


@functools.cache
def season_calendar(match_year: int) -> SeasonCalendar:
    """The season's calendar: published dates where known, the rules' projection otherwise.

    Events defined relative to a published date (the rank-list deadline to Match Day, the
    submission date to programs' review) follow the published date.
    """
    p = load_params("timeline")
    published = dict(p.get("published", {}).get(match_year, {}))
    published_source = str(published.pop("source", ""))
    fixed = {name: dt.date.fromisoformat(str(day)) for name, day in published.items()}
    dates = _dates(match_year, fixed)
    events = {}
    for name, item in p["events"].items():
        end = _resolve(item["end"], match_year, dates) if "end" in item else None
        events[name] = SeasonEvent(
            name=name,
            label=item["label"],
            start=dates[name],
            end=end,
            approximate=name not in fixed,
            source=published_source if name in fixed else " ".join(item["source"].split()),
        )
    return SeasonCalendar(match_year=match_year, events=events)


def season_phase(match_year: int, as_of: dt.date) -> str:
    """Where a plan date falls in a season: preparing, applying, interviewing or over."""
    cal = season_calendar(match_year)
    if as_of > cal["match_day"]:
        return "over"
    if as_of > cal["applications_close"]:
        return "interviewing"
    if as_of >= cal["myeras_opens"]:
        return "applying"
    return "preparing"


def check_season(match_year: int, as_of: dt.date) -> str:
    """The season's phase; raises `SeasonOverError` when the season is over."""
    phase = season_phase(match_year, as_of)
    if phase == "over":
        raise SeasonOverError(match_year, season_calendar(match_year)["match_day"], as_of)
    return phase


def phase_note(match_year: int, as_of: dt.date) -> str | None:
    """One sentence for a season already under way (None before it starts)."""
    cal = season_calendar(match_year)
    phase = season_phase(match_year, as_of)
    if phase == "applying" and as_of < cal["programs_review"]:
        return (
            f"The {match_year} season is under way (MyERAS opened {cal['myeras_opens']:%d %b %Y}; "
            f"programs review from {cal['programs_review']:%d %b %Y}): this plan covers what "
            "can still be done before applications are read."
        )
    if phase == "applying":
        return (
            f"The {match_year} season is under way and programs have been reviewing since "
            f"{cal['programs_review']:%d %b %Y}: applications sent now are read later, and "
            f"after about {cal['applications_close']:%d %b %Y} rarely in time; this plan covers "
            "what can still be done."
        )
    if phase == "interviewing":
        return (
            f"The {match_year} season is under way and applications have effectively closed "
            f"(programs began reviewing on {cal['programs_review']:%d %b %Y}): this plan adds no "
            "specialties, programs or rotations; it covers interviews, ranking and what can "
            "still change before the rank-list deadline "
            f"({cal['rank_list_deadline']:%d %b %Y})."
        )
    return None
