"""IMG-friendliness: an explainable 0-100 score per program, relative to a visa need.

Method (a documented heuristic, not a fitted model). Seven components, each in [0, 1]:

====================  ==========================================================  =========
component             from the program's facts                                    if unknown
====================  ==========================================================  =========
visa                  P(sponsors the visa needed): 1 known yes, 0 known no         type prior
                      (then the program is *closed*: score 0 with the reason)      x discount
img_share             1 - exp(-pct_img_residents / 30)                             specialty
non_us_img_share      1 - exp(-pct_non_us_img_residents / 15); inferred (half     specialty
                      credit) from the IMG share x the specialty's non-US ratio
interview_rate        1 - exp(-non_us_img_interview_rate / 0.04)                  reference
visiting              1 takes IMG visiting students, 0 does not                   0.3
screening             mean over the published screens (Step 2 CK minimum,          0.6
                      graduation cutoff, required USCE months, attempts allowed)
program_type          community-university affiliated 1.0, community 0.8,          type mix
                      other 0.5, university 0.3, military 0
====================  ==========================================================  =========

    img_friendliness = 100 * sum_k weight_k * component_k      (0 when closed)
    confidence       = sum_k weight_k * known_k  (known 1, inferred 0.5, unknown 0),
                       x 0.8 when the row was last verified more than a year ago

Weights, transforms and priors are in `params/friendliness.yaml`, each with its source or
marked as judgement. Unknown facts are imputed with their specialty prior, so an unknown is
neither a "no" nor a "yes": it pulls the score toward the specialty's typical program and
lowers `confidence`. The interview-rate prior is the mean component value under the
specialty's reference distribution of non-US IMG interview rates (`analysis.reference`).

Given `visa_needed` ("j1", "h1b", "either"), a program *known* not to sponsor it is closed
(score 0, tier "closed", `closed_reason` says why); "none" (a US citizen or permanent
resident) makes visa fit 1 everywhere; None scores for a generic IMG
(0.75 x J-1 + 0.25 x H-1B) and closes nothing.

Known limits: weights are judgement (notebook 02 shows the ranking's sensitivity to them);
the facts are self-reported by programs (FREIDA) or collected by applicants and go stale;
program type is a coarse proxy; a high score means "IMGs get in here", not "I will".
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
)
TIERS = ("closed", "unfriendly", "moderate", "friendly", "very friendly")
SCORE_COLUMNS = (
    "img_friendliness",
    *(f"component_{c}" for c in COMPONENTS),
    "confidence",
    "tier",
    "closed_reason",
    "stale",
)


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


def _saturating(x: pl.Expr, scale: float) -> pl.Expr:
    return 1.0 - (-x / scale).exp()


def _beta_mean_of_saturating(mean_pct: float, concentration: float, scale: float) -> float:
    """E[1 - exp(-X/scale)] for X = 100 * Beta(mean, concentration) (midpoint rule)."""
    m = min(max(mean_pct / 100.0, 1e-4), 1 - 1e-4)
    a, b = m * concentration, (1 - m) * concentration
    grid = (np.arange(4000) + 0.5) / 4000
    log_density = (a - 1) * np.log(grid) + (b - 1) * np.log1p(-grid)
    density = np.exp(log_density - log_density.max())
    density /= density.sum()
    values = 1.0 - np.exp(-100.0 * grid / scale)
    return float((density * values).sum())


@functools.cache
def specialty_priors() -> pl.DataFrame:
    """Per specialty: the component values imputed for unknown facts, and related figures.

    Columns: specialty, sponsorship_level, pct_img_mean, non_us_ratio, prior_img_share,
    prior_non_us_img_share, prior_interview_rate, prior_program_type, prior_visiting,
    prior_screening. Derived from `params/friendliness.yaml` and the reference fits only.
    """
    p = params()
    pri = p["priors"]
    tr = p["transforms"]
    rows = []
    for code in specialty_codes():
        shares = pri["img_share"].get(code, pri["img_share"]["default"])
        pct_img = float(shares["pct_img"])
        ratio = float(shares["non_us_ratio"])
        family = pri["program_type_family"].get(code, pri["program_type_family"]["default"])
        mix = pri["program_type_mix"].get(code, pri["program_type_mix"][family])
        type_prior = sum(float(w) * tr["program_type"][t] for t, w in mix.items())
        fit = interview_fit(code, "non_us_img")
        # E[1 - exp(-rate/scale)] under the reference mixture (zero mass + logit-normal).
        nodes = np.polynomial.hermite_e.hermegauss(40)
        z, w = nodes[0], nodes[1] / nodes[1].sum()
        rates = 1.0 / (1.0 + np.exp(-(fit.mu + fit.tau * z)))
        rate_prior = fit.open_share * float(
            (w * (1.0 - np.exp(-rates / tr["interview_rate_scale"]))).sum()
        )
        rows.append(
            {
                "specialty": code,
                "sponsorship_level": float(
                    pri["sponsorship_level"].get(code, pri["sponsorship_level"]["default"])
                ),
                "pct_img_mean": pct_img,
                "non_us_ratio": ratio,
                "prior_img_share": _beta_mean_of_saturating(
                    pct_img, pri["img_share_concentration"], tr["img_share_scale_pct"]
                ),
                "prior_non_us_img_share": _beta_mean_of_saturating(
                    pct_img * ratio,
                    pri["img_share_concentration"],
                    tr["non_us_img_share_scale_pct"],
                ),
                "prior_interview_rate": rate_prior,
                "prior_program_type": type_prior,
                "prior_visiting": float(pri["visiting_access"]),
                "prior_screening": float(pri["screening"]),
            }
        )
    return pl.DataFrame(rows)


def _sponsor_probability_exprs() -> tuple[pl.Expr, pl.Expr]:
    """P(sponsors J-1), P(sponsors H-1B) per row: the fact if known, else the discounted prior."""
    pri = params()["priors"]
    by_type = pri["im_sponsorship_by_type"]
    discount = float(pri["unknown_visa_discount"])
    ptype = pl.col("program_type").fill_null("unknown")

    def prior(visa: str) -> pl.Expr:
        mapping = {t: float(v[visa]) for t, v in by_type.items()}
        base = ptype.replace_strict(mapping, default=mapping["unknown"], return_dtype=pl.Float64)
        return (base * pl.col("sponsorship_level")).clip(0.0, 1.0) * discount

    def fact(column: str, visa: str) -> pl.Expr:
        return (
            pl.when(pl.col(column).is_null())
            .then(prior(visa))
            .otherwise(pl.col(column).cast(pl.Float64))
        )

    return fact("sponsors_j1", "j1"), fact("sponsors_h1b", "h1b")


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


def _visa_exprs(visa_needed: str | None) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """(visa component, known flag, closed flag, closed reason) for a visa need."""
    j1, h1b = _sponsor_probability_exprs()
    j1_known = pl.col("sponsors_j1").is_not_null()
    h1b_known = pl.col("sponsors_h1b").is_not_null()
    military = pl.col("program_type") == "military"
    no_reason = pl.lit(None, dtype=pl.String)
    if visa_needed is None:
        generic = params()["transforms"]["visa_generic"]
        component = generic["j1"] * j1 + generic["h1b"] * h1b
        known = (j1_known.cast(pl.Float64) * generic["j1"]) + (
            h1b_known.cast(pl.Float64) * generic["h1b"]
        )
        return component, known, pl.lit(False), no_reason
    if visa_needed == "none":
        return pl.lit(1.0), pl.lit(1.0), pl.lit(False), no_reason
    if visa_needed == "j1":
        component, known = j1, j1_known.cast(pl.Float64)
        visa_closed = pl.col("sponsors_j1").eq(False).fill_null(False)
        reason = pl.lit("does not sponsor the J-1 visa")
    elif visa_needed == "h1b":
        component, known = h1b, h1b_known.cast(pl.Float64)
        visa_closed = pl.col("sponsors_h1b").eq(False).fill_null(False)
        reason = pl.lit("does not sponsor the H-1B visa")
    elif visa_needed == "either":
        either_true = (pl.col("sponsors_j1") | pl.col("sponsors_h1b")).fill_null(False)
        component = pl.when(either_true).then(1.0).otherwise(1.0 - (1.0 - j1) * (1.0 - h1b))
        known = (either_true | (j1_known & h1b_known)).cast(pl.Float64)
        visa_closed = (
            pl.col("sponsors_j1").eq(False) & pl.col("sponsors_h1b").eq(False)
        ).fill_null(False)
        reason = pl.lit("sponsors neither the J-1 nor the H-1B visa")
    else:
        raise ValueError(f"visa_needed must be one of {VISA_NEEDS} or None, not {visa_needed!r}")
    military_closed = military.fill_null(False)
    closed = visa_closed | military_closed
    closed_reason = (
        pl.when(visa_closed)
        .then(reason)
        .when(military_closed)
        .then(pl.lit("military program: US citizens only"))
        .otherwise(no_reason)
    )
    component = pl.when(closed).then(0.0).otherwise(component)
    known = pl.when(military_closed).then(1.0).otherwise(known)
    return component, known, closed, closed_reason


def _screening_exprs() -> tuple[pl.Expr, pl.Expr]:
    """(screening component, known share) from the published screens."""
    s = params()["transforms"]["screening"]
    step2 = (
        (s["step2_closed_at"] - pl.col("min_step2_score"))
        / (s["step2_closed_at"] - s["step2_open_at"])
    ).clip(0.0, 1.0)
    yog = (
        0.1
        + 0.9
        * (pl.col("yog_cutoff_years") - s["yog_strict_years"])
        / (s["yog_open_years"] - s["yog_strict_years"])
    ).clip(0.1, 1.0)
    usce = (1.0 - pl.col("usce_required_months") / s["usce_closed_months"]).clip(0.0, 1.0)
    attempts_map = {int(k): float(v) for k, v in s["attempts_component"].items()}
    attempts = (
        pl.col("max_attempts")
        .clip(upper_bound=max(attempts_map))
        .replace_strict(attempts_map, default=None, return_dtype=pl.Float64)
    )
    parts = [step2, yog, usce, attempts]
    known_count = pl.sum_horizontal([p.is_not_null().cast(pl.Float64) for p in parts])
    total = pl.sum_horizontal([p.fill_null(0.0) for p in parts])
    component = (
        pl.when(known_count > 0).then(total / known_count).otherwise(pl.col("prior_screening"))
    )
    return component, known_count / len(parts)


def component_frame(
    programs: Any,
    visa_needed: str | None = None,
    weights: Mapping[str, float] | None = None,
    *,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Every component with its known flag, prior and the sponsorship probabilities.

    The working frame behind `score_programs` (and the probability model). Columns added to
    the program table: `component_<k>`, `known_<k>` (1 known, 0.5 inferred, 0 imputed),
    `prior_<k>`, `p_sponsors_j1`, `p_sponsors_h1b`, `p_sponsors_needed`, `closed`,
    `closed_reason`, `stale`, `img_friendliness`, `confidence`, `tier`.
    """
    df = canonical_programs(programs)
    w = _check_weights(weights)
    p = params()
    tr = p["transforms"]
    as_of = as_of or dt.date.today()
    df = df.join(specialty_priors(), on="specialty", how="left")

    visa_c, visa_known, closed, closed_reason = _visa_exprs(visa_needed)
    j1, h1b = _sponsor_probability_exprs()
    screening_c, screening_known = _screening_exprs()

    img_known = pl.col("pct_img_residents").is_not_null() | pl.col("img_residents_present").eq(
        False
    ).fill_null(False)
    img_c = (
        pl.when(pl.col("pct_img_residents").is_not_null())
        .then(_saturating(pl.col("pct_img_residents"), tr["img_share_scale_pct"]))
        .when(pl.col("img_residents_present").eq(False).fill_null(False))
        .then(0.0)
        .otherwise(pl.col("prior_img_share"))
    )
    img_known_level = (
        pl.when(img_known)
        .then(1.0)
        .when(pl.col("img_residents_present").fill_null(False))
        .then(p["confidence"]["partial_credit"])
        .otherwise(0.0)
    )
    inferred_non_us = pl.col("pct_img_residents") * pl.col("non_us_ratio")
    non_us_c = (
        pl.when(pl.col("pct_non_us_img_residents").is_not_null())
        .then(_saturating(pl.col("pct_non_us_img_residents"), tr["non_us_img_share_scale_pct"]))
        .when(pl.col("pct_img_residents").is_not_null())
        .then(_saturating(inferred_non_us, tr["non_us_img_share_scale_pct"]))
        .when(pl.col("img_residents_present").eq(False).fill_null(False))
        .then(0.0)
        .otherwise(pl.col("prior_non_us_img_share"))
    )
    non_us_known = (
        pl.when(
            pl.col("pct_non_us_img_residents").is_not_null()
            | pl.col("img_residents_present").eq(False).fill_null(False)
        )
        .then(1.0)
        .when(pl.col("pct_img_residents").is_not_null())
        .then(p["confidence"]["partial_credit"])
        .otherwise(0.0)
    )
    rate_c = (
        pl.when(pl.col("non_us_img_interview_rate").is_not_null())
        .then(_saturating(pl.col("non_us_img_interview_rate"), tr["interview_rate_scale"]))
        .otherwise(pl.col("prior_interview_rate"))
    )
    visiting_c = (
        pl.when(pl.col("accepts_img_visiting_students").is_not_null())
        .then(pl.col("accepts_img_visiting_students").cast(pl.Float64))
        .when(pl.col("visiting_route") == "none")
        .then(0.0)
        .otherwise(pl.col("prior_visiting"))
    )
    visiting_known = (
        pl.when(
            pl.col("accepts_img_visiting_students").is_not_null()
            | (pl.col("visiting_route") == "none")
        )
        .then(1.0)
        .otherwise(0.0)
    )
    type_c = (
        pl.col("program_type")
        .replace_strict(
            {t: float(tr["program_type"][t]) for t in PROGRAM_TYPES},
            default=None,
            return_dtype=pl.Float64,
        )
        .fill_null(pl.col("prior_program_type"))
    )

    df = df.with_columns(
        p_sponsors_j1=j1,
        p_sponsors_h1b=h1b,
        component_visa=visa_c,
        known_visa=visa_known,
        component_img_share=img_c,
        known_img_share=img_known_level,
        component_non_us_img_share=non_us_c,
        known_non_us_img_share=non_us_known,
        component_interview_rate=rate_c,
        known_interview_rate=pl.col("non_us_img_interview_rate").is_not_null().cast(pl.Float64),
        component_visiting=visiting_c,
        known_visiting=visiting_known,
        component_screening=screening_c,
        known_screening=screening_known,
        component_program_type=type_c,
        known_program_type=pl.col("program_type").is_not_null().cast(pl.Float64),
        closed=closed,
        closed_reason=closed_reason,
        stale=(
            pl.col("last_verified") < pl.lit(as_of - dt.timedelta(days=STALE_AFTER_DAYS))
        ).fill_null(False),
    )
    score = 100.0 * pl.sum_horizontal([w[c] * pl.col(f"component_{c}") for c in COMPONENTS])
    confidence = pl.sum_horizontal([w[c] * pl.col(f"known_{c}") for c in COMPONENTS]) * (
        pl.when(pl.col("stale")).then(p["confidence"]["stale_factor"]).otherwise(1.0)
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


def component_contributions(
    scored: pl.DataFrame, weights: Mapping[str, float] | None = None
) -> pl.DataFrame:
    """Long frame of each program's weighted components (they sum to its score).

    Columns: program_id, program_name, specialty, component, label, value (0-1), weight,
    contribution (100 x weight x value; 0 for a closed program), imputed (the fact was
    unknown and the value is the specialty prior).
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
    base_scores = base["img_friendliness"].to_numpy()
    base_top = set(base.sort("img_friendliness", descending=True)["program_id"].head(top))
    rows = []
    w0 = default_weights()
    for c in COMPONENTS:
        for factor in (1.0 - step, 1.0 + step):
            trial = dict(w0)
            trial[c] = w0[c] * factor
            tw = _check_weights(trial)
            scores = np.where(
                base["closed"].to_numpy(),
                0.0,
                100.0 * sum(tw[k] * base[f"component_{k}"].to_numpy() for k in COMPONENTS),
            )
            order = np.argsort(-scores, kind="stable")
            ids = base["program_id"].to_numpy()[order[:top]]
            rows.append(
                {
                    "component": c,
                    "label": component_labels()[c],
                    "weight_change": f"x{factor:g}",
                    "spearman": _spearman(base_scores, scores),
                    f"top{top}_overlap": len(base_top & set(ids.tolist())) / top,
                }
            )
    return pl.DataFrame(rows)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = pl.Series(a).rank("average").to_numpy()
    rb = pl.Series(b).rank("average").to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return 1.0
    return float(np.corrcoef(ra, rb)[0, 1])


def openness(frame: pl.DataFrame) -> pl.DataFrame:
    """Standardized program openness from its non-visa facts (used by the probability model).

    z = sum_k a_k (component_k - prior_k) / S over img_share, non_us_img_share, screening and
    program_type (friendliness weights renormalized), where S is the population sd of that
    sum under the priors' spread (component sds from `_component_sds`, pairwise correlation
    0.5). Unknown facts contribute 0. Also returns the share of that variance the known facts
    carry (`facts_known_share`).
    """
    w = default_weights()
    keys = ("img_share", "non_us_img_share", "screening", "program_type")
    total = sum(w[k] for k in keys)
    a = {k: w[k] / total for k in keys}
    sds = _component_sds()
    corr = 0.5
    var = sum(a[i] * a[j] * sds[i] * sds[j] * (1.0 if i == j else corr) for i in keys for j in keys)
    scale = math.sqrt(var)
    centered = [a[k] * (pl.col(f"component_{k}") - pl.col(f"prior_{k}")) for k in keys]
    known_var = sum(a[k] ** 2 * sds[k] ** 2 * pl.col(f"known_{k}") for k in keys)
    own_var = sum(a[k] ** 2 * sds[k] ** 2 for k in keys)
    return frame.with_columns(
        openness_z=pl.sum_horizontal(centered) / scale,
        facts_known_share=(known_var / own_var).clip(0.0, 1.0),
    )


@functools.cache
def _component_sds() -> dict[str, float]:
    """Assumed between-program sd of each non-visa component (judgement, see docstring)."""
    return {"img_share": 0.30, "non_us_img_share": 0.30, "screening": 0.20, "program_type": 0.30}


__all__ = [
    "COMPONENTS",
    "TIERS",
    "component_contributions",
    "component_frame",
    "default_weights",
    "score_programs",
    "specialty_priors",
    "weight_sensitivity",
]
