"""The report's blocks: the profile, where the applicant is welcome, chances, plans, sources.

Method. Each function turns what the model or a planner returns into a block a notebook or
the applicant report shows: an `Html` table or list (built with `analysis.viz.markup`, which
escapes every value where it lands, so a program or applicant name such as
`<script>alert(1)</script>` shows as text) or a polars frame of the figures behind it
(`data_sources`, `specialty_overview`, `unknown_facts`). Also the notebook set-up
(`setup_notebook`: charts as offline vega-lite JSON with the imgmatch theme) and the report's
summary output, which feeds the cohort index.

Conventions (shared with `analysis.viz.markup`): probabilities as whole percentages with
their interval, money as "$1,050", missing values as an en dash, tri-state facts as "yes",
"no" or "unknown" (an empty cell means *unknown*, never "no"); facts verified more than a
year before the plan date are marked "(stale)". Output is deterministic (no generated ids,
no timestamps), so nbval can compare it.

Inputs: frames of the model and the planners, `ApplicantProfile`s. Outputs: `Html`, frames.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from analysis.planners.enrollment import KIND_LABELS
from analysis.planners.wording import signed_points
from analysis.report.html import SUMMARY_MIMETYPE
from analysis.viz.markup import (
    NA,
    Html,
    as_polars,
    esc,
    iso_date,
    pct,
    pct_interval,
    table,
    usd,
)

__all__ = [
    "backup_table",
    "chances_table",
    "data_sources",
    "method",
    "profile_table",
    "reference_sources",
    "report_summary",
    "rotations_table",
    "setup_notebook",
    "specialty_overview",
    "summary_output",
    "timeline_table",
    "unknown_facts",
    "weights_table",
    "welcome_table",
    "what_if_table",
]


# --------------------------------------------------------------------------- domain blocks


_VISA_TEXT = {
    "none": "none (US citizen or permanent resident)",
    "j1": "J-1 (ECFMG-sponsored exchange visitor)",
    "h1b": "H-1B (temporary worker; needs Step 3)",
    "either": "J-1 or H-1B",
}


def profile_table(applicant: Any) -> Html:
    """The applicant's profile as the model reads it, one fact per row (all escaped)."""
    from analysis.data.vocabulary import specialty_name

    a = applicant
    targets = ", ".join(
        f"{i}. {specialty_name(s)} ({s})" for i, s in enumerate(a.target_specialties, start=1)
    )
    letters = ", ".join(f"{n} in {s}" for s, n in sorted(a.us_letters.items())) or "none"
    r = a.research
    rows: list[tuple[str, str]] = [
        ("Name", a.name),
        ("Citizenship", a.citizenship or NA),
        ("Visa needed", _VISA_TEXT.get(a.visa_needed, a.visa_needed)),
        ("Target specialties", targets),
        (
            "Match",
            f"March {a.match_year} ({_count(a.years_since_graduation(), 'year')} after "
            f"graduating in {a.graduation_year})",
        ),
        (
            "USMLE Step 1",
            "pass" + (f", {a.step1_attempts} attempts" if a.step1_attempts > 1 else ""),
        ),
        (
            "USMLE Step 2 CK",
            (f"{a.step2_score}" if a.step2_taken else f"not yet taken: {a.step2_expected} expected")
            + (f" ({a.step2_attempts} attempts)" if a.step2_attempts > 1 else ""),
        ),
        ("USMLE Step 3", "passed" if a.step3_passed else "not passed"),
        (
            "US clinical experience",
            f"{_months(a.usce_months)} hands-on, {_months(a.observership_months)} observership",
        ),
        ("US letters", letters),
        (
            "Research",
            f"{_count(r.publications, 'publication')} ({r.first_author} first-author), "
            f"{_count(r.posters, 'poster')}",
        ),
        (
            "Budget for away rotations",
            usd(a.budget_usd) if a.budget_usd is not None else "not given",
        ),
        ("Preferred states", ", ".join(a.preferred_states) or "none given"),
    ]
    if a.applications:
        rows.append(
            ("Planned applications", ", ".join(f"{n} in {s}" for s, n in a.applications.items()))
        )
    if a.completed_rotations:
        done = "; ".join(
            f"{r.specialty}"
            + (f" at {r.program_id}" if r.program_id else "")
            + (f" ({r.month})" if r.month else "")
            + (", with a letter" if r.letter else "")
            for r in a.completed_rotations
        )
        rows.append(("US rotations done", done))
    if a.notes:
        rows.append(("Notes", a.notes))
    frame = pl.DataFrame(rows, schema=["fact", "value"], orient="row")
    return table(frame, {"fact": "", "value": ""})


