"""Calibration charts: the model against the reference figures and against observed rates.

Inputs (extra columns are ignored): `calibration_chart` takes
`analysis.model.calibration.calibration_long` (specialty, metric, model, reference);
`evaluation_scatter` takes `analysis.model.evaluation.Evaluation.pairs`.
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
from analysis.viz.theme import (
    BLUE,
    ORANGE,
)

__all__ = [
    "calibration_chart",
    "evaluation_scatter",
    "rank_correlation_chart",
]


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
    df = input_frame(
        calibration,
        "calibration",
        ["specialty", "metric", "model", "reference"],
        "calibration_chart",
    )
    df = df.filter(pl.col("model").is_not_null(), pl.col("reference").is_not_null())
    if df.is_empty():
        return empty_chart("No calibration figures to show", "The calibration frame is empty.")
    df, rates = _gaps(df, tolerance)
    fmt = ".0%" if rates else ",.3~r"
    text, subtitle = _calibration_title(df, tolerance, rates)
    long = df.unpivot(
        index=["specialty", "metric", "gap", "model", "reference", "low", "high"],
        on=["model", "reference"],
        variable_name="source",
        value_name="figure",
    )
    metrics = list(dict.fromkeys(df["metric"].to_list()))
    layered = _paired_dots(list(dict.fromkeys(df["specialty"].to_list())), fmt)
    return (
        layered.properties(width=width, height=alt.Step(22))
        .facet(
            facet=alt.Facet(
                "metric:N", title=None, sort=metrics, header=alt.Header(labelFontWeight=600)
            ),
            columns=min(columns, len(metrics)),
            data=inline_data(long),
        )
        .resolve_scale(x="independent", y="independent")  # a panel lists its own rows
        .properties(title=chart_title(text, subtitle))
    )


def _gaps(df: pl.DataFrame, tolerance: float) -> tuple[pl.DataFrame, bool]:
    """Add each figure's gap, whether it is close, and its miss; and whether all are shares.

    Figures that are all shares (0-1) compare in percentage points (anything within 2 is
    close); mixed figures (counts, percents, shares) only relative to their reference.
    """
    df = df.with_columns(
        (pl.col("model") - pl.col("reference")).alias("gap"),
        pl.min_horizontal("model", "reference").alias("low"),
        pl.max_horizontal("model", "reference").alias("high"),
    )
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
    return df, rates


def _calibration_title(df: pl.DataFrame, tolerance: float, rates: bool) -> tuple[str, str]:
    """How many figures are close, and the largest gap."""
    n, close = df.height, int(df["close"].sum())
    worst = df.sort("miss", descending=True).row(0, named=True)

    def shown(value: float) -> str:
        return pct_text(value, 1 if abs(value) < 0.1 else 0) if rates else f"{value:,.4g}"

    text = (
        f"Model within {pct_text(tolerance)} of the reference on {close} of {n} figures; "
        f"largest gap: {worst['specialty']} {worst['metric']}"
    )
    subtitle = (
        f"Blue circle: model; orange diamond: reference. Largest gap: model "
        f"{shown(worst['model'])} vs reference {shown(worst['reference'])}."
    )
    return text, subtitle


def _paired_dots(codes: list[str], fmt: str) -> alt.LayerChart:
    """Per specialty, a grey rule from model to reference, with a dot at each end."""
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
    return alt.layer(rule, dots)


# --------------------------------------------------------------------------- evaluation


_PREDICTED_LABELS = {
    "predicted_rate": "Model's predicted rate (population average)",
    "p_interview": "Model P(interview), reference applicant",
}


def evaluation_scatter(
    pairs: FrameLike, *, rho: float | None = None, predicted: str = "predicted_rate"
) -> alt.LayerChart | alt.Chart:
    """Observed interview rate against the model's prediction, one point per program.

    The dashed diagonal is perfect calibration; points below it are programs where the model
    predicts fewer interviews than the group got.

    Args:
        pairs: `Evaluation.pairs` (`program_name`, `observed_rate`, `img_friendliness` and the
            `predicted` column).
        rho: the Spearman correlation to state in the title (optional).
        predicted: `predicted_rate` (the population's average chance, what a published rate
            measures) or `p_interview` (the reference applicant's).
    """
    columns = ["program_name", "observed_rate", predicted, "img_friendliness"]
    df = input_frame(pairs, "evaluation pairs", columns, "evaluation_scatter").filter(
        pl.col("observed_rate").is_not_null(), pl.col(predicted).is_not_null()
    )
    if df.is_empty():
        return empty_chart("Model against observed rates", "No program joined with a known rate.")
    top = float(max(df["observed_rate"].max(), df[predicted].max(), 0.01))
    ranked = f"rank correlation {rho:.2f}; " if rho is not None else ""
    title = chart_title(
        f"Predicted vs observed interview rates at {df.height} programs",
        f"{ranked}dashed line: predicted = observed",
    )
    scale = alt.Scale(domain=[0, top], nice=False)
    percent = alt.Axis(format="%")
    points = (
        alt.Chart(inline_data(df, columns))
        .mark_circle(size=36, opacity=0.6, color=BLUE)
        .encode(
            x=alt.X("observed_rate:Q", title="Observed interview rate", scale=scale, axis=percent),
            y=alt.Y(
                f"{predicted}:Q", title=_PREDICTED_LABELS[predicted], scale=scale, axis=percent
            ),
            tooltip=[
                alt.Tooltip("program_name:N", title="Program"),
                alt.Tooltip("observed_rate:Q", title="Observed", format=".1%"),
                alt.Tooltip(f"{predicted}:Q", title="Model", format=".1%"),
                alt.Tooltip("img_friendliness:Q", title="IMG-friendliness", format=".0f"),
            ],
        )
    )
    diagonal = (
        alt.Chart(alt.InlineData(values=[{"v": 0.0}, {"v": top}]))
        .mark_line(strokeDash=[4, 4], color=ORANGE)
        .encode(x="v:Q", y="v:Q", tooltip=alt.value(None))
    )
    return alt.layer(diagonal, points, title=title).properties(width=360, height=300)


_OVER = ("where known", "all programs, unknown at the median")


def rank_correlation_chart(doc: dict) -> alt.Chart:
    """Spearman correlation of each input with the observed rate: where known and over all.

    Args:
        doc: `Evaluation.to_dict()` (`spearman`, `spearman_all_programs`, `spearman_n`).
    """
    rows = [
        {"input": name, "where": where, "rho": value, "n": doc["spearman_n"].get(name)}
        for name in doc["spearman"]
        for where, value in (
            (_OVER[0], doc["spearman"][name]),
            (_OVER[1], doc["spearman_all_programs"].get(name)),
        )
        if value is not None
    ]
    if not rows:
        return empty_chart("Rank correlations", "No input could be ranked.")
    df = pl.DataFrame(rows)
    order = df.filter(pl.col("where") == _OVER[1]).sort("rho", descending=True)["input"].to_list()
    best = df.filter(pl.col("where") == _OVER[1]).sort("rho", descending=True).row(0)
    title = chart_title(
        f"Best ranking over all programs: {best[0]} ({best[2]:.2f})",
        "Spearman correlation with the observed rate",
    )
    return (
        alt.Chart(inline_data(df), title=title)
        .mark_bar()
        .encode(
            y=alt.Y("input:N", sort=order, title=None),
            x=alt.X(
                "rho:Q",
                title="Spearman correlation",
                scale=alt.Scale(domain=[-1, 1]),
                axis=alt.Axis(values=[-1, -0.5, 0, 0.5, 1]),
            ),
            yOffset=alt.YOffset("where:N", sort=_OVER),
            color=alt.Color(
                "where:N", title=None, scale=alt.Scale(domain=list(_OVER), range=[BLUE, ORANGE])
            ),
            tooltip=[
                alt.Tooltip("input:N", title="Input"),
                alt.Tooltip("where:N", title="Over"),
                alt.Tooltip("rho:Q", title="Spearman", format=".3f"),
                alt.Tooltip("n:Q", title="Programs where known"),
            ],
        )
        .properties(width=360)
    )
