"""The program explorer: filter programs, move Step 2 CK, see interview chances redraw.

Method. For one specialty, every program's IMG-friendliness (for the visa need chosen) and
the chance that it invites the applicant to interview come from one call to
`probability.interview_chances` on a prepared `MatchModel` (`probability.model_for`: the
program table is scored once per visa need; after that a redraw scores one specialty for one
applicant, a few milliseconds). With an applicant profile the chances are theirs, with the
Step 2 CK of the slider; without one they are those of the *typical* non-US IMG applicant of
the specialty (`calibration.typical_applicant`: the specialty's typical Step 2 CK, 3 months
of USCE, one US letter, one publication), or the typical US IMG when no visa is needed.
Filters (states, minimum friendliness) then select the programs shown. Program signals
(`Filters.signals`, the applicant's own to start with) raise P(interview) where the program
can consider the applicant (`analysis.model.signals`); the view marks signaled programs and
gives P(match) in the specialty with and without them (`match_chances` on the programs the
applicant applies to, signaled ones included), so toggling a signal shows P(match) move.

What is shown (`ExplorerView`): a scatter of P(interview) against IMG-friendliness (one point
per program, coloured by tier; programs screened out by a hard rule sit at zero, drawn as
grey crosses), a table of the programs most likely to interview (with the 80% interval, the
screen reason and whether the facts are stale), and a line of totals: expected interviews
and P(at least one) if the applicant applied to every eligible program shown.

Two ways to use it:
- `static_view(programs, applicant, filters)`: the chart, table and totals for one set of
  filters (the default ones when `filters` is None): what a headless run (nbval, HTML export,
  the report) shows;
- `analysis.viz.explorer_widget.program_explorer(programs, applicant)`: an ipywidgets panel
  (specialty, states, visa need, minimum friendliness, Step 2 CK, and a signal on any
  program) that redraws the same view on every change, and records how long each redraw
  took (`ProgramExplorer.redraw_seconds`). Widgets need a live kernel: keep them out of
  reports (their manager loads from a CDN in exported HTML).

Inputs: a program table (polars/pandas frame or `MatchModel`), an optional
`ApplicantProfile`, and the plan date `as_of` (staleness). Outputs: `ExplorerView`.

Limits: one specialty at a time; P(interview) is the model's (see `analysis.model.probability`),
for one application to that program, not a promise; changing the visa need for a given
applicant is a what-if (the profile says what they need).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import polars as pl

from analysis.data.schemas import ApplicantProfile
from analysis.data.signal_rules import TIERS as SIGNAL_TIERS
from analysis.data.signal_rules import signal_rules
from analysis.data.vocabulary import US_STATES, VISA_NEEDS, specialty_name
from analysis.model.probability import MatchModel, interview_chances, match_chances, model_for
from analysis.planners.signal_choice import own_signals
from analysis.viz import markup
from analysis.viz.signals import TIER_COLORS as SIGNAL_COLORS
from analysis.viz.theme import GREY, TIER_COLORS, TIER_ORDER

__all__ = [
    "ExplorerView",
    "Filters",
    "default_filters",
    "explorer_chart",
    "explorer_frame",
    "explorer_summary",
    "signal_summary",
    "signal_text",
    "static_view",
]

VISA_LABELS = {
    "j1": "J-1",
    "h1b": "H-1B",
    "either": "J-1 or H-1B",
    "none": "no visa (US IMG)",
}
STEP2_RANGE = (200, 280)
"""Step 2 CK slider range (the profile allows 180-300; scores outside are clipped to it)."""

SCREENED = "screened out"
SCREEN_KINDS = {
    "visa": "visa",
    "military": "military",
    "step2": "Step 2 CK minimum",
    "graduation": "graduation cutoff",
    "usce": "USCE required",
    "attempts": "attempts",
}
"""Labels of the kinds of screen (`probability.SCREENS` keys), in the model's order."""
THRESHOLDS = ("min_step2_score", "yog_cutoff_years", "usce_required_months", "max_attempts")
_THRESHOLD_WORDS = {
    "step2": ("min_step2_score", "minimum Step 2 CK {}"),
    "graduation": ("yog_cutoff_years", "graduation at most {} years before the match"),
    "usce": ("usce_required_months", "{} months of hands-on USCE required"),
    "attempts": ("max_attempts", "USMLE attempts allowed: {}"),
}
_GOOD_CHANCE = 0.05
_P_TICKS = (0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class Filters:
    """What the explorer shows.

    Attributes:
        specialty: specialty code, e.g. "IR".
        states: USPS codes to keep; empty keeps every state.
        visa_needed: "j1", "h1b", "either" or "none" (scores and screens follow it).
        min_friendliness: keep programs scoring at least this (0-100).
        step2_score: the Step 2 CK to score with; None uses the applicant's (or the
            typical applicant's).
        signals: program signals as (program_id, tier) pairs, tier gold, silver or single.
    """

    specialty: str
    states: tuple[str, ...] = ()
    visa_needed: str = "j1"
    min_friendliness: float = 0.0
    step2_score: int | None = None
    signals: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.visa_needed not in VISA_NEEDS:
            raise ValueError(f"visa_needed must be one of {VISA_NEEDS}, not {self.visa_needed!r}")
        bad = [s for s in self.states if s not in US_STATES]
        if bad:
            raise ValueError(f"not USPS state codes: {bad}")
        if not 0 <= self.min_friendliness <= 100:
            raise ValueError("min_friendliness must be between 0 and 100")
        tiers = [t for _, t in self.signals if t not in SIGNAL_TIERS]
        if tiers:
            raise ValueError(f"signal tiers must be one of {SIGNAL_TIERS}, not {tiers}")

    def signal_map(self) -> dict[str, str]:
        """The signals as {program_id: tier}."""
        return dict(self.signals)

    def with_signal(self, program_id: str, tier: str | None) -> Filters:
        """A copy with `program_id` signaled at `tier` (None removes its signal)."""
        kept = tuple((p, t) for p, t in self.signals if p != program_id)
        return dataclasses.replace(
            self, signals=kept if tier is None else (*kept, (program_id, tier))
        )


def _model(programs: Any, as_of: dt.date | None) -> MatchModel:
    return model_for(programs, as_of=as_of)


def default_filters(
    programs: Any, applicant: ApplicantProfile | None = None, *, as_of: dt.date | None = None
) -> Filters:
    """The filters the explorer opens with.

    With an applicant: their first target specialty, their visa need and Step 2 CK, every
    state. Without one: internal medicine (or the table's largest specialty), J-1, the
    typical applicant's Step 2 CK.
    """
    model = _model(programs, as_of)
    present_codes = model.specialties()
    if applicant is not None:
        first = next((s for s in applicant.target_specialties if s in present_codes), None)
        specialty = first or _largest_specialty(model)
        mine, _ = own_signals(applicant, model)
        ids = set(model.programs.filter(pl.col("specialty") == specialty)["program_id"])
        return Filters(
            specialty=specialty,
            visa_needed=applicant.visa_needed,
            step2_score=applicant.step2_for_model,
            signals=tuple((p, t) for p, t in mine.items() if p in ids),
        )
    specialty = "IM" if "IM" in present_codes else _largest_specialty(model)
    return Filters(specialty=specialty, visa_needed="j1", step2_score=None)


def _largest_specialty(model: MatchModel) -> str:
    counts = (
        model.programs.group_by("specialty")
        .len()
        .sort(["len", "specialty"], descending=[True, False])
    )
    if counts.is_empty():
        raise ValueError("the program table is empty")
    return str(counts["specialty"][0])


def person_for(filters: Filters, applicant: ApplicantProfile | None = None) -> ApplicantProfile:
    """The profile the chances are computed for: the applicant (or the typical one) with the
    filters' visa need and Step 2 CK, targeting the filters' specialty."""
    from analysis.model.calibration import typical_applicant

    base = applicant or typical_applicant(filters.specialty, filters.visa_needed)
    update: dict[str, Any] = {"visa_needed": filters.visa_needed}
    if filters.step2_score is not None:
        update["step2_score"] = int(filters.step2_score)
    if filters.specialty not in base.target_specialties:
        update["target_specialties"] = [filters.specialty]
    return base.model_copy(update=update)


def explorer_frame(
    programs: Any,
    filters: Filters,
    applicant: ApplicantProfile | None = None,
    *,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """One row per program of the specialty that passes the filters, most likely first.

    Columns: program_id, program_name, specialty, city, state, program_type, pgy1_positions,
    sponsors_j1, sponsors_h1b, last_verified, img_friendliness, tier, confidence, stale,
    eligible, screen_reason, screen_kinds (keys of `SCREEN_KINDS`), the program's thresholds
    (min_step2_score, yog_cutoff_years, usce_required_months, max_attempts), p_interview,
    p_interview_low, p_interview_high, status (the tier, or "screened out"), signal (the tier
    of the filters' signal, or null).
    """
    model = _model(programs, as_of)
    person = person_for(filters, applicant)
    chances = interview_chances(
        person, model, specialties=[filters.specialty], signals=filters.signal_map()
    )
    if chances.is_empty():
        return _empty_frame()
    facts = model.features(filters.visa_needed).table.select(
        "program_id", "pgy1_positions", "sponsors_j1", "sponsors_h1b", "last_verified", *THRESHOLDS
    )
    frame = chances.join(facts, on="program_id", how="left")
    if filters.states:
        frame = frame.filter(pl.col("state").is_in(list(filters.states)))
    if filters.min_friendliness > 0:
        frame = frame.filter(pl.col("img_friendliness") >= filters.min_friendliness)
    return (
        frame.with_columns(
            status=pl.when(pl.col("eligible")).then(pl.col("tier")).otherwise(pl.lit(SCREENED))
        )
        .select(
            "program_id",
            "program_name",
            "specialty",
            "city",
            "state",
            "program_type",
            "pgy1_positions",
            "sponsors_j1",
            "sponsors_h1b",
            "last_verified",
            "img_friendliness",
            "tier",
            "confidence",
            "stale",
            "eligible",
            "screen_reason",
            "screen_kinds",
            *THRESHOLDS,
            "p_interview",
            "p_interview_low",
            "p_interview_high",
            "status",
            "signal",
        )
        .sort(["p_interview", "program_id"], descending=[True, False])
    )


def _empty_frame() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "program_id": pl.String,
            "program_name": pl.String,
            "specialty": pl.String,
            "city": pl.String,
            "state": pl.String,
            "program_type": pl.String,
            "pgy1_positions": pl.Int64,
            "sponsors_j1": pl.Boolean,
            "sponsors_h1b": pl.Boolean,
            "last_verified": pl.Date,
            "img_friendliness": pl.Float64,
            "tier": pl.String,
            "confidence": pl.Float64,
            "stale": pl.Boolean,
            "eligible": pl.Boolean,
            "screen_reason": pl.String,
            "screen_kinds": pl.List(pl.String),
            "min_step2_score": pl.Int64,
            "yog_cutoff_years": pl.Int64,
            "usce_required_months": pl.Float64,
            "max_attempts": pl.Int64,
            "p_interview": pl.Float64,
            "p_interview_low": pl.Float64,
            "p_interview_high": pl.Float64,
            "status": pl.String,
            "signal": pl.String,
        }
    )