def _count(value: float, unit: str) -> str:
    """'1 month', '2 months', '0.5 months'."""
    return f"{value:g} {unit}" + ("" if value == 1 else "s")


def _months(value: float) -> str:
    return _count(value, "month")


def data_sources(programs: Any, as_of: dt.date) -> pl.DataFrame:
    """Per `source` of a program table: programs, oldest and newest `last_verified`, stale share.

    A fact verified more than a year (schemas.STALE_AFTER_DAYS) before `as_of` is stale.
    Sorted by number of programs (most first), then source.
    """
    from analysis.data.schemas import STALE_AFTER_DAYS

    df = as_polars(programs)
    cutoff = as_of - dt.timedelta(days=STALE_AFTER_DAYS)
    return (
        df.group_by(pl.col("source").fill_null("(not given)"))
        .agg(
            programs=pl.len(),
            oldest_verified=pl.col("last_verified").min(),
            newest_verified=pl.col("last_verified").max(),
            stale_share=(pl.col("last_verified") < cutoff).fill_null(False).mean(),
            never_verified=pl.col("last_verified").is_null().sum(),
        )
        .sort(["programs", "source"], descending=[True, False])
    )


def reference_sources(names: Sequence[str] | None = None) -> pl.DataFrame:
    """The reference tables behind the model: table, source, grade, covers, rows.

    One row per (table, source, grade). `covers` is the period the rows describe: the range
    of a `year` column, the values of a `season` column, else the years named in the source
    text (e.g. "2013, 2024"); "undated" when a season is given without a year. Grades: A
    official source seen directly; B secondary page quoting official data; C third-party,
    rounded or derived; guide: an advising guide's rule of thumb; project: a project-authored
    mapping.
    """
    from analysis.config import reference_table

    names = names or (
        "nrmp_match_rates",
        "nrmp_2025_specialties",
        "interview_rates_by_specialty",
        "step2ck_by_specialty",
        "fees",
        "specialties",
    )
    rows = []
    for name in names:
        ref = reference_table(name)
        keys = ref.select("source", pl.col("source_grade").cast(pl.String)).unique(
            maintain_order=True
        )
        for source, grade in keys.iter_rows():
            part = ref.filter(
                (pl.col("source") == source) & (pl.col("source_grade").cast(pl.String) == grade)
            )
            rows.append(
                {
                    "table": name,
                    "source": source,
                    "source_grade": grade,
                    "covers": _covers(part, source),
                    "rows": part.height,
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "table": pl.String,
            "source": pl.String,
            "source_grade": pl.String,
            "covers": pl.String,
            "rows": pl.Int64,
        },
    ).sort(["table", "rows", "source"], descending=[False, True, False])


def _covers(part: pl.DataFrame, source: str) -> str:
    if "year" in part.columns and part["year"].drop_nulls().len():
        low, high = int(part["year"].min()), int(part["year"].max())
        return str(low) if low == high else f"{low}-{high}"
    if "season" in part.columns and part["season"].drop_nulls().len():
        seasons = sorted(set(part["season"].drop_nulls().cast(pl.String).to_list()))
        dated = [season for season in seasons if re.search(r"\d", season)]
        return ", ".join(dated) if dated else "undated"
    years = sorted(set(re.findall(r"\b(?:19|20)\d{2}\b", source or "")))
    return ", ".join(years) if years else NA


