"""IMG-friendliness: an explainable 0-100 score per program, relative to a visa need.

Method (a documented heuristic on public figures, not a model fitted to outcomes). Eight
components, each in [0, 1]; an unknown fact takes the value of its specialty's median program:

=======================  ===================================================  ================
component                from the program's facts                             if unknown
=======================  ===================================================  ================
visa                     sponsors the visa needed: 1 yes, 0 no (then the       specialty's
                         program is *closed*: score 0, with the reason)        share of "yes"
img_share                share of IM programs with a lower % of IMG            specialty median
                         residents (logistic fit to FREIDA IM quartiles);      % IMG residents
                         the % is 100 - % US MD - % DO when only those are
                         given, 0 when the program has no IMG resident
non_us_img_share         the same for % non-US IMG residents (never            specialty median
                         inferred from the IMG share)
interview_rate           share of the specialty's programs with a lower       specialty median
                         observed non-US IMG interview rate (reference fit)    rate
program_type             img_share at the type's FREIDA IM median %: 0.63      median type of
                         affiliated, 0.50 community, 0.24 university,          the specialty's
                         0.50 other, 0 military                               type mix
interviews_per_position  share of the specialty's programs with fewer         specialty median
                         interviews per first-year position (log-logistic
                         fit to FREIDA IM: median 11.4, IQR 9.1-14.7)
visiting                 1 takes IMG visiting students, 0 does not (or no      share of "yes"
                         visiting route)
screening                mean of the published screens (Step 2 CK minimum,     each rule at its
                         graduation cutoff, required USCE, attempts)           typical value
=======================  ===================================================  ================

    img_friendliness = 100 * sum_k weight_k * component_k      (0 when closed)
    confidence       = sum_k weight_k * known_k, x 0.8 when the row was last verified more than a
                       year ago (known_k: 1 known, 0 unknown; screening: share of its rules known)
    tier             = very friendly from 80, friendly from 65, moderate from 55: the score of an
                       IM program that sponsors the visa with its percentile components at IM's
                       75th / 50th / 25th percentile (the other facts unknown); "closed" if closed

Unknown facts are rank-neutral: a program whose fact is unknown scores exactly as one whose
fact is its specialty's median (its confidence is lower), so a missing fact never moves a
program up or down the ranking, and nothing is guessed from another column (no non-US share
from the IMG share, no visa from the program type). A yes/no fact has no neutral median (the
median program says yes or no), so an unknown one takes the specialty's share of "yes".

Weights are derived, not chosen (`weight_derivation`): a one-factor model in which a program's
latent openness to IMGs drives each standardized fact with a loading (`params/friendliness.yaml`:
from the reference where it allows, judgement otherwise) gives the regression weight of each
fact, divided by the component's spread; the visa weight makes a known sponsor outrank an
unknown one by as much as the expected interview rate of a non-US IMG differs (J-1 taken by
63.7% of IM programs). Transforms are percentiles under logistic fits to reference quartiles,
so a weight is the influence of one standard deviation of its fact.

`openness(frame)` gives the probability model the same model's standardized openness from the
non-visa facts (formula in its docstring). Given `visa_needed` ("j1", "h1b", "either"), a program
*known* not to sponsor it is closed (score 0, tier "closed", `closed_reason` says why), and so is
a military program; "none" (a US citizen or permanent resident) makes visa fit 1 everywhere;
None scores for a generic IMG (0.75 x J-1 + 0.25 x H-1B) and closes nothing.

Known limits: loadings are judgement where the reference has no figure (notebook 02 shows what
dropping each component changes); the facts are self-reported by programs (FREIDA) or collected
by applicants and go stale; specialty medians outside IM are derived from NRMP shares with IM's
spread; a high score means "IMGs get in here", not "I will".
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from analysis.config import load_params
from analysis.data.reference import interview_fit
from analysis.data.schemas import STALE_AFTER_DAYS, canonical_programs
from analysis.data.vocabulary import PROGRAM_TYPES, VISA_NEEDS, specialty_codes

COMPONENTS = (
    "visa",
    "img_share",
    "non_us_img_share",
    "interview_rate",
    "visiting",
    "screening",
    "program_type",
    "interviews_per_position",
)
OPENNESS_FACTS = (
    "img_share",
    "non_us_img_share",
    "program_type",
    "interviews_per_position",
    "visiting",
    "screening",
)
"""The non-visa facts behind `openness` (the observed interview rate is the model's own input)."""
TIERS = ("closed", "unfriendly", "moderate", "friendly", "very friendly")
SCORE_COLUMNS = (
    "img_friendliness",
    *(f"component_{c}" for c in COMPONENTS),
    "confidence",
    "tier",
    "closed_reason",
    "stale",
)
_QUARTILE_TO_LOGISTIC = 0.6744897501960817 / math.log(3.0)
"""Normal sd -> the scale of the logistic with the same quartiles (and back, dividing)."""
_SCREENS = ("min_step2_score", "yog_cutoff_years", "usce_required_months", "max_attempts")


def params() -> dict[str, Any]:
    """The documented friendliness parameters (`params/friendliness.yaml`)."""
    return load_params("friendliness")


def default_weights() -> dict[str, float]:
    """Component weights from the parameter file (they sum to 1)."""
    return {k: float(v) for k, v in params()["weights"].items()}


def component_labels() -> dict[str, str]:
    """Human labels of the components ('visa' -> 'Visa fit')."""
    return dict(params()["labels"])


def _check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    merged = default_weights()
    if weights:
        unknown = set(weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown weight(s) {sorted(unknown)}; components are {COMPONENTS}")
        merged.update({k: float(v) for k, v in weights.items()})
    if any(v < 0 for v in merged.values()):
        raise ValueError("weights must be non-negative")
    total = sum(merged.values())
    if total <= 0:
        raise ValueError("at least one weight must be positive")
    return {k: merged[k] / total for k in COMPONENTS}


# --------------------------------------------------------------------------- specialty facts


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _median_from_mean(mean_share: float, scale: float) -> float:
    """Median of a logistic-on-the-logit-scale share with this mean and scale (bisection)."""
    u = (np.arange(2000) + 0.5) / 2000
    quantiles = scale * np.log(u / (1.0 - u))
    lo, hi = -15.0, 15.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if float((1.0 / (1.0 + np.exp(-(mid + quantiles)))).mean()) < mean_share:
            lo = mid
        else:
            hi = mid
    return 1.0 / (1.0 + math.exp(-0.5 * (lo + hi)))


def _type_values() -> dict[str, float]:
    """Program type -> component value (the IMG-residents component at the type's median %)."""
    tr = params()["transforms"]
    medians = tr["program_type_median_pct"]
    values = {t: _img_share_value(float(medians[t])) for t in medians}
    return {t: values.get(t, 0.0) for t in PROGRAM_TYPES}  # military (no median): 0


def _img_share_value(pct: float) -> float:
    """The IMG-residents transform of one percentage (scalar twin of the expression)."""
    tr = params()["transforms"]["img_share"]
    lo, hi = tr["clip_pct"]
    centre = _logit(tr["median_pct"] / 100.0)
    x = _logit(min(max(pct, lo), hi) / 100.0)
    return 1.0 / (1.0 + math.exp(-(x - centre) / tr["logit_scale"]))


def _im_median_non_us_pct() -> float:
    """IM's median % non-US IMG residents: its median IMG share x its non-US ratio (NRMP)."""
    p = params()
    ratio = float(p["priors"]["img_share"]["IM"]["non_us_ratio"])
    return float(p["transforms"]["img_share"]["median_pct"]) * ratio


def _type_stats(mix: Mapping[str, float]) -> tuple[str, float, float]:
    """(median type, mean, sd) of the program-type component under a specialty's type mix."""
    values = _type_values()
    ordered = sorted(mix.items(), key=lambda kv: values[kv[0]])
    total = sum(float(w) for _, w in ordered)
    cumulative, median_type = 0.0, ordered[-1][0]
    for name, w in ordered:
        cumulative += float(w) / total
        if cumulative >= 0.5:
            median_type = name
            break
    mean = sum(float(w) * values[t] for t, w in ordered) / total
    var = sum(float(w) * (values[t] - mean) ** 2 for t, w in ordered) / total
    return median_type, mean, math.sqrt(var)


@functools.cache
def specialty_priors() -> pl.DataFrame:
    """Per specialty: what its median program is like (the values an unknown fact stands for).

    Columns: specialty, sponsorship_level, share_j1, share_h1b (share of programs taking the
    visa), median_pct_img, median_pct_non_us_img, rate_share_zero, rate_mu, rate_scale,
    median_interview_rate, median_interviews_per_position, median_type, type_mean, type_sd,
    visiting_share. From `params/friendliness.yaml` and the reference interview-rate fits only.
    """
    p = params()
    pri, tr = p["priors"], p["transforms"]
    scale = float(tr["img_share"]["logit_scale"])
    mult = tr["interviews_per_position"]["median_multiplier"]
    rows = []
    for code in specialty_codes():
        shares = pri["img_share"].get(code, pri["img_share"]["default"])
        median_img = (
            float(tr["img_share"]["median_pct"])
            if code == "IM"
            else 100.0 * _median_from_mean(float(shares["pct_img"]) / 100.0, scale)
        )
        level = float(pri["sponsorship_level"].get(code, pri["sponsorship_level"]["default"]))
        family = pri["program_type_family"].get(code, pri["program_type_family"]["default"])
        median_type, type_mean, type_sd = _type_stats(
            pri["program_type_mix"].get(code, pri["program_type_mix"][family])
        )
        fit = interview_fit(code, "non_us_img")
        rows.append(
            {
                "specialty": code,
                "sponsorship_level": level,
                "share_j1": min(1.0, float(pri["im_visa_share"]["j1"]) * level),
                "share_h1b": min(1.0, float(pri["im_visa_share"]["h1b"]) * level),
                "median_pct_img": median_img,
                "median_pct_non_us_img": median_img * float(shares["non_us_ratio"]),
                "rate_share_zero": fit.share_zero,
                "rate_mu": fit.mu,
                "rate_scale": fit.tau * _QUARTILE_TO_LOGISTIC,
                "median_interview_rate": fit.ref_median,
                "median_interviews_per_position": float(tr["interviews_per_position"]["median"])
                * float(mult.get(code, 1.0)),
                "median_type": median_type,
                "type_mean": type_mean,
                "type_sd": type_sd,
                "visiting_share": float(pri["visiting_share"]),
            }
        )
    return pl.DataFrame(rows)


# --------------------------------------------------------------------------- facts


def _clipped_logit(x: pl.Expr, lo: float, hi: float) -> pl.Expr:
    x = x.clip(lo, hi)
    return (x / (1.0 - x)).log()


def _logistic(x: pl.Expr, centre: float | pl.Expr, scale: float | pl.Expr) -> pl.Expr:
    return 1.0 / (1.0 + (-(x - centre) / scale).exp())


def _share_facts() -> tuple[pl.Expr, pl.Expr]:
    """(% IMG residents, % non-US IMG residents) as known facts, null when unknown.

    The IMG share is the table's, else 100 - % US MD - % DO when both are given (the three
    add up to 100), else 0 when the program is known to have no IMG resident. A program with
    no IMG resident has no non-US IMG resident either. Nothing else is filled in.
    """
    rest = 100.0 - pl.col("pct_us_md_residents") - pl.col("pct_do_residents")
    img = pl.coalesce(pl.col("pct_img_residents"), rest.clip(0.0, 100.0))
    none_present = pl.col("img_residents_present").eq(False).fill_null(False)
    img = pl.when(img.is_null() & none_present).then(0.0).otherwise(img)
    non_us = (
        pl.when(pl.col("pct_non_us_img_residents").is_null() & (img == 0.0))
        .then(0.0)
        .otherwise(pl.col("pct_non_us_img_residents"))
    )
    return img, non_us


def _interviews_per_position() -> pl.Expr:
    positions = pl.col("pgy1_positions").cast(pl.Float64)
    return pl.when(positions > 0).then(pl.col("interviews_last_year") / positions)


def _visiting_fact() -> pl.Expr:
    """Takes IMG visiting students: 1 / 0 as a number, 0 when there is no visiting route."""
    accepts = pl.col("accepts_img_visiting_students").cast(pl.Float64)
    none = accepts.is_null() & (pl.col("visiting_route") == "none")
    return pl.when(none).then(0.0).otherwise(accepts)


def _screening_exprs() -> tuple[pl.Expr, pl.Expr]:
    """(screening component, share of its rules known); an unknown rule at its typical value."""
    s = params()["transforms"]["screening"]
    rule = {c: pl.col(c).cast(pl.Float64).fill_null(float(s["unknown"][c])) for c in _SCREENS}
    step2 = (
        (s["step2_closed_at"] - rule["min_step2_score"])
        / (s["step2_closed_at"] - s["step2_open_at"])
    ).clip(0.0, 1.0)
    yog = (
        0.1
        + 0.9
        * (rule["yog_cutoff_years"] - s["yog_strict_years"])
        / (s["yog_open_years"] - s["yog_strict_years"])
    ).clip(0.1, 1.0)
    usce = (1.0 - rule["usce_required_months"] / s["usce_closed_months"]).clip(0.0, 1.0)
    attempts_map = {float(k): float(v) for k, v in s["attempts_component"].items()}
    attempts = (
        rule["max_attempts"]
        .clip(upper_bound=max(attempts_map))
        .replace_strict(attempts_map, default=None, return_dtype=pl.Float64)
    )
    known = pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Float64) for c in _SCREENS])
    return (step2 + yog + usce + attempts) / 4.0, known / len(_SCREENS)