def explorer_summary(frame: pl.DataFrame) -> dict[str, Any]:
    """Totals of a view: programs, eligible, screened out, expected interviews and
    P(at least one interview) if the applicant applied to every eligible program shown, and
    the number of programs with at least a 5% chance.

    Screened-out programs are counted by kind of screen (`screen_reasons`: label -> programs,
    commonest first; a program can fail several), so "minimum of 240" and "of 245" count as
    one Step 2 CK screen; `screen_thresholds` gives each kind's thresholds in words.
    """
    eligible = frame.filter(pl.col("eligible"))
    p = eligible["p_interview"]
    reasons, thresholds = _screen_counts(frame.filter(~pl.col("eligible")))
    return {
        "programs": frame.height,
        "eligible": eligible.height,
        "screened_out": frame.height - eligible.height,
        "screen_reasons": reasons,
        "screen_thresholds": thresholds,
        "expected_interviews": float(p.sum()) if eligible.height else 0.0,
        "p_any_interview": float(1.0 - (1.0 - p).product()) if eligible.height else 0.0,
        "good_chance": int((p >= _GOOD_CHANCE).sum()),
        "stale": int(frame["stale"].sum()) if frame.height else 0,
    }


def _screen_counts(closed: pl.DataFrame) -> tuple[dict[str, int], dict[str, str]]:
    """Screened-out programs per kind of screen (commonest first) and each kind's thresholds."""
    kinds = (
        closed.select(kind=pl.col("screen_kinds"))
        .explode("kind")
        .drop_nulls()
        .group_by("kind")
        .len()
        .with_columns(order=pl.col("kind").replace_strict(list(SCREEN_KINDS), range(6)))
        .sort(["len", "order"], descending=[True, False])
    )
    counts, thresholds = {}, {}
    for kind, n, _ in kinds.iter_rows():
        label = SCREEN_KINDS[kind]
        counts[label] = n
        thresholds[label] = _threshold_text(
            kind, closed.filter(pl.col("screen_kinds").list.contains(kind))
        )
    return counts, thresholds


