"""Altair chart builders: every chart an applicant or advisor looks at.

Method. Each builder takes the frame one engine or planner function produces (polars; a
pandas frame or a polars LazyFrame is accepted too), aggregates in polars what needs
aggregating, and returns an Altair chart object. Builders never display or save: the caller
shows the chart in JupyterLab, or a report embeds it in offline HTML, or exports it with
vl-convert. Every chart

- states its takeaway in the title, computed from the data ("IR: 80% chance with 87
  applications") with what is shown in the subtitle;
- carries a tooltip on every mark, axis titles with units, and colours from the
  colour-blind-safe Okabe-Ito palette (the `imgmatch` Altair theme, enabled on import);
- embeds its data inline, never as a URL, so that offline renderers and HTML reports draw
  it: as JSON text (`values` with `format: json`) holding only the columns the chart uses.
  Text is cheap for Altair to validate and copy, and it is not subject to Altair's
  5,000-row limit (a 5,273-program scatter builds in about 0.1 s); charts that summarise
  (map, histogram) aggregate in polars first;
- draws the US map from the Census state shapes shipped in `analysis/_data/`
  (us-atlas 3.0.1, `us_states_10m.json`), never from the network.

Inputs (output contracts of the engine and planners; extra columns are ignored):

    ========================== ===========================================================
    builder                    frame and the columns it needs
    ========================== ===========================================================
    programs_map               scored program table: state (+ specialty, img_friendliness,
                               pgy1_positions, sponsors_j1, tier when present)
    friendliness_scatter       scored: program_id, program_name, specialty, state,
                               pgy1_positions, img_friendliness, tier
    friendliness_distribution  scored: program_id, specialty, img_friendliness, tier
    component_breakdown        contributions: program_id, program_name, component, label,
                               contribution (+ value, weight, imputed, specialty)
    match_curve                curves: specialty, applications, p_match, p_match_low,
                               p_match_high, eras_cost_usd (+ recommended,
                               diminishing_returns)
    interview_distribution     pmf: specialty, interviews, probability
    what_if_tornado            levers: label, delta (+ p_match_any, baseline,
                               p_match_first, note)
    backup_plan_chart          plan: order, specialty, p_match_first,
                               p_match_any_cumulative, cumulative_cost_usd (+ included,
                               p_match, applications, eras_cost_usd)
    plan_gantt                 rotations: program_name, role, start, end (+ state,
                               specialty, cost_usd, gain, reason); timeline: start, event,
                               category (+ end, approximate, source)
    calibration_chart          calibration: specialty, metric, model, reference
    ========================== ===========================================================

A missing column raises `DataValidationError` naming the frame, the missing columns and the
builder; an empty frame gives a small chart that says there is nothing to show (a batch
report keeps going).

Outputs: `alt.Chart`, `alt.LayerChart`, `alt.FacetChart` or `alt.ConcatChart`.

Limits. Titles summarise the data they are given and cannot follow interactive filters,
except the scatter's, which is precomputed for every choice of its specialty dropdown. The
`albersUsa` projection draws the 50 states and DC only: programs in Puerto Rico and other
territories are counted in the map's subtitle, not drawn. The scatter spreads points
horizontally by up to ±0.25 positions (a fixed amount per program id) so that programs of
the same size do not hide each other; its tooltips show the true size. The interview
distribution folds its thin tail (< 1% by default) into one "k+" bar. Dates are embedded as
local midnight, so a date shows as the same calendar day in every time zone.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import altair as alt
import polars as pl

from analysis.errors import DataValidationError, file_problem

__all__ = [
    "CATEGORY_COLORS",
    "OKABE_ITO",
    "TIER_COLORS",
    "TIER_ORDER",
    "backup_plan_chart",
    "calibration_chart",
    "component_breakdown",
    "friendliness_distribution",
    "friendliness_scatter",
    "interview_distribution",
    "match_curve",
    "plan_gantt",
    "programs_map",
    "us_states_topology",
    "what_if_tornado",
]

# --------------------------------------------------------------------------- theme

OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow (weak contrast on white: late in the order)
    "#000000",  # black
)
"""Okabe & Ito (2008) colour-blind-safe palette, in the order categories receive it."""

GREY = "#8C8C8C"
LIGHT_GREY = "#E3E3E3"
INK = "#333333"
BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE = OKABE_ITO[:6]

TIER_ORDER = ("closed", "unfriendly", "moderate", "friendly", "very friendly")
TIER_COLORS = (GREY, VERMILLION, ORANGE, SKY, BLUE)
"""Tier colours: grey for closed, then vermillion (least) to blue (most IMG-friendly)."""

CATEGORY_COLORS = {
    "preparation": PURPLE,
    "exam": VERMILLION,
    "rotation": GREEN,
    "application": BLUE,
    "interviews": ORANGE,
    "match": "#000000",
}
"""Timeline category colours; unknown categories get the remaining palette colours."""

FONT = '"Source Sans 3", "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", sans-serif'


@alt.theme.register("imgmatch", enable=True)
def imgmatch_theme() -> alt.theme.ThemeConfig:
    """The `imgmatch` Altair theme: readable sizes, Okabe-Ito colours, quiet grid."""
    return {
        "config": {
            "font": FONT,
            "view": {"continuousWidth": 560, "continuousHeight": 320, "stroke": None},
            "padding": 8,
            "title": {
                "fontSize": 17,
                "fontWeight": 600,
                "subtitleFontSize": 13,
                "subtitleColor": "#555555",
                "subtitlePadding": 6,
                "anchor": "start",
                "offset": 14,
                "color": "#111111",
            },
            "axis": {
                "labelFontSize": 12,
                "titleFontSize": 13,
                "titleFontWeight": 600,
                "labelColor": INK,
                "titleColor": INK,
                "gridColor": "#EBEBEB",
                "domainColor": "#9A9A9A",
                "tickColor": "#9A9A9A",
                "labelLimit": 280,
                "titlePadding": 10,
            },
            "legend": {
                "labelFontSize": 12,
                "titleFontSize": 13,
                "titleFontWeight": 600,
                "labelLimit": 260,
                "symbolSize": 110,
            },
            "header": {"labelFontSize": 13, "titleFontSize": 13, "labelFontWeight": 600},
            "range": {"category": list(OKABE_ITO)},
            "text": {"fontSize": 12, "color": INK},
            "point": {"size": 70, "filled": True},
            "line": {"strokeWidth": 2.5},
        }
    }


# --------------------------------------------------------------------------- helpers

FrameLike = Any  # polars DataFrame / LazyFrame or pandas DataFrame


def _frame(data: FrameLike, name: str, required: Sequence[str], builder: str) -> pl.DataFrame:
    """A polars frame with the required columns, or a `DataValidationError` naming them."""
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    elif not isinstance(data, pl.DataFrame):
        if type(data).__module__.split(".")[0] == "pandas":
            data = pl.from_pandas(data)
        else:
            raise TypeError(
                f"{builder}(): {name} must be a polars or pandas data frame, "
                f"not {type(data).__name__}"
            )
    missing = [column for column in required if column not in data.columns]
    if missing:
        raise DataValidationError(
            [
                file_problem(
                    f"{name} frame",
                    f"missing column(s) {', '.join(missing)}: {builder}() needs "
                    f"{', '.join(required)} (has {', '.join(data.columns) or 'no columns'})",
                )
            ],
            source=f"{builder}() input",
        )
    return data


def _json_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns as JSON can carry them: dates as local midnight, NaN/inf as null, floats
    to 6 significant digits."""
    exprs = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.Date:
            exprs.append(column.dt.strftime("%Y-%m-%dT00:00:00"))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(column.dt.strftime("%Y-%m-%dT%H:%M:%S"))
        elif dtype.is_float() or isinstance(dtype, pl.Decimal):
            # 6 significant digits: invisible in any axis or tooltip, and a third of the text
            column = column.cast(pl.Float64)
            finite = pl.when(column.is_finite()).then(column).otherwise(None)
            exprs.append(finite.round_sig_figs(6).alias(name))
        elif isinstance(dtype, pl.Categorical | pl.Enum | pl.Duration) or dtype == pl.Time:
            exprs.append(column.cast(pl.String))
    return frame.with_columns(exprs) if exprs else frame


def _inline(frame: pl.DataFrame, columns: Iterable[str] | None = None) -> alt.InlineData:
    """Inline data (never a URL) holding only the given columns, as JSON text.

    Vega parses the text (`format: json`). Handing Altair one string instead of a list of
    row dicts matters for big tables: Altair walks every nested value each time a chart is
    validated or copied (about 2.5 s for a 6,000-program scatter, 0.05 s as text), and
    text bypasses the data transformer's 5,000-row limit. Altair still moves identical
    inline data to one top-level `datasets` entry, so layers sharing a frame embed it once.
    """
    if columns is not None:
        frame = frame.select(list(dict.fromkeys(columns)))
    return alt.InlineData(
        values=_json_ready(frame).write_json(), format=alt.DataFormat(type="json")
    )


TITLE_CHARS = 80
"""Titles longer than this wrap onto a second line (a takeaway can name many specialties)."""


