"""Charts of the plan: the backup specialties and the Gantt chart of rotations and timeline.

Inputs (output frames of `analysis.planners`; extra columns are ignored):

    ========================== ===========================================================
    builder                    frame and the columns it needs
    ========================== ===========================================================
    backup_plan_chart          plan: order, specialty, p_match_first,
                               p_match_any_cumulative, cumulative_cost_usd (+ included,
                               p_match, applications, eras_cost_usd)
    plan_gantt                 rotations: program_name, role, start, end (+ kind,
                               program_id, state, specialty, cost_usd, gain, reason);
                               timeline: start, event, category (+ end, approximate,
                               source)
    ========================== ===========================================================

Limits. Dates are embedded as local midnight, so a date shows as the same calendar day in
every time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import altair as alt
import polars as pl

from analysis.planners.enrollment import KIND_LABELS
from analysis.viz.base import (
    FrameLike,
    chart_title,
    date_text,
    empty_chart,
    inline_data,
    input_frame,
    join_words,
    pct_text,
    usd_text,
)
from analysis.viz.theme import (
    BLUE,
    CATEGORY_COLORS,
    GREY,
    INK,
    OKABE_ITO,
    ORANGE,
)

__all__ = [
    "backup_plan_chart",
    "plan_gantt",
]


# --------------------------------------------------------------------------- backup plan


def backup_plan_chart(
    plan: FrameLike,
    target: float | None = None,
    *,
    width: int = 520,
    height: int = 320,
) -> alt.LayerChart | alt.Chart:
    """The backup plan: chances and cumulative ERAS cost as specialties are added in order.

    Left axis: P(match anywhere) with specialties 1..n (solid, labelled) and P(match in the
    first choice) (dashed). Right axis (independent): cumulative ERAS fees as bars.
    Specialties outside the recommended plan (`included` false) are faded.

    Args:
        plan: backup plan table (`order`, `specialty`, `p_match_first`,
            `p_match_any_cumulative`, `cumulative_cost_usd`, optional `included`,
            `p_match`, `applications`, `eras_cost_usd`).
        target: the planner's target P(match anywhere) (e.g. `BackupPlan.target`), drawn as
            a dashed rule and checked in the title; None draws none.
        width: chart width in pixels.
        height: chart height in pixels.
    """
    required = [
        "order",
        "specialty",
        "p_match_first",
        "p_match_any_cumulative",
        "cumulative_cost_usd",
    ]
    df = input_frame(plan, "plan", required, "backup_plan_chart").sort("order")
    if df.is_empty():
        return empty_chart("No backup plan to show", "The plan frame is empty.", width)
    has = set(df.columns)
    first = df.row(0, named=True)
    df = _plan_steps(df, first["order"])
    text, subtitle = _backup_title(df, first, target)
    series = _probability_series(df, first["specialty"])
    names = ["P(match anywhere)", f"P(match in {first['specialty']})"]
    x = alt.X(
        "step:N",
        sort=df["step"].to_list(),
        title="Specialties applied to, in order",
        axis=alt.Axis(labelAngle=0, labelLimit=160),
    )
    info = _backup_tooltip(has)
    opacity = alt.Opacity(  # ordinal: Vega-Lite warns about opacity on a nominal field
        "status:O",
        sort=["in the plan", "not in the plan"],
        scale=alt.Scale(domain=["in the plan", "not in the plan"], range=[1.0, 0.35]),
        legend=None,
    )
    cost = (
        alt.Chart(inline_data(df, [c for c in df.columns if c != "in_plan"]))
        .mark_bar(color="#DCDCDC", width={"band": 0.4})
        .encode(
            x=x,
            y=alt.Y(
                "cumulative_cost_usd:Q",
                title="Cumulative ERAS fees (USD)",
                axis=alt.Axis(
                    format="$,.0f", orient="right", titleColor=GREY, labelColor=GREY, grid=False
                ),
            ),
            opacity=opacity,
            tooltip=info,
        )
    )
    left = _probability_layers(series, names, x, opacity, info)
    if target is not None:
        left += _backup_target(target)
    return alt.LayerChart(  # one constructor: fewer deep copies than .resolve/.properties
        layer=[cost, alt.LayerChart(layer=left)],
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(y="independent")),
        width=width,
        height=height,
        title=chart_title(text, subtitle),
    )


def _plan_steps(df: pl.DataFrame, first_order: int) -> pl.DataFrame:
    """Add the step label ("IR (first choice)", "+ DR"), `in_plan` and its status text."""
    return df.with_columns(
        pl.when(pl.col("order") == first_order)
        .then(pl.format("{} (first choice)", pl.col("specialty")))
        .otherwise(pl.format("+ {}", pl.col("specialty")))
        .alias("step"),
        (pl.col("included") if "included" in df.columns else pl.lit(True)).alias("in_plan"),
    ).with_columns(
        pl.when(pl.col("in_plan"))
        .then(pl.lit("in the plan"))
        .otherwise(pl.lit("not in the plan"))
        .alias("status"),
    )


def _backup_title(
    df: pl.DataFrame, first: dict[str, Any], target: float | None
) -> tuple[str, list[str]]:
    """What the planned backups add to P(match anywhere), and at what extra cost."""
    planned = df.filter(pl.col("in_plan"))
    last = planned.row(-1, named=True) if planned.height else first
    backups = planned["specialty"].to_list()[1:]
    if backups:
        before, after = first["p_match_any_cumulative"], last["p_match_any_cumulative"]
        extra_cost = last["cumulative_cost_usd"] - first["cumulative_cost_usd"]
        text = (
            f"Adding {join_words(backups)} raises P(match anywhere) from "
            f"{pct_text(before)} to {pct_text(after)} for {usd_text(extra_cost)} more"
        )
    else:
        chance = pct_text(first["p_match_any_cumulative"])
        text = f"{first['specialty']} alone: {chance} chance to match"
    if target is not None and last["p_match_any_cumulative"] < target:
        text += f", short of the {pct_text(target)} target"
    subtitle = [
        "Solid: P(match anywhere) with the specialties so far; dashed: P(match in "
        f"{first['specialty']}).",
        "Grey bars: cumulative ERAS fees (right axis)."
        + (" Faded: not in the recommended plan." if not df["in_plan"].all() else ""),
    ]
    return text, subtitle


def _probability_series(df: pl.DataFrame, first_choice: str) -> pl.DataFrame:
    """Long frame: per step, P(match anywhere) and P(match in the first choice)."""
    has = set(df.columns)
    extras = ("p_match", "applications", "eras_cost_usd", "cumulative_cost_usd")
    index = ("order", "step", "specialty", "status", *extras)
    return (
        df.select(
            "order",
            "step",
            "specialty",
            "status",
            *[c for c in extras if c in has],
            pl.col("p_match_any_cumulative").alias("anywhere"),
            pl.col("p_match_first").alias("first_choice"),
        )
        .unpivot(
            index=[c for c in index if c in has or c in ("step", "status")],
            on=["anywhere", "first_choice"],
            variable_name="series",
            value_name="probability",
        )
        .with_columns(
            pl.col("series").replace_strict(
                {
                    "anywhere": "P(match anywhere)",
                    "first_choice": f"P(match in {first_choice})",
                }
            )
        )
    )


def _backup_tooltip(has: set[str]) -> list[alt.Tooltip]:
    """The step, its specialty's own chance, applications and fees (when known), status."""
    return [
        alt.Tooltip("step:N", title="Step"),
        *(
            [alt.Tooltip("p_match:Q", title="P(match) in this specialty alone", format=".0%")]
            if "p_match" in has
            else []
        ),
        *([alt.Tooltip("applications:Q", title="Applications")] if "applications" in has else []),
        *(
            [alt.Tooltip("eras_cost_usd:Q", title="ERAS fees, this specialty", format="$,.0f")]
            if "eras_cost_usd" in has
            else []
        ),
        alt.Tooltip("cumulative_cost_usd:Q", title="ERAS fees so far", format="$,.0f"),
        alt.Tooltip("status:N", title="Status"),
    ]


