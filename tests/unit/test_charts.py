"""Chart builders: schema-valid specs, the encodings that matter, offline data, takeaways.

Every builder is built from a synthetic frame (`tests/unit/chart_frames.py`), serialised
with `to_dict()` (Altair validates against the Vega-Lite schema) and checked for: the fields
and types it encodes, a tooltip on every mark, inline data only (no URL), and a title that
states a takeaway computed from the data. `test_renders_offline` draws every chart to PNG
with vl-convert with every URL forbidden and leaves the images in `tests/artifacts/charts/`
for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import pytest
import vl_convert as vlc
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import viz
from analysis.data.vocabulary import US_STATE_FIPS
from analysis.errors import DataValidationError
from analysis.viz import base, theme
from tests.unit import chart_frames as cf

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "charts"

# --------------------------------------------------------------------------- spec helpers

COMPOSITES = ("layer", "hconcat", "vconcat", "concat")


def unit_specs(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every unit (single-mark) spec inside a spec: through layers, concats and facets."""
    if "mark" in spec:
        yield spec
    for key in COMPOSITES:
        for child in spec.get(key, []):
            yield from unit_specs(child)
    if isinstance(spec.get("spec"), dict):
        yield from unit_specs(spec["spec"])


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a JSON-like structure."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def rows(spec: dict[str, Any], unit: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of a unit's dataset (or of the only tabular dataset), decoded."""
    datasets = spec.get("datasets", {})
    if unit is not None:
        name = (unit.get("data") or {}).get("name")
        if name is None:  # inherited from the enclosing layer or facet
            name = spec_data_name(spec, unit)
        return json.loads(datasets[name])
    tabular = [v for v in datasets.values() if isinstance(v, str) and v.startswith("[")]
    assert len(tabular) == 1, f"expected one tabular dataset, found {len(tabular)}"
    return json.loads(tabular[0])


def spec_data_name(spec: dict[str, Any], unit: dict[str, Any]) -> str:
    """The dataset name a unit inherits from its nearest ancestor with data."""

    def search(node: dict[str, Any], inherited: str | None) -> str | None:
        here = (node.get("data") or {}).get("name", inherited)
        if node is unit:
            return here
        children = [c for key in COMPOSITES for c in node.get(key, [])]
        if isinstance(node.get("spec"), dict):
            children.append(node["spec"])
        for child in children:
            found = search(child, here)
            if found is not None:
                return found
        return None

    name = search(spec, None)
    assert name is not None, "unit has no data"
    return name


def title_text(spec: dict[str, Any]) -> str:
    """The title as one string (a list of lines joined; an expression as its source)."""
    title = spec["title"]
    text = title["text"] if isinstance(title, dict) else title
    if isinstance(text, dict):
        return text["expr"]
    return " ".join(text) if isinstance(text, list) else text


def subtitle_text(spec: dict[str, Any]) -> str:
    subtitle = spec["title"].get("subtitle", "")
    return " ".join(subtitle) if isinstance(subtitle, list) else subtitle


def tooltip_fields(unit: dict[str, Any]) -> list[str]:
    tooltip = unit["encoding"]["tooltip"]
    items = tooltip if isinstance(tooltip, list) else [tooltip]
    return [item["field"] for item in items]


def by_mark(spec: dict[str, Any], mark: str) -> list[dict[str, Any]]:
    return [u for u in unit_specs(spec) if _mark_type(u) == mark]


def _mark_type(unit: dict[str, Any]) -> str:
    mark = unit["mark"]
    return mark["type"] if isinstance(mark, dict) else mark


def assert_offline_and_explained(spec: dict[str, Any]) -> None:
    """Inline data only, a tooltip on every mark, a non-empty takeaway title."""
    for node in walk(spec):
        assert "url" not in node, f"URL found: {node}"
        data = node.get("data")
        if isinstance(data, dict):
            assert "url" not in data, f"URL data: {data}"
            assert "name" in data or "values" in data, f"data neither inline nor named: {data}"
    for name in spec.get("datasets", {}):
        assert name.startswith("data-")
    units = list(unit_specs(spec))
    assert units, "no marks"
    for unit in units:
        assert "tooltip" in unit.get("encoding", {}), f"no tooltip on a {_mark_type(unit)} mark"
    assert title_text(spec).strip()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def scored() -> pl.DataFrame:
    return cf.scored_frame(400)


@pytest.fixture(scope="module")
def contributions(scored: pl.DataFrame) -> pl.DataFrame:
    return cf.contributions_frame(scored)


def _ir_ids(scored: pl.DataFrame, n: int = 5) -> list[str]:
    return scored.filter(pl.col("specialty") == "IR")["program_id"].head(n).to_list()


BUILDERS: dict[str, Callable[[], alt.TopLevelMixin]] = {
    "programs_map": lambda: viz.programs_map(cf.scored_frame(400)),
    "programs_map_friendliness": lambda: viz.programs_map(
        cf.scored_frame(400), value="mean_friendliness", specialty="IM"
    ),
    "friendliness_scatter": lambda: viz.friendliness_scatter(cf.scored_frame(400)),
    "friendliness_distribution": lambda: viz.friendliness_distribution(
        cf.scored_frame(400), "IR", _ir_ids(cf.scored_frame(400))
    ),
    "component_breakdown": lambda: viz.component_breakdown(
        cf.contributions_frame(cf.scored_frame(400))
    ),
    "match_curve": lambda: viz.match_curve(cf.curves_frame()),
    "interview_distribution": lambda: viz.interview_distribution(cf.pmf_frame()),
    "what_if_tornado": lambda: viz.what_if_tornado(cf.levers_frame()),
    "backup_plan_chart": lambda: viz.backup_plan_chart(cf.plan_frame()),
    "plan_gantt": lambda: viz.plan_gantt(cf.rotations_frame(), cf.timeline_frame()),
    "calibration_chart": lambda: viz.calibration_chart(cf.calibration_frame()),
}