# --------------------------------------------------------------------------- notebooks


def setup_notebook(*, validate_charts: bool = True) -> None:
    """Prepare a notebook kernel: charts as plain vega-lite JSON with the imgmatch theme.

    `analysis.report.html.enable_chart_renderer` makes Altair emit deterministic vega-lite JSON
    (offline HTML export, JupyterLab, nbval) but also resets Altair's theme to "default";
    the imgmatch theme (fonts, colour-blind-safe palette) is enabled again afterwards. The
    report runner's kernel reset restores both between reports.

    Args:
        validate_charts: check every displayed chart against the vega-lite schema (Altair's
            default). The batch report template turns it off: every chart builder is
            schema-checked by the test suite, and validation is about a quarter of a
            report's run time.
    """
    import altair as alt

    import analysis.viz.theme  # noqa: F401  (registers the imgmatch theme)
    from analysis.report.html import enable_chart_renderer

    enable_chart_renderer()
    alt.theme.enable("imgmatch")
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.mimebundle_formatter
    if validate_charts:
        formatter.pop(alt.TopLevelMixin, None)
    else:
        formatter.for_type(alt.TopLevelMixin, _unvalidated_chart_bundle)


def _unvalidated_chart_bundle(chart: Any, include: Any = None, exclude: Any = None) -> dict:
    """The chart's display bundle without the schema validation (IPython type printer)."""
    import altair as alt

    spec = chart.to_dict(validate=False, context={"pre_transform": False})
    renderer = alt.renderers.get()
    return renderer(spec) if renderer else {}


def method(module: Any, *, start: str | None = None, end: str | None = None) -> Html:
    """A module's docstring (its method and formulas) as an escaped preformatted block.

    Args:
        module: a module (or any object with a docstring).
        start: show from the first line containing this text (default: the beginning).
        end: stop before the first line after `start` containing this text.
    """
    import inspect

    text = inspect.getdoc(module) or ""
    lines = text.splitlines()
    if start is not None:
        begin = next((i for i, line in enumerate(lines) if start in line), None)
        if begin is None:
            raise ValueError(f"no line containing {start!r} in the docstring")
        lines = lines[begin:]
    if end is not None:
        stop = next((i for i, line in enumerate(lines) if i > 0 and end in line), len(lines))
        lines = lines[:stop]
    body = "\n".join(lines).strip()
    markup = (
        '<pre class="imgmatch-method" style="white-space:pre-wrap;font-size:0.85em;'
        f'line-height:1.35;background:#f7f7f7;padding:0.8em">{esc(body)}</pre>'
    )
    return Html(markup, body)


def weights_table() -> Html:
    """The friendliness components: weight, the value from the fact, if unknown, weight source."""
    from analysis.model import friendliness

    p = friendliness.params()
    return table(
        friendliness.component_table(),
        {
            "label": "Component",
            "weight": "Weight",
            "value": "Value (0-1) from the fact",
            "unknown": "If the fact is unknown",
            "source": "Where the weight comes from",
        },
        formats={"weight": "pct1"},
        note=(
            "Tiers: "
            + ", ".join(f"{name} from {low}" for name, low in p["tiers"].items())
            + ". Confidence = the weight of the known facts, x "
            f"{p['confidence']['stale_factor']:g} when the row was verified more than a year "
            "ago."
        ),
    )


