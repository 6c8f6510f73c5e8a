"""The model against the reference figures: interview rates, match rates, difficulty, sensitivity.

Checks, shown in notebook 03 and printed by `imgmatch calibrate`:

1. **Interview rates per specialty.** The applicant *population* of each group
   (`params/population.yaml`) against every program of the specialty in a table: the mean
   over the population and the programs of p_interview next to the reference mean of
   observed per-program rates (`interview_rates_by_specialty.csv`), and the share of programs
   closed to the group (1 - mean P(open)) next to the reference share at zero. With a table's
   observed rates the population reproduces them by construction (each program is placed on
   its own rate); the "facts only" figures hide the observed rates and test the anchoring and
   the program facts alone, as on a FREIDA export.
2. **Match rates.** A synthetic cohort of each group (first choices as NRMP's 2025 matches of
   the group, a share applying to a second specialty, applications and profiles from the
   population, programs chosen with targeting noise) against NRMP's match rates of 2025 and
   2026. NRMP counts only applicants who certified a rank list, so the comparable figure is
   sum P(match) / sum P(at least one interview); over everyone who applies it is lower.
3. **Difficulty order.** Per specialty, the population applying to it alone, ranked by match
   rate, against the groups the reference shows (IR hardest; DR, anesthesiology, surgery,
   PM&R hard; IM, FM, pediatrics, neurology most open).
4. **Sensitivity.** How much an applicant's P(match) moves across the Step 2 CK offset's range
   and each effect's range (`sensitivity`).

`fit_q_scale` refits the match curve's scale so that the non-US IMG cohort reproduces the
mean of NRMP's 2025 and 2026 rates (`python -m analysis.model.calibration --fit`).

Known limits: the population is judgement informed by public figures; the reference rates are
one cycle (2024) from a third-party repository; the demo table is synthetic, so checks on it
show the model's consistency with the reference, not its accuracy on real programs
(`imgmatch evaluate` checks it against observed rates on the user's own data).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Iterator
from typing import Any

import numpy as np
import polars as pl

from analysis.config import load_params, reference_table
from analysis.data.reference import interview_fit, match_curve, nrmp_specialties
from analysis.data.schemas import ApplicantProfile
from analysis.data.vocabulary import specialties
from analysis.model import population, program_side
from analysis.model.engine import chances_for_arrays
from analysis.model.population import (
    ApplicantArrays,
    anchor,
    population_params,
    sample_population,
    step2_level,
)
from analysis.model.probability import MatchModel, match_chances, model_for, specialty_scores

GROUP_TYPES = {"non_us_img": "non_us_citizen_img", "us_img": "us_citizen_img"}
"""The NRMP applicant type of each reference group (`nrmp_match_rates.csv`)."""

REFERENCE_DIFFICULTY = {
    "hardest": ("IR",),
    "hard": ("DR", "ANES", "GS", "PMR"),
    "most open": ("IM", "FM", "PEDS", "NEURO"),
}
"""Groups of specialties by difficulty for non-US IMGs, as the reference shows them: IR has
the most applicants per position (3.37); DR, PM&R and anesthesiology 2.4-2.8 and surgery's
PGY-1 seats are 6% non-US IMG; IM, FM, pediatrics and neurology have the largest non-US IMG
shares of PGY-1 seats (33%, 15%, 19%, 24%) and the fewest applicants per position (NRMP 2025)."""


def nrmp_match_rates(group: str = "non_us_img") -> dict[int, float]:
    """NRMP's match rate of a group by year (fractions; reference `nrmp_match_rates.csv`)."""
    table = reference_table("nrmp_match_rates")
    rows = table.filter(pl.col("applicant_type") == GROUP_TYPES[group])
    return {int(r["year"]): float(r["match_rate_pct"]) / 100 for r in rows.iter_rows(named=True)}


# --------------------------------------------------------------------------- typical applicant


