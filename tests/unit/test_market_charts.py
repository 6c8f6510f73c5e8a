"""Charts of the simulated Match: valid vega-lite, titles computed from the data, bad input."""

from __future__ import annotations

import json

import polars as pl
import pytest

from analysis.errors import DataValidationError
from analysis.viz.market import scenario_chart, simulated_vs_heuristic

APPLICANTS = pl.DataFrame(
    {
        "applicant_id": ["a", "a", "b", "c"],
        "specialty": ["anywhere", "IM", "anywhere", "anywhere"],
        "simulated": [0.9, 0.9, 0.2, 0.5],
        "low": [0.7, 0.7, 0.05, 0.3],
        "high": [0.97, 0.97, 0.45, 0.7],
        "heuristic": [0.5, 0.5, 0.6, 0.55],
        "interviews": [None, 4.0, None, None],
    }
)
SWEEP = pl.DataFrame(
    {
        "x": [0.0, 500.0, 1000.0] * 2,
        "measure": ["non-US IMGs: match rate"] * 3 + ["US IMGs: match rate"] * 3,
        "value": [0.57, 0.54, 0.52, 0.66, 0.66, 0.65],
        "low": [0.56, 0.53, 0.51, 0.65, 0.65, 0.64],
        "high": [0.58, 0.55, 0.53, 0.67, 0.67, 0.66],
    }
)


def _title(chart) -> str:
    spec = chart.to_dict()  # validates against the vega-lite schema
    title = spec["title"]["text"]
    return " ".join(title) if isinstance(title, list) else title


def test_heuristic_chart_counts_the_sides_and_names_the_largest_gap() -> None:
    chart = simulated_vs_heuristic(APPLICANTS)
    assert _title(chart).startswith(
        "P(match anywhere): the heuristic is below the simulation's interval for 1 of 3"
    )
    assert "above it for 1" in _title(chart)
    assert "Largest gap: a, heuristic 50% vs simulated 90%" in chart.to_dict()["title"]["subtitle"]
    spec = chart.to_dict()
    assert "url" not in json.dumps(spec.get("data", {})) and spec["datasets"]  # inline data


def test_heuristic_chart_for_one_specialty_and_for_nothing() -> None:
    assert "in IM" in _title(simulated_vs_heuristic(APPLICANTS, specialty="IM"))
    empty = simulated_vs_heuristic(APPLICANTS, specialty="DERM")
    assert "No applicant" in json.dumps(empty.to_dict())


def test_scenario_chart_states_the_first_measures_change() -> None:
    chart = scenario_chart(SWEEP, x_title="More non-US IMGs choosing IM first")
    assert _title(chart) == (
        "non-US IMGs: match rate falls from 57% to 52% (More non-US IMGs choosing IM first: "
        "0 to 1,000)"
    )
    only = scenario_chart(SWEEP, x_title="x", measures=["US IMGs: match rate"])
    assert _title(only).startswith("US IMGs: match rate falls from 66% to 65%")


def test_missing_columns_are_named() -> None:
    with pytest.raises(DataValidationError, match="heuristic"):
        simulated_vs_heuristic(APPLICANTS.drop("heuristic"))
    with pytest.raises(DataValidationError, match="measure"):
        scenario_chart(SWEEP.drop("measure"), x_title="x")
