"""Charts of the program table: the US map, the friendliness scatter and histogram, components.

Inputs (the scored program table of `analysis.model.friendliness.score_programs`, and its
`component_contributions`; extra columns are ignored):

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
    ========================== ===========================================================

The map is drawn from the Census state shapes shipped in `analysis/_data/` (us-atlas 3.0.1,
`us_states_10m.json`), never from the network.

Limits. The `albersUsa` projection draws the 50 states and DC only: programs in Puerto Rico
and other territories are counted in the map's subtitle, not drawn. The scatter spreads
points horizontally by up to ±0.25 positions (a fixed amount per program id) so that
programs of the same size do not hide each other; its tooltips show the true size. Its
title is precomputed for every choice of its specialty dropdown.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable
from typing import Any, Literal

import altair as alt
import polars as pl

from analysis.config import PACKAGE_DIR
from analysis.data.vocabulary import US_STATE_FIPS, US_STATES
from analysis.viz.base import (
    FrameLike,
    as_tuple,
    capitalized,
    chart_title,
    empty_chart,
    inline_data,
    input_frame,
    join_words,
    pct_text,
    tri_state_expr,
)
from analysis.viz.theme import (
    LIGHT_GREY,
    TIER_ORDER,
    tier_scale,
)

__all__ = [
    "component_breakdown",
    "friendliness_distribution",
    "friendliness_scatter",
    "programs_map",
    "us_states_topology",
]


# --------------------------------------------------------------------------- US map


@functools.cache
def _topology_text() -> str:
    return (PACKAGE_DIR / "_data" / "us_states_10m.json").read_text(encoding="utf-8")


def us_states_topology() -> dict[str, Any]:
    """The US state shapes (TopoJSON, us-atlas 3.0.1 `states-10m.json`), read from the package.

    Object `states`: one geometry per state, DC and territory; `id` is the 2-digit Census
    FIPS code (join through `analysis.data.vocabulary.US_STATE_FIPS`), `properties.name` the name.
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
    required = ["state"] + (["img_friendliness"] if value == "mean_friendliness" else [])
    df = input_frame(scored, "scored", required, "programs_map")
    specs = as_tuple(specialty)
    if specs:
        df = input_frame(df, "scored", ["specialty"], "programs_map")
        df = df.filter(pl.col("specialty").is_in(specs))
    what = f"{'/'.join(specs)} programs" if specs else "programs"
    if df.is_empty():
        return empty_chart(f"No {what} to map", f"The table has no {what}.", width)

    per_state = _per_state(df)
    on_map = [code for code in US_STATE_FIPS if code not in _OFF_MAP]
    not_drawn = _not_drawn(per_state, on_map)
    table = _map_table(per_state)
    shapes = _state_shapes(table)
    tooltip = _map_tooltip(table)
    base = shapes.mark_geoshape(fill=LIGHT_GREY, stroke="white", strokeWidth=0.8).encode(
        tooltip=[alt.Tooltip("properties.name:N", title="State"), tooltip[1]]
    )
    drawn = table.filter(pl.col("programs") > 0, pl.col("state").is_in(on_map))
    if value == "programs":
        color, text, shown = _count_legend_and_title(drawn, what)
    else:
        color, text, shown = _friendliness_legend_and_title(drawn, what, min_programs)
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
        .properties(width=width, height=height, title=chart_title(text, subtitle))
    )


def _state_shapes(table: pl.DataFrame) -> alt.Chart:
    """The states' shapes, each looked up with its row of `table` (by FIPS code)."""
    fields = [c for c in table.columns if c not in ("fips", "j1_yes", "j1_unknown")]
    # the TopoJSON goes in as its text: Vega parses it, and Altair does not walk (validate,
    # copy) its ~13,000 nested arrays on every method call (1.2 s -> 0.05 s per map)
    topo = alt.InlineData(
        values=_topology_text(),
        format=alt.DataFormat(type="topojson", feature="states"),
    )
    return alt.Chart(topo).transform_lookup(
        lookup="id",
        from_=alt.LookupData(data=inline_data(table, ["fips", *fields]), key="fips", fields=fields),
    )


def _per_state(df: pl.DataFrame) -> pl.DataFrame:
    """Programs per state, with positions, mean friendliness, J-1 and friendly counts when
    the table has the columns."""
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
    return per_state