def _threshold_text(kind: str, programs: pl.DataFrame) -> str:
    """The thresholds of one kind of screen among the programs it closes, in words."""
    where = f"in {programs.height} program" + ("" if programs.height == 1 else "s")
    if kind == "visa":
        return f"known not to sponsor the visa needed, {where}"
    if kind == "military":
        return f"military programs take US citizens only, {where}"
    column, words = _THRESHOLD_WORDS[kind]
    values = programs[column].drop_nulls()
    if values.is_empty():
        return where
    low, high = values.min(), values.max()
    if low == high:
        return f"{words.format(f'{low:g}')}, {where}"
    common = values.mode().sort()[0]
    span = f"{low:g}\u2013{high:g}"
    return f"{words.format(span)} (most often {common:g}), {where}"


def signal_summary(
    programs: Any,
    filters: Filters,
    applicant: ApplicantProfile | None = None,
    *,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """P(match) in the filters' specialty with and without the filters' signals.

    The applicant applies to their usual number of programs there (the profile's, else the
    specialty's usual number), best fit first, signaled programs always included: the
    programs `match_chances` counts. Also the signals used per tier against the season's
    rules (`allowed` is empty when the counts are unknown) and the rules' cautions.
    """
    model = _model(programs, as_of)
    person = person_for(filters, applicant)
    chosen = filters.signal_map()
    spec = [filters.specialty]
    with_ = match_chances(person, model, specialties=spec, curve=False, signals=chosen)
    without = match_chances(person, model, specialties=spec, curve=False) if chosen else with_
    in_specialty = set(
        model.programs.filter(pl.col("specialty") == filters.specialty)["program_id"]
    )
    used = {t: 0 for t in SIGNAL_TIERS}
    for pid, tier in chosen.items():
        if pid in in_specialty:
            used[tier] += 1
    rules = signal_rules(filters.specialty, person.match_year)
    allowed = rules.allowed()
    over = [t for t, n in used.items() if n > allowed.get(t, 0 if allowed else n)]
    return {
        "p_match": with_.p_match_any,
        "p_match_without_signals": without.p_match_any,
        "applications": int(with_.specialties["applications"][0])
        if with_.specialties.height
        else 0,
        "signals_used": {t: n for t, n in used.items() if n},
        "signals_allowed": allowed,
        "rules_season": rules.season,
        "over_limit": over,
        "notes": list(rules.flags()),
        "tiers": rules.tiers(),
    }


def signal_text(match: dict[str, Any]) -> str:
    """'2 gold of 3, 1 silver of 12 (2025-2026 rules)', or what is unknown."""
    used, allowed = match["signals_used"], match["signals_allowed"]
    if not allowed:
        count = sum(used.values())
        return f"{count} signal{'s' if count != 1 else ''}; this season's counts are not known"
    parts = [f"{used.get(t, 0)} {t} of {n}" for t, n in allowed.items()]
    text = ", ".join(parts) + f" ({match['rules_season']} rules)"
    if match["over_limit"]:
        text += f": more {' and '.join(match['over_limit'])} signals than allowed"
    return text


def _who(filters: Filters, applicant: ApplicantProfile | None, person: ApplicantProfile) -> str:
    visa = VISA_LABELS[filters.visa_needed]
    if applicant is None:
        kind = "typical US IMG" if filters.visa_needed == "none" else f"typical {visa} applicant"
        return f"a {kind}, Step 2 CK {person.step2_for_model}"
    return f"{applicant.name} ({visa}, Step 2 CK {person.step2_for_model})"


def _filter_text(filters: Filters) -> str:
    parts = []
    if filters.states:
        shown = ", ".join(filters.states[:6]) + (" ..." if len(filters.states) > 6 else "")
        parts.append(f"states {shown}")
    if filters.min_friendliness > 0:
        parts.append(f"IMG-friendliness at least {filters.min_friendliness:g}")
    return "; ".join(parts) if parts else "all states, every score"


def explorer_chart(
    frame: pl.DataFrame,
    filters: Filters,
    who: str = "",
    *,
    width: int = 560,
    height: int = 340,
    match: dict[str, Any] | None = None,
) -> alt.Chart | alt.LayerChart:
    """P(interview) against IMG-friendliness, one point per program of the view.

    Eligible programs are circles coloured by tier; programs a hard screen rules out are grey
    crosses at zero; signaled programs get a ring in their signal's colour. The title states
    how many programs give at least a 5% chance and the expected interviews from applying to
    all of them (and, given `match` from `signal_summary`, P(match) with and without the
    signals); tooltips give the program, place, score, confidence, the chance with its 80%
    interval, visa facts, the signal and the screen reason.
    """
    name = specialty_name(filters.specialty)
    summary = explorer_summary(frame)
    if frame.is_empty():
        return (
            alt.Chart(
                alt.InlineData(values=[{"message": "No program passes these filters."}]),
                title=f"{name}: no programs to show",
            )
            .mark_text(fontSize=14, color="#555555")
            .encode(text="message:N", tooltip=alt.Tooltip("message:N", title="Note"))
            .properties(width=width, height=60)
        )
    title = _explorer_title(name, summary, filters, who, width, match)
    data = _chart_data(frame)
    source = alt.InlineData(values=data.write_json(), format=alt.DataFormat(type="json"))
    x, y = _explorer_axes(frame)
    points = _tier_points(source, x, y)
    properties = {"width": width, "height": height, "title": title}
    shown = [t for t in SIGNAL_COLORS if t in set(frame["signal"].drop_nulls())]
    if not shown:
        return points.properties(**properties)
    return (
        alt.layer(points, _signal_rings(source, x, y, shown))
        .resolve_scale(color="independent", shape="independent")
        .properties(**properties)
    )


def _explorer_title(
    name: str,
    summary: dict[str, Any],
    filters: Filters,
    who: str,
    width: int,
    match: dict[str, Any] | None,
) -> alt.TitleParams:
    """How many programs give a good chance; the subtitle: for whom, the interviews expected
    from applying to all, the filters, and P(match) with and without the signals."""
    title = (
        f"{name}: {summary['good_chance']} of {summary['programs']} programs give a "
        f"{_GOOD_CHANCE:.0%}+ interview chance"
    )
    signaled = ""
    if match is not None and filters.signals:
        signaled = (
            f" Rings: signaled programs; P(match) in {filters.specialty} "
            f"{markup.prob(match['p_match'])} with the signals, "
            f"{markup.prob(match['p_match_without_signals'])} without."
        )
    subtitle = textwrap.wrap(
        f"For {who or 'this applicant'}. Applying to all {summary['eligible']} eligible "
        f"programs: about {summary['expected_interviews']:.1f} interviews expected, "
        f"{markup.prob(summary['p_any_interview'])} chance of at least one. "
        f"Filters: {_filter_text(filters)}.{signaled}",
        width=max(60, width // 6),
        break_on_hyphens=False,
    )
    return alt.TitleParams(text=title, subtitle=subtitle)


def _explorer_axes(frame: pl.DataFrame) -> tuple[alt.X, alt.Y]:
    """IMG-friendliness 0-100 across; P(interview) up, on a square-root scale to the view's
    highest chance (at least 5%)."""
    top = max(0.05, float(frame["p_interview"].max() or 0.0))
    x = alt.X(
        "img_friendliness:Q",
        title="IMG-friendliness (0-100, for this visa need)",
        scale=alt.Scale(domain=[0, 100]),
    )
    y = alt.Y(
        "p_interview:Q",
        title="P(interview) per application (sqrt scale)",
        axis=alt.Axis(format=".0%", values=[t for t in _P_TICKS if t <= top * 1.05]),
        scale=alt.Scale(type="sqrt", domain=[0, min(1.0, top * 1.05)], nice=False),
    )
    return x, y


def _tier_points(source: alt.InlineData, x: alt.X, y: alt.Y) -> alt.Chart:
    """The layer of programs: circles coloured by tier, screened-out ones as grey crosses."""
    # closed programs (visa known not sponsored) are screened out, so "closed" never shows
    domain = [*TIER_ORDER[1:], SCREENED]
    colors = [*TIER_COLORS[1:], GREY]
    return (
        alt.Chart(source)
        .mark_point(filled=True, size=60, opacity=0.8)
        .encode(
            x=x,
            y=y,
            color=alt.Color("status:N", title="Tier", scale=alt.Scale(domain=domain, range=colors)),
            shape=alt.Shape(
                "status:N",
                title="Tier",
                scale=alt.Scale(domain=domain, range=["circle"] * (len(domain) - 1) + ["cross"]),
            ),
            tooltip=_chart_tooltip(),
        )
    )


def _signal_rings(source: alt.InlineData, x: alt.X, y: alt.Y, shown: list[str]) -> alt.Chart:
    """The layer of signaled programs: a ring in the signal's colour (legend: `shown`)."""
    return (
        alt.Chart(source)
        .transform_filter("datum.signal != ''")
        .mark_point(filled=False, size=260, strokeWidth=2.5)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "signal:N",
                title="Signal",
                scale=alt.Scale(domain=list(SIGNAL_COLORS), range=list(SIGNAL_COLORS.values())),
                legend=alt.Legend(values=shown),
            ),
            tooltip=_chart_tooltip(),
        )
    )