# --------------------------------------------------------------------------- every chart


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_chart_is_valid_offline_and_explained(name: str) -> None:
    chart = BUILDERS[name]()
    assert isinstance(chart, alt.TopLevelMixin)
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    assert_offline_and_explained(spec)
    assert spec["config"]["font"] == theme.FONT  # the imgmatch theme is applied


@pytest.mark.parametrize("name", list(BUILDERS))
def test_renders_offline(name: str) -> None:
    """Draws with every URL forbidden, and keeps the PNG for a person to look at."""
    spec = BUILDERS[name]().to_dict()
    png = vlc.vegalite_to_png(spec, scale=1.5, allowed_base_urls=[])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(png)


def test_offline_check_catches_url_data() -> None:
    """The guard used above works: URL data is an error, not a silently empty chart."""
    chart = alt.Chart("https://example.com/programs.csv").mark_point().encode(x="a:Q")
    with pytest.raises(Exception, match=r"(?i)url|access|allowed|denied"):
        vlc.vegalite_to_png(chart.to_dict(), allowed_base_urls=[])


def test_theme_is_registered_and_enabled() -> None:
    assert alt.theme.active == "imgmatch"
    config = theme.imgmatch_theme()["config"]
    assert config["range"]["category"][:2] == ["#0072B2", "#E69F00"]  # Okabe-Ito
    assert config["axis"]["labelFontSize"] >= 11
    assert config["title"]["fontSize"] > config["axis"]["titleFontSize"]


@pytest.mark.parametrize(
    ("builder", "frame", "missing"),
    [
        (viz.friendliness_scatter, cf.scored_frame(20).drop("tier"), "tier"),
        (viz.match_curve, cf.curves_frame().drop("p_match_low"), "p_match_low"),
        (viz.what_if_tornado, cf.levers_frame().drop("delta"), "delta"),
        (viz.calibration_chart, cf.calibration_frame().drop("reference"), "reference"),
        (viz.interview_distribution, cf.pmf_frame().drop("probability"), "probability"),
        (viz.backup_plan_chart, cf.plan_frame().drop("order"), "order"),
        (viz.component_breakdown, cf.contributions_frame(cf.scored_frame(5)).drop("label"),
         "label"),
    ],
)  # fmt: skip
def test_missing_column_is_a_clear_error(builder, frame, missing: str) -> None:
    with pytest.raises(DataValidationError) as info:
        builder(frame)
    message = str(info.value)
    assert missing in message
    assert builder.__name__ in message


@pytest.mark.parametrize(
    ("builder", "frame"),
    [
        (viz.friendliness_scatter, cf.scored_frame(5).clear()),
        (lambda f: viz.friendliness_distribution(f, "IR"), cf.scored_frame(5).clear()),
        (viz.component_breakdown, cf.contributions_frame(cf.scored_frame(5)).clear()),
        (viz.match_curve, cf.curves_frame().clear()),
        (viz.interview_distribution, cf.pmf_frame().clear()),
        (viz.what_if_tornado, cf.levers_frame().clear()),
        (viz.backup_plan_chart, cf.plan_frame().clear()),
        (viz.calibration_chart, cf.calibration_frame().clear()),
        (viz.programs_map, cf.scored_frame(5).clear()),
        (lambda f: viz.plan_gantt(None, f), cf.timeline_frame().clear()),
    ],
)
def test_empty_input_gives_a_chart_that_says_so(builder, frame) -> None:
    spec = builder(frame).to_dict()
    assert_offline_and_explained(spec)
    assert title_text(spec).startswith("No ")
    assert by_mark(spec, "text")


def test_pandas_and_lazy_inputs_give_the_same_chart() -> None:
    levers = cf.levers_frame()
    expected = viz.what_if_tornado(levers).to_dict()
    assert viz.what_if_tornado(levers.to_pandas()).to_dict() == expected
    assert viz.what_if_tornado(levers.lazy()).to_dict() == expected
    plan = cf.plan_frame()
    assert (
        viz.backup_plan_chart(plan.to_pandas()).to_dict() == viz.backup_plan_chart(plan).to_dict()
    )


def test_other_inputs_are_rejected() -> None:
    with pytest.raises(TypeError, match="polars or pandas"):
        viz.what_if_tornado([{"label": "x", "delta": 0.1}])


# --------------------------------------------------------------------------- > 5,000 rows