def typical_applicant(
    specialty: str, visa_needed: str = "j1", applications: int = 100, match_year: int = 2028
) -> ApplicantProfile:
    """The population's average applicant to a specialty (standing x close to 0).

    The reference profile (`params/reference_profile.yaml`) with the group's Step 2 CK level
    for the specialty, its letters in that specialty, the visa need and the applications given.
    """
    ref = population.reference_profile()
    group = "us_img" if visa_needed == "none" else "non_us_img"
    years = ref.match_year - ref.graduation_year
    return ref.model_copy(
        update={
            "applicant_id": f"typical-{specialty.lower()}",
            "name": f"Population-average applicant ({specialty})",
            "citizenship": "United States" if group == "us_img" else None,
            "visa_needed": visa_needed,
            "graduation_year": match_year - years,
            "match_year": match_year,
            "step2_score": round(step2_level(specialty, group)),
            "us_letters": {specialty: sum(ref.us_letters.values())},
            "target_specialties": [specialty],
            "applications": {specialty: applications},
        }
    )


# --------------------------------------------------------------------------- interview rates


def _without_observed(programs: pl.DataFrame) -> pl.DataFrame:
    """The table with every observed interview rate set to unknown (facts only)."""
    cols = [
        c for c in ("non_us_img_interview_rate", "us_img_interview_rate") if c in programs.columns
    ]
    return programs.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in cols)


def population_rates(
    model: MatchModel, specialty: str, group: str = "non_us_img", size: int = 400
) -> pl.DataFrame:
    """The population's average P(interview) at each program of a specialty.

    What a published per-program rate measures: the expected chance of an applicant of the
    group drawn at random (`population.representative_sample`, the group's visa mix).
    Columns: program_id, predicted_rate.
    """
    people = population.representative_sample(specialty, group, size)
    rows = model.side.specialty_rows.get(specialty, np.array([], dtype=int))
    total = np.zeros(rows.size)
    for visa in np.unique(people.visa_needed):
        idx = np.flatnonzero(people.visa_needed == visa)
        total += specialty_scores(model, people, specialty, str(visa), idx, intervals=False).p.sum(
            0
        )
    return pl.DataFrame(
        {"program_id": model.side.ids[rows], "predicted_rate": total / max(len(people), 1)}
    )