def _chart_data(frame: pl.DataFrame) -> pl.DataFrame:
    """The explorer frame's columns the chart shows, as text where the tooltip needs it."""
    return frame.with_columns(
        place=pl.concat_str(
            [pl.col("city").fill_null(""), pl.col("state")], separator=", "
        ).str.strip_prefix(", "),
        visa=pl.format(
            "J-1 {} · H-1B {}",
            _tri(pl.col("sponsors_j1")),
            _tri(pl.col("sponsors_h1b")),
        ),
        chance=pl.format(
            "{}% ({}-{}%)",
            (100 * pl.col("p_interview")).round(1),
            (100 * pl.col("p_interview_low")).round(1),
            (100 * pl.col("p_interview_high")).round(1),
        ),
        screen_reason=pl.col("screen_reason").fill_null(""),
        signal=pl.col("signal").fill_null(""),
        stale=pl.when(pl.col("stale")).then(pl.lit("yes")).otherwise(pl.lit("no")),
        img_friendliness=pl.col("img_friendliness").round(1),
        p_interview=pl.col("p_interview").round(5),
        confidence=pl.col("confidence").round(3),
    ).select(
        "program_name",
        "place",
        "status",
        "img_friendliness",
        "confidence",
        "p_interview",
        "chance",
        "visa",
        "screen_reason",
        "signal",
        "stale",
    )