def _probability_layers(
    series: pl.DataFrame,
    names: list[str],
    x: alt.X,
    opacity: alt.Opacity,
    info: list[alt.Tooltip],
) -> list[alt.Chart]:
    """The two probability lines with their points, and labels on P(match anywhere)."""
    lines_base = alt.Chart(inline_data(series))
    y = alt.Y(
        "probability:Q",
        title="Probability",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format=".0%", orient="left"),
    )
    legend = alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=2.5)
    color = alt.Color(
        "series:N",
        title=None,
        sort=names,
        scale=alt.Scale(domain=names, range=[BLUE, ORANGE]),
        legend=legend,
    )
    dash = alt.StrokeDash(  # one legend with the colour's (legend=None would conflict with it)
        "series:N",
        title=None,
        sort=names,
        scale=alt.Scale(domain=names, range=[[1, 0], [6, 4]]),
        legend=legend,
    )
    line_tooltip = [
        alt.Tooltip("series:N", title="Measure"),
        alt.Tooltip("probability:Q", title="Probability", format=".0%"),
        *info,
    ]
    lines = lines_base.mark_line().encode(
        x=x, y=y, color=color, strokeDash=dash, tooltip=line_tooltip
    )
    points = lines_base.mark_point(size=80, filled=True).encode(
        x=x,
        y=y,
        color=color,  # the same legend as the lines (legend=None here would conflict with it)
        opacity=opacity,
        tooltip=line_tooltip,
    )
    labels = (
        lines_base.transform_filter("datum.series == 'P(match anywhere)'")
        .mark_text(dy=-12, fontWeight=600, color=BLUE)
        .encode(
            x=x,
            y=y,
            text=alt.Text("probability:Q", format=".0%"),
            opacity=opacity,
            tooltip=line_tooltip,
        )
    )
    return [lines, points, labels]


