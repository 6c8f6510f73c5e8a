"""Season calendar and timeline: published dates, ordering invariants 2027-2030, statuses."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analysis.errors import DataValidationError
from analysis.planners.rotations import rotation_window
from analysis.planners.season import (
    SeasonOverError,
    check_season,
    phase_note,
    projected_dates,
    season_calendar,
    season_phase,
)
from analysis.planners.timeline import (
    STATUSES,
    build_timeline,
    letters_ready_by,
    score_report_days,
    step2_score_by,
    step3_by,
)
from tests.unit.engine_frames import applicant

LAG = dt.timedelta(days=score_report_days())


def test_rules_reproduce_the_published_2026_season_and_match_days():
    published = season_calendar(2026)
    projected = projected_dates(2026)
    assert published["myeras_opens"] == projected["myeras_opens"] == dt.date(2025, 6, 4)
    assert published["programs_review"] == projected["programs_review"] == dt.date(2025, 9, 24)
    assert published["match_day"] == projected["match_day"] == dt.date(2026, 3, 20)
    assert published["rank_list_deadline"] == projected["rank_list_deadline"] == dt.date(2026, 3, 4)
    assert not published.events["match_day"].approximate  # published
    assert season_calendar(2028).events["match_day"].approximate  # projected
    assert season_calendar(2025)["match_day"] == dt.date(2025, 3, 21)
    for year in range(2026, 2034):
        day = season_calendar(year)["match_day"]
        assert day.weekday() == 4 and 15 <= day.day <= 21  # the third Friday of March
    for event in season_calendar(2029).events.values():
        assert event.source and "seed" not in event.source.lower()


def _rotations(match_year: int, as_of: dt.date, months: list[dt.date] | None = None):
    months = months or rotation_window(match_year, as_of)[-2:]
    return pl.DataFrame(
        {
            "program_id": [f"P{i}" for i in range(len(months))],
            "program_name": [f"Test Program {i}" for i in range(len(months))],
            "specialty": ["IM"] * len(months),
            "role": ["safety"] * len(months),
            "kind": ["visiting_elective"] * len(months),
            "start": months,
            "end": [m + dt.timedelta(days=27) for m in months],
        },
        schema_overrides={"start": pl.Date, "end": pl.Date},
    )


def _on(t: pl.DataFrame, prefix: str) -> dt.date:
    return t.filter(pl.col("event").str.starts_with(prefix))["start"][0]


@pytest.mark.parametrize("year", [2027, 2028, 2029, 2030])
@pytest.mark.parametrize("taken", [True, False])
def test_ordering_invariants_hold_for_every_match_year(year, taken):
    cal = season_calendar(year)
    order = ["myeras_opens", "myeras_submission", "programs_review", "applications_close",
             "interview_season", "rank_list_opens", "rank_list_deadline", "match_day",
             "residency_starts"]  # fmt: skip
    days = [cal[name] for name in order]
    assert days == sorted(days) and len(set(days)) == len(days)
    assert cal.end("interview_season") < cal["rank_list_opens"]
    assert cal["nrmp_registration_opens"] < cal["programs_review"]
    assert cal["nrmp_registration_deadline"] < cal["rank_list_deadline"]
    # the applicant's steps, for a plan made two years ahead (every step still open)
    as_of = dt.date(year - 2, 3, 1)
    step2 = {"step2_score": 240} if taken else {"step2_score": None, "step2_expected": 240}
    person = applicant(visa_needed="h1b", step3_passed=False, match_year=year,
                       graduation_year=2025, target_specialties=["IM"], **step2)  # fmt: skip
    rotations = _rotations(year, as_of)
    assert rotations.height == 2
    t = build_timeline(person, rotations, as_of=as_of)
    assert t["start"].is_sorted()
    letters = letters_ready_by(year)
    assert letters < cal["programs_review"]  # letters before programs review
    assert (rotations["end"] <= letters).all()  # rotations end before letters are due
    assert (t.filter(pl.col("category") == "rotation")["end"] <= letters).all()
    assert step2_score_by(year) <= cal["programs_review"]  # Step 2 CK score before review
    if taken:
        assert t.filter(pl.col("event").str.starts_with("Step 2 CK taken"))["status"][0] == "done"
    else:
        assert _on(t, "Step 2 CK exam") + LAG <= cal["programs_review"]
        assert _on(t, "Step 2 CK score in hand") <= cal["programs_review"]
    assert _on(t, "Take Step 3") + LAG <= step3_by(year) <= cal["rank_list_deadline"]
    submit = t.filter(pl.col("event").str.starts_with("Submit the application")).row(0, named=True)
    assert cal["myeras_submission"] <= submit["start"] <= submit["end"] < cal["programs_review"]
    assert _on(t, "Research programs") < cal["myeras_opens"]
    for r in rotations.iter_rows(named=True):
        apply = t.filter(pl.col("event").str.contains(f"Test Program {r['program_id'][1:]}"))
        assert apply["start"].min() < r["start"]  # applied for before it starts
        ask = _on(t, f"Ask for a strong letter at {r['program_name']}")
        assert r["start"] < ask <= r["end"]
    visa = t.filter(pl.col("category") == "visa").row(0, named=True)
    assert cal["match_day"] < visa["start"] <= visa["end"] < cal["residency_starts"]
    assert set(t["status"]) <= set(STATUSES)
    assert (t["start"] >= as_of).all() or (t.filter(pl.col("start") < as_of)["past"]).all()


def test_statuses_against_the_plan_date_and_nothing_scheduled_in_the_past():
    person = applicant(visa_needed="h1b", step3_passed=False, match_year=2028,
                       graduation_year=2025, target_specialties=["IM"])  # fmt: skip
    as_of = dt.date(2026, 12, 1)
    # rotations in March and April 2027: their applications were due in the autumn of 2026
    rotations = _rotations(2028, as_of, [dt.date(2027, 3, 1), dt.date(2027, 4, 1)])
    t = build_timeline(person, rotations, as_of=as_of)
    assert set(t["status"]) <= set(STATUSES)
    # the research period (18-12 months before the Match) is under way: shown from today
    research = t.filter(pl.col("event").str.starts_with("Research programs")).row(0, named=True)
    assert research["status"] == "due" and research["start"] == as_of
    # a rotation whose application should have gone out already: apply now, not in the past
    late = t.filter(pl.col("event").str.contains("apply now"))
    assert late.height >= 1 and (late["start"] == as_of).all() and (late["status"] == "due").all()
    # tasks are never scheduled before the plan date unless marked done or overdue
    tasks = t.filter(pl.col("kind") == "task")
    before = tasks.filter(pl.col("start") < as_of)
    assert before["status"].is_in(["done", "overdue"]).all()
    upcoming = t.filter(pl.col("status") == "upcoming")
    assert (upcoming["start"] > as_of).all()


def test_a_season_under_way_marks_calendar_events_done_and_tasks_overdue():
    person = applicant(visa_needed="none", match_year=2027, graduation_year=2025,
                       target_specialties=["IM"])  # fmt: skip
    as_of = dt.date(2026, 11, 23)
    t = build_timeline(person, as_of=as_of)
    review = t.filter(pl.col("event").str.starts_with("ERAS opens to programs")).row(0, named=True)
    assert review["status"] == "done" and review["past"]
    submit = t.filter(pl.col("event").str.starts_with("Submit the application")).row(0, named=True)
    assert submit["status"] == "overdue"
    interviews = t.filter(pl.col("category") == "interviews").row(0, named=True)
    assert interviews["status"] == "due"  # happening now
    assert t.filter(pl.col("event") == "Match Day")["status"][0] == "upcoming"
    assert not t["event"].str.contains("Visa").any()
    assert not t["event"].str.contains("Step 3").any()


def test_season_phases_and_past_seasons_are_refused():
    assert season_phase(2028, dt.date(2026, 12, 1)) == "preparing"
    assert season_phase(2027, dt.date(2026, 7, 1)) == "applying"
    assert season_phase(2027, dt.date(2026, 12, 1)) == "interviewing"
    assert season_phase(2026, dt.date(2026, 12, 1)) == "over"
    assert phase_note(2028, dt.date(2026, 12, 1)) is None
    assert "effectively closed" in phase_note(2027, dt.date(2026, 12, 1))
    assert "before applications are read" in phase_note(2027, dt.date(2026, 7, 1))
    assert "have been reviewing since" in phase_note(2027, dt.date(2026, 10, 1))
    assert check_season(2027, dt.date(2026, 12, 1)) == "interviewing"
    with pytest.raises(SeasonOverError) as error:
        check_season(2026, dt.date(2026, 12, 1))
    assert isinstance(error.value, DataValidationError)  # the CLI's bad-input path (exit 2)
    problem = error.value.problems[0]
    assert problem.column == "match_year" and problem.value == 2026
    assert "2026-03-20" in problem.expected