def _chart_tooltip() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("program_name:N", title="Program"),
        alt.Tooltip("place:N", title="Location"),
        alt.Tooltip("status:N", title="Tier"),
        alt.Tooltip("img_friendliness:Q", title="IMG-friendliness", format=".0f"),
        alt.Tooltip("confidence:Q", title="Confidence", format=".0%"),
        alt.Tooltip("chance:N", title="P(interview), 80% interval"),
        alt.Tooltip("visa:N", title="Visa sponsorship"),
        alt.Tooltip("screen_reason:N", title="Screened out because"),
        alt.Tooltip("signal:N", title="Signal"),
        alt.Tooltip("stale:N", title="Facts over a year old"),
    ]


def _tri(column: pl.Expr) -> pl.Expr:
    return (
        pl.when(column)
        .then(pl.lit("yes"))
        .when(column.not_())
        .then(pl.lit("no"))
        .otherwise(pl.lit("unknown"))
    )


def explorer_table(
    frame: pl.DataFrame, top: int = 15, *, as_of: dt.date | None = None
) -> markup.Html:
    """The `top` programs most likely to interview, escaped HTML (stale facts flagged)."""
    shown = frame.head(top).with_columns(
        place=pl.concat_str(
            [pl.col("city").fill_null(""), pl.col("state")], separator=", "
        ).str.strip_prefix(", "),
        chance=pl.struct("p_interview", "p_interview_low", "p_interview_high").map_elements(
            lambda r: markup.pct_interval(
                r["p_interview"], r["p_interview_low"], r["p_interview_high"]
            ),
            return_dtype=pl.String,
        ),
        verified=pl.struct("last_verified", "stale").map_elements(
            lambda r: (
                "unknown"
                if r["last_verified"] is None
                else r["last_verified"].isoformat() + (" (stale)" if r["stale"] else "")
            ),
            return_dtype=pl.String,
        ),
        screen_reason=pl.col("screen_reason").fill_null(""),
    )
    columns = {
        "program_name": "Program",
        "place": "Location",
        "img_friendliness": "IMG-friendliness",
        "tier": "Tier",
        "confidence": "Confidence",
        "chance": "P(interview) (80% interval)",
        "sponsors_j1": "J-1",
        "sponsors_h1b": "H-1B",
        "verified": "Facts verified",
    }
    if (shown["screen_reason"] != "").any():  # only when a shown program is screened out
        columns["screen_reason"] = "Screened out because"
    if "signal" in shown.columns and shown["signal"].drop_nulls().len():
        columns["signal"] = "Signal"
    return markup.table(
        shown,
        columns,
        formats={
            "img_friendliness": "num1",
            "confidence": "pct",
            "sponsors_j1": "bool",
            "sponsors_h1b": "bool",
        },
        max_rows=top,
        note=(
            f"Of {frame.height} programs shown, sorted by P(interview). "
            "J-1/H-1B: the program's sponsorship (unknown is not a no)."
        ),
    )