# --------------------------------------------------------------------------- visa


def visa_sponsorship(visa_needed: str | None) -> tuple[pl.Expr, pl.Expr]:
    """(known to sponsor the visa needed, sponsorship unknown) as null-free boolean exprs.

    "either" is known when either visa is known sponsored; "none" (and None) needs nothing,
    so every program counts as sponsoring. The one definition the planners and tables use.
    """
    j1, h1b = pl.col("sponsors_j1"), pl.col("sponsors_h1b")
    if visa_needed in (None, "none"):
        return pl.lit(True), pl.lit(False)
    if visa_needed == "j1":
        return j1.fill_null(False), j1.is_null()
    if visa_needed == "h1b":
        return h1b.fill_null(False), h1b.is_null()
    if visa_needed == "either":
        known = j1.fill_null(False) | h1b.fill_null(False)
        return known, ~known & (j1.is_null() | h1b.is_null())
    raise ValueError(f"visa_needed must be one of {VISA_NEEDS} or None, not {visa_needed!r}")


def _sponsor_probability_exprs() -> tuple[pl.Expr, pl.Expr]:
    """P(sponsors J-1), P(sponsors H-1B): the fact if known, else the specialty's share."""
    return (
        pl.col("sponsors_j1").cast(pl.Float64).fill_null(pl.col("share_j1")),
        pl.col("sponsors_h1b").cast(pl.Float64).fill_null(pl.col("share_h1b")),
    )