def _title(text: str | list[str], subtitle: str | list[str] | None = None) -> alt.TitleParams:
    if isinstance(text, str) and len(text) > TITLE_CHARS:
        text = textwrap.wrap(text, TITLE_CHARS, break_on_hyphens=False)
    if subtitle is None:
        return alt.TitleParams(text=text)
    return alt.TitleParams(text=text, subtitle=subtitle)


def _empty(title: str, message: str, width: int = 480) -> alt.Chart:
    """A placeholder chart that says why there is nothing to draw."""
    return (
        alt.Chart(_inline(pl.DataFrame({"message": [message]})), title=_title(title))
        .mark_text(fontSize=14, color="#555555", align="center")
        .encode(text="message:N", tooltip=alt.Tooltip("message:N", title="Note"))
        .properties(width=width, height=60)
    )


def _pct(value: float | None, digits: int = 0) -> str:
    """0.583 -> '58%'; a small but real chance is '<1%', never a misleading '0%'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    text = f"{100 * value:.{digits}f}"
    if 0 < value < 1 and float(text) == 0:
        return f"<{10**-digits:g}%"
    if 0 < value < 1 and float(text) == 100:
        return f">{100 - 10**-digits:g}%"
    return f"{text}%"


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.0f}"


def _join(items: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _cap(text: str) -> str:
    """Upper-case the first letter only ('IM programs' stays 'IM programs')."""
    return text[:1].upper() + text[1:]


def _specialty_names(codes: Iterable[str]) -> dict[str, str]:
    """Code -> 'Internal Medicine (IM)' for chart headers (the code if unknown)."""
    try:
        from analysis.schemas import specialty_name

        return {c: (f"{specialty_name(c)} ({c})" if specialty_name(c) != c else c) for c in codes}
    except Exception:  # reference table missing: codes are still readable
        return {c: c for c in codes}


def _as_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _tri_state(column: str) -> pl.Expr:
    """A nullable boolean as 'yes' / 'no' / 'unknown' (unknown is a value, not a no)."""
    return (
        pl.when(pl.col(column))
        .then(pl.lit("yes"))
        .when(pl.col(column).not_())
        .then(pl.lit("no"))
        .otherwise(pl.lit("unknown"))
    )


def _tier_scale() -> alt.Scale:
    return alt.Scale(domain=list(TIER_ORDER), range=list(TIER_COLORS))


def _date_text(value: dt.date | None) -> str:
    return "" if value is None else f"{value.day} {value:%b %Y}"


# --------------------------------------------------------------------------- US map


@functools.cache
def _topology_text() -> str:
    return (Path(__file__).parent / "_data" / "us_states_10m.json").read_text(encoding="utf-8")


def us_states_topology() -> dict[str, Any]:
    """The US state shapes (TopoJSON, us-atlas 3.0.1 `states-10m.json`), read from the package.

    Object `states`: one geometry per state, DC and territory; `id` is the 2-digit Census
    FIPS code (join through `analysis.schemas.US_STATE_FIPS`), `properties.name` the name.
    Returns a fresh dict each call (callers may modify it).
    """
    return json.loads(_topology_text())


_OFF_MAP = frozenset({"PR", "GU", "VI", "AS", "MP"})
"""USPS codes of territories, which the albersUsa projection does not draw."""


def programs_map(
    scored: FrameLike,
    value: Literal["programs", "mean_friendliness"] = "programs",
    specialty: str | Iterable[str] | None = None,
    *,
    min_programs: int = 3,
    width: int = 640,
    height: int = 400,
) -> alt.LayerChart | alt.Chart:
    """US states shaded by number of programs or by their mean IMG-friendliness.

    Works on a plain program table too (`value="programs"` needs only `state`). Tooltips give
    the state, programs, PGY-1 positions, mean IMG-friendliness, the share of programs that
    sponsor a J-1 (with how many are unknown) and how many rate friendly or better.

    Args:
        scored: scored program table (`friendliness.score_programs`) or program table.
        value: "programs" (count) or "mean_friendliness" (mean `img_friendliness`).
        specialty: one specialty code or several; None maps every program.
        min_programs: with `value="mean_friendliness"`, the title's ranking considers only
            states with at least this many programs (a single-program state is noise).
        width: chart width in pixels.
        height: chart height in pixels.

    Returns:
        A layered geoshape chart in the `albersUsa` projection.
    """
    if value not in ("programs", "mean_friendliness"):
        raise ValueError(f"value must be 'programs' or 'mean_friendliness', not {value!r}")
    from analysis.schemas import US_STATE_FIPS, US_STATES

    required = ["state"] + (["img_friendliness"] if value == "mean_friendliness" else [])
    df = _frame(scored, "scored", required, "programs_map")
    specs = _as_tuple(specialty)
    if specs:
        df = _frame(df, "scored", ["specialty"], "programs_map")
        df = df.filter(pl.col("specialty").is_in(specs))
    what = f"{'/'.join(specs)} programs" if specs else "programs"
    if df.is_empty():
        return _empty(f"No {what} to map", f"The table has no {what}.", width)

    has = set(df.columns)
    aggs = [pl.len().alias("programs")]
    if "pgy1_positions" in has:
        aggs.append(pl.col("pgy1_positions").sum().alias("positions"))
    if "img_friendliness" in has:
        aggs.append(pl.col("img_friendliness").mean().round(1).alias("mean_friendliness"))
    if "sponsors_j1" in has:
        aggs += [
            pl.col("sponsors_j1").fill_null(False).sum().alias("j1_yes"),
            pl.col("sponsors_j1").is_null().sum().alias("j1_unknown"),
        ]
    if "tier" in has:
        aggs.append(pl.col("tier").is_in(["friendly", "very friendly"]).sum().alias("friendly"))
    per_state = df.group_by("state").agg(aggs)
    if "j1_yes" in per_state.columns:
        per_state = per_state.with_columns(
            pl.format(
                "{}% of programs ({} unknown)",
                (100 * pl.col("j1_yes") / pl.col("programs")).round(0).cast(pl.Int64),
                pl.col("j1_unknown"),
            ).alias("j1_text")
        )

    # outside the map: territories, unknown codes and programs without a state
    on_map = [code for code in US_STATE_FIPS if code not in _OFF_MAP]
    outside = per_state.filter(pl.col("state").is_null() | ~pl.col("state").is_in(on_map)).sort(
        "programs", descending=True
    )
    not_drawn = [
        f"{US_STATES.get(row['state'], row['state']) if row['state'] else 'no state'} "
        f"({row['programs']})"
        for row in outside.iter_rows(named=True)
    ]

    states = pl.DataFrame(
        {
            "state": list(US_STATE_FIPS),
            "fips": list(US_STATE_FIPS.values()),
            "state_name": [US_STATES[code] for code in US_STATE_FIPS],
        }
    )
    table = states.join(per_state, on="state", how="left").with_columns(
        pl.col("programs").fill_null(0)
    )
    fields = [c for c in table.columns if c not in ("fips", "j1_yes", "j1_unknown")]
    # the TopoJSON goes in as its text: Vega parses it, and Altair does not walk (validate,
    # copy) its ~13,000 nested arrays on every method call (1.2 s -> 0.05 s per map)
    topo = alt.InlineData(
        values=_topology_text(),
        format=alt.DataFormat(type="topojson", feature="states"),
    )
    shapes = alt.Chart(topo).transform_lookup(
        lookup="id",
        from_=alt.LookupData(data=_inline(table, ["fips", *fields]), key="fips", fields=fields),
    )
    tooltip = [
        alt.Tooltip("state_name:N", title="State"),
        alt.Tooltip("programs:Q", title="Programs"),
    ]
    if "positions" in table.columns:
        tooltip.append(alt.Tooltip("positions:Q", title="PGY-1 positions", format=","))
    if "mean_friendliness" in table.columns:
        tooltip.append(
            alt.Tooltip("mean_friendliness:Q", title="Mean IMG-friendliness", format=".0f")
        )
    if "j1_text" in table.columns:
        tooltip.append(alt.Tooltip("j1_text:N", title="Sponsor J-1"))
    if "friendly" in table.columns:
        tooltip.append(alt.Tooltip("friendly:Q", title="Friendly or better"))

    base = shapes.mark_geoshape(fill=LIGHT_GREY, stroke="white", strokeWidth=0.8).encode(
        tooltip=[alt.Tooltip("properties.name:N", title="State"), tooltip[1]]
    )
    drawn = table.filter(pl.col("programs") > 0, pl.col("state").is_in(on_map))
    if value == "programs":
        color = alt.Color(
            "programs:Q",
            title="Programs",
            scale=alt.Scale(scheme="blues", type="sqrt", zero=True),
            legend=alt.Legend(orient="right", gradientLength=180),
        )
        top = drawn.sort(["programs", "state"], descending=[True, False]).head(3)
        ranked = [f"{r['state_name']} ({r['programs']})" for r in top.iter_rows(named=True)]
        text = f"{_join(ranked)} have the most {what}"
        if top.height == 1:
            text = f"{ranked[0]} has the most {what}"
        shown = "Number of programs per state"
    else:
        color = alt.Color(
            "mean_friendliness:Q",
            title=["Mean IMG-", "friendliness"],
            scale=alt.Scale(scheme="viridis", domain=[0, 100]),
            legend=alt.Legend(orient="right", gradientLength=180),
        )
        scored_states = drawn.filter(pl.col("mean_friendliness").is_not_null())
        pool = scored_states.filter(pl.col("programs") >= min_programs)
        if pool.is_empty():
            pool = scored_states
        top = pool.sort(["mean_friendliness", "programs"], descending=True).head(3)
        ranked = [
            f"{r['state_name']} ({r['mean_friendliness']:.0f})" for r in top.iter_rows(named=True)
        ]
        text = f"{_cap(what)} are IMG-friendliest in {_join(ranked)} on average"
        shown = "Mean IMG-friendliness (0-100) per state"
        if min_programs > 1:
            shown += f"; faded: fewer than {min_programs} programs (not ranked)"
    subtitle = [f"{shown}; grey: no programs listed. {df.height:,} {what} in all."]
    if not_drawn:
        subtitle.append(f"Not drawn on this map: {', '.join(not_drawn)}.")
    encoding: dict[str, Any] = {"color": color, "tooltip": tooltip}
    if value == "mean_friendliness" and min_programs > 1:
        encoding["opacity"] = (
            alt.when(f"datum.programs < {int(min_programs)}")
            .then(alt.value(0.4))
            .otherwise(alt.value(1.0))
        )
    colored = (
        shapes.transform_filter("datum.programs > 0")
        .mark_geoshape(stroke="white", strokeWidth=0.8)
        .encode(**encoding)
    )
    return (
        alt.layer(base, colored)
        .project(type="albersUsa")
        .properties(width=width, height=height, title=_title(text, subtitle))
    )


# --------------------------------------------------------------------------- scatter


def _size_takeaway(group: pl.DataFrame, code: str | None) -> str:
    """'Larger IM programs tend to be more IMG-friendly; 120 of 540 rate friendly or better'.

    The size effect is a Spearman rank correlation; |rho| < 0.2 counts as "says little".
    """
    n = group.height
    friendly = group.filter(pl.col("tier").is_in(["friendly", "very friendly"])).height
    noun = f"{code} programs" if code else "programs"
    tail = f"{friendly:,} of {n:,} {noun} rate friendly or better"
    if n < 8 or group["pgy1_positions"].n_unique() < 3:
        return _cap(tail)
    rho = group.select(pl.corr("pgy1_positions", "img_friendliness", method="spearman")).item()
    if rho is None or math.isnan(rho) or abs(rho) < 0.2:
        lead = "Program size says little about IMG-friendliness" + (f" in {code}" if code else "")
        return f"{lead}; {tail}"
    lead = f"{'Larger' if rho > 0 else 'Smaller'} {noun} tend to be more IMG-friendly"
    return f"{lead}; {friendly:,} of {n:,} rate friendly or better"


_SIZE_TICKS = (0, 1, 2, 3, 5, 10, 20, 30, 40, 60, 80, 100, 150, 200, 300, 400, 500)


def friendliness_scatter(
    scored: FrameLike,
    specialty: str | None = None,
    *,
    jitter: float = 0.5,
    width: int = 600,
    height: int = 380,
) -> alt.Chart:
    """IMG-friendliness against program size, one point per program, filterable.

    A dropdown (bound parameter) filters by specialty and the tier legend highlights a tier
    on click. The title follows the dropdown: its takeaway is precomputed for every choice.

    Args:
        scored: scored program table (`friendliness.score_programs`); any number of rows.
        specialty: the dropdown's initial choice; None shows every specialty.
        jitter: total horizontal spread of the points, in positions (0 to turn it off);
            the tooltip shows the true number of positions.
        width: chart width in pixels.
        height: chart height in pixels.
    """
    required = [
        "program_id",
        "program_name",
        "specialty",
        "state",
        "pgy1_positions",
        "img_friendliness",
        "tier",
    ]
    df = _frame(scored, "scored", required, "friendliness_scatter")
    missing_size = df.filter(
        pl.col("pgy1_positions").is_null() | pl.col("img_friendliness").is_null()
    ).height
    df = df.filter(pl.col("pgy1_positions").is_not_null(), pl.col("img_friendliness").is_not_null())
    if df.is_empty():
        return _empty("No programs to plot", "No program has both a size and a score.", width)
    has = set(df.columns)
    extra = []
    if "sponsors_j1" in has or "sponsors_h1b" in has:
        j1 = _tri_state("sponsors_j1") if "sponsors_j1" in has else pl.lit("unknown")
        h1b = _tri_state("sponsors_h1b") if "sponsors_h1b" in has else pl.lit("unknown")
        extra.append(pl.format("J-1 {} · H-1B {}", j1, h1b).alias("visa"))
    place = (
        pl.format("{}, {}", pl.col("city"), pl.col("state")) if "city" in has else pl.col("state")
    )
    extra.append(pl.coalesce(place, pl.col("state"), pl.lit("unknown")).alias("place"))
    df = df.with_columns(extra)

    codes = sorted(df["specialty"].drop_nulls().unique().to_list())
    initial = specialty if specialty in codes else "All"
    takeaways = {"All": _size_takeaway(df, None)}
    for code in codes:
        takeaways[code] = _size_takeaway(df.filter(pl.col("specialty") == code), code)

    pick = alt.param(
        value=initial,
        bind=alt.binding_select(options=["All", *codes], name="Specialty "),
    )
    tier_pick = alt.selection_point(fields=["tier"], bind="legend")
    title_expr = f"{json.dumps(takeaways)}[{pick.name}]"
    subtitle = (
        "IMG-friendliness (0-100) against first-year positions, one point per program. "
        "Click the legend to pick a tier."
    )
    if missing_size:
        subtitle += f" {missing_size:,} without a size or score not shown."

    tooltip = [
        alt.Tooltip("program_name:N", title="Program"),
        alt.Tooltip("specialty:N", title="Specialty"),
        alt.Tooltip("place:N", title="Location"),
        alt.Tooltip("img_friendliness:Q", title="IMG-friendliness", format=".0f"),
        alt.Tooltip("tier:N", title="Tier"),
        alt.Tooltip("pgy1_positions:Q", title="PGY-1 positions"),
    ]
    for column, title, fmt in (
        ("visa", "Visa sponsorship", None),
        ("pct_img_residents", "IMG residents (%)", ".0f"),
        ("confidence", "Confidence", ".0%"),
        ("closed_reason", "Closed because", None),
        ("stale", "Data over a year old", None),
    ):
        if column in df.columns:
            kind = "Q" if fmt else "N"
            tooltip.append(
                alt.Tooltip(f"{column}:{kind}", title=title, **({"format": fmt} if fmt else {}))
            )
    columns = [t.shorthand.split(":")[0] for t in tooltip] + ["size_jittered"]
    # sizes are whole numbers, so small programs pile up on a few vertical lines: spread
    # each point by a fixed pseudo-random amount (from its id, so renders are reproducible)
    df = df.with_columns(
        (
            pl.col("pgy1_positions")
            + (pl.col("program_id").hash(seed=7) % 1000 / 1000 - 0.5) * jitter
        )
        .clip(lower_bound=0)
        .alias("size_jittered")
    )
    # the x range and its ticks follow the dropdown
    limits = {"All": int(df["pgy1_positions"].max() or 1)}
    limits |= dict(df.group_by("specialty").agg(pl.col("pgy1_positions").max()).iter_rows())
    domains = {key: max(1, int(top)) + jitter for key, top in limits.items()}
    ticks = {key: [t for t in _SIZE_TICKS if t <= top * 1.02] for key, top in domains.items()}
    x_title = "First-year (PGY-1) positions (square-root scale"
    x_title += f"; points spread ±{jitter / 2:g} to show overlaps)" if jitter else ")"
    return (
        alt.Chart(_inline(df, columns))
        .mark_circle(size=46, stroke="white", strokeWidth=0.4)
        .encode(
            x=alt.X(
                "size_jittered:Q",
                title=x_title,
                scale=alt.Scale(
                    type="sqrt",
                    domain=alt.expr(f"[0, {json.dumps(domains)}[{pick.name}]]"),
                    nice=False,
                ),
                axis=alt.Axis(values=alt.expr(f"{json.dumps(ticks)}[{pick.name}]"), grid=True),
            ),
            y=alt.Y(
                "img_friendliness:Q",
                title="IMG-friendliness (0-100)",
                scale=alt.Scale(domain=[0, 100]),
            ),
            color=alt.Color("tier:N", title="Tier", scale=_tier_scale(), sort=list(TIER_ORDER)),
            opacity=alt.when(tier_pick).then(alt.value(0.85)).otherwise(alt.value(0.08)),
            tooltip=tooltip,
        )
        .add_params(pick, tier_pick)
        .transform_filter(f"{pick.name} == 'All' || datum.specialty == {pick.name}")
        .properties(
            width=width,
            height=height,
            title=alt.TitleParams(text=alt.expr(title_expr), subtitle=subtitle),
        )
    )


# --------------------------------------------------------------------------- distribution


def friendliness_distribution(
    scored: FrameLike,
    specialty: str,
    highlight_ids: Iterable[str] = (),
    *,
    bin_width: float = 5.0,
    width: int = 560,
    height: int = 260,
) -> alt.LayerChart | alt.Chart:
    """Histogram of IMG-friendliness in one specialty, with the applicant's programs marked.

    Bars are stacked by tier; each highlighted program is a black line at its score, with
    its name, score and percentile in the tooltip.

    Args:
        scored: scored program table.
        specialty: specialty code, e.g. "IR".
        highlight_ids: `program_id`s to mark (e.g. the applicant's list); ids of other
            specialties or unknown ids are counted in the subtitle.
        bin_width: histogram bin width in score points.
        width: chart width in pixels.
        height: chart height in pixels.
    """
    required = ["program_id", "specialty", "img_friendliness", "tier"]
    df = _frame(scored, "scored", required, "friendliness_distribution")
    df = df.filter(pl.col("specialty") == specialty, pl.col("img_friendliness").is_not_null())
    if df.is_empty():
        return _empty(
            f"No {specialty} programs to show",
            f"The table has no scored {specialty} programs.",
            width,
        )
    wanted = list(dict.fromkeys(_as_tuple(highlight_ids)))
    n = df.height
    upper = 100 - bin_width
    binned = (
        df.with_columns(
            ((pl.col("img_friendliness") / bin_width).floor() * bin_width)
            .clip(0, upper)
            .alias("bin_start")
        )
        .group_by("bin_start", "tier")
        .agg(pl.len().alias("programs"))
        .sort("bin_start", "tier")  # group_by order varies run to run: keep the spec stable
        .with_columns(
            (pl.col("bin_start") + bin_width).alias("bin_end"),
            pl.format(
                "{}-{}",
                pl.col("bin_start").round(0).cast(pl.Int64),
                (pl.col("bin_start") + bin_width).round(0).cast(pl.Int64),
            ).alias("range"),
        )
    )
    bars = (
        alt.Chart(_inline(binned))
        .mark_bar(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X(
                "bin_start:Q",
                bin="binned",  # pre-binned in polars: keeps the bars vertical
                title="IMG-friendliness (0-100)",
                scale=alt.Scale(domain=[0, 100]),
                axis=alt.Axis(values=list(range(0, 101, 10))),
            ),
            x2="bin_end:Q",
            y=alt.Y("programs:Q", title="Programs", stack="zero"),
            color=alt.Color("tier:N", title="Tier", scale=_tier_scale(), sort=list(TIER_ORDER)),
            order=alt.Order("tier_rank:Q"),
            tooltip=[
                alt.Tooltip("range:N", title="Score"),
                alt.Tooltip("tier:N", title="Tier"),
                alt.Tooltip("programs:Q", title="Programs"),
            ],
        )
        .transform_calculate(tier_rank=f"indexof({json.dumps(list(TIER_ORDER))}, datum.tier)")
    )
    scores = df["img_friendliness"]
    median_all = float(scores.median())  # type: ignore[arg-type]
    friendly = df.filter(pl.col("tier").is_in(["friendly", "very friendly"])).height
    mine = df.filter(pl.col("program_id").is_in(wanted)) if wanted else df.clear()
    elsewhere = len(wanted) - mine.height
    subtitle = [f"IMG-friendliness of {n:,} {specialty} programs, stacked by tier."]
    if mine.is_empty():
        text = (
            f"Half of {specialty} programs score below {median_all:.0f}; "
            f"{friendly:,} of {n:,} rate friendly or better"
        )
    else:
        mine_median = float(mine["img_friendliness"].median())  # type: ignore[arg-type]
        beaten = (scores < mine_median).mean()
        noun = "program" if mine.height == 1 else "programs"
        verb = "scores" if mine.height == 1 else "score a median"
        if beaten >= 0.99:
            where = f"among the highest of {n:,} {specialty} programs"
        elif beaten <= 0.01:
            where = f"among the lowest of {n:,} {specialty} programs"
        else:
            where = f"above {_pct(beaten)} of {specialty} programs"
        text = f"Your {mine.height} {specialty} {noun} {verb} {mine_median:.0f}, {where}"
        subtitle.append("Black lines: your programs (hover for names).")
        closed = mine.filter(pl.col("tier") == "closed").height
        if closed:
            subtitle.append(
                f"{closed} of your {specialty} programs {'is' if closed == 1 else 'are'} "
                "closed to you (see the tooltip's tier)."
            )
    if elsewhere:
        subtitle.append(
            f"{elsewhere} of the {len(wanted)} listed programs "
            f"{'is not a scored' if elsewhere == 1 else 'are not scored'} {specialty} "
            f"program{'' if elsewhere == 1 else 's'}."
        )
    if mine.is_empty():
        return bars.properties(width=width, height=height, title=_title(text, subtitle))

    name = "program_name" if "program_name" in mine.columns else "program_id"
    # percentile: the share of the specialty's programs scoring below each highlighted one
    ranks = mine.with_columns(
        pl.col(name).alias("name"),
        pl.Series("percentile", scores.sort().search_sorted(mine["img_friendliness"]) / n),
    )
    marks = (
        alt.Chart(_inline(ranks, ["name", "program_id", "img_friendliness", "tier", "percentile"]))
        .mark_rule(color="#000000", strokeWidth=1.6, opacity=0.85)
        .encode(
            x="img_friendliness:Q",
            tooltip=[
                alt.Tooltip("name:N", title="Your program"),
                alt.Tooltip("img_friendliness:Q", title="IMG-friendliness", format=".0f"),
                alt.Tooltip("tier:N", title="Tier"),
                alt.Tooltip("percentile:Q", title=f"Above this share of {specialty}", format=".0%"),
            ],
        )
    )
    return alt.layer(bars, marks).properties(
        width=width, height=height, title=_title(text, subtitle)
    )


# --------------------------------------------------------------------------- components


def component_breakdown(
    contributions: FrameLike,
    top: int = 15,
    *,
    width: int = 460,
) -> alt.LayerChart | alt.Chart:
    """Stacked horizontal bars of the score's weighted components for the top programs.

    Segments are `contribution` = 100 x weight x value, so a bar's length is the program's
    IMG-friendliness; imputed components (the fact was unknown, a specialty prior was used)
    are drawn faded. Programs are ranked by their summed contributions; if the frame has a
    `tier` column, closed programs are left out (their contributions do not make the score).

    Args:
        contributions: long frame from `friendliness.component_contributions(scored)`.
        top: number of programs to show.
        width: chart width in pixels (the height follows the number of programs).
    """
    required = ["program_id", "program_name", "component", "label", "contribution"]
    df = _frame(contributions, "contributions", required, "component_breakdown")
    if "tier" in df.columns:
        df = df.filter(pl.col("tier") != "closed")
    if df.is_empty():
        return _empty("No score components to show", "The contributions frame is empty.", width)
    has = set(df.columns)
    totals = (
        df.group_by("program_id")
        .agg(
            pl.col("contribution").sum().alias("score"),
            pl.col("program_name").first(),
            *([pl.col("specialty").first()] if "specialty" in has else []),
        )
        .sort(["score", "program_name"], descending=[True, False])
        .head(top)
    )
    multi = "specialty" in has and df["specialty"].n_unique() > 1
    # the specialty code goes first, so a long name's truncation keeps it
    display = (
        pl.format("{} · {}", pl.col("specialty"), pl.col("program_name"))
        if multi
        else pl.col("program_name")
    )
    totals = totals.with_columns(display.alias("display"))
    dupes = totals["display"].is_duplicated()
    if dupes.any():
        totals = totals.with_columns(
            pl.when(dupes)
            .then(pl.format("{} [{}]", pl.col("display"), pl.col("program_id")))
            .otherwise(pl.col("display"))
            .alias("display")
        )
    order = totals["display"].to_list()
    keep = df.join(totals.select("program_id", "display", "score"), on="program_id")
    comp_order = (
        keep.group_by("label")
        .agg(
            (pl.col("weight").mean() if "weight" in has else pl.col("contribution").mean()).alias(
                "w"
            )
        )
        .sort(["w", "label"], descending=[True, False])["label"]
        .to_list()
    )
    keep = keep.with_columns(
        pl.col("label").replace_strict(comp_order, list(range(len(comp_order)))).alias("rank"),
        (
            pl.when(pl.col("imputed"))
            .then(pl.lit("imputed (fact unknown)"))
            .otherwise(pl.lit("known"))
            if "imputed" in has
            else pl.lit("known")
        ).alias("basis"),
    )
    shares = (
        keep.group_by("label")
        .agg(pl.col("contribution").sum())
        .sort("contribution", descending=True)
    )
    total = shares["contribution"].sum()
    lead = shares.head(2)
    share = lead["contribution"].sum() / total if total else 0.0
    k = totals.height
    text = (
        f"{_join(lead['label'].to_list())} make up {_pct(share)} of the top {k} programs' scores"
        if lead.height > 1
        else f"{lead['label'][0]} makes up all of the top {k} programs' scores"
    )
    imputed_any = bool((keep["basis"] != "known").any())
    subtitle = ["IMG-friendliness points (0-100) by weighted component, top programs first."]
    if imputed_any:
        subtitle.append("Faded segments: imputed from specialty priors (the fact is unknown).")
    tooltip = [
        alt.Tooltip("display:N", title="Program"),
        alt.Tooltip("label:N", title="Component"),
        alt.Tooltip("contribution:Q", title="Points", format=".1f"),
    ]
    if "value" in has:
        tooltip.append(alt.Tooltip("value:Q", title="Component value (0-1)", format=".2f"))
    if "weight" in has:
        tooltip.append(alt.Tooltip("weight:Q", title="Weight", format=".0%"))
    tooltip.append(alt.Tooltip("basis:N", title="Basis"))
    columns = ["display", "label", "contribution", "rank", "basis"] + [
        c for c in ("value", "weight") if c in has
    ]
    y = alt.Y("display:N", sort=order, title=None, axis=alt.Axis(labelLimit=380))
    bars = (
        alt.Chart(_inline(keep, columns))
        .mark_bar(stroke="white", strokeWidth=0.6)
        .encode(
            y=y,
            x=alt.X(
                "contribution:Q",
                title="IMG-friendliness points (0-100)",
                stack="zero",
                scale=alt.Scale(domain=[0, 100]),
            ),
            color=alt.Color(
                "label:N",
                title="Component",
                sort=comp_order,
                legend=alt.Legend(orient="bottom", columns=3, title=None),
            ),
            order=alt.Order("rank:Q"),
            opacity=alt.Opacity(
                "basis:N",
                scale=alt.Scale(domain=["known", "imputed (fact unknown)"], range=[1.0, 0.4]),
                legend=None,  # explained in the subtitle
            ),
            tooltip=tooltip,
        )
    )
    labels = (
        alt.Chart(_inline(totals, ["display", "score"]))
        .mark_text(align="left", dx=4, fontWeight=600)
        .encode(
            y=y,
            x="score:Q",
            text=alt.Text("score:Q", format=".0f"),
            tooltip=[
                alt.Tooltip("display:N", title="Program"),
                alt.Tooltip("score:Q", title="IMG-friendliness", format=".1f"),
            ],
        )
    )
    return alt.layer(bars, labels).properties(
        width=width, height=alt.Step(22), title=_title(text, subtitle)
    )


# --------------------------------------------------------------------------- match curve


def _curve_takeaway(df: pl.DataFrame, codes: list[str], target: float) -> list[str]:
    """Title phrases: how many applications reach the target, or how far short each falls."""
    reached, short = [], []
    for code in codes:
        group = df.filter(pl.col("specialty") == code)
        hit = group.filter(pl.col("p_match") >= target)
        if hit.is_empty():
            short.append((code, float(group["p_match"].max())))  # type: ignore[arg-type]
            continue
        row = hit.row(0, named=True)
        reached.append(
            f"{code}: {_pct(target)} chance with {row['applications']} applications "
            f"({_usd(row['eras_cost_usd'])})"
        )
    if len(short) == 1:
        code, best = short[0]
        reached.append(f"{code} tops out near {_pct(best)}, short of {_pct(target)}")
    elif short:
        at_most = ", ".join(f"{code} {_pct(best)}" for code, best in short)
        lead = "none reaches" if not reached else "short of"
        reached.append(f"{lead} {_pct(target)}: at most {at_most}")
    return [_cap(phrase) for phrase in reached]


def _curve_display_limit(df: pl.DataFrame, max_applications: int | None) -> int:
    """How far along the x axis the match curves are drawn (see `match_curve`)."""
    if max_applications is not None:
        return int(max_applications)
    marked = [
        df.filter(pl.col(c))["applications"].max()
        for c in ("recommended", "diminishing_returns")
        if c in df.columns and df[c].any()
    ]
    furthest = max((int(m) for m in marked if m is not None), default=0)
    if not furthest:
        return int(df["applications"].max())  # type: ignore[arg-type]
    return max(60, int(math.ceil(furthest * 1.5 / 10.0) * 10))


def match_curve(
    curves: FrameLike,
    target: float = 0.80,
    *,
    interval: str = "80% interval",
    width: int = 600,
    height: int = 340,
    max_applications: int | None = None,
) -> alt.LayerChart | alt.Chart:
    """P(match) against the number of applications per specialty, with ERAS cost.

    Left axis: P(match) line with its interval band, the target as a dashed rule, the
    recommended number (filled point, labelled) and the point of diminishing returns (open
    point). Right axis (independent scale): ERAS fees for that many applications (dashed
    grey).

    Args:
        curves: frame from `probability.application_curve`.
        target: target probability, drawn as a rule and used in the title.
        interval: what the band is (legend text), e.g. "80% interval".
        width: chart width in pixels.
        height: chart height in pixels.
        max_applications: last number of applications drawn; default: half as far again as
            the furthest marked point (recommended or diminishing returns), at least 60, so
            one long curve does not squeeze the others into a corner.
    """
    required = [
        "specialty",
        "applications",
        "p_match",
        "p_match_low",
        "p_match_high",
        "eras_cost_usd",
    ]
    df = _frame(curves, "curves", required, "match_curve")
    if df.is_empty():
        return _empty("No match curve to show", "The curves frame is empty.", width)
    codes = df["specialty"].unique(maintain_order=True).to_list()  # preference order
    df = df.with_columns(
        pl.col("specialty").replace_strict(codes, list(range(len(codes)))).alias("_rank")
    ).sort("_rank", "applications")
    phrases = _curve_takeaway(df, codes, target)
    shown_up_to = _curve_display_limit(df, max_applications)  # takeaway: the whole curve
    clipped = df["applications"].max() > shown_up_to  # type: ignore[operator]
    df = df.filter(pl.col("applications") <= shown_up_to)
    text: str | list[str] = "; ".join(phrases) if len(phrases) <= 2 else phrases[:2]
    subtitle = [
        f"P(match) by number of programs applied to; shaded: {interval}; dashed line: "
        f"{_pct(target)} target.",
    ]
    marked = []
    if "recommended" in df.columns and df["recommended"].any():
        marked.append("filled dot: recommended number")
    if "diminishing_returns" in df.columns and df["diminishing_returns"].any():
        marked.append("open dot: diminishing returns")
    subtitle.append(_cap("; ".join([*marked, "grey dashes: ERAS fees (right axis)."])))
    if clipped:
        subtitle.append(
            f"Shown up to {shown_up_to} programs: past the marked points, more applications "
            "add little."
        )
    if len(phrases) > 2:
        subtitle.append("; ".join(phrases[2:]) + ".")

    data = df.with_columns(
        pl.format(
            "{}-{}%",
            (100 * pl.col("p_match_low")).round(0).cast(pl.Int64),
            (100 * pl.col("p_match_high")).round(0).cast(pl.Int64),
        ).alias("band_text")
    )
    markers = [c for c in ("recommended", "diminishing_returns") if c in df.columns]
    palette = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(codes))]
    color = alt.Color(
        "specialty:N",
        title="Specialty",
        scale=alt.Scale(domain=codes, range=palette),
        # every layer shares this legend (one with legend=None would hide it): draw it as
        # solid lines, not as the band's faded areas
        legend=alt.Legend(symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=3),
    )
    x = alt.X(
        "applications:Q",
        title="Programs applied to (per specialty)",
        scale=alt.Scale(domainMin=0, nice=True),
    )
    y = alt.Y(
        "p_match:Q",
        title="P(match)",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format=".0%", orient="left"),
    )
    point_tooltip = [
        alt.Tooltip("specialty:N", title="Specialty"),
        alt.Tooltip("applications:Q", title="Applications"),
        alt.Tooltip("p_match:Q", title="P(match)", format=".1%"),
        alt.Tooltip("band_text:N", title=interval),
        alt.Tooltip("eras_cost_usd:Q", title="ERAS fees (USD)", format="$,.0f"),
    ]
    base = alt.Chart(_inline(data, [*required, "band_text", *markers]))
    band = base.mark_area(opacity=0.18).encode(
        x=x,
        y=alt.Y("p_match_low:Q"),
        y2="p_match_high:Q",
        color=color,
        tooltip=point_tooltip,
    )
    line = base.mark_line().encode(x=x, y=y, color=color, tooltip=point_tooltip)
    target_frame = pl.DataFrame(
        {"target": [target], "label": [f"target {_pct(target)}"], "applications": [0]}
    )
    target_tooltip = [alt.Tooltip("target:Q", title="Target P(match)", format=".0%")]
    rule_base = alt.Chart(_inline(target_frame))
    rule = rule_base.mark_rule(strokeDash=[6, 4], color=INK, strokeWidth=1.2).encode(
        y="target:Q", tooltip=target_tooltip
    )
    rule_label = rule_base.mark_text(align="left", dx=4, dy=-7, color=INK).encode(
        x="applications:Q", y="target:Q", text="label:N", tooltip=target_tooltip
    )
    left = [band, line, rule, rule_label]
    if "diminishing_returns" in markers:
        dim_tooltip = [
            alt.Tooltip("specialty:N", title="Diminishing returns from"),
            *point_tooltip[1:],
        ]
        left.append(
            base.transform_filter("datum.diminishing_returns")
            .mark_point(filled=False, size=90, strokeWidth=2)
            .encode(x=x, y=y, color=color, tooltip=dim_tooltip)
        )
    if "recommended" in markers:
        recommended = base.transform_filter("datum.recommended")
        rec_tooltip = [alt.Tooltip("specialty:N", title="Recommended for"), *point_tooltip[1:]]
        left.append(
            recommended.mark_point(filled=True, size=110, stroke="white", strokeWidth=1).encode(
                x=x, y=y, color=color, tooltip=rec_tooltip
            )
        )
        left.append(
            recommended.transform_calculate(rec_label="'apply to ' + datum.applications")
            .mark_text(align="left", dx=7, dy=12, fontWeight=600)
            .encode(x=x, y=y, color=color, text="rec_label:N", tooltip=rec_tooltip)
        )
    cost = base.mark_line(strokeDash=[3, 3], strokeWidth=1.6, color=GREY).encode(
        x=x,
        y=alt.Y(
            "eras_cost_usd:Q",
            title="ERAS fees per specialty (USD)",
            axis=alt.Axis(format="$,.0f", orient="right", titleColor=GREY, labelColor=GREY),
        ),
        detail="specialty:N",
        tooltip=point_tooltip,
    )
    # built in one constructor: every .resolve_scale()/.properties() deep-copies the whole
    # layered chart (about a third of the build time)
    return alt.LayerChart(
        layer=[alt.LayerChart(layer=left), cost],
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(y="independent")),
        width=width,
        height=height,
        title=_title(text, subtitle),
    )


# --------------------------------------------------------------------------- interviews


def interview_distribution(
    pmf: FrameLike,
    *,
    tail: float = 0.01,
    width: int = 250,
    height: int = 180,
    columns: int = 3,
) -> alt.FacetChart | alt.Chart:
    """Distribution of the number of interviews, one panel per specialty.

    The last bin of each specialty means "K or more" and is labelled "K+"; bins beyond the
    point where less than `tail` probability remains are folded into it. The zero bar is
    drawn in vermillion (no interview, no match). Tooltips add P(at least k). Panels follow
    the frame's order of specialties (the rank-list order).

    Args:
        pmf: frame with `specialty, interviews, probability`.
        tail: fold the bins after which less than this probability remains into one
            (0 keeps every bin).
        width: panel width in pixels.
        height: panel height in pixels.
        columns: panels per row.
    """
    df = _frame(pmf, "pmf", ["specialty", "interviews", "probability"], "interview_distribution")
    if df.is_empty():
        return _empty("No interview distribution to show", "The pmf frame is empty.")
    codes = df["specialty"].unique(maintain_order=True).to_list()  # preference order
    df = df.with_columns(
        pl.col("specialty").replace_strict(codes, list(range(len(codes)))).alias("_rank")
    ).sort("_rank", "interviews")
    # fold the long, thin tail into one "k+" bar: the cut is the first k after which less
    # than `tail` probability remains (a pmf computed to k = 40 would otherwise be unreadable)
    beyond = pl.col("probability").reverse().cum_sum().reverse().over("specialty") - pl.col(
        "probability"
    )
    cut = (
        pl.when(beyond < tail if tail > 0 else pl.lit(False))
        .then(pl.col("interviews"))
        .otherwise(None)
        .min()
        .over("specialty")
        .fill_null(pl.col("interviews").max().over("specialty"))
        .clip(lower_bound=1)
    )
    df = (
        df.with_columns(pl.min_horizontal("interviews", cut).alias("interviews"))
        .group_by("specialty", "_rank", "interviews")
        .agg(pl.col("probability").sum())
        .sort("_rank", "interviews")
        .with_columns(
            pl.col("probability").reverse().cum_sum().reverse().over("specialty").alias("at_least"),
            pl.col("probability").cum_sum().over("specialty").alias("cdf"),
            (pl.col("interviews") == pl.col("interviews").max().over("specialty")).alias("last"),
        )
    )
    df = df.with_columns(
        pl.when(pl.col("last") & (pl.col("interviews") > 0))
        .then(pl.format("{}+", pl.col("interviews")))
        .otherwise(pl.col("interviews").cast(pl.String))
        .alias("k"),
        pl.when(pl.col("interviews") == 0)
        .then(pl.lit("none"))
        .otherwise(pl.lit("one or more"))
        .alias("kind"),
    )
    names = _specialty_names(codes)
    df = df.with_columns(pl.col("specialty").replace_strict(names).alias("panel"))
    medians, zeros = [], []
    for code in codes:
        group = df.filter(pl.col("specialty") == code)
        median = group.filter(pl.col("cdf") >= 0.5 - 1e-12)["k"].first()
        zero = group.filter(pl.col("interviews") == 0)["probability"].sum()
        medians.append(f"{code} {median}")
        zeros.append(f"{code} {_pct(zero)}")
    if len(codes) == 1:
        median = medians[0].split(" ", 1)[1]
        text = (
            f"Expect about {median} {codes[0]} interviews; {zeros[0].split(' ', 1)[1]} "
            "chance of none"
        )
    else:
        text = f"Median interviews: {', '.join(medians)}; chance of none: {', '.join(zeros)}"
    subtitle = (
        "Probability of each number of interviews; last bar: that many or more; "
        "vermillion: no interview."
    )
    bins = int(df.group_by("specialty").len()["len"].max())  # type: ignore[arg-type]
    step = 1 if bins <= 16 else 2 if bins <= 30 else 5
    order = [str(k) for k in range(int(df["interviews"].max()) + 1)]
    order += [f"{k}+" for k in range(int(df["interviews"].max()) + 1)]
    chart = (
        alt.Chart(
            _inline(
                df, ["specialty", "panel", "interviews", "probability", "at_least", "k", "kind"]
            )
        )
        .mark_bar()
        .encode(
            x=alt.X(
                "k:O",
                title="Interviews",
                sort=order,
                # with many bins label 0, every `step`-th count and the open last bin
                axis=alt.Axis(
                    labelAngle=0,
                    labelOverlap=False,
                    labelExpr=(
                        "datum.value == '0' || indexof(datum.value, '+') >= 0 || "
                        f"toNumber(datum.value) % {step} == 0 ? datum.value : ''"
                    ),
                ),
            ),
            y=alt.Y("probability:Q", title="Probability", axis=alt.Axis(format=".0%")),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["none", "one or more"], range=[VERMILLION, BLUE]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("specialty:N", title="Specialty"),
                alt.Tooltip("k:N", title="Interviews"),
                alt.Tooltip("probability:Q", title="Probability", format=".1%"),
                alt.Tooltip("at_least:Q", title="P(at least this many)", format=".1%"),
            ],
        )
        .properties(width=width, height=height)
    )
    return (
        chart.facet(
            facet=alt.Facet(
                "panel:N",
                title=None,
                sort=[names[c] for c in codes],
                header=alt.Header(labelAnchor="start"),
            ),
            columns=min(columns, len(codes)),
        )
        .resolve_scale(x="independent")
        .properties(title=_title(text, subtitle))
    )


# --------------------------------------------------------------------------- what-if


def what_if_tornado(levers: FrameLike, *, width: int = 520) -> alt.LayerChart | alt.Chart:
    """Tornado chart of the change in P(match anywhere) per lever, largest first.

    Bars extend right (raises, blue) or left (lowers, vermillion) of zero, in percentage
    points; each is labelled with its change. The x scale is symmetric around zero when
    levers go both ways. Tooltips add the probabilities before and after and the lever's
    note (e.g. "244 -> 249") when the frame has them.

    Args:
        levers: frame from `probability.what_if` (`label`, `delta`, optional `p_match_any`,
            `baseline`, `lever`).
        width: chart width in pixels (the height follows the number of levers).
    """
    df = _frame(levers, "levers", ["label", "delta"], "what_if_tornado")
    df = df.filter(pl.col("delta").is_not_null())
    if df.is_empty():
        return _empty("No what-if levers to show", "The levers frame is empty.", width)
    df = (
        df.with_columns(
            (100 * pl.col("delta")).alias("delta_pts"),
            pl.when(pl.col("delta") > 1e-9)
            .then(pl.lit("raises"))
            .when(pl.col("delta") < -1e-9)
            .then(pl.lit("lowers"))
            .otherwise(pl.lit("no change"))
            .alias("effect"),
        )
        .with_columns(
            pl.format(
                "{}{} pts",
                pl.when(pl.col("delta_pts") > 0.05)
                .then(pl.lit("+"))
                .when(pl.col("delta_pts") < -0.05)
                .then(pl.lit("−"))
                .otherwise(pl.lit("")),
                pl.col("delta_pts").abs().round(1),
            ).alias("delta_text"),
        )
        .sort(pl.col("delta").abs(), "label", descending=[True, False])
    )
    order = df["label"].to_list()
    has = set(df.columns)
    best = df.sort("delta", descending=True).row(0, named=True)
    if best["delta"] > 1e-9:
        text = f"Biggest lever: {best['label']} (+{best['delta_pts']:.1f} points"
        if "p_match_any" in has and best["p_match_any"] is not None:
            text += f", to {_pct(best['p_match_any'])}"
        text += ")"
    else:
        text = "None of these levers raises P(match anywhere)"
    subtitle = "Change in P(match anywhere), percentage points, if you do this."
    if "baseline" in has and df["baseline"].drop_nulls().len():
        subtitle = (
            f"Change in P(match anywhere) from today's {_pct(df['baseline'].drop_nulls()[0])}, "
            "in percentage points."
        )
    # symmetric around zero when levers go both ways; one-sided (with room for the labels)
    # when they all go one way, so the bars are not squeezed into half the width
    low, high = float(df["delta_pts"].min()), float(df["delta_pts"].max())  # type: ignore[arg-type]
    reach = max(1.0, abs(low), abs(high)) * 1.3
    if low < -1e-9 and high > 1e-9:
        domain = [-reach, reach]
    elif low < -1e-9:
        domain = [-reach, reach * 0.15]
    else:
        domain = [-reach * 0.15, reach]
    effects = [e for e in ("raises", "lowers", "no change") if e in set(df["effect"])]
    tooltip = [
        alt.Tooltip("label:N", title="Lever"),
        alt.Tooltip("delta_pts:Q", title="Change (points)", format="+.1f"),
    ]
    optional = (
        ("baseline", "P(match anywhere) now", ".0%"),
        ("p_match_any", "P(match anywhere) after", ".0%"),
        ("p_match_first", "P(match in first choice) after", ".0%"),
        ("note", "Note", None),
    )
    for column, title, fmt in optional:
        if column in has:
            kind = "Q" if fmt else "N"
            tooltip.append(
                alt.Tooltip(f"{column}:{kind}", title=title, **({"format": fmt} if fmt else {}))
            )
    columns = ["label", "delta_pts", "effect", "delta_text"] + [
        c for c, _, _ in optional if c in has
    ]
    base = alt.Chart(_inline(df, columns))
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    x = alt.X(
        "delta_pts:Q",
        title="Change in P(match anywhere) (percentage points)",
        scale=alt.Scale(domain=domain, nice=False),
    )
    bars = base.mark_bar(height={"band": 0.7}).encode(
        y=y,
        x=x,
        color=alt.Color(
            "effect:N",
            title=None,
            scale=alt.Scale(
                domain=["raises", "lowers", "no change"], range=[BLUE, VERMILLION, GREY]
            ),
            legend=alt.Legend(orient="bottom", values=effects),
        ),
        tooltip=tooltip,
    )
    right = (
        base.transform_filter("datum.delta_pts >= 0")
        .mark_text(align="left", dx=4)
        .encode(y=y, x=x, text="delta_text:N", tooltip=tooltip)
    )
    left = (
        base.transform_filter("datum.delta_pts < 0")
        .mark_text(align="right", dx=-4)
        .encode(y=y, x=x, text="delta_text:N", tooltip=tooltip)
    )
    zero = (
        alt.Chart(_inline(pl.DataFrame({"zero": [0.0], "note": ["no change"]})))
        .mark_rule(color=INK)
        .encode(x="zero:Q", tooltip=alt.Tooltip("note:N", title="Zero"))
    )
    return alt.layer(bars, zero, right, left).properties(
        width=width, height=alt.Step(26), title=_title(text, subtitle)
    )


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
    df = _frame(plan, "plan", required, "backup_plan_chart").sort("order")
    if df.is_empty():
        return _empty("No backup plan to show", "The plan frame is empty.", width)
    has = set(df.columns)
    first = df.row(0, named=True)
    df = df.with_columns(
        pl.when(pl.col("order") == first["order"])
        .then(pl.format("{} (first choice)", pl.col("specialty")))
        .otherwise(pl.format("+ {}", pl.col("specialty")))
        .alias("step"),
        (pl.col("included") if "included" in has else pl.lit(True)).alias("in_plan"),
    ).with_columns(
        pl.when(pl.col("in_plan"))
        .then(pl.lit("in the plan"))
        .otherwise(pl.lit("not in the plan"))
        .alias("status"),
    )
    steps = df["step"].to_list()
    planned = df.filter(pl.col("in_plan"))
    last = planned.row(-1, named=True) if planned.height else first
    backups = planned["specialty"].to_list()[1:]
    if backups:
        text = (
            f"Adding {_join(backups)} raises P(match anywhere) from "
            f"{_pct(first['p_match_any_cumulative'])} to {_pct(last['p_match_any_cumulative'])}"
            f" for {_usd(last['cumulative_cost_usd'] - first['cumulative_cost_usd'])} more"
        )
    else:
        text = (
            f"{first['specialty']} alone: {_pct(first['p_match_any_cumulative'])} chance to match"
        )
    if target is not None and last["p_match_any_cumulative"] < target:
        text += f", short of the {_pct(target)} target"
    subtitle = [
        "Solid: P(match anywhere) with the specialties so far; dashed: P(match in "
        f"{first['specialty']}).",
        "Grey bars: cumulative ERAS fees (right axis)."
        + (" Faded: not in the recommended plan." if not df["in_plan"].all() else ""),
    ]

    series = (
        df.select(
            "order",
            "step",
            "specialty",
            "status",
            *[
                c
                for c in ("p_match", "applications", "eras_cost_usd", "cumulative_cost_usd")
                if c in has
            ],
            pl.col("p_match_any_cumulative").alias("anywhere"),
            pl.col("p_match_first").alias("first_choice"),
        )
        .unpivot(
            index=[
                c
                for c in (
                    "order",
                    "step",
                    "specialty",
                    "status",
                    "p_match",
                    "applications",
                    "eras_cost_usd",
                    "cumulative_cost_usd",
                )
                if c in has or c in ("step", "status")
            ],
            on=["anywhere", "first_choice"],
            variable_name="series",
            value_name="probability",
        )
        .with_columns(
            pl.col("series").replace_strict(
                {
                    "anywhere": "P(match anywhere)",
                    "first_choice": f"P(match in {first['specialty']})",
                }
            )
        )
    )
    names = ["P(match anywhere)", f"P(match in {first['specialty']})"]
    x = alt.X(
        "step:N",
        sort=steps,
        title="Specialties applied to, in order",
        axis=alt.Axis(labelAngle=0, labelLimit=160),
    )
    info = [
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
    opacity = alt.Opacity(
        "status:N",
        scale=alt.Scale(domain=["in the plan", "not in the plan"], range=[1.0, 0.35]),
        legend=None,
    )
    cost = (
        alt.Chart(_inline(df, [c for c in df.columns if c != "in_plan"]))
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
    lines_base = alt.Chart(_inline(series))
    y = alt.Y(
        "probability:Q",
        title="Probability",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format=".0%", orient="left"),
    )
    color = alt.Color(
        "series:N",
        title=None,
        sort=names,
        scale=alt.Scale(domain=names, range=[BLUE, ORANGE]),
        legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=2.5),
    )
    dash = alt.StrokeDash(
        "series:N", sort=names, legend=None, scale=alt.Scale(domain=names, range=[[1, 0], [6, 4]])
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
        color=alt.Color(
            "series:N", sort=names, scale=alt.Scale(domain=names, range=[BLUE, ORANGE]), legend=None
        ),
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
    left = [lines, points, labels]
    if target is not None:
        goal = alt.Chart(
            _inline(pl.DataFrame({"target": [target], "label": [f"target {_pct(target)}"]}))
        )
        goal_tooltip = [alt.Tooltip("target:Q", title="Target P(match anywhere)", format=".0%")]
        left.append(
            goal.mark_rule(strokeDash=[6, 4], color=INK, strokeWidth=1.2).encode(
                y=alt.Y("target:Q", scale=alt.Scale(domain=[0, 1])), tooltip=goal_tooltip
            )
        )
        left.append(
            goal.mark_text(align="left", baseline="bottom", dy=-3, x=4, color=INK).encode(
                y=alt.Y("target:Q", scale=alt.Scale(domain=[0, 1])),
                text="label:N",
                tooltip=goal_tooltip,
            )
        )
    return alt.LayerChart(  # one constructor: fewer deep copies than .resolve/.properties
        layer=[cost, alt.LayerChart(layer=left)],
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(y="independent")),
        width=width,
        height=height,
        title=_title(text, subtitle),
    )


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
        rot = _frame(rotations, "rotations", ["program_name", "role", "start", "end"], "plan_gantt")
        has = set(rot.columns)
        where = pl.format(", {}", pl.col("state")) if "state" in has else pl.lit("")
        rows.append(
            rot.select(
                pl.format(
                    "Rotation ({}): {}{}",
                    pl.col("role"),
                    pl.col("program_name"),
                    pl.coalesce(where, pl.lit("")),
                ).alias("label"),
                pl.col("start").cast(pl.Date),
                pl.col("end").cast(pl.Date),
                pl.lit("rotation").alias("category"),
                pl.lit(False).alias("approximate"),
                (
                    pl.col("reason").cast(pl.String)
                    if "reason" in has
                    else pl.lit(None, dtype=pl.String)
                ).alias("detail"),
                (
                    pl.col("cost_usd").cast(pl.Float64)
                    if "cost_usd" in has
                    else pl.lit(None, dtype=pl.Float64)
                ).alias("cost_usd"),
                (
                    pl.col("gain").cast(pl.Float64)
                    if "gain" in has
                    else pl.lit(None, dtype=pl.Float64)
                ).alias("gain"),
            )
        )
    if timeline is not None:
        tl = _frame(timeline, "timeline", ["start", "event", "category"], "plan_gantt")
        has = set(tl.columns)
        tl = tl.with_columns(
            pl.col("start").cast(pl.Date),
            (pl.col("end") if "end" in has else pl.lit(None, dtype=pl.Date))
            .cast(pl.Date)
            .alias("end"),
            (
                pl.col("approximate").fill_null(False) if "approximate" in has else pl.lit(False)
            ).alias("approximate"),
            (
                pl.col("source").cast(pl.String)
                if "source" in has
                else pl.lit(None, dtype=pl.String)
            ).alias("detail"),
        )
        is_season = (pl.col("category") == "interviews") & pl.col("end").is_not_null()
        season = tl.filter(is_season).select("start", "end", "event")
        # the timeline may list the planned rotations too: keep the richer rotation rows
        if not rot.is_empty():
            planned = rot.select(pl.col("start").cast(pl.Date), pl.col("end").cast(pl.Date))
            tl = tl.join(
                planned.with_columns(pl.lit(True).alias("_planned")),
                on=["start", "end"],
                how="left",
            ).filter(~((pl.col("category") == "rotation") & pl.col("_planned").fill_null(False)))
        rows.append(
            tl.filter(~is_season).select(
                pl.col("event").alias("label"),
                pl.col("start").cast(pl.Date),
                pl.col("end").cast(pl.Date),
                pl.col("category").cast(pl.String),
                "approximate",
                "detail",
                pl.lit(None, dtype=pl.Float64).alias("cost_usd"),
                pl.lit(None, dtype=pl.Float64).alias("gain"),
            )
        )
    items = pl.concat(rows) if rows else pl.DataFrame()
    if items.is_empty() and season.is_empty():
        return _empty("No plan to show", "No rotations or timeline events were given.", width)
    items = items.sort("start", "label")
    # a unique row label keeps two events of the same name on separate rows
    items = items.with_columns(
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
    order = items["label"].to_list()

    # the takeaway
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
        parts.append(f"Match Day {_date_text(matches['start'][-1])}")
    elif not items.is_empty():
        parts.append(f"through {items['start'].max():%b %Y}")
    if overlaps:
        text = (
            f"Warning: {_join(overlaps)} overlap{'s' if len(overlaps) == 1 else ''} "
            "interview season"
        )
    else:
        text = "; ".join(parts) or "Your timeline"
        text = text[0].upper() + text[1:]
    approximate = items["approximate"] if not items.is_empty() else pl.Series([False])
    mixed = bool(approximate.any()) and not bool(approximate.all())
    subtitle = "Bars: periods; diamonds: single dates"
    if mixed:
        subtitle += "; faded: approximate dates."
    elif approximate.all():
        subtitle += "; all dates approximate (published calendars, rules of thumb)."
    else:
        subtitle += "."
    if not season.is_empty():
        subtitle += " Shaded: interview season."

    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=420))
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
        alt.Opacity(
            "certainty:N",
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
    layers: list[alt.Chart] = []
    if not season.is_empty():
        season_data = _inline(
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
        layers.append(
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
        layers.append(
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
    if not items.is_empty():
        data = _inline(
            items,
            [
                "label",
                "start",
                "end",
                "category",
                "certainty",
                "when",
                "detail",
                "cost_usd",
                "gain",
            ],
        )
        base = alt.Chart(data)
        layers.append(
            base.transform_filter("datum.end != null")
            .mark_bar(height={"band": 0.6}, cornerRadius=2)
            .encode(x=x, x2="end:T", y=y, color=color, opacity=opacity, tooltip=tooltip)
        )
        layers.append(
            base.transform_filter("datum.end == null")
            .mark_point(shape="diamond", filled=True, size=130)
            .encode(x=x, y=y, color=color, opacity=opacity, tooltip=tooltip)
        )
    if today is not None:
        today_data = _inline(pl.DataFrame({"date": [today], "label": ["today"]}))
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
        title=_title(text, subtitle),
    )


# --------------------------------------------------------------------------- calibration


def calibration_chart(
    calibration: FrameLike,
    *,
    tolerance: float = 0.2,
    width: int = 170,
    columns: int = 4,
) -> alt.FacetChart | alt.Chart:
    """Model against reference figures: paired dots per specialty, one panel per metric.

    A grey line joins each specialty's model value (blue circle) to its reference value
    (orange diamond); the title counts how many figures the model matches within
    `tolerance` of the reference (for shares, also anything within 2 percentage points)
    and names the largest gap (in points for shares, relative otherwise).

    Args:
        calibration: frame with `specialty, metric, model, reference`.
        tolerance: relative gap counted as a match in the title.
        width: panel width in pixels.
        columns: panels per row (metrics wrap onto more rows).
    """
    df = _frame(
        calibration,
        "calibration",
        ["specialty", "metric", "model", "reference"],
        "calibration_chart",
    )
    df = df.filter(pl.col("model").is_not_null(), pl.col("reference").is_not_null())
    if df.is_empty():
        return _empty("No calibration figures to show", "The calibration frame is empty.")
    df = df.with_columns(
        (pl.col("model") - pl.col("reference")).alias("gap"),
        pl.min_horizontal("model", "reference").alias("low"),
        pl.max_horizontal("model", "reference").alias("high"),
    )
    # figures that are all shares (0-1) compare in percentage points; mixed figures (counts,
    # percents, shares) only relative to their reference
    rates = bool(df.select((pl.col("low") >= 0) & (pl.col("high") <= 1)).to_series().all())
    floor = 0.02 if rates else 0.0
    df = df.with_columns(
        (
            pl.col("gap").abs()
            <= pl.max_horizontal(tolerance * pl.col("reference").abs(), pl.lit(floor)) + 1e-12
        ).alias("close"),
        (
            pl.col("gap").abs()
            if rates
            else pl.col("gap").abs() / pl.max_horizontal(pl.col("reference").abs(), pl.lit(1e-9))
        ).alias("miss"),
    )
    fmt = ".0%" if rates else ",.3~r"
    n, close = df.height, int(df["close"].sum())
    worst = df.sort("miss", descending=True).row(0, named=True)

    def shown(value: float) -> str:
        return _pct(value, 1 if abs(value) < 0.1 else 0) if rates else f"{value:,.4g}"

    text = (
        f"Model within {_pct(tolerance)} of the reference on {close} of {n} figures; "
        f"largest gap: {worst['specialty']} {worst['metric']}"
    )
    subtitle = (
        f"Blue circle: model; orange diamond: reference. Largest gap: model "
        f"{shown(worst['model'])} vs reference {shown(worst['reference'])}."
    )
    long = df.unpivot(
        index=["specialty", "metric", "gap", "model", "reference", "low", "high"],
        on=["model", "reference"],
        variable_name="source",
        value_name="figure",
    )
    metrics = list(dict.fromkeys(df["metric"].to_list()))
    codes = list(dict.fromkeys(df["specialty"].to_list()))
    pair_tooltip = [
        alt.Tooltip("specialty:N", title="Specialty"),
        alt.Tooltip("metric:N", title="Figure"),
        alt.Tooltip("model:Q", title="Model", format=fmt),
        alt.Tooltip("reference:Q", title="Reference", format=fmt),
        alt.Tooltip("gap:Q", title="Model − reference", format="+" + fmt),
    ]
    y = alt.Y("specialty:N", title=None, sort=codes)
    x_axis = alt.Axis(format=fmt, tickCount=4)
    base = alt.Chart()  # the facet carries the data: a faceted layer cannot have its own
    rule = (
        base.transform_filter("datum.source == 'model'")
        .mark_rule(color="#B0B0B0", strokeWidth=2)
        .encode(x=alt.X("low:Q", title=None, axis=x_axis), x2="high:Q", y=y, tooltip=pair_tooltip)
    )
    dots = base.mark_point(filled=True, size=80, opacity=0.95).encode(
        x=alt.X("figure:Q", title=None, axis=x_axis),
        y=y,
        color=alt.Color(
            "source:N",
            title=None,
            scale=alt.Scale(domain=["model", "reference"], range=[BLUE, ORANGE]),
            legend=alt.Legend(orient="bottom"),
        ),
        shape=alt.Shape(
            "source:N",
            title=None,
            scale=alt.Scale(domain=["model", "reference"], range=["circle", "diamond"]),
        ),
        tooltip=[
            alt.Tooltip("source:N", title="Source"),
            alt.Tooltip("figure:Q", title="Value", format=fmt),
            *pair_tooltip,
        ],
    )
    layered = alt.layer(rule, dots).properties(width=width, height=alt.Step(22))
    return (
        layered.facet(
            facet=alt.Facet(
                "metric:N", title=None, sort=metrics, header=alt.Header(labelFontWeight=600)
            ),
            columns=min(columns, len(metrics)),
            data=_inline(long),
        )
        .resolve_scale(x="independent", y="independent")  # a panel lists its own rows
        .properties(title=_title(text, subtitle))
    )