def _not_drawn(per_state: pl.DataFrame, on_map: list[str]) -> list[str]:
    """Outside the map: territories, unknown codes and programs without a state."""
    outside = per_state.filter(pl.col("state").is_null() | ~pl.col("state").is_in(on_map)).sort(
        "programs", descending=True
    )
    return [
        f"{US_STATES.get(row['state'], row['state']) if row['state'] else 'no state'} "
        f"({row['programs']})"
        for row in outside.iter_rows(named=True)
    ]


def _map_table(per_state: pl.DataFrame) -> pl.DataFrame:
    """Every state with its FIPS code (the shapes' id), name and figures (0 programs if none)."""
    states = pl.DataFrame(
        {
            "state": list(US_STATE_FIPS),
            "fips": list(US_STATE_FIPS.values()),
            "state_name": [US_STATES[code] for code in US_STATE_FIPS],
        }
    )
    return states.join(per_state, on="state", how="left").with_columns(
        pl.col("programs").fill_null(0)
    )


def _map_tooltip(table: pl.DataFrame) -> list[alt.Tooltip]:
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
    return tooltip


def _count_legend_and_title(drawn: pl.DataFrame, what: str) -> tuple[alt.Color, str, str]:
    """Colour by number of programs; the title names the three states with the most."""
    color = alt.Color(
        "programs:Q",
        title="Programs",
        scale=alt.Scale(scheme="blues", type="sqrt", zero=True),
        legend=alt.Legend(orient="right", gradientLength=180),
    )
    top = drawn.sort(["programs", "state"], descending=[True, False]).head(3)
    ranked = [f"{r['state_name']} ({r['programs']})" for r in top.iter_rows(named=True)]
    text = f"{join_words(ranked)} have the most {what}"
    if top.height == 1:
        text = f"{ranked[0]} has the most {what}"
    return color, text, "Number of programs per state"