def test_more_than_5000_rows_embed_every_row_and_only_used_columns() -> None:
    big = cf.scored_frame(6000, seed=11)
    assert big.height > alt.data_transformers.options.get("max_rows", 5000)
    spec = viz.friendliness_scatter(big).to_dict()
    data = rows(spec)
    assert len(data) == 6000
    assert "notes" not in data[0] and "source" not in data[0]  # unused columns are dropped
    assert {"program_name", "img_friendliness", "pgy1_positions", "tier"} <= set(data[0])
    # the map and histogram aggregate first, so their data stays small
    map_spec = viz.programs_map(big).to_dict()
    lookup = next(n for n in walk(map_spec) if "lookup" in n)
    per_state = json.loads(map_spec["datasets"][lookup["from"]["data"]["name"]])
    assert len(per_state) == len(US_STATE_FIPS)
    on_map = sum(r["programs"] for r in per_state)
    assert on_map == big.filter(pl.col("state").is_in(list(US_STATE_FIPS))).height
    hist = viz.friendliness_distribution(big, "IM").to_dict()
    assert sum(r["programs"] for r in rows(hist)) == big.filter(pl.col("specialty") == "IM").height


# --------------------------------------------------------------------------- 1. map


def test_us_topology_is_local_and_covers_every_state() -> None:
    topo = viz.us_states_topology()
    assert topo["type"] == "Topology"
    ids = {g["id"] for g in topo["objects"]["states"]["geometries"]}
    assert set(US_STATE_FIPS.values()) <= ids
    names = {g["properties"]["name"] for g in topo["objects"]["states"]["geometries"]}
    assert "California" in names


def test_programs_map_counts_programs_per_state(scored: pl.DataFrame) -> None:
    spec = viz.programs_map(scored).to_dict()
    assert spec["projection"]["type"] == "albersUsa"
    shapes = [d for d in spec["datasets"].values() if isinstance(d, str) and '"Topology"' in d]
    assert len(shapes) == 1, "the state shapes are embedded once, inline"
    formats = [n["format"] for n in walk(spec) if isinstance(n.get("format"), dict)]
    assert {"type": "topojson", "feature": "states"} in formats
    lookup = next(n for n in walk(spec) if "lookup" in n)
    assert lookup["lookup"] == "id"
    assert lookup["from"]["key"] == "fips"
    table = json.loads(spec["datasets"][lookup["from"]["data"]["name"]])
    per_state = {r["state"]: r["programs"] for r in table}
    expected = scored.group_by("state").len()
    for state, count in expected.iter_rows():
        assert per_state[state] == count
    colored = by_mark(spec, "geoshape")[1]
    assert colored["encoding"]["color"]["field"] == "programs"
    assert {"state_name", "programs", "mean_friendliness", "j1_text"} <= set(
        tooltip_fields(colored)
    )
    top = expected.filter(pl.col("state").is_in(["PR", "GU", "VI"]).not_()).sort(
        "len", descending=True
    )
    from analysis.data.vocabulary import US_STATES

    assert US_STATES[top["state"][0]] in title_text(spec)
    assert "Puerto Rico" in subtitle_text(spec)  # territories are counted, not silently lost


def test_programs_map_mean_friendliness_by_specialty(scored: pl.DataFrame) -> None:
    spec = viz.programs_map(scored, value="mean_friendliness", specialty="IM").to_dict()
    colored = by_mark(spec, "geoshape")[1]
    assert colored["encoding"]["color"]["field"] == "mean_friendliness"
    assert colored["encoding"]["color"]["scale"]["domain"] == [0, 100]
    assert title_text(spec).startswith("IM programs are IMG-friendliest in")
    im = scored.filter(pl.col("specialty") == "IM").height
    assert f"{im:,} IM programs" in subtitle_text(spec)


def test_programs_map_works_on_a_plain_program_table() -> None:
    plain = cf.scored_frame(50).select("program_id", "state")
    assert_offline_and_explained(viz.programs_map(plain).to_dict())
    with pytest.raises(DataValidationError, match="img_friendliness"):
        viz.programs_map(plain, value="mean_friendliness")
    with pytest.raises(ValueError, match="programs"):
        viz.programs_map(plain, value="density")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- 2. scatter


def test_scatter_encodes_size_score_tier_and_a_specialty_dropdown(scored: pl.DataFrame) -> None:
    spec = viz.friendliness_scatter(scored, specialty="IR").to_dict()
    (unit,) = unit_specs(spec)
    enc = unit["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"]) == ("size_jittered", "quantitative")
    assert enc["x"]["scale"]["type"] == "sqrt"
    assert (enc["y"]["field"], enc["y"]["type"]) == ("img_friendliness", "quantitative")
    assert enc["y"]["scale"]["domain"] == [0, 100]
    assert enc["color"]["field"] == "tier"
    assert enc["color"]["scale"]["domain"] == list(theme.TIER_ORDER)
    assert {"program_name", "place", "img_friendliness", "tier", "visa"} <= set(
        tooltip_fields(unit)
    )
    params = {p["name"]: p for p in unit["params"]}
    dropdown = next(p for p in params.values() if "bind" in p and "options" in p["bind"])
    assert dropdown["value"] == "IR"
    assert dropdown["bind"]["options"][0] == "All"
    assert set(dropdown["bind"]["options"][1:]) == set(scored["specialty"].unique())
    legend = next(p for p in params.values() if p.get("bind") == "legend")
    assert legend["select"]["fields"] == ["tier"]
    assert any(dropdown["name"] in str(t.get("filter")) for t in unit["transform"])
    # the title follows the dropdown: one takeaway per choice
    assert dropdown["name"] in title_text(spec)
    for code in ["All", *scored["specialty"].unique()]:
        assert f'"{code}":' in title_text(spec)
    # so do the x range and its ticks
    assert dropdown["name"] in enc["x"]["scale"]["domain"]["expr"]
    assert dropdown["name"] in enc["x"]["axis"]["values"]["expr"]