def specialty_overview(scored: Any, visa_needed: str = "j1") -> pl.DataFrame:
    """Per specialty of a scored table: programs, positions, visa facts, the score's spread.

    Columns: specialty, name, programs, pgy1_positions, sponsors_visa_share (known to
    sponsor `visa_needed`: J-1, H-1B, either; 1 for "none"), visa_unknown_share,
    closed_share, friendliness_p25, friendliness_median, friendliness_p75, friendly_share
    (friendly or very friendly), confidence_median, stale_share. Sorted by median
    friendliness, highest first.
    """
    from analysis.data.vocabulary import specialty_name

    df = as_polars(scored)
    from analysis.model.friendliness import visa_sponsorship

    sponsors, unknown = visa_sponsorship(visa_needed)
    out = (
        df.group_by("specialty")
        .agg(
            programs=pl.len(),
            pgy1_positions=pl.col("pgy1_positions").sum(),
            sponsors_visa_share=sponsors.mean(),
            visa_unknown_share=unknown.mean(),
            closed_share=(pl.col("tier") == "closed").mean(),
            friendliness_p25=pl.col("img_friendliness").quantile(0.25, "linear"),
            friendliness_median=pl.col("img_friendliness").median(),
            friendliness_p75=pl.col("img_friendliness").quantile(0.75, "linear"),
            friendly_share=pl.col("tier").is_in(["friendly", "very friendly"]).mean(),
            confidence_median=pl.col("confidence").median(),
            stale_share=pl.col("stale").mean(),
        )
        .with_columns(name=pl.col("specialty").map_elements(specialty_name, return_dtype=pl.String))
        .sort(["friendliness_median", "specialty"], descending=[True, False])
    )
    rest = [c for c in out.columns if c not in ("specialty", "name")]
    return out.select("specialty", "name", *rest)


def welcome_table(scored: Any, applicant: Any) -> Html:
    """How open an applicant's target specialties are to them: programs, visa sponsorship
    (left out when no visa is needed), median score, share friendly or better, stale share."""
    df = as_polars(scored).filter(pl.col("specialty").is_in(applicant.target_specialties))
    overview = specialty_overview(df, applicant.visa_needed)
    order = {code: i for i, code in enumerate(applicant.target_specialties)}
    overview = overview.sort(pl.col("specialty").replace_strict(order, return_dtype=pl.Int64))
    columns = {"name": "Specialty", "programs": "Programs"}
    if applicant.visa_needed != "none":
        columns |= {
            "sponsors_visa_share": "Sponsor your visa",
            "visa_unknown_share": "Visa unknown",
        }
    columns |= {
        "friendliness_median": "Median score",
        "friendly_share": "Friendly or better",
        "stale_share": "Facts over a year old",
    }
    formats = {c: "pct" for c in columns if c.endswith("_share")}
    return table(overview, columns, formats=formats | {"friendliness_median": "num1"})


def unknown_facts(programs: Any) -> pl.DataFrame:
    """Share of programs whose fact is unknown, per fact the friendliness score uses.

    Columns: fact, column, unknown_share. An unknown fact stands for the specialty's median
    program (a yes/no fact: its share of "yes") and lowers `confidence`; it is never a "no".
    """
    df = as_polars(programs)
    facts = (
        ("J-1 sponsorship", "sponsors_j1"),
        ("H-1B sponsorship", "sponsors_h1b"),
        ("% IMG residents", "pct_img_residents"),
        ("% non-US IMG residents", "pct_non_us_img_residents"),
        ("% US MD residents", "pct_us_md_residents"),
        ("% DO residents", "pct_do_residents"),
        ("Non-US IMG interview rate", "non_us_img_interview_rate"),
        ("Takes IMG visiting students", "accepts_img_visiting_students"),
        ("Step 2 CK minimum", "min_step2_score"),
        ("Graduation cutoff", "yog_cutoff_years"),
        ("USCE required", "usce_required_months"),
        ("Attempts allowed", "max_attempts"),
        ("Program type", "program_type"),
        ("First-year positions", "pgy1_positions"),
        ("Interviews conducted", "interviews_last_year"),
        ("Last verified", "last_verified"),
    )
    rows = [
        {"fact": label, "column": column, "unknown_share": float(df[column].is_null().mean())}
        for label, column in facts
        if column in df.columns
    ]
    return pl.DataFrame(
        rows, schema={"fact": pl.String, "column": pl.String, "unknown_share": pl.Float64}
    )


# --------------------------------------------------------------------------- chances