def _population_rate(
    model: MatchModel, specialty: str, group: str, size: int, seed: int
) -> tuple[float, float]:
    """(mean p_interview of the group's population over the specialty's programs, mean P(open))."""
    people = population.representative_sample(specialty, group, size)
    total, opened, count = 0.0, 0.0, 0
    for visa in np.unique(people.visa_needed):
        idx = np.flatnonzero(people.visa_needed == visa)
        sc = specialty_scores(model, people, specialty, str(visa), idx, intervals=False)
        total += float(sc.p.sum())
        opened += float(model.features(str(visa)).p_open[sc.rows].sum()) * idx.size
        count += sc.p.size
    n_programs = max(count // max(size, 1), 1)
    return total / max(count, 1), opened / (size * n_programs)


def interview_rate_calibration(
    programs: Any,
    *,
    group: str = "non_us_img",
    size: int = 400,
    seed: int = 7,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Per specialty in the table: the population's mean p_interview vs the reference mean.

    Columns: specialty, programs, model_mean, ref_mean, ratio, facts_only_mean,
    facts_only_ratio, model_share_closed, ref_share_zero, calibrated.
    """
    model = model_for(programs, as_of=as_of)
    facts = MatchModel(_without_observed(model.programs), as_of=model.as_of)
    rows = []
    for s in model.specialties():
        fit = interview_fit(s, group)
        mean, p_open = _population_rate(model, s, group, size, seed)
        facts_mean, _ = _population_rate(facts, s, group, size, seed)
        rows.append(
            {
                "specialty": s,
                "programs": int(model.side.specialty_rows[s].size),
                "model_mean": mean,
                "ref_mean": fit.ref_mean,
                "ratio": mean / fit.ref_mean,
                "facts_only_mean": facts_mean,
                "facts_only_ratio": facts_mean / fit.ref_mean,
                "model_share_closed": 1.0 - p_open,
                "ref_share_zero": fit.share_zero,
                "calibrated": fit.calibrated,
            }
        )
    return pl.DataFrame(rows)


def calibration_long(programs: Any, *, as_of: dt.date | None = None) -> pl.DataFrame:
    """Interview-rate calibration in long form for charts: specialty, metric, model, reference."""
    wide = interview_rate_calibration(programs, as_of=as_of).filter(pl.col("calibrated"))
    metrics = (
        ("mean interview rate", "model_mean", "ref_mean"),
        ("mean interview rate, facts only", "facts_only_mean", "ref_mean"),
        ("share of programs closed", "model_share_closed", "ref_share_zero"),
    )
    parts = [
        wide.select("specialty", metric=pl.lit(label), model=model, reference=reference)
        for label, model, reference in metrics
    ]
    return pl.concat(parts)


# --------------------------------------------------------------------------- cohorts


def _first_choices(group: str, size: int, rng: np.random.Generator) -> np.ndarray:
    spec = population_params()["cohort"]
    nrmp = nrmp_specialties()
    assumed = spec["assumed_share_pct"][group]
    column = f"pgy1_share_{group}_pct"
    codes = list(spec["second_specialty"])
    weights = np.array(
        [nrmp[s]["positions"] * (nrmp[s][column] or assumed[s]) / 100 for s in codes]
    )
    return np.array(codes)[rng.choice(len(codes), size=size, p=weights / weights.sum())]


def cohort(
    group: str = "non_us_img",
    size: int | None = None,
    seed: int | None = None,
    *,
    specialty: str | None = None,
    second_specialty_share: float | None = None,
) -> tuple[ApplicantArrays, list[list[str]], list[dict[str, int]]]:
    """A synthetic cohort of a group: (arrays, targets in rank order, applications per target).

    First choices as the group's 2025 matches (or all `specialty`); profiles drawn from the
    population of the first choice; US letters drawn for each specialty applied to.
    """
    spec = population_params()["cohort"]
    size = int(size or spec["size"])
    seed = int(spec["seed"] if seed is None else seed)
    rng = np.random.default_rng(seed)
    first = np.full(size, specialty) if specialty else _first_choices(group, size, rng)
    share = (
        spec["second_specialty_share"] if second_specialty_share is None else second_specialty_share
    )
    second = rng.random(size) < share
    parts, order = [], []
    for k, s in enumerate(sorted(set(first.tolist()))):
        idx = np.flatnonzero(first == s)
        people = sample_population(group, s, idx.size, seed * 1000 + k)
        backup = spec["second_specialty"].get(s)
        if backup:
            extra = sample_population(group, backup, idx.size, seed * 1000 + 500 + k)
            people.letters[backup] = extra.letters[backup]
        parts.append(people)
        order.append(idx)
    arrays = _concat(parts, np.concatenate(order))
    apps_shares = population_params()["groups"][group]["applications"]
    values = np.array(list(apps_shares), dtype=int)
    weights = np.array(list(apps_shares.values()), dtype=float)
    draws = values[rng.choice(values.size, size=(size, 2), p=weights / weights.sum())]
    targets, applications = [], []
    for i in range(size):
        t = [str(first[i])]
        backup = spec["second_specialty"].get(t[0])
        if second[i] and backup:
            t.append(backup)
        targets.append(t)
        applications.append({s: int(draws[i, j]) for j, s in enumerate(t)})
    return arrays, targets, applications


def _concat(parts: list[ApplicantArrays], positions: np.ndarray) -> ApplicantArrays:
    """Stack sampled arrays and put row `positions[j]` of the stack at place j's position."""
    inverse = np.argsort(positions)
    n = positions.size

    def stack(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])[inverse]

    letters: dict[str, np.ndarray] = {}
    offset = 0
    for p in parts:
        for s, v in p.letters.items():
            letters.setdefault(s, np.zeros(n))[offset : offset + len(p)] = v
        offset += len(p)
    return ApplicantArrays(
        ids=[f"cohort-{i:05d}" for i in range(n)],
        group=stack("group"),
        visa_needed=stack("visa_needed"),
        step2=stack("step2"),
        usce=stack("usce"),
        observership=stack("observership"),
        publications=stack("publications"),
        first_author=stack("first_author"),
        posters=stack("posters"),
        attempts=stack("attempts"),
        years_since_graduation=stack("years_since_graduation"),
        step3=stack("step3"),
        letters={s: v[inverse] for s, v in letters.items()},
    )


def targeting_noise() -> float:
    """Log-odds sd of how cohorts pick programs (`params/population.yaml`, cohort)."""
    return float(population_params()["cohort"]["targeting_noise"])


def match_rate_calibration(
    programs: Any,
    *,
    group: str = "non_us_img",
    size: int | None = None,
    seed: int | None = None,
    q_scale: float | None = None,
    as_of: dt.date | None = None,
) -> tuple[pl.DataFrame, dict[str, float]]:
    """The cohort's match rate overall and by first choice, vs NRMP's 2025 and 2026 rates.

    Returns (by first choice: specialty, applicants, p_match_all_applicants,
    match_rate_certified; summary: applicants, p_match_all_applicants,
    match_rate_certified (NRMP's denominator), nrmp_2025, nrmp_2026, expected_interviews).
    """
    arrays, targets, applications = cohort(group, size, seed)
    batch = chances_for_arrays(
        arrays,
        targets,
        applications,
        programs,
        as_of=as_of,
        targeting_noise=targeting_noise(),
        seed=int(seed or 0),
        intervals=False,
        q_scale=q_scale,
    )
    first = {arrays.ids[i]: t[0] for i, t in enumerate(targets)}
    per = (
        batch.group_by("applicant_id")
        .agg(
            pl.col("p_match_any").first(),
            (1.0 - (1.0 - pl.col("p_any_interview")).product()).alias("p_certify"),
            pl.col("expected_interviews").sum(),
        )
        .with_columns(
            first_choice=pl.col("applicant_id").replace_strict(first, return_dtype=pl.String)
        )
    )
    by_specialty = (
        per.group_by("first_choice")
        .agg(
            applicants=pl.len(),
            p_match_all_applicants=pl.col("p_match_any").mean(),
            match_rate_certified=pl.col("p_match_any").sum() / pl.col("p_certify").sum(),
        )
        .rename({"first_choice": "specialty"})
        .sort("match_rate_certified")
    )
    nrmp = nrmp_match_rates(group)
    summary = {
        "applicants": float(per.height),
        "p_match_all_applicants": float(per["p_match_any"].mean()),
        "match_rate_certified": float(per["p_match_any"].sum() / per["p_certify"].sum()),
        "expected_interviews": float(per["expected_interviews"].mean()),
        "nrmp_2025": nrmp.get(2025, float("nan")),
        "nrmp_2026": nrmp.get(2026, float("nan")),
    }
    return by_specialty, summary


def fit_q_scale(
    programs: Any, *, size: int = 3000, as_of: dt.date | None = None
) -> dict[str, float]:
    """The match curve's scale that makes the non-US IMG cohort reproduce NRMP 2025-26.

    Bisection on q_scale (P(match) rises with it) toward the mean of the two years' rates.
    Returns q_scale, the cohort's rates of both groups at it, and the targets.
    """
    rates = nrmp_match_rates("non_us_img")
    target = (rates[2025] + rates[2026]) / 2
    model = model_for(programs, as_of=as_of)
    lo, hi = 0.2, 2.0
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        _, summary = match_rate_calibration(model, size=size, q_scale=mid)
        lo, hi = (mid, hi) if summary["match_rate_certified"] < target else (lo, mid)
    q = round(0.5 * (lo + hi), 3)
    _, non_us = match_rate_calibration(model, size=size, q_scale=q)
    _, us = match_rate_calibration(model, group="us_img", size=size, q_scale=q)
    return {
        "q_scale": q,
        "target_non_us_img": target,
        "non_us_img": non_us["match_rate_certified"],
        "us_img": us["match_rate_certified"],
    }


def difficulty_order(
    programs: Any, *, per_specialty: int = 300, as_of: dt.date | None = None
) -> pl.DataFrame:
    """Each specialty's match rate for non-US IMGs who apply to it alone, hardest first.

    Columns: specialty, name, applicants, p_match (mean over all who apply),
    match_rate_certified (NRMP's denominator), expected_interviews, rank (1 = hardest),
    reference_group (`REFERENCE_DIFFICULTY`, or null), calibrated.
    """
    model = model_for(programs, as_of=as_of)
    frames = []
    for k, s in enumerate(model.specialties()):
        arrays, targets, applications = cohort(
            "non_us_img", per_specialty, 1000 + k, specialty=s, second_specialty_share=0.0
        )
        arrays.ids = [f"{s}-{i}" for i in arrays.ids]
        frames.append(
            chances_for_arrays(
                arrays,
                targets,
                applications,
                model,
                intervals=False,
                targeting_noise=targeting_noise(),
                seed=k,
            )
        )
    batch = pl.concat(frames)
    group_of = {s: g for g, codes in REFERENCE_DIFFICULTY.items() for s in codes}
    names = {code: spec.name for code, spec in specialties().items()}
    return (
        batch.group_by("specialty")
        .agg(
            applicants=pl.len(),
            p_match=pl.col("p_match").mean(),
            match_rate_certified=pl.col("p_match").sum() / pl.col("p_any_interview").sum(),
            expected_interviews=pl.col("expected_interviews").mean(),
            calibrated=pl.col("calibrated").first(),
        )
        .sort("match_rate_certified")
        .with_columns(
            rank=pl.int_range(1, pl.len() + 1),
            name=pl.col("specialty").replace_strict(names, return_dtype=pl.String),
            reference_group=pl.col("specialty").replace_strict(
                group_of, default=None, return_dtype=pl.String
            ),
        )
    )


def difficulty_consistent(order: pl.DataFrame) -> bool:
    """True when, among calibrated specialties, every 'hard' one is below every 'most open'
    one and IR is below every 'hard' one (the ordering the reference shows)."""
    p = dict(zip(order["specialty"], order["match_rate_certified"], strict=True))
    present = {g: [s for s in codes if s in p] for g, codes in REFERENCE_DIFFICULTY.items()}
    hardest = max((p[s] for s in present["hardest"]), default=-1.0)
    hard_lo = min((p[s] for s in present["hard"]), default=2.0)
    hard_hi = max((p[s] for s in present["hard"]), default=-1.0)
    open_lo = min((p[s] for s in present["most open"]), default=2.0)
    return hardest <= hard_lo and hard_hi <= open_lo


def calibration_summary(programs: Any, *, size: int = 3000, as_of: dt.date | None = None) -> dict:
    """Every check as one JSON-ready dict (`imgmatch calibrate --json`).

    Keys: interview_rates {group: rows}, match_rate {group: summary},
    match_rate_by_first_choice {group: rows}, difficulty_order (rows),
    difficulty_consistent_with_reference, q_scale.
    """
    model = model_for(programs, as_of=as_of)
    rates, match, by_first = {}, {}, {}
    for group in ("non_us_img", "us_img"):
        rates[group] = interview_rate_calibration(model, group=group).to_dicts()
        by_specialty, summary = match_rate_calibration(model, group=group, size=size)
        match[group], by_first[group] = summary, by_specialty.to_dicts()
    order = difficulty_order(model)
    return {
        "interview_rates": rates,
        "match_rate": match,
        "match_rate_by_first_choice": by_first,
        "difficulty_order": order.to_dicts(),
        "difficulty_consistent_with_reference": difficulty_consistent(order),
        "q_scale": float(load_params("probability")["match_curve"]["q_scale"]),
    }


def match_rates_reference() -> pl.DataFrame:
    """NRMP match rates by applicant type and year (reference, with source and grade)."""
    return reference_table("nrmp_match_rates")


# --------------------------------------------------------------------------- sensitivity


def clear_model_caches() -> None:
    """Forget every cached anchor, effect and curve (after a parameter override)."""
    population.anchor.cache_clear()
    population.effects.cache_clear()
    program_side._solve_sample.cache_clear()
    match_curve.cache_clear()


@contextlib.contextmanager
def overridden(file: str, path: tuple[str, ...], value: Any) -> Iterator[None]:
    """Temporarily set one documented parameter (for sensitivity analyses), then restore it."""
    node = load_params(file)
    for key in path[:-1]:
        node = node[key]
    old = node[path[-1]]
    node[path[-1]] = value
    clear_model_caches()
    try:
        yield
    finally:
        node[path[-1]] = old
        clear_model_caches()


SENSITIVITY = (
    (
        "Step 2 CK offset of the population",
        "population",
        ("step2", "offset", "{group}"),
        ("step2", "offset_range", "{group}"),
    ),
    (
        "Step 2 CK per point",
        "probability",
        ("effects", "step2", "per_point"),
        ("effects", "step2", "range"),
    ),
    ("USCE", "probability", ("effects", "usce", "coef"), ("effects", "usce", "range")),
    ("Research", "probability", ("effects", "research", "coef"), ("effects", "research", "range")),
    (
        "Years since graduation",
        "probability",
        ("effects", "graduation", "per_year"),
        ("effects", "graduation", "range"),
    ),
    (
        "Visa friction",
        "probability",
        ("effects", "visa_friction", "logodds"),
        ("effects", "visa_friction", "range"),
    ),
    ("Step 3", "probability", ("effects", "step3", "bonus"), ("effects", "step3", "range")),
)
"""(label, parameter file, parameter path, range path) of each sensitivity row."""


def sensitivity(
    applicant: ApplicantProfile, programs: Any, *, as_of: dt.date | None = None
) -> pl.DataFrame:
    """P(match anywhere) at the low and high end of each uncertain parameter, one at a time.

    Columns: parameter, low_value, high_value, p_match_low_end, p_match_central,
    p_match_high_end. Each row rebuilds the model (anchors move with the parameter).
    """
    base = model_for(programs, as_of=as_of)
    table, as_of = base.programs, base.as_of
    group = population.profile_group(applicant)
    central = match_chances(applicant, MatchModel(table, as_of=as_of), curve=False).p_match_any
    rows = []
    for label, file, path, range_path in SENSITIVITY:
        path = tuple(p.format(group=group) for p in path)
        node: Any = load_params(file)
        for key in (p.format(group=group) for p in range_path):
            node = node[key]
        ends = []
        for value in node:
            with overridden(file, path, value):
                ends.append(
                    match_chances(
                        applicant, MatchModel(table, as_of=as_of), curve=False
                    ).p_match_any
                )
        rows.append(
            {
                "parameter": label,
                "low_value": float(node[0]),
                "high_value": float(node[1]),
                "p_match_low_end": ends[0],
                "p_match_central": central,
                "p_match_high_end": ends[1],
            }
        )
    return pl.DataFrame(rows)


@functools.cache
def population_summary(group: str = "non_us_img", specialty: str = "IM") -> pl.DataFrame:
    """The population's distributions per field (field, value, share), for notebook 03."""
    spec = population_params()["groups"][group]
    rows = [
        {"field": field, "value": float(v), "share": float(share)}
        for field in (
            "usce_months",
            "observership_months",
            "us_letters",
            "publications",
            "years_since_graduation",
            "attempts",
            "applications",
        )
        for v, share in spec[field].items()
    ]
    return pl.DataFrame(rows)


def step2_levels() -> pl.DataFrame:
    """Step 2 CK level per specialty and group, with the offset's range (notebook 03)."""
    p = population_params()["step2"]
    rows = []
    for s in sorted(nrmp_specialties()):
        row: dict[str, Any] = {"specialty": s}
        for g in ("non_us_img", "us_img"):
            lo, hi = p["offset_range"][g]
            row[f"{g}_level"] = step2_level(s, g)
            row[f"{g}_range"] = f"{step2_level(s, g, hi):.0f}-{step2_level(s, g, lo):.0f}"
        rows.append(row)
    return pl.DataFrame(rows)


EFFECT_ROWS = (
    ("Step 2 CK, per point (below the knee)", ("step2", "per_point"), ("step2", "range")),
    ("Hands-on USCE (coefficient of the saturating curve)", ("usce", "coef"), ("usce", "range")),
    (
        "Observership month, as a share of a hands-on month",
        ("usce", "observership_weight"),
        ("usce", "observership_weight_range"),
    ),
    ("US letters (scale of the marginal values)", None, ("letters", "scale_range")),
    ("Research (log of publications)", ("research", "coef"), ("research", "range")),
    (
        "Research in research-heavy specialties",
        ("research", "coef_competitive"),
        ("research", "competitive_range"),
    ),
    (
        "First extra attempt on a Step",
        ("attempts", "first_extra"),
        ("attempts", "first_extra_range"),
    ),
    ("Each further attempt", ("attempts", "each_more"), ("attempts", "each_more_range")),
    (
        "Each year since graduation past the free years",
        ("graduation", "per_year"),
        ("graduation", "range"),
    ),
    ("Step 3 passed", ("step3", "bonus"), ("step3", "range")),
    (
        "H-1B need without Step 3, at H-1B programs",
        ("step3", "h1b_without_step3"),
        ("step3", "h1b_without_step3_range"),
    ),
    (
        "Visa need, at a program that sponsors it",
        ("visa_friction", "logodds"),
        ("visa_friction", "range"),
    ),
    (
        "Away rotation at the program",
        ("rotation_at_program", "logodds"),
        ("rotation_at_program", "range"),
    ),
)
"""(label, central value path, range path) in `params/probability.yaml` `effects`."""


def effects_table() -> pl.DataFrame:
    """Every effect with its central value and 80% range, log-odds (notebook 03, README)."""
    e = population.effect_params()

    def get(path: tuple[str, ...] | None) -> Any:
        node: Any = e
        for key in path or ():
            node = node[key]
        return node

    rows = []
    for label, central, span in EFFECT_ROWS:
        low, high = get(span)
        rows.append(
            {
                "effect": label,
                "central": 1.0 if central is None else float(get(central)),
                "low": float(low),
                "high": float(high),
            }
        )
    return pl.DataFrame(rows)


def reference_standing(specialty_codes: list[str] | None = None) -> pl.DataFrame:
    """The reference profile's standing x per specialty (about 0: the population's average)."""
    codes = specialty_codes or [s for s in sorted(nrmp_specialties()) if "-" not in s]
    rows = []
    for s in codes:
        person = typical_applicant(s)
        arrays = ApplicantArrays.from_profiles([person])
        rows.append(
            {
                "specialty": s,
                "step2_level": person.step2_score,
                "standing": float(population.standing(arrays, s)[0]),
                "standing_sd": float(population.standing_sd(arrays, s)[0]),
            }
        )
    return pl.DataFrame(rows)


def anchors_table(specialty_codes: list[str] | None = None) -> pl.DataFrame:
    """Per specialty and group: intercept, program spread, population spread (notebook 03)."""
    codes = specialty_codes or sorted(nrmp_specialties())
    return pl.DataFrame(
        [
            {
                "specialty": s,
                "group": g,
                "intercept": a.intercept,
                "tau": a.tau,
                "population_sd": a.spread,
                "visa_share": a.visa_share,
            }
            for s in codes
            for g in ("non_us_img", "us_img")
            for a in [anchor(s, g)]
        ]
    )


if __name__ == "__main__":  # python -m analysis.model.calibration --fit
    import json
    import sys

    from analysis.config import demo_programs_path
    from analysis.data.programs import load_programs

    if "--fit" in sys.argv:
        print(
            json.dumps(
                fit_q_scale(load_programs(demo_programs_path()), as_of=dt.date(2026, 11, 1)),
                indent=2,
            )
        )