def test_scatter_jitter_spreads_points_but_keeps_true_sizes(scored: pl.DataFrame) -> None:
    data = rows(viz.friendliness_scatter(scored, jitter=0.5).to_dict())
    for r in data:
        assert abs(r["size_jittered"] - r["pgy1_positions"]) <= 0.25 + 1e-9
        assert r["size_jittered"] >= 0
    again = rows(viz.friendliness_scatter(scored, jitter=0.5).to_dict())
    assert again == data  # reproducible: the spread comes from the program id
    flat = rows(viz.friendliness_scatter(scored, jitter=0).to_dict())
    assert all(r["size_jittered"] == r["pgy1_positions"] for r in flat)


def test_scatter_takeaway_reads_the_size_effect() -> None:
    frame = cf.scored_frame(200)
    grows = frame.with_columns(
        pl.col("pgy1_positions").rank("ordinal").cast(pl.Int64).alias("pgy1_positions"),
        (pl.col("pgy1_positions").rank("ordinal") / 2.0).alias("img_friendliness"),
    )
    title = title_text(viz.friendliness_scatter(grows).to_dict())
    assert "Larger programs tend to be more IMG-friendly" in title
    flat = frame.with_columns(pl.lit(10).alias("pgy1_positions"))
    title = title_text(viz.friendliness_scatter(flat).to_dict())
    assert "rate friendly or better" in title


def test_visa_facts_show_unknown_not_no() -> None:
    frame = cf.scored_frame(30).with_columns(
        pl.lit(None, dtype=pl.Boolean).alias("sponsors_j1"),
        pl.lit(True).alias("sponsors_h1b"),
    )
    data = rows(viz.friendliness_scatter(frame).to_dict())
    assert {r["visa"] for r in data} == {"J-1 unknown · H-1B yes"}


# --------------------------------------------------------------------------- 3. distribution


def test_distribution_marks_the_applicants_programs(scored: pl.DataFrame) -> None:
    ids = _ir_ids(scored, 4)
    other = scored.filter(pl.col("specialty") == "IM")["program_id"][0]
    spec = viz.friendliness_distribution(scored, "IR", [*ids, other]).to_dict()
    (bars,) = by_mark(spec, "bar")
    (rule,) = by_mark(spec, "rule")
    assert bars["encoding"]["x"]["bin"] == "binned"
    assert bars["encoding"]["y"]["stack"] == "zero"
    assert bars["encoding"]["color"]["field"] == "tier"
    marked = rows(spec, rule)
    assert sorted(r["program_id"] for r in marked) == sorted(ids)
    assert all(0 <= r["percentile"] <= 1 for r in marked)
    assert title_text(spec).startswith("Your 4 IR programs score a median")
    assert "1 of the 5 listed programs is not a scored IR program" in subtitle_text(spec)
    histogram = rows(spec, bars)
    assert (
        sum(r["programs"] for r in histogram) == scored.filter(pl.col("specialty") == "IR").height
    )


def test_distribution_without_highlights_describes_the_specialty(scored: pl.DataFrame) -> None:
    spec = viz.friendliness_distribution(scored, "IM").to_dict()
    median = scored.filter(pl.col("specialty") == "IM")["img_friendliness"].median()
    assert title_text(spec).startswith(f"Half of IM programs score below {median:.0f}")
    assert not by_mark(spec, "rule")