def chances_table(chances: Any) -> Html:
    """Per specialty in rank-list order: programs, expected interviews, P(match) with its 80%
    interval, P(match there) on a shared rank list, how many to apply to, ERAS cost."""
    from analysis.data.vocabulary import specialty_name

    df = as_polars(chances.specialties if hasattr(chances, "specialties") else chances)
    df = df.with_columns(
        name=pl.col("specialty").map_elements(
            lambda c: f"{specialty_name(c)} ({c})", return_dtype=pl.String
        ),
        chance=pl.struct("p_match", "p_match_low", "p_match_high").map_elements(
            lambda r: pct_interval(r["p_match"], r["p_match_low"], r["p_match_high"]),
            return_dtype=pl.String,
        ),
        apply=pl.struct("applications", "eligible_programs", "programs_in_table").map_elements(
            lambda r: (
                f"{r['applications']} of {r['eligible_programs']} eligible "
                f"({r['programs_in_table']} in the table)"
            ),
            return_dtype=pl.String,
        ),
        recommended=pl.struct("recommended_applications", "recommended_cost_usd").map_elements(
            lambda r: (
                f"{r['recommended_applications']} ({usd(r['recommended_cost_usd'])})"
                if r["recommended_applications"] is not None
                else "target not reachable"
            ),
            return_dtype=pl.String,
        ),
    )
    return table(
        df,
        {
            "preference": "#",
            "name": "Specialty",
            "apply": "Applications",
            "expected_interviews": "Expected interviews",
            "p_any_interview": "P(1+ interview)",
            "chance": "P(match) (80% interval)",
            "p_match_in": "P(match here)",
            "recommended": "Programs for 80%",
            "eras_cost_usd": "ERAS fees",
        },
        formats={
            "expected_interviews": "num1",
            "p_any_interview": "prob",
            "p_match_in": "prob",
            "eras_cost_usd": "usd",
            "preference": "int",
        },
        note=(
            "P(match): matching in that specialty if it were the only one applied to. "
            "P(match here): on one rank list in this order (higher choices first). "
            "Programs for 80%: the fewest best-fit programs that reach an 80% chance."
        ),
    )


def what_if_table(levers: Any) -> Html:
    """The levers (`analysis.planners.levers.levers`): the ones still open first, largest
    change first, with P(match anywhere) after; then the ones left out, with the reason."""
    df = as_polars(levers)
    if "available" not in df.columns:  # a frame of levers that are all open
        df = df.with_columns(available=pl.lit(True))
    after = "p_match_any_after" if "p_match_any_after" in df.columns else "p_match_any"
    why = "reason" if "reason" in df.columns else "note"
    df = df.sort(["available", "delta", "lever"], descending=[True, True, False], nulls_last=True)
    df = df.with_columns(
        change=pl.when(pl.col("available"))
        .then(pl.col("delta").map_elements(signed_points, return_dtype=pl.String))
        .otherwise(pl.lit("left out")),
    )
    columns = {"label": "Action", "baseline": "P(match anywhere) now", after: "After",
               "change": "Change", why: "Why, or why it is left out"}  # fmt: skip
    return table(
        df,
        columns,
        formats={"baseline": "prob", after: "prob"},
        note="Each lever is measured from your chances now, without the plan; levers left out "
        "cannot be pulled any more at the plan date (a taken exam, no month left before letters "
        "are due, applications closed).",
    )


# --------------------------------------------------------------------------- planners


