"""Charts of program signals: P(interview) without and with each signal, and what they add.

Inputs (frames of `analysis.planners.signals`; extra columns are ignored):

    ========================== ===========================================================
    builder                    frame and the columns it needs
    ========================== ===========================================================
    signal_chart               signals: program_id, specialty, tier, p_interview_without,
                               p_interview_with (+ program_name, state, gain_p_match_any,
                               reason)
    signal_comparison          comparison: label, p_match_any (+ method)
    ========================== ===========================================================

`signal_chart` is a dumbbell per signaled program: a hollow point at P(interview) without the
signal, a filled one with it, the line between them coloured by tier; its title gives the gain
in P(match anywhere) when the caller passes the two figures. `signal_comparison` puts P(match
anywhere) with no signals, the planner's signals, the applicant's own, the most IMG-friendly
first and random signals side by side.

Limits. The effect sizes behind the "with" points are upper-bound priors for IMGs (the
subtitle says so); a chart of many signals grows tall (one row each).
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
from analysis.viz.theme import BLUE, GREY, INK, ORANGE, SKY, VERMILLION

__all__ = ["TIER_COLORS", "signal_chart", "signal_comparison"]

TIER_COLORS = {"gold": ORANGE, "silver": GREY, "single": BLUE}
"""Signal tiers: gold orange, silver grey, a single-tier signal blue."""

_UPPER = "Effect sizes are upper bounds for IMGs: no published figure is IMG-specific."


def _points(value: float) -> str:
    pts = 100 * value
    return f"{'+' if pts >= 0.05 else ''}{pts:.1f} points"


def signal_chart(
    signals: FrameLike,
    *,
    p_match_any_without: float | None = None,
    p_match_any_with: float | None = None,
    width: int = 480,
) -> alt.LayerChart | alt.Chart:
    """P(interview) without and with the signal at each signaled program (a dumbbell).

    Args:
        signals: one row per signal (`SignalPlan.signals`, or
            `ApplicantSignals.signals_frame()` with names).
        p_match_any_without, p_match_any_with: P(match anywhere) without and with these
            signals, for the title (omitted from it when not given).
        width: chart width in pixels (the height follows the number of signals).
    """
    need = ["program_id", "specialty", "tier", "p_interview_without", "p_interview_with"]
    df = input_frame(signals, "signals", need, "signal_chart")
    if df.is_empty():
        return empty_chart(
            "No program signals to show",
            "No signal placed: none allowed this season, or no program on the list can "
            "consider you.",
            width,
        )
    df = _dumbbell_frame(df)
    layers = _dumbbell_layers(df)
    title = _signal_title(df.height, p_match_any_without, p_match_any_with)
    # one constructor: .properties() on a layered chart deep-copies every layer
    return alt.LayerChart(layer=layers, width=width, height=alt.Step(22), title=title)


def _dumbbell_frame(df: pl.DataFrame) -> pl.DataFrame:
    """The signals with a row label (specialty: program, state) and the tooltip's texts."""
    name = (
        pl.col("program_name").fill_null(pl.col("program_id"))
        if "program_name" in df.columns
        else pl.col("program_id")
    )
    state = (
        pl.concat_str([pl.lit(", "), pl.col("state")]).fill_null("")
        if "state" in df.columns
        else pl.lit("")
    )
    gain = "gain_p_match_any" if "gain_p_match_any" in df.columns else None
    return df.with_columns(
        label=pl.format("{}: {}{}", pl.col("specialty"), name, state),
        without_text=pl.col("p_interview_without").map_elements(pct_text, return_dtype=pl.String),
        with_text=pl.col("p_interview_with").map_elements(pct_text, return_dtype=pl.String),
        gain_text=(
            pl.col(gain).fill_null(0.0).map_elements(_points, return_dtype=pl.String)
            if gain
            else pl.lit("")
        ),
        reason=pl.col("reason") if "reason" in df.columns else pl.lit(""),
    )


