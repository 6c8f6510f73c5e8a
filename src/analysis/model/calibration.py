"""The model against the reference figures: interview rates, match rates, difficulty order.

Three checks, shown in notebook 03 and printed by `imgmatch calibrate`:

1. **Interview rates per specialty.** A typical applicant of the group (x = 0 in
   `analysis.probability`: the specialty's typical Step 2 CK, 3 months of USCE, one US letter,
   one publication) against every program of the specialty in a table: the distribution over
   programs of p_interview (mean, median, share at zero) next to the reference distribution of
   observed per-program rates (`interview_rates_by_specialty.csv`). The model gives expected
   probabilities, not one year's realized rates, so its share of programs at exactly zero
   counts only programs that are *known* to be closed (visa, screens); programs whose facts
   are unknown keep a small probability. The share under 0.5% is shown as well.
2. **Overall match rate.** A synthetic cohort of non-US IMGs (spec in
   `params/probability.yaml`, centered on the typical applicant, specialty mix as NRMP's 2025
   non-US IMG matches, 50-150 applications each, 40% also applying to a second specialty)
   against NRMP's 58.0% (2025). NRMP counts only applicants who certified a rank list, so the
   comparable figure is sum P(match) / sum P(at least one interview); P(match) over everyone
   who applies is lower and is shown too.
3. **Difficulty order.** Per specialty, cohort applicants who apply to it alone (drawn around
   that specialty's typical applicant, 50-150 applications), ranked by match rate, against
   the groups the reference shows (IR hardest; DR, anesthesiology, surgery, PM&R hard; IM,
   FM, pediatrics, neurology most open). Specialties without their own reference interview
   rates (TY and the preliminary years) borrow another's and are flagged, not ranked.

Known limits: the cohort's spreads are judgement; the reference's interview rates are one
cycle (2024) from a third-party repository; the demo table is synthetic, so checks on it show
the model's internal consistency with the reference, not its accuracy on real programs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from analysis.config import load_params, reference_table
from analysis.data.reference import interview_fit, nrmp_specialties, typical_step2
from analysis.data.schemas import ApplicantProfile
from analysis.data.vocabulary import specialties
from analysis.model.probability import ApplicantArrays, chances_batch, model_for, specialty_scores

NRMP_NON_US_IMG_MATCH_RATE_2025 = 0.580
"""NRMP 2025: 6,653 of 11,465 active non-US-citizen IMGs matched (reference, grade B)."""

REFERENCE_DIFFICULTY = {
    "hardest": ("IR",),
    "hard": ("DR", "ANES", "GS", "PMR"),
    "most open": ("IM", "FM", "PEDS", "NEURO"),
}
"""Groups of specialties by difficulty for non-US IMGs, as the reference shows them: IR has
the most applicants per position (3.37); DR, PM&R and anesthesiology 2.4-2.8 and surgery's
PGY-1 seats are 6% non-US IMG; IM, FM, pediatrics and neurology have the largest non-US IMG
shares of PGY-1 seats (33%, 15%, 19%, 24%) and the fewest applicants per position (NRMP 2025)."""


def typical_applicant(specialty: str, visa_needed: str = "j1", applications: int = 100):
    """The typical applicant of a group and specialty (x = 0 in the probability model)."""
    typ = load_params("probability")["typical_applicant"]
    group = "us_img" if visa_needed == "none" else "non_us_img"
    return ApplicantProfile(
        applicant_id=f"typical-{specialty.lower()}",
        name=f"Typical applicant ({specialty})",
        visa_needed=visa_needed,
        graduation_year=2028 - int(typ["years_since_graduation"]),
        step2_score=round(typical_step2(specialty, group)),
        usce_months=float(typ["usce_months"]),
        us_letters={specialty: int(typ["us_letters"])},
        research={"publications": int(typ["publications"])},
        target_specialties=[specialty],
        match_year=2028,
        applications={specialty: applications},
    )


def interview_rate_calibration(
    programs: Any, *, group: str = "non_us_img", as_of: dt.date | None = None
) -> pl.DataFrame:
    """Per specialty in the table: the typical applicant's p_interview vs the reference rates.

    Columns: specialty, programs, model_mean, ref_mean, model_median, ref_median,
    model_share_zero, model_share_below_0_5pct, ref_share_zero, calibrated.
    """
    model = model_for(programs, as_of=as_of)
    visa = "none" if group == "us_img" else "j1"
    rows = []
    for s in model.specialties():
        person = typical_applicant(s, visa)
        arrays = ApplicantArrays.from_profiles([person])
        sc = specialty_scores(model, arrays, s, visa)
        p = sc.p[0]
        fit = interview_fit(s, group)
        rows.append(
            {
                "specialty": s,
                "programs": int(p.size),
                "model_mean": float(p.mean()),
                "ref_mean": fit.ref_mean,
                "model_median": float(np.median(p)),
                "ref_median": fit.ref_median,
                "model_share_zero": float((p == 0).mean()),
                "model_share_below_0_5pct": float((p < 0.005).mean()),
                "ref_share_zero": fit.share_zero,
                "calibrated": fit.calibrated,
            }
        )
    return pl.DataFrame(rows)


def calibration_cohort(
    size: int | None = None,
    seed: int | None = None,
    *,
    specialty: str | None = None,
    second_specialty_share: float | None = None,
) -> list[ApplicantProfile]:
    """Synthetic non-US IMG applicants as specified in `params/probability.yaml`.

    With `specialty`, every applicant's first choice is that specialty (for per-specialty
    difficulty); `second_specialty_share` overrides the share who also apply to a second.
    """
    spec = load_params("probability")["calibration_cohort"]
    size = int(size or spec["size"])
    rng = np.random.default_rng(spec["seed"] if seed is None else seed)
    nrmp = nrmp_specialties()
    assumed = spec["assumed_non_us_share_pct"]
    codes = list(spec["second_specialty"])
    weights = np.array(
        [
            nrmp[s]["positions"] * (nrmp[s]["pgy1_share_non_us_img_pct"] or assumed[s]) / 100
            for s in codes
        ]
    )
    weights = weights / weights.sum()

    def choice(table: dict, n: int) -> np.ndarray:
        keys = list(table)
        return np.array(keys)[rng.choice(len(keys), size=n, p=np.array(list(table.values())))]

    first = np.array(codes)[rng.choice(len(codes), size=size, p=weights)]
    if specialty is not None:
        first = np.full(size, specialty)
    visa = choice(spec["visa"], size)
    step2_noise = rng.normal(0, spec["step2_sd"], size)
    usce = choice(spec["usce_months"], size).astype(float)
    letters = choice(spec["letters"], size).astype(int)
    pubs = rng.poisson(spec["publications_mean"], size)
    attempts = choice(spec["attempts"], size).astype(int)
    lo, hi = spec["years_since_graduation"]
    years = rng.integers(lo, hi + 1, size)
    step3 = rng.random(size) < np.where(
        visa == "h1b", spec["step3_share"]["h1b"], spec["step3_share"]["other"]
    )
    share = (
        spec["second_specialty_share"] if second_specialty_share is None else second_specialty_share
    )
    second = rng.random(size) < share
    a_lo, a_hi = spec["applications"]
    apps = rng.integers(a_lo, a_hi + 1, (size, 2))
    people = []
    for i in range(size):  # builds profiles once; the scoring itself is vectorized
        s = str(first[i])
        targets = [s] + (
            [spec["second_specialty"][s]] if second[i] and s in spec["second_specialty"] else []
        )
        people.append(
            ApplicantProfile(
                applicant_id=f"cohort-{i:05d}",
                name=f"Cohort applicant {i}",
                visa_needed=str(visa[i]),
                graduation_year=2028 - int(years[i]),
                step2_score=int(
                    np.clip(round(typical_step2(s, "non_us_img") + step2_noise[i]), 190, 290)
                ),
                step1_attempts=int(attempts[i]),
                usce_months=float(usce[i]),
                us_letters={s: int(letters[i])},
                research={"publications": int(pubs[i])},
                step3_passed=bool(step3[i]),
                target_specialties=targets,
                match_year=2028,
                applications={t: int(apps[i, k]) for k, t in enumerate(targets)},
            )
        )
    return people


def match_rate_calibration(
    programs: Any, *, size: int | None = None, seed: int | None = None, as_of: dt.date | None = None
) -> tuple[pl.DataFrame, dict[str, float]]:
    """The cohort's match rate overall and by first-choice specialty, vs NRMP's 58%.

    Returns (by specialty frame, summary dict with `p_match_all_applicants`,
    `match_rate_certified` (NRMP's denominator), `nrmp_2025`, `applicants`).
    """
    people = calibration_cohort(size, seed)
    batch = chances_batch(people, programs, as_of=as_of)
    first = {p.applicant_id: p.target_specialties[0] for p in people}
    per = (
        batch.group_by("applicant_id")
        .agg(
            pl.col("p_match_any").first(),
            (1.0 - (1.0 - pl.col("p_any_interview")).product()).alias("p_certify"),
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
    summary = {
        "applicants": float(per.height),
        "p_match_all_applicants": float(per["p_match_any"].mean()),
        "match_rate_certified": float(per["p_match_any"].sum() / per["p_certify"].sum()),
        "nrmp_2025": NRMP_NON_US_IMG_MATCH_RATE_2025,
    }
    return by_specialty, summary


def difficulty_order(
    programs: Any, *, per_specialty: int = 300, as_of: dt.date | None = None
) -> pl.DataFrame:
    """Each specialty's match rate for non-US IMGs who apply to it alone, hardest first.

    For every specialty in the table, `per_specialty` applicants drawn as the calibration
    cohort (their own specialty's typical level and spreads, 50-150 applications, one
    specialty only), scored in one batch. Columns: specialty, name, applicants, p_match
    (mean over all who apply), match_rate_certified (NRMP's denominator), expected_interviews,
    rank (1 = hardest), reference_group (`REFERENCE_DIFFICULTY`, or null), calibrated.
    """
    model = model_for(programs, as_of=as_of)
    people = []
    for k, s in enumerate(model.specialties()):
        people += [
            p.model_copy(update={"applicant_id": f"{s}-{p.applicant_id}"})
            for p in calibration_cohort(per_specialty, seed=1000 + k, specialty=s,
                                        second_specialty_share=0.0)
        ]  # fmt: skip
    batch = chances_batch(people, model)
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


def calibration_long(programs: Any, *, as_of: dt.date | None = None) -> pl.DataFrame:
    """Interview-rate calibration in long form for charts: specialty, metric, model, reference."""
    wide = interview_rate_calibration(programs, as_of=as_of).filter(pl.col("calibrated"))
    metrics = (
        ("mean interview rate", "model_mean", "ref_mean"),
        ("median interview rate", "model_median", "ref_median"),
        ("share of programs at zero", "model_share_below_0_5pct", "ref_share_zero"),
    )
    parts = [
        wide.select("specialty", metric=pl.lit(label), model=model, reference=reference)
        for label, model, reference in metrics
    ]
    return pl.concat(parts)


def match_rates_reference() -> pl.DataFrame:
    """NRMP match rates by applicant type and year (reference, with source and grade)."""
    return reference_table("nrmp_match_rates")