def rotations_table(plan: Any) -> Html:
    """The planned rotations (`rotations.RotationPlan`): when, kind (visiting elective,
    externship for graduates, observership, research position), hands-on or not, where, role,
    cost and gain."""
    df = as_polars(plan.rotations if hasattr(plan, "rotations") else plan)
    if df.is_empty():
        return Html("<p><em>No away rotation is planned.</em></p>", "No away rotation is planned.")
    place = [pl.col(c).fill_null("") for c in ("city", "state") if c in df.columns]
    df = df.with_columns(
        place=pl.concat_str(place, separator=", ").str.strip_chars(", ").replace("", None),
        when=pl.struct("start", "end").map_elements(
            lambda r: f"{r['start']:%d %b %Y} \u2013 {r['end']:%d %b %Y}", return_dtype=pl.String
        ),
        gain_points=pl.col("gain").map_elements(signed_points, return_dtype=pl.String),
    )
    columns = {"when": "When"}
    if "kind" in df.columns:
        df = df.with_columns(
            kind_label=pl.col("kind").replace_strict(KIND_LABELS, default=pl.col("kind")),
            hands_on_text=pl.when(pl.col("hands_on")).then(pl.lit("yes")).otherwise(pl.lit("no")),
        )
        columns |= {"kind_label": "Kind", "hands_on_text": "Hands-on"}
    columns |= {
        "program_name": "Program",
        "place": "Location",
        "specialty": "Specialty",
        "role": "Role",
        "cost_usd": "Cost",
        "gain_points": "Gain in P(match anywhere)",
        "reason": "Why",
    }
    return table(df, columns, formats={"cost_usd": "usd"})


def backup_table(plan: Any) -> Html:
    """The backup plan (`backup.BackupPlan`): each option in order, whether it is in the
    plan, its chances, programs, fees, visa sponsorship and path back to the first choice."""
    df = as_polars(plan.table if hasattr(plan, "table") else plan)
    df = df.with_columns(
        in_plan=pl.when(pl.col("order") == 1)
        .then(pl.lit("first choice"))
        .when(pl.col("included"))
        .then(pl.lit("yes"))
        .otherwise(pl.lit("no")),
        chance=pl.struct("p_match", "p_match_low", "p_match_high").map_elements(
            lambda r: pct_interval(r["p_match"], r["p_match_low"], r["p_match_high"]),
            return_dtype=pl.String,
        ),
        visa=pl.struct("share_sponsoring_visa", "share_visa_unknown").map_elements(
            lambda r: f"{pct(r['share_sponsoring_visa'])} (unknown {pct(r['share_visa_unknown'])})",
            return_dtype=pl.String,
        ),
    )
    if "adds" in df.columns:
        df = df.with_columns(
            adds_points=pl.col("adds").map_elements(signed_points, return_dtype=pl.String)
        )
    labels = {
        "order": "#",
        "name": "Specialty",
        "in_plan": "In the plan",
        "chance": "P(match) alone (80% interval)",
        "p_match_any_cumulative": "P(match anywhere) with it",
        "adds_points": "Adds to P(match anywhere)",
        "applications": "Programs",
        "eras_cost_usd": "ERAS fees",
        "why_not": "Why not in the plan",
        "visa": "Sponsor your visa",
        "path_back": "Path back to the first choice",
        "note": "Note",
    }
    return table(
        df,
        {c: label for c, label in labels.items() if c in df.columns},
        formats={"order": "int", "p_match_any_cumulative": "prob", "eras_cost_usd": "usd"},
        note="A specialty not in the plan shows what it would add on top of the plan's rank list.",
    )


def timeline_table(timeline: Any) -> Html:
    """The personal timeline: dates (approximate ones marked ~), event, category, source."""
    df = as_polars(timeline).with_columns(
        when=pl.struct("start", "end", "approximate").map_elements(
            lambda r: (
                ("~ " if r["approximate"] else "")
                + f"{r['start']:%d %b %Y}"
                + (f" \u2013 {r['end']:%d %b %Y}" if r["end"] is not None else "")
            ),
            return_dtype=pl.String,
        ),
        status=pl.col("status")
        if "status" in as_polars(timeline).columns
        else pl.when(pl.col("past")).then(pl.lit("past")).otherwise(pl.lit("")),
    )
    return table(
        df,
        {
            "when": "When",
            "event": "What",
            "category": "Kind",
            "status": "Status",
            "source": "Source",
        },
        note="~ approximate: cycle dates follow recent years' rules; check the current AAMC "
        "and NRMP calendars.",
    )


