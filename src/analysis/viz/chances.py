"""Charts of an applicant's chances: match curve, interview distribution, what-if levers.

Inputs (output frames of `analysis.model.probability`; extra columns are ignored):

    ========================== ===========================================================
    builder                    frame and the columns it needs
    ========================== ===========================================================
    match_curve                curves: specialty, applications, p_match, p_match_low,
                               p_match_high, eras_cost_usd (+ recommended,
                               diminishing_returns)
    interview_distribution     pmf: specialty, interviews, probability
    what_if_tornado            levers: label, delta (+ p_match_any or
                               p_match_any_after, baseline, p_match_first, note,
                               available, reason)
    ========================== ===========================================================

Limits. The interview distribution folds its thin tail (< 1% by default) into one "k+" bar.
"""

from __future__ import annotations

import math
import textwrap

import altair as alt
import polars as pl

from analysis.config import load_params
from analysis.viz.base import (
    FrameLike,
    capitalized,
    chart_title,
    empty_chart,
    inline_data,
    input_frame,
    pct_text,
    specialty_labels,
    usd_text,
)
from analysis.viz.theme import (
    BLUE,
    GREY,
    INK,
    OKABE_ITO,
    VERMILLION,
)

__all__ = [
    "interview_distribution",
    "match_curve",
    "what_if_tornado",
]


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
            f"{code}: {pct_text(target)} chance with {row['applications']} applications "
            f"({usd_text(row['eras_cost_usd'])})"
        )
    if len(short) == 1:
        code, best = short[0]
        reached.append(f"{code} tops out near {pct_text(best)}, short of {pct_text(target)}")
    elif short:
        at_most = ", ".join(f"{code} {pct_text(best)}" for code, best in short)
        lead = "none reaches" if not reached else "short of"
        reached.append(f"{lead} {pct_text(target)}: at most {at_most}")
    return [capitalized(phrase) for phrase in reached]


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


_CURVE_COLUMNS = (
    "specialty",
    "applications",
    "p_match",
    "p_match_low",
    "p_match_high",
    "eras_cost_usd",
)