def _reasons_html(summary: dict[str, Any], top: int = 3) -> markup.Html:
    """The commonest kinds of screen with their counts; each kind's thresholds on hover."""
    items = list(summary["screen_reasons"].items())[:top]
    thresholds = summary.get("screen_thresholds", {})
    parts = [
        markup.format_html(
            '<span title="{title}" style="text-decoration: underline dotted">{label}: {n}</span>',
            title=thresholds.get(label, ""),
            label=label,
            n=f"{n:,}",
        )
        for label, n in items
    ]
    return markup.Html(
        " · ".join(p.html for p in parts),
        " · ".join(f"{label}: {n:,}" for label, n in items),
    )


def _screened_note(screened_out: int, reasons: markup.Html) -> markup.Html:
    """'12 screened out (Step 2 CK minimum: 9 · visa: 5)', the thresholds on hover."""
    text = f"{screened_out:,} screened out"
    if not reasons.text:
        return markup.Html(markup.esc(text), text)
    return markup.Html(f"{markup.esc(text)} ({reasons.html})", f"{text} ({reasons.text})")


def _summary_html(
    summary: dict[str, Any], filters: Filters, who: str, match: dict[str, Any] | None = None
) -> markup.Html:
    reasons = _reasons_html(summary)
    figures = [
        ("Programs shown", f"{summary['programs']:,}", _filter_text(filters)),
        (
            "Eligible",
            f"{summary['eligible']:,}",
            _screened_note(summary["screened_out"], reasons),
        ),
        (
            "Expected interviews",
            f"{summary['expected_interviews']:.1f}",
            "applying to every eligible program shown",
        ),
        ("P(at least one interview)", markup.prob(summary["p_any_interview"]), None),
        (f"Programs with a {_GOOD_CHANCE:.0%}+ chance", f"{summary['good_chance']:,}", None),
    ]
    if match is not None:
        gain = 100 * (match["p_match"] - match["p_match_without_signals"])
        figures.append(
            (
                f"P(match) in {filters.specialty}",
                markup.prob(match["p_match"]),
                f"applying to {match['applications']} programs; signals: "
                f"{signal_text(match)}" + (f"; {gain:+.1f} points" if filters.signals else ""),
            )
        )
    head = markup.format_html(
        "<p><strong>{name}</strong>, for {who}.</p>",
        name=specialty_name(filters.specialty),
        who=who,
    )
    return head + markup.key_figures(figures)