# --------------------------------------------------------------------------- report summary


class SummaryOutput:
    """Displays a report summary as one output of mimetype `SUMMARY_MIMETYPE`.

    The batch runner reads it for the cohort index and removes it from the exported report;
    in JupyterLab it shows as one line of text.
    """

    def __init__(self, summary: Mapping[str, Any]) -> None:
        self.summary = dict(summary)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {SUMMARY_MIMETYPE: self.summary, "text/plain": repr(self)}

    def __repr__(self) -> str:
        return f"summary of {self.summary.get('applicant_id')} (read by imgmatch report)"


def report_summary(
    applicant: Any, plan: Any, data_sources: pl.DataFrame, as_of: str
) -> dict[str, Any]:
    """The report template's summary for the cohort index and `cohort.csv` (`ReportSummary`).

    Keys: applicant_id, name, target_specialties, p_match (per target specialty, the
    profile as it is), p_match_any (the same, any target), rotations (planned count),
    data_sources (per source: programs, oldest_verified, newest_verified, stale_share),
    and p_match_any_low, p_match_any_high, p_match_any_with_plan (with its 80% interval
    p_match_any_with_plan_low/high), rank_list, rotation_cost_usd, application_fees_usd (the
    plan's ERAS, transcript and NRMP fees), as_of; the profile facts the cohort dashboard
    shows: visa_needed, step2_ck with step2_ck_status ("taken" or "expected"), usce_months
    (hands-on), first_choice and first_choice_eligible_programs (programs of the first choice
    no published screen rules the applicant out of; 0 when the table has none).

    Every number is read from the plan the report shows (`Plan`: computed once), never
    recomputed. Probabilities keep full precision, so the index formats the very number the
    report formats (rounding a rounded number could differ by a point).

    Args:
        applicant: the profile.
        plan: `analysis.planners.plan.Plan` (`make_plan`).
        data_sources: `data_sources(programs, as_of)`.
        as_of: the plan date as the template received it (ISO).
    """
    now, with_plan = plan.chances_now, plan.chances_with_plan
    sources = data_sources.select(
        "source", "programs", "oldest_verified", "newest_verified", "stale_share"
    ).to_dicts()
    first = applicant.target_specialties[0] if applicant.target_specialties else None
    eligible = now.specialties.filter(pl.col("specialty") == first)["eligible_programs"]
    return {
        "applicant_id": applicant.applicant_id,
        "name": applicant.name,
        "target_specialties": list(applicant.target_specialties),
        "p_match": {r["specialty"]: r["p_match"] for r in now.specialties.iter_rows(named=True)},
        "p_match_any": now.p_match_any,
        "p_match_any_low": now.p_match_any_low,
        "p_match_any_high": now.p_match_any_high,
        "p_match_any_with_plan": with_plan.p_match_any,
        "p_match_any_with_plan_low": with_plan.p_match_any_low,
        "p_match_any_with_plan_high": with_plan.p_match_any_high,
        "rank_list": list(plan.backup.rank_list),
        "rotations": plan.rotations.rotations.height,
        "rotation_cost_usd": round(plan.rotations.total_cost_usd),
        "application_fees_usd": round(with_plan.total_cost_usd),
        "visa_needed": applicant.visa_needed,
        "step2_ck": applicant.step2_for_model,
        "step2_ck_status": "taken" if applicant.step2_score is not None else "expected",
        "usce_months": applicant.usce_months,
        "first_choice": first,
        "first_choice_eligible_programs": int(eligible[0]) if eligible.len() else 0,
        "as_of": as_of,
        "data_sources": [
            {
                **row,
                "oldest_verified": iso_date(row["oldest_verified"]),
                "newest_verified": iso_date(row["newest_verified"]),
                "stale_share": round(row["stale_share"], 4),
            }
            for row in sources
        ],
    }


def summary_output(summary: Mapping[str, Any]) -> SummaryOutput:
    """Wrap a report summary so that the cell's result is the summary output."""
    return SummaryOutput(summary)