def match_curve(
    curves: FrameLike,
    target: float | None = None,
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
        target: target probability, drawn as a rule and used in the title (default: the
            model's `applications.target`, params/probability.yaml).
        interval: what the band is (legend text), e.g. "80% interval".
        width: chart width in pixels.
        height: chart height in pixels.
        max_applications: last number of applications drawn; default: half as far again as
            the furthest marked point (recommended or diminishing returns), at least 60, so
            one long curve does not squeeze the others into a corner.
    """
    required = list(_CURVE_COLUMNS)
    df = input_frame(curves, "curves", required, "match_curve")
    if df.is_empty():
        return empty_chart("No match curve to show", "The curves frame is empty.", width)
    codes = df["specialty"].unique(maintain_order=True).to_list()  # preference order
    df = df.with_columns(
        pl.col("specialty").replace_strict(codes, list(range(len(codes)))).alias("_rank")
    ).sort("_rank", "applications")
    if target is None:
        target = float(load_params("probability")["applications"]["target"])
    phrases = _curve_takeaway(df, codes, target)
    shown_up_to = _curve_display_limit(df, max_applications)  # takeaway: the whole curve
    clipped = df["applications"].max() > shown_up_to  # type: ignore[operator]
    df = df.filter(pl.col("applications") <= shown_up_to)
    text: str | list[str] = "; ".join(phrases) if len(phrases) <= 2 else phrases[:2]
    subtitle = _curve_subtitle(df, phrases, target, interval, shown_up_to if clipped else None)
    data, markers = _curve_data(df)
    color, x, y = _curve_encodings(codes)
    point_tooltip = _curve_tooltip(interval)
    base = alt.Chart(inline_data(data, [*required, "band_text", *markers]))
    band = base.mark_area(opacity=0.18).encode(
        x=x, y=alt.Y("p_match_low:Q"), y2="p_match_high:Q", color=color, tooltip=point_tooltip
    )
    line = base.mark_line().encode(x=x, y=y, color=color, tooltip=point_tooltip)
    left = [band, line, *_target_rule(target)]
    left += _curve_markers(base, markers, x, y, color, point_tooltip)
    cost = _cost_line(base, x, point_tooltip)
    # built in one constructor: every .resolve_scale()/.properties() deep-copies the whole
    # layered chart (about a third of the build time)
    return alt.LayerChart(
        layer=[alt.LayerChart(layer=left), cost],
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(y="independent")),
        width=width,
        height=height,
        title=chart_title(text, subtitle),
    )


def _curve_data(df: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The curves with the interval as text, and the marker columns that mark a point.

    A marker layer with no point would give the shared x scale an infinite extent (Vega
    warns "Infinite extent for field applications"): only markers that exist are drawn.
    """
    data = df.with_columns(
        pl.format(
            "{}-{}%",
            (100 * pl.col("p_match_low")).round(0).cast(pl.Int64),
            (100 * pl.col("p_match_high")).round(0).cast(pl.Int64),
        ).alias("band_text")
    )
    markers = [
        c
        for c in ("recommended", "diminishing_returns")
        if c in df.columns and bool(df[c].fill_null(False).any())
    ]
    return data, markers


def _curve_tooltip(interval: str) -> list[alt.Tooltip]:
    """A point's tooltip: specialty, applications, P(match) with its interval, ERAS fees."""
    return [
        alt.Tooltip("specialty:N", title="Specialty"),
        alt.Tooltip("applications:Q", title="Applications"),
        alt.Tooltip("p_match:Q", title="P(match)", format=".1%"),
        alt.Tooltip("band_text:N", title=interval),
        alt.Tooltip("eras_cost_usd:Q", title="ERAS fees (USD)", format="$,.0f"),
    ]


def _cost_line(base: alt.Chart, x: alt.X, tooltip: list[alt.Tooltip]) -> alt.Chart:
    """ERAS fees for that many applications, on the right axis (dashed grey)."""
    return base.mark_line(strokeDash=[3, 3], strokeWidth=1.6, color=GREY).encode(
        x=x,
        y=alt.Y(
            "eras_cost_usd:Q",
            title="ERAS fees per specialty (USD)",
            axis=alt.Axis(format="$,.0f", orient="right", titleColor=GREY, labelColor=GREY),
        ),
        detail="specialty:N",
        tooltip=tooltip,
    )


def _curve_subtitle(
    df: pl.DataFrame, phrases: list[str], target: float, interval: str, clipped_at: int | None
) -> list[str]:
    """What the marks mean, where the x axis stops, and the title phrases beyond two."""
    subtitle = [
        f"P(match) by number of programs applied to; shaded: {interval}; dashed line: "
        f"{pct_text(target)} target.",
    ]
    marked = []
    if "recommended" in df.columns and df["recommended"].any():
        marked.append("filled dot: recommended number")
    if "diminishing_returns" in df.columns and df["diminishing_returns"].any():
        marked.append("open dot: diminishing returns")
    subtitle.append(capitalized("; ".join([*marked, "grey dashes: ERAS fees (right axis)."])))
    if clipped_at is not None:
        subtitle.append(
            f"Shown up to {clipped_at} programs: past the marked points, more applications "
            "add little."
        )
    if len(phrases) > 2:
        subtitle.append("; ".join(phrases[2:]) + ".")
    return subtitle


def _curve_encodings(codes: list[str]) -> tuple[alt.Color, alt.X, alt.Y]:
    """Colour by specialty in preference order; applications across; P(match) up (left)."""
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
    return color, x, y


def _target_rule(target: float) -> list[alt.Chart]:
    """The target as a dashed rule, labelled at the left."""
    target_frame = pl.DataFrame(
        {"target": [target], "label": [f"target {pct_text(target)}"], "applications": [0]}
    )
    target_tooltip = [alt.Tooltip("target:Q", title="Target P(match)", format=".0%")]
    rule_base = alt.Chart(inline_data(target_frame))
    rule = rule_base.mark_rule(strokeDash=[6, 4], color=INK, strokeWidth=1.2).encode(
        y="target:Q", tooltip=target_tooltip
    )
    rule_label = rule_base.mark_text(align="left", dx=4, dy=-7, color=INK).encode(
        x="applications:Q", y="target:Q", text="label:N", tooltip=target_tooltip
    )
    return [rule, rule_label]


def _curve_markers(
    base: alt.Chart,
    markers: list[str],
    x: alt.X,
    y: alt.Y,
    color: alt.Color,
    point_tooltip: list[alt.Tooltip],
) -> list[alt.Chart]:
    """Open dots at diminishing returns; filled, labelled dots at the recommended number."""
    layers = []
    if "diminishing_returns" in markers:
        dim_tooltip = [
            alt.Tooltip("specialty:N", title="Diminishing returns from"),
            *point_tooltip[1:],
        ]
        layers.append(
            base.transform_filter("datum.diminishing_returns")
            .mark_point(filled=False, size=90, strokeWidth=2)
            .encode(x=x, y=y, color=color, tooltip=dim_tooltip)
        )
    if "recommended" in markers:
        recommended = base.transform_filter("datum.recommended")
        rec_tooltip = [alt.Tooltip("specialty:N", title="Recommended for"), *point_tooltip[1:]]
        layers.append(
            recommended.mark_point(filled=True, size=110, stroke="white", strokeWidth=1).encode(
                x=x, y=y, color=color, tooltip=rec_tooltip
            )
        )
        layers.append(
            recommended.transform_calculate(rec_label="'apply to ' + datum.applications")
            .mark_text(align="left", dx=7, dy=12, fontWeight=600)
            .encode(x=x, y=y, color=color, text="rec_label:N", tooltip=rec_tooltip)
        )
    return layers


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
    df = input_frame(
        pmf, "pmf", ["specialty", "interviews", "probability"], "interview_distribution"
    )
    if df.is_empty():
        return empty_chart("No interview distribution to show", "The pmf frame is empty.")
    codes = df["specialty"].unique(maintain_order=True).to_list()  # preference order
    df = _folded_pmf(df, codes, tail)
    names = specialty_labels(codes)
    df = df.with_columns(pl.col("specialty").replace_strict(names).alias("panel"))
    text = _interviews_takeaway(df, codes)
    subtitle = (
        "Probability of each number of interviews; last bar: that many or more; "
        "vermillion: no interview."
    )
    chart = (
        alt.Chart(
            inline_data(
                df, ["specialty", "panel", "interviews", "probability", "at_least", "k", "kind"]
            )
        )
        .mark_bar()
        .encode(
            x=_interviews_x(df),
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
        .properties(title=chart_title(text, subtitle))
    )


def _folded_pmf(df: pl.DataFrame, codes: list[str], tail: float) -> pl.DataFrame:
    """The pmf per specialty with its thin tail folded into one "k+" bar.

    The cut is the first k after which less than `tail` probability remains (a pmf computed
    to k = 40 would otherwise be unreadable). Adds `at_least`, `cdf`, the bar label `k`
    ("3", "12+") and `kind` ("none" for zero interviews).
    """
    df = df.with_columns(
        pl.col("specialty").replace_strict(codes, list(range(len(codes)))).alias("_rank")
    ).sort("_rank", "interviews")
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
    return df.with_columns(
        pl.when(pl.col("last") & (pl.col("interviews") > 0))
        .then(pl.format("{}+", pl.col("interviews")))
        .otherwise(pl.col("interviews").cast(pl.String))
        .alias("k"),
        pl.when(pl.col("interviews") == 0)
        .then(pl.lit("none"))
        .otherwise(pl.lit("one or more"))
        .alias("kind"),
    )


def _interviews_takeaway(df: pl.DataFrame, codes: list[str]) -> str:
    """The median number of interviews and the chance of none, per specialty."""
    medians, zeros = [], []
    for code in codes:
        group = df.filter(pl.col("specialty") == code)
        median = group.filter(pl.col("cdf") >= 0.5 - 1e-12)["k"].first()
        zero = group.filter(pl.col("interviews") == 0)["probability"].sum()
        medians.append(f"{code} {median}")
        zeros.append(f"{code} {pct_text(zero)}")
    if len(codes) == 1:
        median = medians[0].split(" ", 1)[1]
        return (
            f"Expect about {median} {codes[0]} interviews; {zeros[0].split(' ', 1)[1]} "
            "chance of none"
        )
    return f"Median interviews: {', '.join(medians)}; chance of none: {', '.join(zeros)}"


def _interviews_x(df: pl.DataFrame) -> alt.X:
    """Interviews as ordered bins; with many bins, label 0, every n-th count and the k+ bin."""
    bins = int(df.group_by("specialty").len()["len"].max())  # type: ignore[arg-type]
    step = 1 if bins <= 16 else 2 if bins <= 30 else 5
    order = [str(k) for k in range(int(df["interviews"].max()) + 1)]
    order += [f"{k}+" for k in range(int(df["interviews"].max()) + 1)]
    return alt.X(
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
    )


# --------------------------------------------------------------------------- what-if


def what_if_tornado(levers: FrameLike, *, width: int = 520) -> alt.LayerChart | alt.Chart:
    """Tornado chart of the change in P(match anywhere) per lever, largest first.

    Bars extend right (raises, blue) or left (lowers, vermillion) of zero, in percentage
    points; each is labelled with its change. The x scale is symmetric around zero when
    levers go both ways. Tooltips add the probabilities before and after and the lever's
    note or reason (e.g. "244 -> 249") when the frame has them. Levers that can no longer be
    pulled (`available` false, from `analysis.planners.levers`) are not drawn: the subtitle
    names them with the reason they were left out.

    Args:
        levers: frame from `analysis.planners.levers.levers` (`label`, `delta`, optional
            `p_match_any_after` or `p_match_any`, `baseline`, `available`, `reason`).
        width: chart width in pixels (the height follows the number of levers).
    """
    df = input_frame(levers, "levers", ["label", "delta"], "what_if_tornado")
    if "p_match_any_after" in df.columns and "p_match_any" not in df.columns:
        df = df.rename({"p_match_any_after": "p_match_any"})
    if "reason" in df.columns and "note" not in df.columns:
        df = df.rename({"reason": "note"})
    left_out = _left_out(df)
    if "available" in df.columns:
        df = df.filter(pl.col("available").fill_null(True))
    df = df.filter(pl.col("delta").is_not_null())
    if df.is_empty():
        if left_out:
            return empty_chart("No lever can still be pulled", " ".join(left_out), width)
        return empty_chart("No what-if levers to show", "The levers frame is empty.", width)
    df = _lever_effects(df)
    order = df["label"].to_list()
    has = set(df.columns)
    text, subtitle = _lever_title(df)
    subtitle = [subtitle, *left_out]
    effects = [e for e in ("raises", "lowers", "no change") if e in set(df["effect"])]
    tooltip, optional = _lever_tooltip(has)
    columns = ["label", "delta_pts", "effect", "delta_text", *optional]
    base = alt.Chart(inline_data(df, columns))
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    x = alt.X(
        "delta_pts:Q",
        title="Change in P(match anywhere) (percentage points)",
        scale=alt.Scale(domain=_lever_domain(df), nice=False),
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
        alt.Chart(inline_data(pl.DataFrame({"zero": [0.0], "note": ["no change"]})))
        .mark_rule(color=INK)
        .encode(x="zero:Q", tooltip=alt.Tooltip("note:N", title="Zero"))
    )
    return alt.layer(bars, zero, right, left).properties(
        width=width, height=alt.Step(26), title=chart_title(text, subtitle)
    )


def _left_out(df: pl.DataFrame) -> list[str]:
    """One subtitle line per reason: the levers left out for it ("Left out: Step 2 CK +5,
    Step 2 CK +10: Step 2 CK is taken (score 244)")."""
    if "available" not in df.columns:
        return []
    out = df.filter(~pl.col("available").fill_null(True))
    if out.is_empty():
        return []
    why = "note" if "note" in out.columns else None
    groups: dict[str, list[str]] = {}
    for row in out.iter_rows(named=True):
        groups.setdefault(row[why] if why and row[why] else "", []).append(row["label"])
    lines = [
        f"Left out: {', '.join(labels)}" + (f" ({reason})." if reason else ".")
        for reason, labels in groups.items()
    ]
    return [part for line in lines for part in textwrap.wrap(line, 95, break_on_hyphens=False)]


def _lever_effects(df: pl.DataFrame) -> pl.DataFrame:
    """Add the change in points, its direction and its label; largest change first."""
    return (
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


def _lever_title(df: pl.DataFrame) -> tuple[str, str]:
    """The biggest lever (and where it takes P(match anywhere)), and today's baseline."""
    has = set(df.columns)
    best = df.sort("delta", descending=True).row(0, named=True)
    if best["delta"] > 1e-9:
        text = f"Biggest lever: {best['label']} (+{best['delta_pts']:.1f} points"
        if "p_match_any" in has and best["p_match_any"] is not None:
            text += f", to {pct_text(best['p_match_any'])}"
        text += ")"
    else:
        text = "None of these levers raises P(match anywhere)"
    subtitle = "Change in P(match anywhere), percentage points, if you do this."
    if "baseline" in has and df["baseline"].drop_nulls().len():
        subtitle = (
            f"Change in P(match anywhere) from today's {pct_text(df['baseline'].drop_nulls()[0])}, "
            "in percentage points."
        )
    return text, subtitle


def _lever_domain(df: pl.DataFrame) -> list[float]:
    """Symmetric around zero when levers go both ways; one-sided (with room for the labels)
    when they all go one way, so the bars are not squeezed into half the width."""
    low, high = float(df["delta_pts"].min()), float(df["delta_pts"].max())  # type: ignore[arg-type]
    reach = max(1.0, abs(low), abs(high)) * 1.3
    if low < -1e-9 and high > 1e-9:
        return [-reach, reach]
    if low < -1e-9:
        return [-reach, reach * 0.15]
    return [-reach * 0.15, reach]


def _lever_tooltip(has: set[str]) -> tuple[list[alt.Tooltip], list[str]]:
    """The lever and its change, then the optional columns the frame has (and their names)."""
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
    return tooltip, [c for c, _, _ in optional if c in has]