def _backup_target(target: float) -> list[alt.Chart]:
    """The planner's target as a dashed, labelled rule."""
    goal = alt.Chart(
        inline_data(pl.DataFrame({"target": [target], "label": [f"target {pct_text(target)}"]}))
    )
    goal_tooltip = [alt.Tooltip("target:Q", title="Target P(match anywhere)", format=".0%")]
    return [
        goal.mark_rule(strokeDash=[6, 4], color=INK, strokeWidth=1.2).encode(
            y=alt.Y("target:Q", scale=alt.Scale(domain=[0, 1])), tooltip=goal_tooltip
        ),
        goal.mark_text(align="left", baseline="bottom", dy=-3, x=4, color=INK).encode(
            y=alt.Y("target:Q", scale=alt.Scale(domain=[0, 1])),
            text="label:N",
            tooltip=goal_tooltip,
        ),
    ]


# --------------------------------------------------------------------------- gantt


def _month_range(start: dt.date, end: dt.date) -> str:
    if (start.year, start.month) == (end.year, end.month):
        return f"{start:%b %Y}"
    if start.year == end.year:
        return f"{start:%b}–{end:%b %Y}"
    return f"{start:%b %Y}–{end:%b %Y}"


def plan_gantt(
    rotations: FrameLike | None,
    timeline: FrameLike | None,
    *,
    today: dt.date | None = None,
    width: int = 620,
) -> alt.LayerChart | alt.Chart:
    """Away rotations and the personal timeline as a dated Gantt chart.

    One row per event or rotation, in date order: bars for periods, diamonds for single
    dates (`end` null), faded when approximate. Timeline periods of category "interviews"
    shade the interview season across all rows; a rotation inside it is called out in the
    title (programs rarely release applicants then).

    Args:
        rotations: away-rotation plan (`program_name`, `role`, `start`, `end`, optional
            `state`, `specialty`, `cost_usd`, `gain`, `reason`), or None.
        timeline: personal timeline (`start`, `event`, `category`, optional `end`,
            `approximate`, `source`), or None.
        today: draw a "today" line at this date (None: no line, so output is reproducible).
        width: chart width in pixels (the height follows the number of rows).
    """
    rows: list[pl.DataFrame] = []
    season = pl.DataFrame(schema={"start": pl.Date, "end": pl.Date, "event": pl.String})
    rot = pl.DataFrame()
    if rotations is not None:
        rot = input_frame(
            rotations, "rotations", ["program_name", "role", "start", "end"], "plan_gantt"
        )
        rows.append(_rotation_rows(rot))
    if timeline is not None:
        tl = input_frame(timeline, "timeline", ["start", "event", "category"], "plan_gantt")
        events, season = _timeline_rows(tl, rot)
        rows.append(events)
    items = pl.concat(rows) if rows else pl.DataFrame()
    if items.is_empty() and season.is_empty():
        return empty_chart("No plan to show", "No rotations or timeline events were given.", width)
    items = _gantt_items(items)
    approximate = items["approximate"] if not items.is_empty() else pl.Series([False])
    mixed = bool(approximate.any()) and not bool(approximate.all())
    text = _gantt_takeaway(rot, season, items)
    subtitle = _gantt_subtitle(approximate, mixed, has_season=not season.is_empty())
    layers: list[alt.Chart] = []
    if not season.is_empty():
        layers += _season_layers(season, items, width)
    if not items.is_empty():
        layers += _item_layers(items, mixed)
    if today is not None:
        today_data = inline_data(pl.DataFrame({"date": [today], "label": ["today"]}))
        layers.append(
            alt.Chart(today_data)
            .mark_rule(color=INK, strokeDash=[2, 2])
            .encode(
                x="date:T",
                tooltip=[
                    alt.Tooltip("label:N", title="Line"),
                    alt.Tooltip("date:T", title="Date", format="%-d %b %Y"),
                ],
            )
        )
    return alt.LayerChart(
        layer=layers,
        width=width,
        height=alt.Step(24) if not items.is_empty() else 60,
        title=chart_title(text, subtitle),
    )