def _visa_exprs(visa_needed: str | None) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """(visa component, known share, closed flag, closed reason) for a visa need."""
    j1, h1b = _sponsor_probability_exprs()
    j1_known = pl.col("sponsors_j1").is_not_null().cast(pl.Float64)
    h1b_known = pl.col("sponsors_h1b").is_not_null().cast(pl.Float64)
    no_reason = pl.lit(None, dtype=pl.String)
    if visa_needed is None:
        generic = params()["transforms"]["visa_generic"]
        component = generic["j1"] * j1 + generic["h1b"] * h1b
        known = generic["j1"] * j1_known + generic["h1b"] * h1b_known
        return component, known, pl.lit(False), no_reason
    if visa_needed == "none":
        return pl.lit(1.0), pl.lit(1.0), pl.lit(False), no_reason
    if visa_needed == "j1":
        component, known = j1, j1_known
        visa_closed = pl.col("sponsors_j1").eq(False).fill_null(False)
        reason = pl.lit("does not sponsor the J-1 visa")
    elif visa_needed == "h1b":
        component, known = h1b, h1b_known
        visa_closed = pl.col("sponsors_h1b").eq(False).fill_null(False)
        reason = pl.lit("does not sponsor the H-1B visa")
    elif visa_needed == "either":
        # H-1B sponsors nearly all take J-1 too (JGME 2022), so "either" unknown = the J-1 share
        either_true = (pl.col("sponsors_j1") | pl.col("sponsors_h1b")).fill_null(False)
        component = pl.when(either_true).then(1.0).otherwise(pl.max_horizontal(j1, h1b))
        known = (either_true | ((j1_known + h1b_known) == 2.0)).cast(pl.Float64)
        visa_closed = (
            pl.col("sponsors_j1").eq(False) & pl.col("sponsors_h1b").eq(False)
        ).fill_null(False)
        reason = pl.lit("sponsors neither the J-1 nor the H-1B visa")
    else:
        raise ValueError(f"visa_needed must be one of {VISA_NEEDS} or None, not {visa_needed!r}")
    military = (pl.col("program_type") == "military").fill_null(False)
    closed_reason = (
        pl.when(visa_closed)
        .then(reason)
        .when(military)
        .then(pl.lit("military program: US citizens only"))
        .otherwise(no_reason)
    )
    closed = visa_closed | military
    component = pl.when(closed).then(0.0).otherwise(component)
    return component, pl.when(military).then(1.0).otherwise(known), closed, closed_reason