@settings(max_examples=40, deadline=None)
@given(scores=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=60))
def test_histogram_counts_every_program_once(scores: list[float]) -> None:
    n = len(scores)
    frame = pl.DataFrame(
        {
            "program_id": [f"P{i}" for i in range(n)],
            "specialty": ["FM"] * n,
            "img_friendliness": scores,
            "tier": [cf.TIERS[min(4, int(s // 25) + 1)] for s in scores],
        }
    )
    spec = viz.friendliness_distribution(frame, "FM").to_dict()
    data = rows(spec)
    assert sum(r["programs"] for r in data) == n
    assert all(0 <= r["bin_start"] < r["bin_end"] <= 100 for r in data)


# --------------------------------------------------------------------------- 4. components


def test_component_breakdown_stacks_contributions_of_the_top_programs(
    scored: pl.DataFrame, contributions: pl.DataFrame
) -> None:
    spec = viz.component_breakdown(contributions, top=10).to_dict()
    (bars,) = by_mark(spec, "bar")
    (labels,) = by_mark(spec, "text")
    enc = bars["encoding"]
    assert (enc["x"]["field"], enc["x"]["stack"]) == ("contribution", "zero")
    assert enc["y"]["field"] == "display"
    assert enc["color"]["field"] == "label"
    assert enc["order"]["field"] == "rank"
    assert {"label", "contribution", "value", "weight", "basis"} <= set(tooltip_fields(bars))
    totals = rows(spec, labels)
    assert len(totals) == 10
    expected = (
        contributions.group_by("program_id")
        .agg(pl.col("contribution").sum())
        .sort("contribution", descending=True)
        .head(10)
    )
    assert [round(t["score"], 6) for t in totals] == [round(v, 6) for v in expected["contribution"]]
    assert enc["y"]["sort"] == [t["display"] for t in totals]  # best first
    segments = rows(spec, bars)
    per_program: dict[str, float] = {}
    for seg in segments:
        per_program[seg["display"]] = per_program.get(seg["display"], 0) + seg["contribution"]
    for total in totals:
        assert per_program[total["display"]] == pytest.approx(total["score"])
    assert "Visa fit" in title_text(spec) and "top 10" in title_text(spec)
    assert "imputed" in subtitle_text(spec)


def test_component_breakdown_leaves_out_closed_programs_when_told(
    scored: pl.DataFrame, contributions: pl.DataFrame
) -> None:
    tiers = contributions.join(scored.select("program_id", "tier"), on="program_id")
    spec = viz.component_breakdown(tiers, top=400).to_dict()
    (labels,) = by_mark(spec, "text")
    open_programs = scored.filter(pl.col("tier") != "closed").height
    assert len(rows(spec, labels)) == open_programs


# --------------------------------------------------------------------------- 5. match curve


def test_match_curve_has_band_target_marker_and_a_cost_axis() -> None:
    curves = cf.curves_frame()
    spec = viz.match_curve(curves, target=0.8).to_dict()
    assert spec["resolve"]["scale"]["y"] == "independent"
    left, cost = spec["layer"]
    assert cost["encoding"]["y"]["field"] == "eras_cost_usd"
    assert cost["encoding"]["y"]["axis"]["orient"] == "right"
    marks = {_mark_type(u) for u in left["layer"]}
    assert {"area", "line", "rule", "point", "text"} <= marks
    band = next(u for u in left["layer"] if _mark_type(u) == "area")
    assert band["encoding"]["y"]["field"] == "p_match_low"
    assert band["encoding"]["y2"]["field"] == "p_match_high"
    rule = next(u for u in left["layer"] if _mark_type(u) == "rule")
    assert rule["encoding"]["y"]["field"] == "target"
    assert rows(spec, rule)[0]["target"] == 0.8
    line = next(u for u in left["layer"] if _mark_type(u) == "line")
    assert line["encoding"]["y"]["axis"]["format"] == ".0%"
    filters = [t.get("filter") for u in left["layer"] for t in u.get("transform", [])]
    assert "datum.recommended" in filters and "datum.diminishing_returns" in filters
    im = curves.filter(pl.col("specialty") == "IM", pl.col("p_match") >= 0.8).row(0, named=True)
    title = title_text(spec)
    assert f"IM: 80% chance with {im['applications']} applications" in title
    ir_best = curves.filter(pl.col("specialty") == "IR")["p_match"].max()
    assert f"IR tops out near {100 * ir_best:.0f}%, short of 80%" in title


def test_match_curve_target_moves_the_rule_and_the_title() -> None:
    spec = viz.match_curve(cf.curves_frame(), target=0.5).to_dict()
    rule = next(u for u in by_mark(spec, "rule"))
    assert rows(spec, rule)[0]["target"] == 0.5
    assert "IM: 50% chance" in title_text(spec)


def test_match_curve_keeps_rank_order_and_one_legend() -> None:
    curves = cf.curves_frame({"IR": (0.3, 40.0), "DR": (0.5, 30.0), "IM": (0.6, 20.0)})
    spec = viz.match_curve(curves).to_dict()
    line = by_mark(spec, "line")[0]
    assert line["encoding"]["color"]["scale"]["domain"] == ["IR", "DR", "IM"]
    assert line["encoding"]["color"]["legend"]["symbolType"] == "stroke"
    for unit in unit_specs(spec):
        color = unit.get("encoding", {}).get("color")
        if isinstance(color, dict) and "field" in color:
            assert color.get("legend", {}) is not None  # one null legend hides the shared one
    best = curves.group_by("specialty").agg(pl.col("p_match").max())
    best = {code: f"{100 * p:.0f}%" for code, p in best.iter_rows()}
    assert title_text(spec) == (
        f"None reaches 80%: at most IR {best['IR']}, DR {best['DR']}, IM {best['IM']}"
    )


def test_match_curve_with_many_specialties_keeps_the_title_short() -> None:
    curves = cf.curves_frame({"IM": (0.9, 10.0), "FM": (0.95, 8.0), "PSYCH": (0.7, 20.0)})
    spec = viz.match_curve(curves).to_dict()
    assert isinstance(spec["title"]["text"], list) and len(spec["title"]["text"]) == 2
    assert "PSYCH" in subtitle_text(spec)


# --------------------------------------------------------------------------- 6. interviews


def test_interview_distribution_labels_the_open_last_bin() -> None:
    pmf = cf.pmf_frame(k_max=12)
    spec = viz.interview_distribution(pmf, tail=0).to_dict()  # no folding
    assert spec["facet"]["field"] == "panel"
    (bars,) = by_mark(spec, "bar")
    assert bars["encoding"]["x"]["field"] == "k"
    assert bars["encoding"]["y"]["axis"]["format"] == ".0%"
    data = rows(spec)
    labels = [r["k"] for r in data if r["specialty"] == "IM"]
    assert labels[0] == "0" and labels[-1] == "12+"
    assert sum(r["probability"] for r in data if r["specialty"] == "IR") == pytest.approx(1)
    first = next(r for r in data if r["specialty"] == "IM" and r["interviews"] == 0)
    assert first["at_least"] == pytest.approx(1)
    assert title_text(spec).startswith("Median interviews: IM 4, IR 1; chance of none:")
    assert {r["panel"] for r in data} == {"Internal Medicine (IM)", "Interventional Radiology (IR)"}


def test_interview_distribution_folds_a_thin_tail_and_keeps_rank_order() -> None:
    pmf = cf.pmf_frame({"IR": 1.5, "DR": 2.0}, k_max=40)
    spec = viz.interview_distribution(pmf, tail=0.01).to_dict()
    data = rows(spec)
    ir = [r for r in data if r["specialty"] == "IR"]
    assert len(ir) < 12 and ir[-1]["k"].endswith("+")
    assert ir[-1]["at_least"] == pytest.approx(ir[-1]["probability"])
    assert ir[-1]["probability"] < 0.02
    assert sum(r["probability"] for r in ir) == pytest.approx(1)
    assert spec["facet"]["sort"] == [
        "Interventional Radiology (IR)",
        "Diagnostic Radiology (DR)",
    ]  # the frame's order (rank list), not alphabetical


def test_a_small_chance_of_no_interview_is_not_shown_as_zero() -> None:
    spec = viz.interview_distribution(cf.pmf_frame({"FM": 6.0})).to_dict()
    assert "0.2% chance of none" not in title_text(spec)
    assert title_text(spec).endswith("<1% chance of none")  # exp(-6) = 0.25%


def test_many_interview_bins_label_every_fifth_and_the_open_bin() -> None:
    spec = viz.interview_distribution(cf.pmf_frame({"FM": 25.0}, k_max=40)).to_dict()
    (bars,) = by_mark(spec, "bar")
    expr = bars["encoding"]["x"]["axis"]["labelExpr"]
    assert "% 5 == 0" in expr and "'+'" in expr


def test_single_specialty_interview_title() -> None:
    spec = viz.interview_distribution(cf.pmf_frame({"FM": 6.0})).to_dict()
    assert title_text(spec).startswith("Expect about 6 FM interviews;")


# --------------------------------------------------------------------------- 7. tornado


def test_tornado_sorts_by_size_around_zero() -> None:
    levers = cf.levers_frame()
    spec = viz.what_if_tornado(levers).to_dict()
    (bars,) = by_mark(spec, "bar")
    order = bars["encoding"]["y"]["sort"]
    expected = levers.sort(pl.col("delta").abs(), descending=True)["label"].to_list()
    assert order[0] == expected[0] == "Add IM as a backup"
    assert set(order) == set(expected)
    domain = bars["encoding"]["x"]["scale"]["domain"]
    assert domain[0] == -domain[1]  # levers go both ways: symmetric around zero
    assert bars["encoding"]["x"]["field"] == "delta_pts"
    assert rows(spec, bars)[0]["delta_pts"] == pytest.approx(21.0)
    (zero,) = by_mark(spec, "rule")
    assert rows(spec, zero)[0]["zero"] == 0
    texts = {r["label"]: r["delta_text"] for r in rows(spec, bars)}
    assert texts["Apply one year later"] == "−4.5 pts"
    assert texts["Step 2 CK +10"] == "+6.4 pts"
    assert title_text(spec) == "Biggest lever: Add IM as a backup (+21.0 points, to 62%)"
    assert "41%" in subtitle_text(spec)


def test_tornado_says_when_nothing_helps() -> None:
    levers = cf.levers_frame().with_columns(-pl.col("delta").abs().alias("delta"))
    spec = viz.what_if_tornado(levers).to_dict()
    assert title_text(spec) == "None of these levers raises P(match anywhere)"
    (bars,) = by_mark(spec, "bar")
    low, high = bars["encoding"]["x"]["scale"]["domain"]
    assert abs(low) > 5 * high  # one-sided: the bars get the width
    assert bars["encoding"]["color"]["legend"]["values"] == ["lowers", "no change"]


def test_tornado_leaves_out_levers_that_cannot_be_pulled_and_says_why() -> None:
    levers = cf.levers_frame().with_columns(
        available=pl.col("lever").is_in(["step2_plus5", "step2_plus10"]).not_(),
        reason=pl.when(pl.col("lever").str.starts_with("step2"))
        .then(pl.lit("Step 2 CK is taken (score 244)"))
        .otherwise(pl.lit("detail")),
    )
    spec = viz.what_if_tornado(levers).to_dict()
    (bars,) = by_mark(spec, "bar")
    drawn = {r["label"] for r in rows(spec, bars)}
    assert "Step 2 CK +10" not in drawn and "Add IM as a backup" in drawn
    assert (
        "Left out: Step 2 CK +5, Step 2 CK +10 (Step 2 CK is taken (score 244))."
        in subtitle_text(spec)
    )
    assert "note" in tooltip_fields(bars)  # the reason of each drawn lever
    none = viz.what_if_tornado(levers.with_columns(available=pl.lit(False))).to_dict()
    assert title_text(none) == "No lever can still be pulled"


def test_tornado_shows_the_engines_notes_in_tooltips() -> None:
    levers = cf.levers_frame().with_columns(pl.lit("244 -> 254").alias("note"))
    (bars,) = by_mark(viz.what_if_tornado(levers).to_dict(), "bar")
    assert "note" in tooltip_fields(bars)


# --------------------------------------------------------------------------- 8. backup plan


def test_backup_plan_shows_chances_and_cumulative_cost() -> None:
    plan = cf.plan_frame()
    spec = viz.backup_plan_chart(plan).to_dict()
    assert spec["resolve"]["scale"]["y"] == "independent"
    cost, lines = spec["layer"]
    assert cost["encoding"]["y"]["field"] == "cumulative_cost_usd"
    assert cost["encoding"]["y"]["axis"]["orient"] == "right"
    line = next(u for u in lines["layer"] if _mark_type(u) == "line")
    assert line["encoding"]["y"]["field"] == "probability"
    assert line["encoding"]["strokeDash"]["field"] == "series"
    assert line["encoding"]["x"]["sort"] == ["IR (first choice)", "+ DR", "+ IM", "+ GS"]
    series = {r["series"] for r in rows(spec, line)}
    assert series == {"P(match anywhere)", "P(match in IR)"}
    assert title_text(spec) == (
        "Adding DR and IM raises P(match anywhere) from 22% to 81% for $1,570 more"
    )
    assert "not in the recommended plan" in subtitle_text(spec)


def test_backup_plan_draws_the_target_and_says_when_it_is_missed() -> None:
    spec = viz.backup_plan_chart(cf.plan_frame(), target=0.85).to_dict()
    rule = next(u for u in by_mark(spec, "rule"))
    assert rows(spec, rule)[0]["target"] == 0.85
    assert title_text(spec).endswith("for $1,570 more, short of the 85% target")
    assert isinstance(spec["title"]["text"], list)  # a long takeaway wraps, never clips
    assert all(len(line) <= base.TITLE_CHARS for line in spec["title"]["text"])
    reached = viz.backup_plan_chart(cf.plan_frame(), target=0.8).to_dict()
    assert "short of" not in title_text(reached)


def test_backup_plan_with_only_the_first_choice() -> None:
    plan = cf.plan_frame().with_columns((pl.col("order") == 1).alias("included"))
    assert title_text(viz.backup_plan_chart(plan).to_dict()) == "IR alone: 22% chance to match"


# --------------------------------------------------------------------------- 9. gantt


def test_gantt_draws_periods_single_dates_and_the_interview_season() -> None:
    spec = viz.plan_gantt(cf.rotations_frame(), cf.timeline_frame()).to_dict()
    bars = next(u for u in by_mark(spec, "bar"))
    points = by_mark(spec, "point")[0]
    (season,) = by_mark(spec, "rect")
    assert bars["encoding"]["x"]["type"] == "temporal"
    assert bars["encoding"]["x2"]["field"] == "end"
    assert {"filter": "datum.end != null"} in bars["transform"]
    assert {"filter": "datum.end == null"} in points["transform"]
    assert points["mark"]["shape"] == "diamond"
    assert rows(spec, season) == [
        {
            "start": "2026-10-01T00:00:00",
            "end": "2027-01-31T00:00:00",
            "event": "Interview season",
            "when": "1 Oct 2026 – 31 Jan 2027",
            "tag": "Interview\nseason",
        }
    ]
    data = rows(spec, bars)
    labels = [r["label"] for r in data]
    assert labels == bars["encoding"]["y"]["sort"]  # rows in date order
    assert "Rotation (anchor): Mayo Clinic Interventional Radiology, MN" in labels
    assert "Interview season" not in labels  # shaded, not a row
    assert all(r["start"].endswith("T00:00:00") for r in data)  # local midnight
    assert title_text(spec) == (
        "3 away rotations, Jun–Aug 2026, all before interview season; Match Day 19 Mar 2027"
    )


def test_gantt_shows_a_rotation_listed_in_both_frames_once() -> None:
    rotations = cf.rotations_frame()
    listed = rotations.select(
        "start",
        "end",
        pl.format("Away rotation: {}", pl.col("program_name")).alias("event"),
        pl.lit("rotation").alias("category"),
        pl.lit(False).alias("approximate"),
        pl.lit("planner").alias("source"),
    )
    timeline = pl.concat([cf.timeline_frame(), listed], how="diagonal_relaxed")
    spec = viz.plan_gantt(rotations, timeline).to_dict()
    bars = by_mark(spec, "bar")[0]
    labels = [r["label"] for r in rows(spec, bars)]
    assert sum(label.startswith("Rotation (") for label in labels) == 3
    assert not any(label.startswith("Away rotation:") for label in labels)


def test_gantt_names_each_rotations_kind_and_an_observership_by_itself() -> None:
    rotations = cf.rotations_frame().with_columns(
        kind=pl.Series(["visiting_elective", "graduate_externship", "observership"]),
        program_id=pl.Series(["P00010", "P00020", None]),
        program_name=pl.Series(["Mayo Clinic Interventional Radiology", "University of Toledo IR",
                                "Observership in Interventional Radiology"]),
        role=pl.Series(["anchor", "opportunity", None]),
        state=pl.Series(["MN", "OH", None]),
    )  # fmt: skip
    spec = viz.plan_gantt(rotations, None).to_dict()
    labels = [r["label"] for r in rows(spec, by_mark(spec, "bar")[0])]
    assert "Visiting elective (anchor): Mayo Clinic Interventional Radiology, MN" in labels
    assert "Externship for graduates (opportunity): University of Toledo IR, OH" in labels
    assert "Observership in Interventional Radiology" in labels


def test_gantt_fades_approximate_dates_only_when_some_are_exact() -> None:
    mixed = viz.plan_gantt(None, cf.timeline_frame()).to_dict()
    assert by_mark(mixed, "bar")[0]["encoding"]["opacity"]["field"] == "certainty"
    all_approx = cf.timeline_frame().with_columns(pl.lit(True).alias("approximate"))
    spec = viz.plan_gantt(None, all_approx).to_dict()
    assert "value" in by_mark(spec, "bar")[0]["encoding"]["opacity"]
    assert "all dates approximate" in subtitle_text(spec)


def test_gantt_warns_about_a_rotation_in_interview_season() -> None:
    late = cf.rotations_frame().with_columns(
        pl.when(pl.col("role") == "safety")
        .then(pl.lit(dt.date(2026, 10, 5)))
        .otherwise(pl.col("start"))
        .alias("start"),
        pl.when(pl.col("role") == "safety")
        .then(pl.lit(dt.date(2026, 10, 30)))
        .otherwise(pl.col("end"))
        .alias("end"),
    )
    title = title_text(viz.plan_gantt(late, cf.timeline_frame()).to_dict())
    assert title == "Warning: Wayne State Diagnostic Radiology overlaps interview season"


def test_gantt_without_rotations_and_with_today() -> None:
    spec = viz.plan_gantt(None, cf.timeline_frame(), today=dt.date(2026, 1, 15)).to_dict()
    assert_offline_and_explained(spec)
    today = [u for u in by_mark(spec, "rule")]
    assert rows(spec, today[0])[0]["date"] == "2026-01-15T00:00:00"
    assert "Match Day 19 Mar 2027" in title_text(spec)


# --------------------------------------------------------------------------- 10. calibration


def test_calibration_pairs_model_and_reference_per_metric() -> None:
    calibration = cf.calibration_frame()
    spec = viz.calibration_chart(calibration).to_dict()
    assert spec["facet"]["field"] == "metric"
    assert spec["columns"] == 4
    assert spec["resolve"]["scale"] == {"x": "independent", "y": "independent"}
    (rule,) = by_mark(spec, "rule")
    (dots,) = by_mark(spec, "point")
    assert (rule["encoding"]["x"]["field"], rule["encoding"]["x2"]["field"]) == ("low", "high")
    assert dots["encoding"]["color"]["field"] == "source"
    assert dots["encoding"]["shape"]["field"] == "source"  # not colour alone
    data = rows(spec)
    assert len(data) == 2 * calibration.height
    gaps = calibration.with_columns((pl.col("model") - pl.col("reference")).abs().alias("gap"))
    close = gaps.filter(
        pl.col("gap") <= pl.max_horizontal(0.2 * pl.col("reference"), pl.lit(0.02))
    ).height
    worst = gaps.sort("gap", descending=True).row(0, named=True)
    assert title_text(spec) == (
        f"Model within 20% of the reference on {close} of {calibration.height} figures; "
        f"largest gap: {worst['specialty']} {worst['metric']}"
    )


# --------------------------------------------------------------------------- the real engine


@pytest.mark.slow
def test_charts_accept_the_engines_and_planners_frames_on_the_demo_data() -> None:
    """Contract check against the real producers; PNGs go to tests/artifacts/charts/demo/."""
    import analysis
    from analysis import config
    from analysis.model.calibration import calibration_long
    from analysis.model.friendliness import component_contributions
    from analysis.model.probability import match_chances
    from analysis.planners.backup import plan_backup
    from analysis.planners.levers import levers
    from analysis.planners.rotations import plan_rotations
    from analysis.planners.timeline import build_timeline

    programs = analysis.load_programs(config.demo_programs_path())
    applicant = analysis.load_applicant(config.demo_applicants_dir() / "amira_ir.yaml")
    as_of = dt.date(applicant.match_year - 2, 11, 1)
    scored = analysis.score_programs(programs, visa_needed=applicant.visa_needed)
    first = applicant.target_specialties[0]
    chances = match_chances(applicant, programs, as_of=as_of)
    rotations = plan_rotations(applicant, programs, as_of=as_of)
    backup = plan_backup(applicant, programs, as_of=as_of)
    mine = scored.filter(pl.col("specialty") == first)["program_id"].head(20).to_list()
    built = {
        "programs_map": viz.programs_map(scored),
        "friendliness_scatter": viz.friendliness_scatter(scored, specialty=first),
        "friendliness_distribution": viz.friendliness_distribution(scored, first, mine),
        "component_breakdown": viz.component_breakdown(component_contributions(scored)),
        "match_curve": viz.match_curve(chances.curves),
        "interview_distribution": viz.interview_distribution(chances.interviews),
        "what_if_tornado": viz.what_if_tornado(levers(applicant, programs, as_of=as_of)),
        "backup_plan_chart": viz.backup_plan_chart(backup.table, backup.target),
        "plan_gantt": viz.plan_gantt(
            rotations.rotations, build_timeline(applicant, rotations.rotations, as_of=as_of)
        ),
        "calibration_chart": viz.calibration_chart(calibration_long(programs)),
    }
    out = ARTIFACTS / "demo"
    out.mkdir(parents=True, exist_ok=True)
    for name, chart in built.items():
        spec = chart.to_dict()
        assert_offline_and_explained(spec)
        assert not title_text(spec).startswith("No "), f"{name} drew a placeholder"
        png = vlc.vegalite_to_png(spec, scale=1.5, allowed_base_urls=[])
        (out / f"{applicant.applicant_id}_{name}.png").write_bytes(png)