def _optional(frame: pl.DataFrame, column: str, dtype: Any) -> pl.Expr:
    """The column cast to `dtype`, or nulls of that type when the frame lacks it."""
    if column in frame.columns:
        return pl.col(column).cast(dtype)
    return pl.lit(None, dtype=dtype)


def _rotation_rows(rot: pl.DataFrame) -> pl.DataFrame:
    """One row per planned rotation: "Visiting elective (role): program, state" (the kind
    when the plan gives it, else "Rotation"), dates, cost, gain. An observership or research
    position without a program is labelled by its own description."""
    where = pl.format(", {}", pl.col("state")) if "state" in rot.columns else pl.lit("")
    kind = (
        pl.col("kind").replace_strict(KIND_LABELS, default=pl.col("kind"))
        if "kind" in rot.columns
        else pl.lit("rotation")
    )
    kind = pl.concat_str(kind.str.slice(0, 1).str.to_uppercase(), kind.str.slice(1))
    role = pl.coalesce(pl.format(" ({})", pl.col("role")), pl.lit(""))
    at_program = pl.format("{}{}: {}{}", kind, role, pl.col("program_name"),
                           pl.coalesce(where, pl.lit("")))  # fmt: skip
    own = pl.col("program_id").is_null() if "program_id" in rot.columns else pl.lit(False)
    return rot.select(
        pl.when(own).then(pl.col("program_name")).otherwise(at_program).alias("label"),
        pl.col("start").cast(pl.Date),
        pl.col("end").cast(pl.Date),
        pl.lit("rotation").alias("category"),
        pl.lit(False).alias("approximate"),
        _optional(rot, "reason", pl.String).alias("detail"),
        _optional(rot, "cost_usd", pl.Float64).alias("cost_usd"),
        _optional(rot, "gain", pl.Float64).alias("gain"),
    )