@dataclass
class ExplorerView:
    """What the explorer shows for one set of filters.

    Attributes:
        filters: the filters.
        frame: `explorer_frame` (every program that passes the filters).
        summary: `explorer_summary` of the frame.
        chart: `explorer_chart`.
        table: `explorer_table` (escaped HTML).
        header: the totals as key figures (escaped HTML).
        match: `signal_summary` (P(match) with and without the signals, counts, rules).
    """

    filters: Filters
    frame: pl.DataFrame
    summary: dict[str, Any]
    chart: alt.TopLevelMixin
    table: markup.Html
    header: markup.Html = field(repr=False, default_factory=lambda: markup.Html(""))
    match: dict[str, Any] = field(default_factory=dict)


def static_view(
    programs: Any,
    applicant: ApplicantProfile | None = None,
    filters: Filters | None = None,
    *,
    as_of: dt.date | None = None,
    top: int = 15,
) -> ExplorerView:
    """The explorer's chart, table and totals for one set of filters (default ones if None),
    without widgets: for headless runs, HTML exports and reports."""
    model = _model(programs, as_of)
    filters = filters or default_filters(model, applicant)
    person = person_for(filters, applicant)
    frame = explorer_frame(model, filters, applicant)
    who = _who(filters, applicant, person)
    summary = explorer_summary(frame)
    match = signal_summary(model, filters, applicant)
    return ExplorerView(
        filters=filters,
        frame=frame,
        summary=summary,
        chart=explorer_chart(frame, filters, who, match=match),
        table=explorer_table(frame, top),
        header=_summary_html(summary, filters, who, match),
        match=match,
    )
