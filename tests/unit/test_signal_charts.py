"""Charts of program signals: data inline, takeaway titles, clear errors, empty inputs."""

from __future__ import annotations

import json

import polars as pl
import pytest

from analysis.errors import DataValidationError
from analysis.viz.signals import signal_chart, signal_comparison

SIGNALS = pl.DataFrame(
    {
        "program_id": ["A", "B", "C"],
        "program_name": ["Alpha <b>Program</b>", None, "Gamma"],
        "state": ["NY", "OH", None],
        "specialty": ["IM", "IM", "FM"],
        "tier": ["gold", "silver", "single"],
        "p_interview_without": [0.18, 0.05, 0.4],
        "p_interview_with": [0.44, 0.09, 0.64],
        "gain_p_match_any": [0.031, 0.004, 0.02],
        "reason": ["middling chance 18% -> 44%", "low", "x"],
    }
)


def _data(chart) -> list[dict]:
    spec = chart.to_dict()
    values = list(spec.get("datasets", {}).values()) or [spec["data"]["values"]]
    first = values[0]
    return json.loads(first) if isinstance(first, str) else first


def test_signal_chart_puts_every_signal_inline_with_its_two_chances_and_the_takeaway():
    chart = signal_chart(SIGNALS, p_match_any_without=0.5, p_match_any_with=0.556)
    spec = chart.to_dict()
    rows = _data(chart)
    assert len(rows) == 3
    by_label = {r["label"]: r for r in rows}
    assert "IM: Alpha <b>Program</b>, NY" in by_label  # text, escaped by the renderer
    assert "IM: B, OH" in by_label  # no name: the id stands in
    assert by_label["FM: Gamma"]["with_text"] == "64%"
    title = spec["title"]["text"]
    text = " ".join(title) if isinstance(title, list) else title
    assert "3 signals take P(match anywhere) from 50% to 56% (+5.6 points)" in text
    assert any("upper bounds for IMGs" in line for line in spec["title"]["subtitle"])
    assert "url" not in json.dumps(spec)


def test_signal_chart_without_the_totals_and_empty_and_missing_columns():
    spec = signal_chart(SIGNALS.drop("program_name", "state", "gain_p_match_any")).to_dict()
    assert "P(interview) at the 3 signaled programs" in json.dumps(spec["title"])
    empty = signal_chart(SIGNALS.head(0)).to_dict()
    assert "No program signals" in json.dumps(empty)
    with pytest.raises(DataValidationError, match="p_interview_with"):
        signal_chart(SIGNALS.drop("p_interview_with"))


def test_signal_comparison_names_the_best_way():
    frame = pl.DataFrame(
        {
            "method": ["none", "optimized", "random"],
            "label": ["No signals", "Signals chosen by the planner", "At random"],
            "p_match_any": [0.3, 0.42, 0.37],
        }
    )
    spec = signal_comparison(frame).to_dict()
    assert "signals chosen by the planner (42%)" in json.dumps(spec["title"])
    assert len(_data(signal_comparison(frame))) == 3
    assert "empty" in json.dumps(signal_comparison(frame.head(0)).to_dict())
