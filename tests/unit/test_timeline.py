"""Timeline: cycle dates from rules, personal milestones, rotations placed, past flags."""

from __future__ import annotations

import datetime as dt

import polars as pl

from analysis.planners.timeline import build_timeline, cycle_dates, letters_ready_by
from tests.unit.engine_frames import applicant


def test_cycle_rules_reproduce_the_published_2026_and_2025_dates():
    d = cycle_dates(2026)
    assert d["eras_opens_to_applicants"] == dt.date(2025, 6, 4)
    assert d["eras_opens_to_programs"] == dt.date(2025, 9, 24)
    assert d["match_day"] == dt.date(2026, 3, 20)
    assert d["rank_list_deadline"] == dt.date(2026, 3, 4)
    assert cycle_dates(2025)["match_day"] == dt.date(2025, 3, 21)
    for year in range(2026, 2034):
        day = cycle_dates(year)["match_day"]
        assert day.weekday() == 4 and 15 <= day.day <= 21  # the third Friday of March


def test_timeline_has_every_milestone_in_order_and_marks_approximate_dates():
    a = applicant(visa_needed="h1b", step3_passed=False, target_specialties=["IM"])
    rotations = pl.DataFrame(
        {
            "program_id": ["P1"],
            "program_name": ["Test Program"],
            "specialty": ["IM"],
            "role": ["safety"],
            "start": [dt.date(2027, 7, 1)],
            "end": [dt.date(2027, 7, 28)],
        }
    )
    t = build_timeline(a, rotations, as_of=dt.date(2026, 11, 1))
    events = " | ".join(t["event"])
    for needle in ("Research programs", "Step 2 CK", "Pass Step 3", "Apply for the away rotation",
                   "Away rotation", "Ask for a strong letter", "letters uploaded",
                   "ERAS opens to applicants", "ERAS opens to programs", "Interview season",
                   "Rank order list deadline", "Match Day", "Visa paperwork"):  # fmt: skip
        assert needle in events, needle
    assert t["start"].is_sorted()
    rotation = t.filter(pl.col("category") == "rotation").row(0, named=True)
    assert not rotation["approximate"]  # the plan's own dates are not approximate
    assert t.filter(pl.col("category") == "match")["approximate"].all()
    assert t["source"].is_not_null().all()
    # the rotation's letter is asked during its final week and due before ERAS opens
    ask = t.filter(pl.col("event").str.starts_with("Ask for"))["start"][0]
    assert rotation["start"] < ask <= rotation["end"]
    assert letters_ready_by(2028) < cycle_dates(2028)["eras_opens_to_programs"]


def test_past_events_are_flagged_and_us_citizens_have_no_visa_step():
    a = applicant(visa_needed="none", match_year=2027, graduation_year=2025)
    t = build_timeline(a, as_of=dt.date(2026, 11, 23))
    assert t.filter(pl.col("event").str.starts_with("ERAS opens to programs"))["past"][0]
    assert not t.filter(pl.col("event") == "Match Day")["past"][0]
    assert not t["event"].str.contains("Visa").any()
    assert not t["event"].str.contains("Step 3").any()