def _timeline_rows(tl: pl.DataFrame, rot: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The timeline's events as rows, and its interview-season periods (shaded, not rows).

    The timeline may list the planned rotations too: the richer rotation rows are kept.
    """
    has = set(tl.columns)
    tl = tl.with_columns(
        pl.col("start").cast(pl.Date),
        (pl.col("end") if "end" in has else pl.lit(None, dtype=pl.Date)).cast(pl.Date).alias("end"),
        (pl.col("approximate").fill_null(False) if "approximate" in has else pl.lit(False)).alias(
            "approximate"
        ),
        _optional(tl, "source", pl.String).alias("detail"),
    )
    is_season = (pl.col("category") == "interviews") & pl.col("end").is_not_null()
    season = tl.filter(is_season).select("start", "end", "event")
    if not rot.is_empty():
        planned = rot.select(pl.col("start").cast(pl.Date), pl.col("end").cast(pl.Date))
        tl = tl.join(
            planned.with_columns(pl.lit(True).alias("_planned")),
            on=["start", "end"],
            how="left",
        ).filter(~((pl.col("category") == "rotation") & pl.col("_planned").fill_null(False)))
    events = tl.filter(~is_season).select(
        pl.col("event").alias("label"),
        pl.col("start").cast(pl.Date),
        pl.col("end").cast(pl.Date),
        pl.col("category").cast(pl.String),
        "approximate",
        "detail",
        pl.lit(None, dtype=pl.Float64).alias("cost_usd"),
        pl.lit(None, dtype=pl.Float64).alias("gain"),
    )
    return events, season


def _gantt_items(items: pl.DataFrame) -> pl.DataFrame:
    """Rows in date order, with unique labels, the dates as text and their certainty."""
    items = items.sort("start", "label")
    # a unique row label keeps two events of the same name on separate rows
    return items.with_columns(
        pl.when(pl.col("label").is_duplicated())
        .then(pl.format("{} ({})", pl.col("label"), pl.col("start").dt.strftime("%b %Y")))
        .otherwise(pl.col("label"))
        .alias("label"),
        pl.when(pl.col("end").is_null())
        .then(pl.col("start").dt.strftime("%-d %b %Y"))
        .otherwise(
            pl.format(
                "{} – {}",
                pl.col("start").dt.strftime("%-d %b %Y"),
                pl.col("end").dt.strftime("%-d %b %Y"),
            )
        )
        .alias("when"),
        pl.when(pl.col("approximate"))
        .then(pl.lit("approximate"))
        .otherwise(pl.lit("fixed"))
        .alias("certainty"),
    )


def _gantt_takeaway(rot: pl.DataFrame, season: pl.DataFrame, items: pl.DataFrame) -> str:
    """The rotations' months (or a warning if one overlaps interview season), Match Day."""
    parts = []
    overlaps: list[str] = []
    if not rot.is_empty():
        r_start, r_end = rot["start"].min(), rot["end"].max()
        for s in season.iter_rows(named=True):
            hit = rot.filter((pl.col("start") <= s["end"]) & (pl.col("end") >= s["start"]))
            overlaps += hit["program_name"].to_list()
        n_rot = rot.height
        rot_text = f"{n_rot} away rotation{'s' if n_rot != 1 else ''}, "
        rot_text += _month_range(r_start, r_end)  # type: ignore[arg-type]
        if not season.is_empty() and not overlaps:
            rot_text += ", all before interview season"
        parts.append(rot_text)
    matches = items.filter(
        (pl.col("category") == "match")
        & pl.col("label").str.to_lowercase().str.contains("match")
        & pl.col("end").is_null()
    )
    if not matches.is_empty():
        parts.append(f"Match Day {date_text(matches['start'][-1])}")
    elif not items.is_empty():
        parts.append(f"through {items['start'].max():%b %Y}")
    if overlaps:
        return (
            f"Warning: {join_words(overlaps)} overlap{'s' if len(overlaps) == 1 else ''} "
            "interview season"
        )
    text = "; ".join(parts) or "Your timeline"
    return text[0].upper() + text[1:]


def _gantt_subtitle(approximate: pl.Series, mixed: bool, *, has_season: bool) -> str:
    subtitle = "Bars: periods; diamonds: single dates"
    if mixed:
        subtitle += "; faded: approximate dates."
    elif approximate.all():
        subtitle += "; all dates approximate (published calendars, rules of thumb)."
    else:
        subtitle += "."
    if has_season:
        subtitle += " Shaded: interview season."
    return subtitle


def _season_layers(season: pl.DataFrame, items: pl.DataFrame, width: int) -> list[alt.Chart]:
    """Interview season shaded across every row, labelled inside the band."""
    season_data = inline_data(
        season.with_columns(
            pl.format(
                "{} – {}",
                pl.col("start").dt.strftime("%-d %b %Y"),
                pl.col("end").dt.strftime("%-d %b %Y"),
            ).alias("when"),
            pl.lit("Interview\nseason").alias("tag"),  # short: the tooltip has the rest
        )
    )
    season_tooltip = [
        alt.Tooltip("event:N", title="Period"),
        alt.Tooltip("when:N", title="When"),
    ]
    shade = (
        alt.Chart(season_data)
        .mark_rect(color=ORANGE, opacity=0.13)
        .encode(x="start:T", x2="end:T", tooltip=season_tooltip)
    )
    # keep the label inside the shaded band: its width in pixels, from the date span
    dates = [d for d in (*items["start"], *items["end"], *season["start"], *season["end"])
             if d is not None]  # fmt: skip
    span = max(1, (max(dates) - min(dates)).days)
    band_days = min((row["end"] - row["start"]).days for row in season.iter_rows(named=True))
    limit = max(40, int(width * band_days / span) - 8)
    label = (
        alt.Chart(season_data)
        .mark_text(
            align="left",
            baseline="top",
            dx=4,
            dy=4,
            color="#9A6500",
            fontWeight=600,
            lineBreak="\n",
            limit=limit,
        )
        .encode(x="start:T", y=alt.value(0), text="tag:N", tooltip=season_tooltip)
    )
    return [shade, label]


def _item_layers(items: pl.DataFrame, mixed: bool) -> list[alt.Chart]:
    """Bars for periods and diamonds for single dates, coloured by category."""
    y = alt.Y("label:N", sort=items["label"].to_list(), title=None, axis=alt.Axis(labelLimit=420))
    x = alt.X(
        "start:T",
        title="Date",
        scale=alt.Scale(padding=12),  # room for a diamond on the first or last day
        axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount="month", labelOverlap=True),
    )
    categories = list(dict.fromkeys([*CATEGORY_COLORS, *items["category"].to_list()]))
    spare = [c for c in OKABE_ITO if c not in CATEGORY_COLORS.values()]
    palette = [CATEGORY_COLORS.get(c) or spare[i % len(spare)] for i, c in enumerate(categories)]
    present = [c for c in categories if c in set(items["category"].to_list())]
    color = alt.Color(
        "category:N",
        title=None,
        scale=alt.Scale(domain=categories, range=palette),
        legend=alt.Legend(orient="bottom", values=present),
    )
    opacity = (
        alt.Opacity(  # ordinal: Vega-Lite warns about opacity on a nominal field
            "certainty:O",
            sort=["fixed", "approximate"],
            scale=alt.Scale(domain=["fixed", "approximate"], range=[0.95, 0.5]),
            legend=None,
        )
        if mixed
        else alt.value(0.9)
    )
    tooltip = [
        alt.Tooltip("label:N", title="What"),
        alt.Tooltip("when:N", title="When"),
        alt.Tooltip("category:N", title="Category"),
        alt.Tooltip("certainty:N", title="Date"),
        alt.Tooltip("detail:N", title="Note"),
        alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.0f"),
        alt.Tooltip("gain:Q", title="Gain in P(match anywhere)", format="+.1%"),
    ]
    columns = ["label", "start", "end", "category", "certainty", "when", "detail", "cost_usd",
               "gain"]  # fmt: skip
    base = alt.Chart(inline_data(items, columns))
    bars = (
        base.transform_filter("datum.end != null")
        .mark_bar(height={"band": 0.6}, cornerRadius=2)
        .encode(x=x, x2="end:T", y=y, color=color, opacity=opacity, tooltip=tooltip)
    )
    diamonds = (
        base.transform_filter("datum.end == null")
        .mark_point(shape="diamond", filled=True, size=130)
        .encode(x=x, y=y, color=color, opacity=opacity, tooltip=tooltip)
    )
    return [bars, diamonds]