def _dumbbell_layers(df: pl.DataFrame) -> list[alt.Chart]:
    """The layers: the line from without to with (tier colour), the hollow point without,
    the filled point with, and the chance with as a label."""
    order = df["label"].to_list()
    tiers = [t for t in TIER_COLORS if t in set(df["tier"])]
    columns = [
        "label",
        "tier",
        "p_interview_without",
        "p_interview_with",
        "without_text",
        "with_text",
        "gain_text",
        "reason",
    ]
    tooltip = [
        alt.Tooltip("label:N", title="Program"),
        alt.Tooltip("tier:N", title="Signal"),
        alt.Tooltip("without_text:N", title="P(interview) without"),
        alt.Tooltip("with_text:N", title="P(interview) with"),
        alt.Tooltip("gain_text:N", title="Adds to P(match anywhere)"),
        alt.Tooltip("reason:N", title="Why here"),
    ]
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=300))
    # shared encodings on the base: one copy of the tooltip and y, not one per layer
    base = alt.Chart(inline_data(df, columns)).encode(y=y, tooltip=tooltip)
    x = alt.X("p_interview_without:Q", title="P(interview)", scale=alt.Scale(domain=[0, 1],
              nice=False), axis=alt.Axis(format="%"))  # fmt: skip
    color = alt.Color(
        "tier:N",
        title="Signal",
        scale=alt.Scale(domain=list(TIER_COLORS), range=list(TIER_COLORS.values())),
        legend=alt.Legend(orient="bottom", values=tiers),
    )
    # typed channels, not shorthand strings: Altair parses each shorthand through its schema
    x_with = alt.X("p_interview_with:Q")
    line = base.mark_rule(strokeWidth=3).encode(x=x, x2=alt.X2("p_interview_with"), color=color)
    before = base.mark_point(filled=False, color=INK, size=60).encode(
        x=alt.X("p_interview_without:Q")
    )
    after = base.mark_point(filled=True, size=80).encode(x=x_with, color=color)
    label = base.mark_text(align="left", dx=7, fontSize=11).encode(
        x=x_with, text=alt.Text("with_text:N")
    )
    return [line, before, after, label]


def _signal_title(
    count: int, p_match_any_without: float | None, p_match_any_with: float | None
) -> alt.TitleParams:
    """What the signals do to P(match anywhere) when both figures are given, else how many
    programs are shown; the subtitle says how to read the chart and that the effects are
    upper bounds."""
    if p_match_any_without is not None and p_match_any_with is not None:
        text = (
            f"{count} signal{'s' if count != 1 else ''} take P(match anywhere) from "
            f"{pct_text(p_match_any_without)} to {pct_text(p_match_any_with)} "
            f"({_points(p_match_any_with - p_match_any_without)})"
        )
    else:
        text = f"P(interview) at the {count} signaled program{'s' if count != 1 else ''}"
    subtitle = [
        "Hollow: without the signal; filled: with it. A signal moves a middling chance most.",
        _UPPER,
    ]
    return chart_title(text, subtitle)


def signal_comparison(comparison: FrameLike, *, width: int = 480) -> alt.LayerChart | alt.Chart:
    """P(match anywhere) per way of signaling (none, planner, own, IMG-friendly, random).

    Args:
        comparison: `ApplicantSignals.comparison()` (label, p_match_any, optional method).
        width: chart width in pixels.
    """
    df = input_frame(comparison, "comparison", ["label", "p_match_any"], "signal_comparison")
    if df.is_empty():
        return empty_chart("No signal comparison to show", "The comparison frame is empty.", width)
    if "method" not in df.columns:
        df = df.with_columns(method=pl.col("label"))
    df = df.with_columns(
        value_text=pl.col("p_match_any").map_elements(pct_text, return_dtype=pl.String)
    )
    colors = {
        "none": GREY,
        "optimized": BLUE,
        "own": VERMILLION,
        "most_friendly_first": SKY,
        "random": ORANGE,
    }
    best = df.sort("p_match_any", descending=True).row(0, named=True)
    base = alt.Chart(inline_data(df, ["label", "method", "p_match_any", "value_text"]))
    y = alt.Y("label:N", sort=df["label"].to_list(), title=None)
    tooltip = [
        alt.Tooltip("label:N", title="Signals"),
        alt.Tooltip("value_text:N", title="P(match anywhere)"),
    ]
    bars = base.mark_bar(height={"band": 0.7}).encode(
        y=y,
        x=alt.X(
            "p_match_any:Q",
            title="P(match anywhere)",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        color=alt.Color(
            "method:N",
            scale=alt.Scale(domain=list(colors), range=list(colors.values())),
            legend=None,
        ),
        tooltip=tooltip,
    )
    text = base.mark_text(align="left", dx=4).encode(
        y=y, x=alt.X("p_match_any:Q"), text=alt.Text("value_text:N"), tooltip=tooltip
    )
    return alt.LayerChart(
        layer=[bars, text],
        width=width,
        height=alt.Step(26),
        title=chart_title(
            f"Highest P(match anywhere): {best['label'].lower()} ({pct_text(best['p_match_any'])})",
            ["The same programs and rank list; only where the signals go differs.", _UPPER],
        ),
    )