# --------------------------------------------------------------------------- components


def _component_exprs() -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """Every non-visa component and its known share: each fact, else its specialty median.

    Filling the fact (not the component) with the median before the transform makes an
    unknown fact score exactly as the median program does.
    """
    tr = params()["transforms"]
    img, non_us = _share_facts()
    img_tr = tr["img_share"]
    lo, hi = (v / 100.0 for v in img_tr["clip_pct"])
    scale = float(img_tr["logit_scale"])

    def share(fact: pl.Expr, median: str, centre_pct: float) -> pl.Expr:
        x = _clipped_logit(fact.fill_null(pl.col(median)) / 100.0, lo, hi)
        return _logistic(x, _logit(centre_pct / 100.0), scale)

    rate_lo, rate_hi = tr["interview_rate"]["clip"]
    rate = pl.col("non_us_img_interview_rate").fill_null(pl.col("median_interview_rate"))
    z0 = pl.col("rate_share_zero")
    rate_c = (
        pl.when(rate <= 0.0)
        .then(z0 / 2.0)
        .otherwise(
            z0
            + (1.0 - z0)
            * _logistic(
                _clipped_logit(rate, rate_lo, rate_hi), pl.col("rate_mu"), pl.col("rate_scale")
            )
        )
    )
    ipp_tr = tr["interviews_per_position"]
    ipp = _interviews_per_position()
    ipp_c = _logistic(
        ipp.fill_null(pl.col("median_interviews_per_position")).clip(*ipp_tr["clip"]).log(),
        pl.col("median_interviews_per_position").log(),
        ipp_tr["log_scale"],
    )
    values = _type_values()
    ptype = pl.col("program_type").fill_null(pl.col("median_type"))
    type_c = ptype.replace_strict(values, default=None, return_dtype=pl.Float64)
    visiting = _visiting_fact()
    screening_c, screening_known = _screening_exprs()

    def known(fact: pl.Expr) -> pl.Expr:
        return fact.is_not_null().cast(pl.Float64)

    return {
        "img_share": (share(img, "median_pct_img", img_tr["median_pct"]), known(img)),
        "non_us_img_share": (
            share(non_us, "median_pct_non_us_img", _im_median_non_us_pct()),
            known(non_us),
        ),
        "interview_rate": (rate_c, known(pl.col("non_us_img_interview_rate"))),
        "visiting": (visiting.fill_null(pl.col("visiting_share")), known(visiting)),
        "screening": (screening_c, screening_known),
        "program_type": (type_c, known(pl.col("program_type"))),
        "interviews_per_position": (ipp_c, known(ipp)),
    }