def _friendliness_legend_and_title(
    drawn: pl.DataFrame, what: str, min_programs: int
) -> tuple[alt.Color, str, str]:
    """Colour by mean friendliness; the title names the friendliest states with enough
    programs to rank."""
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
    text = f"{capitalized(what)} are IMG-friendliest in {join_words(ranked)} on average"
    shown = "Mean IMG-friendliness (0-100) per state"
    if min_programs > 1:
        shown += f"; faded: fewer than {min_programs} programs (not ranked)"
    return color, text, shown


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
        return capitalized(tail)
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
    df = input_frame(scored, "scored", required, "friendliness_scatter")
    missing_size = df.filter(
        pl.col("pgy1_positions").is_null() | pl.col("img_friendliness").is_null()
    ).height
    df = df.filter(pl.col("pgy1_positions").is_not_null(), pl.col("img_friendliness").is_not_null())
    if df.is_empty():
        return empty_chart("No programs to plot", "No program has both a size and a score.", width)
    df = _with_visa_and_place(df)
    codes = sorted(df["specialty"].drop_nulls().unique().to_list())
    initial = specialty if specialty in codes else "All"
    takeaways = {"All": _size_takeaway(df, None)}
    takeaways |= {c: _size_takeaway(df.filter(pl.col("specialty") == c), c) for c in codes}
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
    tooltip = _scatter_tooltip(df)
    columns = [t.shorthand.split(":")[0] for t in tooltip] + ["size_jittered"]
    df = _jittered(df, jitter)
    return (
        alt.Chart(inline_data(df, columns))
        .mark_circle(size=46, stroke="white", strokeWidth=0.4)
        .encode(
            x=_size_x(df, jitter, pick.name),
            y=alt.Y(
                "img_friendliness:Q",
                title="IMG-friendliness (0-100)",
                scale=alt.Scale(domain=[0, 100]),
            ),
            color=alt.Color("tier:N", title="Tier", scale=tier_scale(), sort=list(TIER_ORDER)),
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


def _with_visa_and_place(df: pl.DataFrame) -> pl.DataFrame:
    """Add `visa` ("J-1 yes · H-1B unknown", when the table has visa columns) and `place`."""
    has = set(df.columns)
    extra = []
    if "sponsors_j1" in has or "sponsors_h1b" in has:
        j1 = tri_state_expr("sponsors_j1") if "sponsors_j1" in has else pl.lit("unknown")
        h1b = tri_state_expr("sponsors_h1b") if "sponsors_h1b" in has else pl.lit("unknown")
        extra.append(pl.format("J-1 {} · H-1B {}", j1, h1b).alias("visa"))
    place = (
        pl.format("{}, {}", pl.col("city"), pl.col("state")) if "city" in has else pl.col("state")
    )
    extra.append(pl.coalesce(place, pl.col("state"), pl.lit("unknown")).alias("place"))
    return df.with_columns(extra)


def _scatter_tooltip(df: pl.DataFrame) -> list[alt.Tooltip]:
    """The program, place, score, tier and size, then the optional facts the table has."""
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
    return tooltip


def _jittered(df: pl.DataFrame, jitter: float) -> pl.DataFrame:
    """Add `size_jittered`: positions spread by a fixed pseudo-random amount per program.

    Sizes are whole numbers, so small programs pile up on a few vertical lines; the amount
    comes from the program id, so renders are reproducible.
    """
    return df.with_columns(
        (
            pl.col("pgy1_positions")
            + (pl.col("program_id").hash(seed=7) % 1000 / 1000 - 0.5) * jitter
        )
        .clip(lower_bound=0)
        .alias("size_jittered")
    )


def _size_x(df: pl.DataFrame, jitter: float, pick: str) -> alt.X:
    """The size axis (square root), its range and ticks following the dropdown `pick`."""
    limits = {"All": int(df["pgy1_positions"].max() or 1)}
    limits |= dict(df.group_by("specialty").agg(pl.col("pgy1_positions").max()).iter_rows())
    domains = {key: max(1, int(top)) + jitter for key, top in limits.items()}
    ticks = {key: [t for t in _SIZE_TICKS if t <= top * 1.02] for key, top in domains.items()}
    x_title = "First-year (PGY-1) positions (square-root scale"
    x_title += f"; points spread ±{jitter / 2:g} to show overlaps)" if jitter else ")"
    return alt.X(
        "size_jittered:Q",
        title=x_title,
        scale=alt.Scale(
            type="sqrt", domain=alt.expr(f"[0, {json.dumps(domains)}[{pick}]]"), nice=False
        ),
        axis=alt.Axis(values=alt.expr(f"{json.dumps(ticks)}[{pick}]"), grid=True),
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
    df = input_frame(scored, "scored", required, "friendliness_distribution")
    df = df.filter(pl.col("specialty") == specialty, pl.col("img_friendliness").is_not_null())
    if df.is_empty():
        return empty_chart(
            f"No {specialty} programs to show",
            f"The table has no scored {specialty} programs.",
            width,
        )
    wanted = list(dict.fromkeys(as_tuple(highlight_ids)))
    bars = _histogram(_binned(df, bin_width))
    mine = df.filter(pl.col("program_id").is_in(wanted)) if wanted else df.clear()
    text, subtitle = _distribution_title(df, mine, len(wanted), specialty)
    if mine.is_empty():
        return bars.properties(width=width, height=height, title=chart_title(text, subtitle))
    marks = _your_programs(mine, df["img_friendliness"], specialty)
    return alt.layer(bars, marks).properties(
        width=width, height=height, title=chart_title(text, subtitle)
    )


def _binned(df: pl.DataFrame, bin_width: float) -> pl.DataFrame:
    """Programs per (score bin, tier), the last bin closed at 100."""
    upper = 100 - bin_width
    return (
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


def _histogram(binned: pl.DataFrame) -> alt.Chart:
    """The bars, stacked by tier in tier order."""
    return (
        alt.Chart(inline_data(binned))
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
            color=alt.Color("tier:N", title="Tier", scale=tier_scale(), sort=list(TIER_ORDER)),
            order=alt.Order("tier_rank:Q"),
            tooltip=[
                alt.Tooltip("range:N", title="Score"),
                alt.Tooltip("tier:N", title="Tier"),
                alt.Tooltip("programs:Q", title="Programs"),
            ],
        )
        .transform_calculate(tier_rank=f"indexof({json.dumps(list(TIER_ORDER))}, datum.tier)")
    )


def _distribution_title(
    df: pl.DataFrame, mine: pl.DataFrame, listed: int, specialty: str
) -> tuple[str, list[str]]:
    """Where the applicant's programs stand (or the specialty's median), and what is shown."""
    n = df.height
    scores = df["img_friendliness"]
    median_all = float(scores.median())  # type: ignore[arg-type]
    friendly = df.filter(pl.col("tier").is_in(["friendly", "very friendly"])).height
    elsewhere = listed - mine.height
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
            where = f"above {pct_text(beaten)} of {specialty} programs"
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
            f"{elsewhere} of the {listed} listed programs "
            f"{'is not a scored' if elsewhere == 1 else 'are not scored'} {specialty} "
            f"program{'' if elsewhere == 1 else 's'}."
        )
    return text, subtitle


def _your_programs(mine: pl.DataFrame, scores: pl.Series, specialty: str) -> alt.Chart:
    """A black rule at each highlighted program's score, with its percentile."""
    name = "program_name" if "program_name" in mine.columns else "program_id"
    # percentile: the share of the specialty's programs scoring below each highlighted one
    ranks = mine.with_columns(
        pl.col(name).alias("name"),
        pl.Series(
            "percentile", scores.sort().search_sorted(mine["img_friendliness"]) / len(scores)
        ),
    )
    return (
        alt.Chart(
            inline_data(ranks, ["name", "program_id", "img_friendliness", "tier", "percentile"])
        )
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


# --------------------------------------------------------------------------- components


def component_breakdown(
    contributions: FrameLike,
    top: int = 15,
    *,
    width: int = 460,
) -> alt.LayerChart | alt.Chart:
    """Stacked horizontal bars of the score's weighted components for the top programs.

    Segments are `contribution` = 100 x weight x value, so a bar's length is the program's
    IMG-friendliness; imputed components (the fact was unknown: the specialty's median program)
    are drawn faded. Programs are ranked by their summed contributions; if the frame has a
    `tier` column, closed programs are left out (their contributions do not make the score).

    Args:
        contributions: long frame from `friendliness.component_contributions(scored)`.
        top: number of programs to show.
        width: chart width in pixels (the height follows the number of programs).
    """
    required = ["program_id", "program_name", "component", "label", "contribution"]
    df = input_frame(contributions, "contributions", required, "component_breakdown")
    if "tier" in df.columns:
        df = df.filter(pl.col("tier") != "closed")
    if df.is_empty():
        return empty_chart(
            "No score components to show", "The contributions frame is empty.", width
        )
    has = set(df.columns)
    totals = _top_programs(df, top)
    keep, comp_order = _ranked_components(df, totals)
    text, subtitle = _breakdown_title(keep, totals.height)
    tooltip = _breakdown_tooltip(has)
    columns = ["display", "label", "contribution", "rank", "basis"] + [
        c for c in ("value", "weight") if c in has
    ]
    y = alt.Y("display:N", sort=totals["display"].to_list(), title=None,
              axis=alt.Axis(labelLimit=380))  # fmt: skip
    bars = (
        alt.Chart(inline_data(keep, columns))
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
            opacity=alt.Opacity(  # ordinal: Vega-Lite warns about opacity on a nominal field
                "basis:O",
                sort=["known", "imputed (fact unknown)"],
                scale=alt.Scale(domain=["known", "imputed (fact unknown)"], range=[1.0, 0.4]),
                legend=None,  # explained in the subtitle
            ),
            tooltip=tooltip,
        )
    )
    labels = (
        alt.Chart(inline_data(totals, ["display", "score"]))
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
        width=width, height=alt.Step(22), title=chart_title(text, subtitle)
    )


def _top_programs(df: pl.DataFrame, top: int) -> pl.DataFrame:
    """The `top` programs by summed contributions, with a unique display name each."""
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
    return totals


def _ranked_components(df: pl.DataFrame, totals: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The top programs' component rows, with the stacking rank (heaviest weight first)
    and whether each value is known or imputed; and the components in that order."""
    has = set(df.columns)
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
    return keep, comp_order


def _breakdown_title(keep: pl.DataFrame, k: int) -> tuple[str, list[str]]:
    """The two components that make up most of the top programs' scores."""
    shares = (
        keep.group_by("label")
        .agg(pl.col("contribution").sum())
        .sort("contribution", descending=True)
    )
    total = shares["contribution"].sum()
    lead = shares.head(2)
    share = lead["contribution"].sum() / total if total else 0.0
    text = (
        f"{join_words(lead['label'].to_list())} make up {pct_text(share)} "
        f"of the top {k} programs' scores"
        if lead.height > 1
        else f"{lead['label'][0]} makes up all of the top {k} programs' scores"
    )
    imputed_any = bool((keep["basis"] != "known").any())
    subtitle = ["IMG-friendliness points (0-100) by weighted component, top programs first."]
    if imputed_any:
        subtitle.append("Faded segments: unknown facts, imputed as the specialty's median program.")
    return text, subtitle


def _breakdown_tooltip(has: set[str]) -> list[alt.Tooltip]:
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
    return tooltip
