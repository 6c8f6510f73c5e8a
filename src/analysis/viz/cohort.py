"""The cohort chart: each applicant's P(match anywhere) today against with the plan.

One point per applicant: across, P(match anywhere) with the profile as it is; up, with the
plan the applicant's report recommends (rotations, backup specialties, applications),
coloured by first-choice specialty. The diagonal is "the plan changes nothing" (a plan only
adds, so points sit on or above it); the dashed line is the risk threshold on the plan's
chance (below it an advisor should look first). The tooltip names the applicant and gives
both numbers, the plan's 80% interval and the risk reason.

Inputs: a frame with applicant_id, name, first_choice, p_match_any_now,
p_match_any_with_plan (0-1; rows missing either are left out), and optionally
p_match_any_with_plan_low/high, risk_reason. Output: an Altair chart (inline data only).
Limits: applicants with identical numbers overlap (the tooltip shows one of them).
"""

from __future__ import annotations

import altair as alt
import polars as pl

from analysis.viz.base import FrameLike, chart_title, empty_chart, inline_data, input_frame
from analysis.viz.markup import prob
from analysis.viz.theme import GREY, INK

__all__ = ["cohort_chart"]

_REQUIRED = ("applicant_id", "name", "first_choice", "p_match_any_now", "p_match_any_with_plan")
_TITLE = "P(match anywhere): today and with the plan"


def _points(frame: pl.DataFrame) -> pl.DataFrame:
    """The drawable rows, with the texts the tooltip shows."""
    for column in ("p_match_any_with_plan_low", "p_match_any_with_plan_high", "risk_reason"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(column))
    points = frame.filter(
        pl.col("p_match_any_now").is_not_null() & pl.col("p_match_any_with_plan").is_not_null()
    )
    interval = [
        "" if low is None or high is None else f"{prob(low).rstrip('%')}\u2013{prob(high)}"
        for low, high in zip(
            points["p_match_any_with_plan_low"], points["p_match_any_with_plan_high"], strict=True
        )
    ]
    return points.select(
        "applicant_id",
        "name",
        pl.col("first_choice").fill_null("unknown"),
        "p_match_any_now",
        "p_match_any_with_plan",
        now_text=pl.col("p_match_any_now").map_elements(prob, return_dtype=pl.String),
        plan_text=pl.col("p_match_any_with_plan").map_elements(prob, return_dtype=pl.String),
        interval=pl.Series(interval, dtype=pl.String),
        risk=pl.col("risk_reason").cast(pl.String).fill_null(""),
    )


def cohort_chart(data: FrameLike, *, risk_threshold: float = 0.5) -> alt.LayerChart | alt.Chart:
    """Scatter of P(match anywhere) today (x) against with the plan (y), one point each.

    Args:
        data: one row per applicant (columns in the module docstring).
        risk_threshold: the plan's chance under which an applicant is at risk (dashed line).
    """
    frame = input_frame(data, "data", _REQUIRED, "cohort_chart")
    points = _points(frame)
    if points.is_empty():
        return empty_chart(_TITLE, "No applicant has both numbers yet.")
    axis = alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1])
    scale = alt.Scale(domain=[0, 1], nice=False)
    base = alt.Chart(inline_data(points))
    dots = base.mark_point(
        size=90, filled=True, opacity=0.85, stroke="white", strokeWidth=1
    ).encode(
        x=alt.X("p_match_any_now:Q", title="P(match anywhere) today", scale=scale, axis=axis),
        y=alt.Y("p_match_any_with_plan:Q", title="With the plan", scale=scale, axis=axis),
        color=alt.Color("first_choice:N", title="First choice"),
        shape=alt.Shape("first_choice:N", title="First choice"),
        tooltip=[
            alt.Tooltip("name:N", title="Applicant"),
            alt.Tooltip("applicant_id:N", title="Id"),
            alt.Tooltip("first_choice:N", title="First choice"),
            alt.Tooltip("now_text:N", title="Today"),
            alt.Tooltip("plan_text:N", title="With the plan"),
            alt.Tooltip("interval:N", title="80% interval (plan)"),
            alt.Tooltip("risk:N", title="At risk because"),
        ],
    )
    guides = pl.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})
    diagonal = (
        alt.Chart(inline_data(guides))
        .mark_line(color=GREY, strokeWidth=1)
        .encode(x=alt.X("x:Q", scale=scale), y=alt.Y("y:Q", scale=scale))
    )
    threshold = (
        alt.Chart(inline_data(pl.DataFrame({"y": [risk_threshold]})))
        .mark_rule(color=INK, strokeDash=[5, 4], strokeWidth=1)
        .encode(y=alt.Y("y:Q", scale=scale))
    )
    subtitle = (
        f"One point per applicant, coloured by first choice. Grey line: the plan changes "
        f"nothing. Dashed: {prob(risk_threshold)}, under which an applicant is at risk."
    )
    return (diagonal + threshold + dots).properties(
        width=420, height=360, title=chart_title(_TITLE, subtitle)
    )