def component_frame(
    programs: Any,
    visa_needed: str | None = None,
    weights: Mapping[str, float] | None = None,
    *,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Every component with its known share, the specialty's medians and the sponsorships.

    The working frame behind `score_programs` (and the probability model). Columns added to
    the program table: `component_<k>`, `known_<k>` (1 known, 0 unknown; screening: the share
    of its rules known), the `specialty_priors()` columns, `p_sponsors_j1`, `p_sponsors_h1b`,
    `p_sponsors_needed`, `closed`, `closed_reason`, `stale`, `img_friendliness`, `confidence`,
    `tier`.
    """
    df = canonical_programs(programs)
    w = _check_weights(weights)
    as_of = as_of or dt.date.today()
    df = df.join(specialty_priors(), on="specialty", how="left")
    visa_c, visa_known, closed, closed_reason = _visa_exprs(visa_needed)
    j1, h1b = _sponsor_probability_exprs()
    parts = {"visa": (visa_c, visa_known), **_component_exprs()}
    df = df.with_columns(
        p_sponsors_j1=j1,
        p_sponsors_h1b=h1b,
        **{f"component_{k}": parts[k][0] for k in COMPONENTS},
        **{f"known_{k}": parts[k][1] for k in COMPONENTS},
        closed=closed,
        closed_reason=closed_reason,
        stale=(
            pl.col("last_verified") < pl.lit(as_of - dt.timedelta(days=STALE_AFTER_DAYS))
        ).fill_null(False),
    )
    score = 100.0 * pl.sum_horizontal([w[c] * pl.col(f"component_{c}") for c in COMPONENTS])
    stale_factor = params()["confidence"]["stale_factor"]
    confidence = pl.sum_horizontal([w[c] * pl.col(f"known_{c}") for c in COMPONENTS]) * (
        pl.when(pl.col("stale")).then(stale_factor).otherwise(1.0)
    )
    df = df.with_columns(
        img_friendliness=pl.when(pl.col("closed")).then(0.0).otherwise(score),
        confidence=confidence.clip(0.0, 1.0),
        p_sponsors_needed=pl.col("component_visa"),
    )
    return df.with_columns(tier=_tier_expr())


def _tier_expr() -> pl.Expr:
    bounds = sorted(params()["tiers"].items(), key=lambda kv: -kv[1])
    expr = pl.when(pl.col("closed")).then(pl.lit("closed"))
    for name, lower in bounds:
        expr = expr.when(pl.col("img_friendliness") >= lower).then(pl.lit(name))
    return expr.otherwise(pl.lit("unfriendly"))


def score_programs(
    programs: Any,
    visa_needed: str | None = None,
    weights: Mapping[str, float] | None = None,
    *,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Score every program's IMG-friendliness (0-100) with its components and confidence.

    Args:
        programs: a program table loaded by `analysis.load_programs` (canonical polars frame).
        visa_needed: "j1", "h1b", "either", "none", or None for a generic IMG view.
        weights: component weights to override (renormalized to sum to 1).
        as_of: date against which `last_verified` is judged stale (default today).

    Returns:
        The program table plus `img_friendliness`, one `component_<k>` column per component
        (0-1), `confidence` (0-1), `tier`, `closed_reason` and `stale`, sorted by score
        (highest first, then program_id).
    """
    frame = component_frame(programs, visa_needed, weights, as_of=as_of)
    from analysis.data.schemas import program_columns

    keep = [spec.name for spec in program_columns()] + list(SCORE_COLUMNS)
    return frame.select(keep).sort(["img_friendliness", "program_id"], descending=[True, False])


def neutral_components(visa_needed: str | None = None) -> pl.DataFrame:
    """Per specialty, the components of a program whose every fact is unknown.

    What an unknown fact stands for, as a component value (0-1): the specialty's median
    program, or its share of "yes" for a yes/no fact. Columns: specialty, `component_<k>`,
    img_friendliness.
    """
    from analysis.data.schemas import polars_schema

    codes = list(specialty_codes())
    blank = pl.DataFrame(
        {"program_id": codes, "program_name": codes, "specialty": codes},
        schema_overrides={"program_id": pl.String},
    )
    schema = polars_schema()
    missing = [c for c in schema if c not in blank.columns]
    blank = blank.with_columns(
        pl.lit("unknown" if c == "visiting_route" else None).cast(schema[c]).alias(c)
        for c in missing
    ).select(list(schema))
    frame = component_frame(blank, visa_needed, as_of=dt.date(2000, 1, 1))
    return frame.select("specialty", *(f"component_{c}" for c in COMPONENTS), "img_friendliness")


def component_contributions(
    scored: pl.DataFrame, weights: Mapping[str, float] | None = None
) -> pl.DataFrame:
    """Long frame of each program's weighted components (they sum to its score).

    Columns: program_id, program_name, specialty, component, label, value (0-1), weight,
    contribution (100 x weight x value; 0 for a closed program), imputed (the fact was
    unknown: the value is the specialty's median program's).
    """
    w = _check_weights(weights)
    labels = component_labels()
    scored = scored if isinstance(scored, pl.DataFrame) else pl.from_pandas(scored)
    has_known = all(f"known_{c}" in scored.columns for c in COMPONENTS)
    frames = []
    for c in COMPONENTS:
        imputed = (pl.col(f"known_{c}") < 1.0) if has_known else pl.lit(None, dtype=pl.Boolean)
        frames.append(
            scored.select(
                "program_id",
                "program_name",
                "specialty",
                component=pl.lit(c),
                label=pl.lit(labels[c]),
                value=pl.col(f"component_{c}"),
                weight=pl.lit(w[c]),
                contribution=pl.when(pl.col("tier") == "closed")
                .then(0.0)
                .otherwise(100.0 * w[c] * pl.col(f"component_{c}")),
                imputed=imputed,
            )
        )
    return pl.concat(frames)


# --------------------------------------------------------------------------- ranking checks


def _rescored(base: pl.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    """Scores of a component frame under other weights (renormalized)."""
    w = _check_weights(weights)
    total = sum(w[k] * base[f"component_{k}"].to_numpy() for k in COMPONENTS)
    return np.where(base["closed"].to_numpy(), 0.0, 100.0 * total)


def _rank_change(base: pl.DataFrame, scores: np.ndarray, top: int) -> dict[str, float]:
    """Spearman of `scores` with the frame's scores, and the overlap of the top `top`."""
    reference = base["img_friendliness"].to_numpy()
    ids = base["program_id"].to_numpy()
    ref_top = set(ids[np.argsort(-reference, kind="stable")[:top]].tolist())
    new_top = set(ids[np.argsort(-scores, kind="stable")[:top]].tolist())
    return {
        "spearman": _spearman(reference, scores),
        f"top{top}_overlap": len(ref_top & new_top) / max(min(top, len(ids)), 1),
    }


def weight_sensitivity(
    programs: Any,
    visa_needed: str | None = None,
    *,
    top: int = 20,
    step: float = 0.5,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """How much the ranking moves when each weight is raised or lowered by `step` (x1.5 / x0.5).

    For every component and direction, the Spearman rank correlation of the scores with the
    default ones and the overlap of the top-`top` programs. One row per (component, change).
    """
    base = component_frame(programs, visa_needed, as_of=as_of)
    labels, w0 = component_labels(), default_weights()
    rows = []
    for c in COMPONENTS:
        for factor in (1.0 - step, 1.0 + step):
            scores = _rescored(base, w0 | {c: w0[c] * factor})
            rows.append(
                {"component": c, "label": labels[c], "weight_change": f"x{factor:g}"}
                | _rank_change(base, scores, top)
            )
    return pl.DataFrame(rows)


def component_ablation(
    programs: Any,
    visa_needed: str | None = None,
    *,
    top: int = 20,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """How the ranking changes when each component is dropped (its weight set to 0).

    One row per component: component, label, weight (its default weight), spearman (rank
    correlation of the scores without it with the full scores over the programs given),
    top<top>_overlap (share of the full top `top` still there), known_share (share of the
    programs whose fact is known). A component whose fact is unknown everywhere is constant
    within a specialty, so dropping it moves no program within a specialty.
    """
    base = component_frame(programs, visa_needed, as_of=as_of)
    labels, w0 = component_labels(), default_weights()
    rows = []
    for c in COMPONENTS:
        scores = _rescored(base, w0 | {c: 0.0})
        rows.append(
            {"component": c, "label": labels[c], "weight": w0[c]}
            | _rank_change(base, scores, top)
            | {"known_share": float(base[f"known_{c}"].mean() or 0.0)}
        )
    return pl.DataFrame(rows)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = pl.Series(a).rank("average").to_numpy()
    rb = pl.Series(b).rank("average").to_numpy()
    if ra.size < 2 or ra.std() == 0 or rb.std() == 0:
        return 1.0
    return float(np.corrcoef(ra, rb)[0, 1])


# --------------------------------------------------------------------------- openness


@functools.cache
def _factor_model(keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(loadings, correlation matrix) of the standardized facts `keys` under the openness model."""
    o = params()["openness"]
    lam = np.array([float(o["loadings"][k]) for k in keys])
    psi = 1.0 - lam**2
    corr = np.outer(lam, lam)
    for a, others in o["residual_correlation"].items():
        for b, r in others.items():
            if a in keys and b in keys:
                i, j = keys.index(a), keys.index(b)
                corr[i, j] = corr[j, i] = lam[i] * lam[j] + float(r) * math.sqrt(psi[i] * psi[j])
    np.fill_diagonal(corr, 1.0)
    return lam, corr


@functools.cache
def _neutral_screening() -> float:
    """The screening component of a program that publishes no rule."""
    blank = pl.DataFrame({c: [None] for c in _SCREENS}, schema=dict.fromkeys(_SCREENS, pl.Int64))
    return float(blank.select(_screening_exprs()[0]).item())


def _standardized_facts(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(z, known): each non-visa fact standardized within its specialty, 0 where unknown.

    Shares and interviews per position: distance from the specialty's median on the logit
    (log) scale over the sd of the normal with the fit's quartiles; program type, visiting
    and screening: minus the specialty's mean (share), over their sd.
    """
    tr = params()["transforms"]
    img, non_us = _share_facts()
    lo, hi = (v / 100.0 for v in tr["img_share"]["clip_pct"])
    share_sd = float(tr["img_share"]["logit_scale"]) / _QUARTILE_TO_LOGISTIC

    def share_z(fact: pl.Expr, median: str) -> pl.Expr:
        centre = _clipped_logit(pl.col(median) / 100.0, lo, hi)
        return (_clipped_logit(fact / 100.0, lo, hi) - centre) / share_sd

    ipp_tr = tr["interviews_per_position"]
    ipp = _interviews_per_position()
    visiting = _visiting_fact()
    share = pl.col("visiting_share")
    screens_known = pl.any_horizontal([pl.col(c).is_not_null() for c in _SCREENS])
    facts = {
        "img_share": (share_z(img, "median_pct_img"), img.is_not_null()),
        "non_us_img_share": (share_z(non_us, "median_pct_non_us_img"), non_us.is_not_null()),
        "program_type": (
            (pl.col("component_program_type") - pl.col("type_mean")) / pl.col("type_sd"),
            pl.col("program_type").is_not_null(),
        ),
        "interviews_per_position": (
            (ipp.clip(*ipp_tr["clip"]).log() - pl.col("median_interviews_per_position").log())
            / (float(ipp_tr["log_scale"]) / _QUARTILE_TO_LOGISTIC),
            ipp.is_not_null(),
        ),
        "visiting": ((visiting - share) / (share * (1.0 - share)).sqrt(), visiting.is_not_null()),
        "screening": (
            (pl.col("component_screening") - _neutral_screening())
            / float(params()["openness"]["screening_sd"]),
            screens_known,
        ),
    }
    out = frame.select(
        *(pl.when(facts[k][1]).then(facts[k][0]).otherwise(0.0).alias(k) for k in OPENNESS_FACTS),
        *(facts[k][1].alias(f"_known_{k}") for k in OPENNESS_FACTS),
    )
    z = out.select(OPENNESS_FACTS).to_numpy().astype(float)
    known = out.select([f"_known_{k}" for k in OPENNESS_FACTS]).to_numpy().astype(bool)
    return np.nan_to_num(z), known


def openness(frame: pl.DataFrame) -> pl.DataFrame:
    """Standardized program openness to IMGs from its non-visa facts (for the probability model).

    Model: a program's openness eta ~ N(0, 1) within its specialty drives each standardized
    fact z_k (IMG and non-US IMG shares, program type, interviews per position, visiting
    students, screening; each with mean 0 and sd 1 over the specialty's reference population)
    with loading lambda_k; R is the facts' correlation matrix (`params/friendliness.yaml`,
    `openness`). For the facts K a program has:

        eta_hat = lambda_K' R_KK^-1 z_K            (= E[eta | known facts])
        r2_K    = lambda_K' R_KK^-1 lambda_K       (its variance: the share of eta explained)
        openness_z        = eta_hat / sqrt(r2_all)  (r2_all: every fact known)
        facts_known_share = r2_K / r2_all           (0 nothing known ... 1 everything known)

    So openness_z has mean 0 and sd 1 over programs whose facts are all known, an unknown fact
    contributes exactly 0, and openness_z = E[openness_z with every fact | the known facts],
    with variance facts_known_share: multiplying it by a reliability rho (its correlation
    with what the caller predicts) leaves rho^2 (1 - facts_known_share) to integrate out.
    The observed interview rate is not a fact here (the caller uses it directly).

    Args:
        frame: a frame from `component_frame` (facts, components and specialty columns).

    Returns:
        The frame with `openness_z` and `facts_known_share` added.
    """
    z, known = _standardized_facts(frame)
    lam, corr = _factor_model(OPENNESS_FACTS)
    n_facts = len(OPENNESS_FACTS)
    patterns = known.astype(np.int64) @ (1 << np.arange(n_facts))
    coef = np.zeros((1 << n_facts, n_facts))
    r2 = np.zeros(1 << n_facts)
    for pattern in np.unique(patterns):
        idx = np.flatnonzero((pattern >> np.arange(n_facts)) & 1)
        if idx.size:
            coef[pattern, idx] = np.linalg.solve(corr[np.ix_(idx, idx)], lam[idx])
            r2[pattern] = float(lam[idx] @ coef[pattern, idx])
    r2_all = float(lam @ np.linalg.solve(corr, lam))
    eta = (coef[patterns] * z).sum(axis=1)
    return frame.with_columns(
        openness_z=pl.Series(eta / math.sqrt(r2_all)),
        facts_known_share=pl.Series(np.clip(r2[patterns] / r2_all, 0.0, 1.0)),
    )


# --------------------------------------------------------------------------- documentation


def _component_sd(component: str, priors: Mapping[str, Any]) -> float:
    """Spread of a non-visa component over the specialty's reference population."""
    if component in ("img_share", "non_us_img_share", "interviews_per_position"):
        return 1.0 / math.sqrt(12.0)  # a percentile under its own fit is uniform
    if component == "interview_rate":  # mid-rank percentile with a mass at zero
        return math.sqrt((1.0 - priors["rate_share_zero"] ** 3) / 12.0)
    if component == "program_type":
        return float(priors["type_sd"])
    if component == "visiting":
        return math.sqrt(priors["visiting_share"] * (1.0 - priors["visiting_share"]))
    return float(params()["openness"]["screening_sd"])


def weight_derivation() -> pl.DataFrame:
    """How the default weights follow from the openness model and the reference (IM).

    Non-visa weights: b = R^-1 lambda (regression weights of openness on the standardized
    facts), divided by each component's sd over IM's reference population, scaled to sum to
    1 - w_visa. Visa weight: known-sponsor-vs-unknown (1 - p, p = IM's J-1 share) times w_visa
    equals the score change that goes with a log(1 / p) change in the expected non-US IMG
    interview rate: log(1/p) * sigma / (tau * c) in units of the openness part, where sigma
    is that part's sd, tau the log-odds sd of IM's reference rates and c the rate's
    correlation with it. Columns: component, label, loading, regression_weight,
    component_sd, derived_weight, weight (in `params/friendliness.yaml`).
    """
    keys = tuple(k for k in COMPONENTS if k != "visa")
    lam, corr = _factor_model(keys)
    b = np.linalg.solve(corr, lam)
    im = specialty_priors().filter(pl.col("specialty") == "IM").row(0, named=True)
    sd = np.array([_component_sd(k, im) for k in keys])
    a = (b / sd) / (b / sd).sum()
    sigma = math.sqrt(float(a @ (corr * np.outer(sd, sd)) @ a))
    rate_corr = float(a @ (corr[:, keys.index("interview_rate")] * sd)) / sigma
    p_yes, tau = im["share_j1"], im["rate_scale"] / _QUARTILE_TO_LOGISTIC
    ratio = -math.log(p_yes) * sigma / (tau * rate_corr * (1.0 - p_yes))
    w_visa = ratio / (1.0 + ratio)
    labels, weights = component_labels(), default_weights()
    rows = [{"component": "visa", "loading": None, "regression_weight": None,
             "component_sd": math.sqrt(p_yes * (1 - p_yes)), "derived_weight": w_visa}]  # fmt: skip
    rows += [
        {"component": k, "loading": float(lam[i]), "regression_weight": float(b[i]),
         "component_sd": float(sd[i]), "derived_weight": (1.0 - w_visa) * float(a[i])}
        for i, k in enumerate(keys)
    ]  # fmt: skip
    return pl.DataFrame(rows).with_columns(
        label=pl.col("component").replace_strict(labels),
        weight=pl.col("component").replace_strict(weights, return_dtype=pl.Float64),
    )


def component_table() -> pl.DataFrame:
    """The components as a user reads them: label, weight, value from the fact, if unknown,
    and where the weight comes from (`params/friendliness.yaml`).

    Columns: component, label, weight, value, unknown, source.
    """
    p = params()
    tr = p["transforms"]
    s = tr["screening"]
    types = ", ".join(f"{t.replace('_', ' ')} {v:.2f}" for t, v in _type_values().items())
    value = {
        "visa": "1 sponsors the visa needed, 0 does not (the program is then closed)",
        "img_share": "share of IM programs with a lower % of IMG residents (FREIDA quartiles "
        f"fit: median {tr['img_share']['median_pct']:g}%); 100 - % US MD - % DO if only those",
        "non_us_img_share": "the same for % non-US IMG residents (IM median "
        f"{_im_median_non_us_pct():.1f}%)",
        "interview_rate": "share of the specialty's programs with a lower observed non-US IMG "
        "interview rate (reference fit)",
        "program_type": f"IMG residents at the type's median: {types}",
        "interviews_per_position": "share of the specialty's programs with fewer interviews "
        f"per first-year position (IM median {tr['interviews_per_position']['median']:g})",
        "visiting": "1 takes IMG visiting students, 0 does not or has no visiting route",
        "screening": f"mean of the published screens: Step 2 CK minimum (open at "
        f"{s['step2_open_at']}, closed at {s['step2_closed_at']}), graduation cutoff "
        f"({s['yog_strict_years']}-{s['yog_open_years']} years), USCE required "
        f"(0-{s['usce_closed_months']} months), attempts allowed",
    }
    unknown = {
        "visa": "the specialty's share of programs taking the visa (IM J-1: "
        f"{p['priors']['im_visa_share']['j1']:.1%})",
        "img_share": "the specialty's median % IMG residents",
        "non_us_img_share": "the specialty's median % non-US IMG residents",
        "interview_rate": "the specialty's median rate",
        "program_type": "the type of the specialty's median program",
        "interviews_per_position": "the specialty's median",
        "visiting": f"the share of programs taking IMG visiting students "
        f"({p['priors']['visiting_share']:.0%})",
        "screening": "each unpublished rule at its typical value ("
        + ", ".join(f"{k} {v:g}" for k, v in s["unknown"].items())
        + ")",
    }
    rows = [
        {"component": c, "label": p["labels"][c], "weight": float(p["weights"][c]),
         "value": value[c], "unknown": unknown[c], "source": " ".join(p["sources"][c].split())}
        for c in COMPONENTS
    ]  # fmt: skip
    return pl.DataFrame(rows)


__all__ = [
    "COMPONENTS",
    "OPENNESS_FACTS",
    "TIERS",
    "component_ablation",
    "component_contributions",
    "component_frame",
    "component_table",
    "default_weights",
    "neutral_components",
    "openness",
    "score_programs",
    "specialty_priors",
    "visa_sponsorship",
    "weight_derivation",
    "weight_sensitivity",
]
