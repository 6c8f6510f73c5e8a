"""Charts of the simulated Match: the heuristic against the simulation, and a scenario's effect.

Inputs (extra columns are ignored): `simulated_vs_heuristic` takes
`analysis.model.montecarlo.applicant_frame` (applicant_id, specialty, simulated, low, high,
heuristic); `scenario_chart` takes `analysis.model.montecarlo.scenario_sweep` (x, measure,
value, low, high). The simulated market against NRMP is drawn by `calibration_chart` with
`montecarlo.calibration_long`.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from analysis.viz.base import (
    FrameLike,
    chart_title,
    empty_chart,
    inline_data,
    input_frame,
    pct_text,
)
from analysis.viz.theme import BLUE, OKABE_ITO, ORANGE

__all__ = ["scenario_chart", "simulated_vs_heuristic"]


def simulated_vs_heuristic(
    applicants: FrameLike, *, specialty: str = "anywhere", width: int = 380
) -> alt.LayerChart | alt.Chart:
    """Per applicant, the simulated P(match) with its Monte Carlo interval and the heuristic's.

    Blue circle and bar: the share of replications in which the applicant matched, with its
    interval; orange diamond: the heuristic's P(match). The title says on which side the
    heuristic falls and names the largest gap.

    Args:
        applicants: `montecarlo.applicant_frame`.
        specialty: which rows to show: 'anywhere' (the whole rank list) or a specialty code.
        width: chart width in pixels.
    """
    df = input_frame(
        applicants,
        "applicants",
        ["applicant_id", "specialty", "simulated", "low", "high", "heuristic"],
        "simulated_vs_heuristic",
    ).filter(pl.col("specialty") == specialty, pl.col("heuristic").is_not_null())
    if df.is_empty():
        return empty_chart("Simulated vs heuristic P(match)", "No applicant to show.")
    df = df.with_columns(gap=pl.col("heuristic") - pl.col("simulated"))
    below = int((df["heuristic"] < df["low"]).sum())
    above = int((df["heuristic"] > df["high"]).sum())
    worst = df.sort(pl.col("gap").abs(), descending=True).row(0, named=True)
    where = "anywhere" if specialty == "anywhere" else f"in {specialty}"
    title = chart_title(
        f"P(match {where}): the heuristic is below the simulation's interval for {below} of "
        f"{df.height} applicants and above it for {above}",
        f"Blue: simulated, with its Monte Carlo interval; orange diamond: heuristic. Largest "
        f"gap: {worst['applicant_id']}, heuristic {pct_text(worst['heuristic'])} vs simulated "
        f"{pct_text(worst['simulated'])}.",
    )
    order = df.sort("simulated", descending=True)["applicant_id"].to_list()
    data = inline_data(df, ["applicant_id", "simulated", "low", "high", "heuristic", "gap"])
    y = alt.Y("applicant_id:N", title=None, sort=order)
    x_scale = alt.Scale(domain=[0, 1])
    tooltip = [
        alt.Tooltip("applicant_id:N", title="Applicant"),
        alt.Tooltip("simulated:Q", title="Simulated", format=".0%"),
        alt.Tooltip("low:Q", title="Interval from", format=".0%"),
        alt.Tooltip("high:Q", title="Interval to", format=".0%"),
        alt.Tooltip("heuristic:Q", title="Heuristic", format=".0%"),
        alt.Tooltip("gap:Q", title="Heuristic − simulated", format="+.0%"),
    ]
    base = alt.Chart(data)
    interval = base.mark_rule(color=BLUE, strokeWidth=3, opacity=0.5).encode(
        x=alt.X("low:Q", title="P(match)", scale=x_scale, axis=alt.Axis(format="%")),
        x2="high:Q",
        y=y,
        tooltip=tooltip,
    )
    simulated = base.mark_point(filled=True, size=90, color=BLUE).encode(
        x=alt.X("simulated:Q", scale=x_scale), y=y, tooltip=tooltip
    )
    heuristic = base.mark_point(filled=True, size=90, shape="diamond", color=ORANGE).encode(
        x=alt.X("heuristic:Q", scale=x_scale), y=y, tooltip=tooltip
    )
    return alt.layer(interval, simulated, heuristic, title=title).properties(
        width=width, height=alt.Step(28)
    )


def scenario_chart(
    sweep: FrameLike,
    *,
    x_title: str,
    measures: list[str] | None = None,
    width: int = 420,
    height: int = 260,
) -> alt.LayerChart | alt.Chart:
    """How measures move as a scenario strengthens: one line per measure, with its interval.

    The title states the change of the first measure from the weakest to the strongest step.

    Args:
        sweep: `montecarlo.scenario_sweep` (x, measure, value, low, high).
        x_title: what x is (for example "More non-US IMGs choosing IM first").
        measures: the measures to draw, in legend order (default: all).
        width, height: chart size in pixels.
    """
    df = input_frame(sweep, "sweep", ["x", "measure", "value", "low", "high"], "scenario_chart")
    if measures is not None:
        df = df.filter(pl.col("measure").is_in(measures))
    if df.is_empty():
        return empty_chart("Scenario", "No scenario step to show.")
    names = measures or list(dict.fromkeys(df["measure"].to_list()))
    names = [m for m in names if m in set(df["measure"].to_list())]
    first = df.filter(pl.col("measure") == names[0]).sort("x")
    start, end = first.row(0, named=True), first.row(-1, named=True)
    verb = "falls" if end["value"] < start["value"] else "rises"
    title = chart_title(
        f"{names[0]} {verb} from {pct_text(start['value'])} to {pct_text(end['value'])} "
        f"({x_title}: {start['x']:,.0f} to {end['x']:,.0f})",
        "Each point: the replications' estimate, the band its Monte Carlo interval; every step "
        "uses the same seeds.",
    )
    data = inline_data(df, ["x", "measure", "value", "low", "high"])
    color = alt.Color(
        "measure:N",
        title=None,
        sort=names,
        scale=alt.Scale(domain=names, range=list(OKABE_ITO[: len(names)])),
        legend=alt.Legend(orient="bottom", columns=1, labelLimit=400),
    )
    x = alt.X("x:Q", title=x_title, axis=alt.Axis(format=",.0f"))
    tooltip = [
        alt.Tooltip("measure:N", title="Measure"),
        alt.Tooltip("x:Q", title=x_title, format=",.0f"),
        alt.Tooltip("value:Q", title="Estimate", format=".1%"),
        alt.Tooltip("low:Q", title="Interval from", format=".1%"),
        alt.Tooltip("high:Q", title="Interval to", format=".1%"),
    ]
    base = alt.Chart(data)
    band = base.mark_area(opacity=0.18).encode(
        x=x, y=alt.Y("low:Q"), y2="high:Q", color=color, tooltip=tooltip
    )
    line = base.mark_line(point=True).encode(
        x=x,
        y=alt.Y("value:Q", title="Rate", axis=alt.Axis(format="%")),
        color=color,
        tooltip=tooltip,
    )
    return alt.layer(band, line, title=title).properties(width=width, height=height)
