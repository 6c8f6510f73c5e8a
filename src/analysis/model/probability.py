"""Interview and match probability, dual applying, how many to apply to, what-if levers.

A documented heuristic calibrated to public figures (data/reference), not a model fitted to
outcomes; its parameters and their sources are in `params/probability.yaml`.

**Interview probability** for applicant a and program p of specialty s, applicant group g
(non-US IMG when a visa is needed, US IMG otherwise)::

    p_interview = eligible * P(open)
                  * E[ sigmoid(mu_sg + tau_sg u_p + (1 + kappa sel_p) x_as + r_ap + e) ]

- *eligible* is 0 when a hard screen applies, with the reason: visa known not sponsored,
  Step 2 CK under the program's minimum, graduation older than its cutoff, less hands-on USCE
  than it requires, more attempts than it allows, a military program for a non-citizen.
- (mu_sg, tau_sg) and the share of programs at zero come from the reference distribution of
  per-program interview rates of group g in specialty s (`analysis.reference`): logit(rate)
  ~ Normal(mu, tau) among programs that interview the group at all. Those rates average over
  each program's applicants, so for one typical applicant both are scaled by
  c = sqrt(1 + pi s^2/8), s = 0.95 the spread of applicants' standing (else the typical
  applicant would inherit the strong minority's interviews).
- *P(open)*: a program that interviews the group at all. For visa-needing applicants,
  P(sponsors the visa) (1 if known, the discounted prior if unknown) times
  min(1, open share / population sponsorship share); for US IMGs the open share. A known
  observed rate settles it: > 0 means open, 0 leaves `zero_open_probability`.
- *u_p*, the program's standardized openness: from its observed non-US IMG interview rate
  when known, u = 0.9 (logit(rate) - mu)/tau; otherwise from its facts (IMG shares, screens,
  program type; `friendliness.openness`), u = rho * z with rho = 0.8. The share of the
  program spread not explained by known facts is integrated out (e ~ Normal(0, tau^2 (1 -
  explained))) with the probit approximation E[sigmoid(m + e)] ~ sigmoid(m / sqrt(1 + pi v/8)).
- *x_as*, the applicant's standing against a typical applicant of the group and specialty
  (x = 0 reproduces the reference distribution): Step 2 CK against the specialty's typical
  level (0.06 log-odds a point, half above +15), hands-on USCE (observerships at 0.3), US
  letters in the specialty, research, attempts, years since graduation, Step 3; an H-1B need
  without Step 3 costs 1.5 at H-1B-only programs. Strength counts more at selective programs:
  sel_p = 1 - friendliness/100, kappa = 0.5.
- *r_ap* = 1.5 at a program where the applicant did (or plans) an away rotation.

**Match probability** per specialty: the number of interviews K is Poisson-binomial over the
programs applied to (the n best-fit eligible programs, highest p_interview first). Its pmf is
computed exactly (a vectorized product tree of the per-program polynomials, truncated at k_max
where the match curve has saturated, the tail in one bin). The chance of matching with k
interviews is the saturating curve g_s(k) = p_max (1 - (1 - q_s)^k), anchored on NRMP's IMG
figure (~85% with 13 ranks in IM) and scaled by applicants per position. P(match) = sum_k
P(K = k) g_s(k). Because g_s is geometric, the same sum equals p_max (1 - prod_i (1 - q_s
p_i)) (the generating function of K): the application curves use that closed form, and a
test checks the identity.

**Interval**: P(match) at the applicant's log-odds standing shifted by -/+ 1.28 sd (sd 0.5),
the same shift at every program: an 80% interval for model uncertainty. P(match) is
monotone in the shift, so p_match_low <= p_match <= p_match_high.

**Dual applying**: specialties in preference order on one rank list; with independence given
the applicant, P(match in s_i) = P_i prod_{j<i} (1 - P_j) and P(match anywhere) = 1 - prod
(1 - P_i). ERAS fee tiers reset for each specialty (fees.csv).

**Denominators**: NRMP's match rates (58% for non-US IMGs in 2025) count only applicants who
certified a rank list, so P(match) here is for an applicant who ranks every interview.

Known limits: effect sizes are rules of thumb from the advising guides; the reference
interview rates are one ERAS cycle from a third-party repository (grade C); programs are
treated as deciding independently given the applicant; signals, geography, letters' quality,
interview performance and couples matching are not modelled.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

from analysis.config import load_params
from analysis.data.reference import fee_schedule, interview_fit, match_curve, typical_step2
from analysis.data.schemas import ApplicantProfile, canonical_programs
from analysis.data.vocabulary import VISA_NEEDS
from analysis.model.friendliness import component_frame, openness, specialty_priors

# Screen reasons, as bit flags (vectorized), in the order they are reported.
SCREENS = (
    ("visa", "does not sponsor the visa needed"),
    ("military", "military program: US citizens only"),
    ("step2", "Step 2 CK under the program's minimum"),
    ("graduation", "graduated longer ago than the program's cutoff"),
    ("usce", "less US clinical experience than required"),
    ("attempts", "more USMLE attempts than the program allows"),
)


def params() -> dict[str, Any]:
    """The documented probability parameters (`params/probability.yaml`)."""
    return load_params("probability")


def group_of(visa_needed: str) -> str:
    """Reference group: 'us_img' when no visa is needed, else 'non_us_img'."""
    return "us_img" if visa_needed == "none" else "non_us_img"


# --------------------------------------------------------------------------- program side


@dataclass
class ProgramFeatures:
    """Per-program arrays for one visa need, aligned with `table` rows (sorted by id)."""

    visa_needed: str
    table: pl.DataFrame
    ids: np.ndarray
    specialty_rows: dict[str, np.ndarray]
    u: np.ndarray
    explained: np.ndarray
    p_open_nonus: np.ndarray
    p_open_us: np.ndarray
    selectivity: np.ndarray
    visa_closed: np.ndarray
    military: np.ndarray
    min_step2: np.ndarray
    yog_cutoff: np.ndarray
    usce_required: np.ndarray
    max_attempts: np.ndarray
    h1b_only: np.ndarray
    accepts_visitors: np.ndarray  # 1 yes, 0 no, nan unknown
    row_of: dict[str, int] = field(default_factory=dict)


def _program_features(table: pl.DataFrame, visa_needed: str, as_of: dt.date) -> ProgramFeatures:
    p = params()
    obs = p["observed_rate"]
    frame = openness(component_frame(table, visa_needed, as_of=as_of)).sort("program_id")
    spec = frame["specialty"].to_numpy()
    rate = frame["non_us_img_interview_rate"].to_numpy().astype(float)
    rate_known = ~np.isnan(rate)
    mu = np.array([interview_fit(s, "non_us_img").mu for s in spec])
    tau = np.array([interview_fit(s, "non_us_img").tau for s in spec])
    lo, hi = obs["clip"]
    observed_u = (
        obs["reliability"]
        * (np.log(np.clip(rate, lo, hi) / (1 - np.clip(rate, lo, hi))) - mu)
        / tau
    )
    rho = float(p["program_reliability"])
    facts_u = rho * frame["openness_z"].to_numpy()
    facts_explained = rho**2 * frame["facts_known_share"].to_numpy()
    positive = rate_known & (rate > 0)
    u = np.where(positive, observed_u, facts_u)
    explained = np.where(positive, obs["reliability"] ** 2, facts_explained)

    # Population share of programs sponsoring J-1 in each specialty (prior, undiscounted).
    priors = specialty_priors()
    pri = load_params("friendliness")["priors"]
    mix_family = pri["program_type_family"]
    by_type = pri["im_sponsorship_by_type"]
    pop_sponsor = {}
    for row in priors.iter_rows(named=True):
        code = row["specialty"]
        family = mix_family.get(code, mix_family["default"])
        mix = pri["program_type_mix"].get(code, pri["program_type_mix"][family])
        share = sum(float(w) * by_type[t]["j1"] for t, w in mix.items())
        pop_sponsor[code] = min(1.0, share * row["sponsorship_level"])
    open_nonus = np.array([interview_fit(s, "non_us_img").open_share for s in spec])
    open_us = np.array([interview_fit(s, "us_img").open_share for s in spec])
    pop = np.array([max(pop_sponsor[s], 1e-6) for s in spec])
    closure = np.minimum(1.0, open_nonus / pop)
    p_sponsor = frame["p_sponsors_needed"].to_numpy()
    zero = rate_known & (rate <= 0)
    p_open_nonus = np.where(
        positive,
        p_sponsor,
        np.where(zero, obs["zero_open_probability"] * p_sponsor, closure * p_sponsor),
    )
    p_open_us = np.where(
        positive, 1.0, np.where(zero, obs["zero_us_img_factor"] * open_us, open_us)
    )
    j1_false = frame["sponsors_j1"].eq(False).fill_null(False).to_numpy()

    def arr(column: str) -> np.ndarray:
        return frame[column].cast(pl.Float64).to_numpy()

    ids = frame["program_id"].to_numpy()
    return ProgramFeatures(
        visa_needed=visa_needed,
        table=frame,
        ids=ids,
        specialty_rows={s: np.flatnonzero(spec == s) for s in np.unique(spec)},
        u=u,
        explained=np.clip(explained, 0.0, 1.0),
        p_open_nonus=np.clip(p_open_nonus, 0.0, 1.0),
        p_open_us=np.clip(p_open_us, 0.0, 1.0),
        selectivity=np.clip(1.0 - frame["img_friendliness"].to_numpy() / 100.0, 0.0, 1.0),
        visa_closed=(
            frame["closed"].to_numpy()
            & ~(frame["program_type"] == "military").fill_null(False).to_numpy()
        ),
        military=(frame["program_type"] == "military").fill_null(False).to_numpy(),
        min_step2=arr("min_step2_score"),
        yog_cutoff=arr("yog_cutoff_years"),
        usce_required=arr("usce_required_months"),
        max_attempts=arr("max_attempts"),
        h1b_only=j1_false,
        accepts_visitors=arr("accepts_img_visiting_students"),
        row_of={pid: i for i, pid in enumerate(ids.tolist())},
    )


class MatchModel:
    """A program table prepared for fast interview and match probabilities.

    Build once per table (scoring and feature arrays are cached per visa need), then ask for
    chances of any number of applicants. The module-level functions (`match_chances`...)
    keep a small cache of models keyed by table, so repeated calls are fast too.
    """

    def __init__(self, programs: Any, *, as_of: dt.date | None = None) -> None:
        self.programs = canonical_programs(programs)
        self.as_of = as_of or dt.date.today()
        self._features: dict[str, ProgramFeatures] = {}

    def features(self, visa_needed: str) -> ProgramFeatures:
        """Program arrays for a visa need (cached)."""
        if visa_needed not in VISA_NEEDS:
            raise ValueError(f"visa_needed must be one of {VISA_NEEDS}")
        if visa_needed not in self._features:
            self._features[visa_needed] = _program_features(self.programs, visa_needed, self.as_of)
        return self._features[visa_needed]

    def specialties(self) -> list[str]:
        """Specialties present in the table."""
        return sorted(self.programs["specialty"].unique().to_list())


_MODEL_CACHE: list[tuple[Any, Any, MatchModel]] = []


def model_for(programs: Any, *, as_of: dt.date | None = None) -> MatchModel:
    """A `MatchModel` for a table, reused while the same table object (and date) is passed."""
    if isinstance(programs, MatchModel):
        return programs
    for ref, key_date, model in _MODEL_CACHE:
        target = ref() if isinstance(ref, weakref.ref) else ref
        if target is programs and key_date == as_of:
            return model
    model = MatchModel(programs, as_of=as_of)
    try:
        ref: Any = weakref.ref(programs)
    except TypeError:
        ref = programs
    _MODEL_CACHE.append((ref, as_of, model))
    del _MODEL_CACHE[:-4]
    return model


# --------------------------------------------------------------------------- applicant side


@dataclass
class ApplicantArrays:
    """Applicant facts as numpy arrays (one entry per applicant), for vectorized scoring."""

    ids: list[str]
    visa_needed: np.ndarray
    step2: np.ndarray
    usce: np.ndarray
    observership: np.ndarray
    publications: np.ndarray
    first_author: np.ndarray
    posters: np.ndarray
    attempts: np.ndarray
    years_since_graduation: np.ndarray
    step3: np.ndarray
    letters: dict[str, np.ndarray]

    @classmethod
    def from_profiles(cls, profiles: Sequence[ApplicantProfile]) -> ApplicantArrays:
        """Stack profiles (the per-applicant loop here is over applicants, outside hot paths)."""
        letters: dict[str, np.ndarray] = {}
        for i, a in enumerate(profiles):
            for s, n in a.us_letters.items():
                letters.setdefault(s, np.zeros(len(profiles)))[i] = n
        return cls(
            ids=[a.applicant_id for a in profiles],
            visa_needed=np.array([a.visa_needed for a in profiles]),
            step2=np.array([a.step2_for_model for a in profiles], dtype=float),
            usce=np.array([a.usce_months for a in profiles], dtype=float),
            observership=np.array([a.observership_months for a in profiles], dtype=float),
            publications=np.array([a.research.publications for a in profiles], dtype=float),
            first_author=np.array([a.research.first_author for a in profiles], dtype=float),
            posters=np.array([a.research.posters for a in profiles], dtype=float),
            attempts=np.array([a.max_attempts for a in profiles], dtype=float),
            years_since_graduation=np.array(
                [a.years_since_graduation() for a in profiles], dtype=float
            ),
            step3=np.array([a.step3_passed for a in profiles], dtype=bool),
            letters=letters,
        )

    def letters_in(self, specialty: str) -> np.ndarray:
        """US letters that count for a specialty per applicant (related ones at their weight)."""
        total = np.zeros(len(self.ids))
        for s in letter_specialties(specialty):
            total = total + letter_weight(specialty, s) * self.letters.get(s, 0.0)
        return total


def letter_specialties(specialty: str) -> tuple[str, ...]:
    """The specialty and those whose letters count for it (probability.yaml `letters.related`)."""
    related = params()["letters"].get("related", {}).get(specialty, [])
    return (specialty, *related)


def letter_weight(for_specialty: str, letter_specialty: str) -> float:
    """How much a letter in `letter_specialty` counts for `for_specialty` (1, related, or 0)."""
    if letter_specialty == for_specialty:
        return 1.0
    if letter_specialty in letter_specialties(for_specialty):
        return float(params()["letters"].get("related_weight", 1.0))
    return 0.0


def _letters_value(n: np.ndarray) -> np.ndarray:
    """Cumulative log-odds of n letters (piecewise linear in n, flat past the last marginal)."""
    cumulative = np.cumsum([0.0, *params()["letters"]["marginal"]])
    return np.interp(np.asarray(n, dtype=float), np.arange(cumulative.size), cumulative)


def applicant_standing(arrays: ApplicantArrays, specialty: str, group: str) -> np.ndarray:
    """x_as: log-odds of the applicants' standing against a typical applicant (vector)."""
    p = params()
    typ = p["typical_applicant"]
    s2 = p["step2"]
    d = arrays.step2 - typical_step2(specialty, group)
    knee = s2["knee_points"]
    step2 = s2["per_point"] * np.where(d <= knee, d, knee + (d - knee) * s2["above_knee_factor"])
    u = p["usce"]
    months = arrays.usce + u["observership_weight"] * arrays.observership
    usce = u["coef"] * (
        np.exp(-typ["usce_months"] / u["scale_months"]) - np.exp(-months / u["scale_months"])
    )
    letters = _letters_value(arrays.letters_in(specialty)) - _letters_value(
        np.array(typ["us_letters"])
    )
    r = p["research"]
    coef = r["coef_competitive"] if specialty in r["competitive"] else r["coef"]
    research = coef * (
        np.log1p(arrays.publications + arrays.first_author + 0.5 * arrays.posters)
        - math.log1p(typ["publications"])
    )
    a = p["attempts"]
    extra = np.maximum(arrays.attempts - typ["attempts"], 0)
    attempts = -np.where(extra > 0, a["first_extra"] + a["each_more"] * (extra - 1), 0.0)
    g = p["graduation"]
    graduation = -g["per_year"] * (
        np.maximum(arrays.years_since_graduation - g["free_years"], 0)
        - max(typ["years_since_graduation"] - g["free_years"], 0)
    )
    step3 = np.where(arrays.step3, p["step3"]["bonus"], 0.0)
    return step2 + usce + letters + research + attempts + graduation + step3


# --------------------------------------------------------------------------- core arrays


@dataclass
class SpecialtyScores:
    """Interview probabilities of a set of applicants (rows) at a specialty's programs."""

    specialty: str
    rows: np.ndarray  # program rows in the features table
    p: np.ndarray  # (applicants, programs) central estimate
    p_low: np.ndarray
    p_high: np.ndarray
    screen_bits: np.ndarray  # (applicants, programs) uint8 bit flags; 0 = eligible
    calibrated: bool


def _screens(
    feat: ProgramFeatures, rows: np.ndarray, arrays: ApplicantArrays, idx: np.ndarray, visa: str
) -> np.ndarray:
    """Screen bit flags (applicants x programs; 0 = eligible), computed sparsely.

    Visa and military screens depend only on the program (the applicants share one visa
    need); the others are compared only at programs that publish the rule.
    """
    needs_visa = visa != "none"
    column_bits = (feat.visa_closed[rows] & needs_visa).astype(np.uint8) | (
        (feat.military[rows] & needs_visa).astype(np.uint8) << 1
    )
    bits = np.broadcast_to(column_bits, (len(idx), len(rows))).copy()
    rules = (
        (2, arrays.step2, feat.min_step2, np.less),
        (3, arrays.years_since_graduation, feat.yog_cutoff, np.greater),
        (4, arrays.usce, feat.usce_required, np.less),
        (5, arrays.attempts, feat.max_attempts, np.greater),
    )
    for bit, applicant_value, threshold, compare in rules:
        limits = threshold[rows]
        cols = np.flatnonzero(~np.isnan(limits))
        if cols.size:
            hit = compare(applicant_value[idx][:, None], limits[cols][None, :])
            bits[:, cols] |= hit.astype(np.uint8) << bit
    return bits


def specialty_scores(
    model: MatchModel,
    arrays: ApplicantArrays,
    specialty: str,
    visa_needed: str,
    idx: np.ndarray | None = None,
    *,
    rotations: dict[int, set[str]] | None = None,
    extra_letters: np.ndarray | None = None,
    intervals: bool = True,
    dtype: Any = np.float64,
) -> SpecialtyScores:
    """p_interview (and the interval ends) for applicants `idx` sharing one visa need.

    `rotations` maps an applicant position (in `idx`) to program ids with an away rotation;
    `extra_letters` adds US letters in this specialty per applicant (planned rotations);
    `intervals=False` skips the interval ends (they are then the central estimate).
    """
    p = params()
    feat = model.features(visa_needed)
    rows = feat.specialty_rows.get(specialty, np.array([], dtype=int))
    idx = np.arange(len(arrays.ids)) if idx is None else idx
    group = group_of(visa_needed)
    fit = interview_fit(specialty, group)
    x = applicant_standing(arrays, specialty, group)[idx]
    if extra_letters is not None:
        base_letters = arrays.letters_in(specialty)[idx]
        x = x + _letters_value(base_letters + extra_letters) - _letters_value(base_letters)
    kappa = float(p["selectivity_interaction"])
    scale = 1.0 + kappa * feat.selectivity[rows]
    residual = (fit.applicant_tau**2) * (1.0 - feat.explained[rows])
    inv_denom = 1.0 / np.sqrt(1.0 + math.pi * residual / 8.0)
    # z = (mu + tau u + scale x) / denom, built in place (one A x N array)
    z = np.multiply.outer(x.astype(dtype), (scale * inv_denom).astype(dtype))
    z += ((fit.applicant_mu + fit.applicant_tau * feat.u[rows]) * inv_denom).astype(dtype)[None, :]
    if visa_needed in ("h1b", "either"):
        no_step3 = ~arrays.step3[idx]
        penalty = float(p["step3"]["h1b_without_step3"])
        at = np.ones(len(rows), dtype=bool) if visa_needed == "h1b" else feat.h1b_only[rows]
        z -= np.multiply.outer(no_step3, at * penalty * inv_denom)
    if rotations:
        bonus = float(p["rotation_at_program"])
        local = {pid: j for j, pid in enumerate(feat.ids[rows].tolist())}
        for i, pids in rotations.items():
            cols = [local[pid] for pid in pids if pid in local]
            if cols:
                z[i, cols] += bonus * inv_denom[cols]
    bits = _screens(feat, rows, arrays, idx, visa_needed)
    p_open = (feat.p_open_us if group == "us_img" else feat.p_open_nonus)[rows]
    weight = np.where(bits == 0, (0.5 * p_open).astype(dtype)[None, :], dtype(0.0))
    shift = (
        NormalDist().inv_cdf(0.5 + p["uncertainty"]["level"] / 2) * p["uncertainty"]["logodds_sd"]
    )
    step = (scale * inv_denom * shift).astype(dtype)

    def prob(offset: float) -> np.ndarray:
        t = z + (offset * step)[None, :] if offset else z.copy()
        t *= 0.5
        np.tanh(t, out=t)
        t += 1.0
        t *= weight
        return t

    central = prob(0.0)
    return SpecialtyScores(
        specialty=specialty,
        rows=rows,
        p=central,
        p_low=prob(-1.0) if intervals else central,
        p_high=prob(1.0) if intervals else central,
        screen_bits=bits,
        calibrated=fit.calibrated,
    )


def poisson_binomial_pmf(p: np.ndarray, k_max: int) -> np.ndarray:
    """Exact pmf of the number of successes of independent Bernoulli(p) along the last axis.

    Vectorized over leading axes by a product tree of the polynomials (1 - p_i + p_i x):
    log2(n) levels, each multiplying neighbouring polynomials pairwise for every applicant at
    once (a direct convolution: a loop over the at most k_max + 1 coefficients, never over
    programs), truncated at degree `k_max` with the probability of `k_max` or more kept in the
    last bin (the head is exact: the tail never feeds lower degrees). Returns shape
    (..., k_max + 1).
    """
    p = np.asarray(p)
    dtype = np.float32 if p.dtype == np.float32 else np.float64  # float32 for big batches
    p = np.clip(p.astype(dtype, copy=False), 0.0, 1.0)
    lead = p.shape[:-1]
    width = k_max + 1
    if width == 1 or p.shape[-1] == 0:
        out = np.zeros((*lead, width), dtype=dtype)
        out[..., 0] = 1.0
        return out
    poly = np.stack([1.0 - p, p], axis=-1)
    while poly.shape[-2] > 1:
        if poly.shape[-2] % 2:
            one = np.zeros((*lead, 1, poly.shape[-1]), dtype=dtype)
            one[..., 0, 0] = 1.0
            poly = np.concatenate([poly, one], axis=-2)
        a = poly[..., 0::2, :]
        b = poly[..., 1::2, :]
        full = a.shape[-1] + b.shape[-1] - 1
        out_width = min(full, width)
        out = np.zeros((*a.shape[:-1], out_width), dtype=dtype)
        for i in range(min(a.shape[-1], out_width)):
            m = min(b.shape[-1], out_width - i)
            out[..., i : i + m] += a[..., i : i + 1] * b[..., :m]
        if full > width:
            out[..., width - 1] = np.clip(1.0 - out[..., : width - 1].sum(axis=-1), 0.0, 1.0)
        poly = out
    pmf = poly[..., 0, :]
    if pmf.shape[-1] < width:
        pmf = np.concatenate([pmf, np.zeros((*lead, width - pmf.shape[-1]), dtype=dtype)], axis=-1)
    return pmf


def default_applications(specialty: str) -> int:
    """Programs assumed per specialty when the applicant does not say (probability.yaml)."""
    a = params()["applications"]
    return int(a["by_specialty"].get(specialty, a["default"]))


# --------------------------------------------------------------------------- outputs


@dataclass
class MatchChances:
    """An applicant's chances: per specialty, overall, and the interview distributions."""

    applicant_id: str
    specialties: pl.DataFrame
    p_match_any: float
    p_match_any_low: float
    p_match_any_high: float
    total_cost_usd: float
    interviews: pl.DataFrame
    curves: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `imgmatch chances --json` (more keys than required)."""
        rows = []
        for r in self.specialties.iter_rows(named=True):
            rows.append(
                {
                    "specialty": r["specialty"],
                    "preference": r["preference"],
                    "applications": r["applications"],
                    "eligible_programs": r["eligible_programs"],
                    "expected_interviews": round(r["expected_interviews"], 2),
                    "p_match": round(r["p_match"], 3),
                    "p_match_low": round(r["p_match_low"], 3),
                    "p_match_high": round(r["p_match_high"], 3),
                    "p_match_in": round(r["p_match_in"], 3),
                    "recommended_applications": r["recommended_applications"],
                    "diminishing_returns_applications": r["diminishing_returns_applications"],
                    "eras_cost_usd": round(r["eras_cost_usd"], 2),
                    "calibrated": r["calibrated"],
                }
            )
        return {
            "applicant_id": self.applicant_id,
            "p_match_any": round(self.p_match_any, 3),
            "p_match_any_low": round(self.p_match_any_low, 3),
            "p_match_any_high": round(self.p_match_any_high, 3),
            "total_cost_usd": round(self.total_cost_usd, 2),
            "specialties": rows,
        }


def _curve_from_sorted(p_sorted: np.ndarray, curve_q: float, p_max: float) -> np.ndarray:
    """P(match) for the first n programs, n = 1..N (generating-function closed form)."""
    survival = np.cumprod(1.0 - curve_q * p_sorted, axis=-1)
    return p_max * (1.0 - survival)


def _recommend(
    curve: np.ndarray, target: float, min_gain: float, floor: float = 0.05
) -> tuple[int | None, int | None]:
    """(smallest n reaching target, the point of diminishing returns) for a 1-D curve.

    The point of diminishing returns is the smallest n >= 10 from which 10 more programs add
    less than `min_gain`, once P(match) has reached `floor`; None when the curve never reaches
    `floor` (the specialty is out of reach: every program adds almost nothing).
    """
    n_max = curve.shape[-1]
    reach = np.flatnonzero(curve >= target)
    recommended = int(reach[0]) + 1 if reach.size else None
    if n_max == 0 or curve[-1] < floor:
        return recommended, None
    ahead = np.concatenate([curve[10:], np.full(min(10, n_max), curve[-1])])[:n_max]
    n = np.arange(1, n_max + 1)
    flat = np.flatnonzero((ahead - curve < min_gain) & (curve >= floor) & (n >= 10))
    diminishing = int(flat[0]) + 1 if flat.size else n_max
    return recommended, diminishing


def _profile_specialties(applicant: ApplicantProfile, extra: Sequence[str] = ()) -> list[str]:
    out = list(applicant.target_specialties)
    out += [s for s in extra if s not in out]
    return out


def match_chances(
    applicant: ApplicantProfile,
    programs: Any,
    *,
    specialties: Sequence[str] | None = None,
    applications: dict[str, int] | None = None,
    rotations: Iterable[str] = (),
    as_of: dt.date | None = None,
    curve: bool = True,
) -> MatchChances:
    """Per-specialty and overall match chances of one applicant, with intervals and costs.

    Args:
        applicant: the profile.
        programs: a program table (or a prepared `MatchModel`).
        specialties: specialties in rank-list order (default: the profile's targets).
        applications: programs per specialty (default: the profile's, then probability.yaml).
        rotations: program ids of *planned* away rotations (each adds the rotation bonus
            there and one US letter in its specialty); completed rotations with a program id
            in the profile count automatically.
        as_of: date for staleness of facts (default today).
        curve: also compute the application curves (how many to apply to).
    """
    model = model_for(programs, as_of=as_of)
    specs = list(specialties) if specialties is not None else _profile_specialties(applicant)
    arrays = ApplicantArrays.from_profiles([applicant])
    visa = applicant.visa_needed
    feat = model.features(visa)
    planned = list(dict.fromkeys(rotations))
    rotated = {r.program_id for r in applicant.completed_rotations if r.program_id} | set(planned)
    planned_specialties = [
        feat.table["specialty"][feat.row_of[pid]] for pid in planned if pid in feat.row_of
    ]
    planned_letters = {s: sum(letter_weight(s, r) for r in planned_specialties) for s in specs}
    wanted = {**applicant.applications, **(applications or {})}
    fees = fee_schedule()
    tparams = params()["applications"]
    rows, pmfs, curves = [], [], []
    for preference, s in enumerate(specs, start=1):
        scores = specialty_scores(
            model,
            arrays,
            s,
            visa,
            rotations={0: rotated} if rotated else None,
            extra_letters=np.array([planned_letters.get(s, 0)], dtype=float),
        )
        mc = match_curve(s)
        eligible = int((scores.screen_bits[0] == 0).sum()) if scores.rows.size else 0
        n_req = int(wanted.get(s, default_applications(s)))
        n = min(n_req, eligible)
        # rotated programs are always applied to
        forced = np.isin(feat.ids[scores.rows], list(rotated)) & (scores.screen_bits[0] == 0)
        boost = np.where(forced, 2.0, 0.0)
        order = np.lexsort((feat.ids[scores.rows], -(scores.p[0] + boost)))
        chosen = order[:n]
        stack = np.stack([scores.p[0, chosen], scores.p_low[0, chosen], scores.p_high[0, chosen]])
        pmf = poisson_binomial_pmf(stack, mc.k_max)
        g = mc.p_match_given(np.arange(mc.k_max + 1))
        pm, lo, hi = (pmf * g).sum(axis=-1)
        expected = float(stack[0].sum())
        rec, dim = None, None
        if curve and eligible:
            ordered = scores.p[0, order[: min(eligible, tparams["max_curve"])]]
            c_mid = _curve_from_sorted(ordered, mc.q, mc.p_max)
            rec, dim = _recommend(
                c_mid, tparams["target"], tparams["min_gain_per_10"], tparams["realistic_floor"]
            )
            c_lo = _curve_from_sorted(
                np.sort(scores.p_low[0])[::-1][: ordered.size], mc.q, mc.p_max
            )
            c_hi = _curve_from_sorted(
                np.sort(scores.p_high[0])[::-1][: ordered.size], mc.q, mc.p_max
            )
            napps = np.arange(1, ordered.size + 1)
            curves.append(
                pl.DataFrame(
                    {
                        "specialty": s,
                        "applications": napps,
                        "p_match": c_mid,
                        "p_match_low": np.minimum(c_lo, c_mid),
                        "p_match_high": np.maximum(c_hi, c_mid),
                        "eras_cost_usd": fees.eras_cost(napps),
                        "recommended": napps == (rec or -1),
                        "diminishing_returns": napps == (dim or -1),
                    }
                )
            )
        pmfs.append(
            pl.DataFrame(
                {"specialty": s, "interviews": np.arange(mc.k_max + 1), "probability": pmf[0]}
            )
        )
        rows.append(
            {
                "specialty": s,
                "preference": preference,
                "applications": n,
                "applications_requested": n_req,
                "eligible_programs": eligible,
                "programs_in_table": int(scores.rows.size),
                "expected_interviews": expected,
                "p_any_interview": float(1.0 - pmf[0, 0]),
                "p_match": float(pm),
                "p_match_low": float(min(lo, pm)),
                "p_match_high": float(max(hi, pm)),
                "recommended_applications": rec,
                "diminishing_returns_applications": dim,
                "eras_cost_usd": float(fees.eras_cost(n)),
                "recommended_cost_usd": float(fees.eras_cost(rec)) if rec else None,
                "calibrated": scores.calibrated,
            }
        )
    table = pl.DataFrame(
        rows,
        schema_overrides={
            "recommended_applications": pl.Int64,
            "recommended_cost_usd": pl.Float64,
            "diminishing_returns_applications": pl.Int64,
        },
    )
    table, any_mid, any_lo, any_hi = _combine(table)
    expected_ranks = float(table["expected_interviews"].sum()) if table.height else 0.0
    extra_ranks = max(0.0, math.ceil(expected_ranks) - fees.nrmp_included_ranks)
    total = (
        float(table["eras_cost_usd"].sum())
        + fees.transcript_usd
        + fees.nrmp_registration_usd
        + extra_ranks * fees.nrmp_extra_rank_usd
    )
    empty_curve = pl.DataFrame(
        schema={
            "specialty": pl.String,
            "applications": pl.Int64,
            "p_match": pl.Float64,
            "p_match_low": pl.Float64,
            "p_match_high": pl.Float64,
            "eras_cost_usd": pl.Float64,
            "recommended": pl.Boolean,
            "diminishing_returns": pl.Boolean,
        }
    )
    return MatchChances(
        applicant_id=applicant.applicant_id,
        specialties=table,
        p_match_any=any_mid,
        p_match_any_low=any_lo,
        p_match_any_high=any_hi,
        total_cost_usd=total,
        interviews=pl.concat(pmfs) if pmfs else pl.DataFrame(),
        curves=pl.concat(curves, how="vertical_relaxed") if curves else empty_curve,
    )


def _combine(table: pl.DataFrame) -> tuple[pl.DataFrame, float, float, float]:
    """Dual applying: P(match in each specialty) on one rank list, and P(match anywhere)."""
    if table.height == 0:
        return table.with_columns(p_match_in=pl.lit(0.0)), 0.0, 0.0, 0.0
    p = table["p_match"].to_numpy()
    before = np.concatenate([[1.0], np.cumprod(1.0 - p)[:-1]])
    table = table.with_columns(p_match_in=pl.Series(p * before))

    def any_of(col: str) -> float:
        return float(1.0 - np.prod(1.0 - table[col].to_numpy()))

    return table, any_of("p_match"), any_of("p_match_low"), any_of("p_match_high")


def interview_chances(
    applicant: ApplicantProfile,
    programs: Any,
    *,
    specialties: Sequence[str] | None = None,
    rotations: Iterable[str] = (),
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Per program of the applicant's specialties: eligibility, screen reason, p_interview.

    Columns: program_id, program_name, specialty, city, state, program_type, img_friendliness,
    tier, confidence, stale, eligible, screen_reason, p_interview, p_interview_low,
    p_interview_high, rotation. Sorted by specialty preference, then p_interview (highest
    first).
    """
    model = model_for(programs, as_of=as_of)
    specs = list(specialties) if specialties is not None else _profile_specialties(applicant)
    arrays = ApplicantArrays.from_profiles([applicant])
    feat = model.features(applicant.visa_needed)
    planned = list(rotations)
    rotated = {r.program_id for r in applicant.completed_rotations if r.program_id} | set(planned)
    frames = []
    for rank, s in enumerate(specs, start=1):
        letters = sum(
            letter_weight(s, feat.table["specialty"][feat.row_of[pid]])
            for pid in planned
            if pid in feat.row_of
        )
        sc = specialty_scores(
            model,
            arrays,
            s,
            applicant.visa_needed,
            rotations={0: rotated} if rotated else None,
            extra_letters=np.array([letters], dtype=float),
        )
        if sc.rows.size == 0:
            continue
        base = feat.table[sc.rows.tolist()].select(
            "program_id", "program_name", "specialty", "city", "state", "program_type",
            "img_friendliness", "tier", "confidence", "stale", "closed_reason",
            "min_step2_score", "yog_cutoff_years", "usce_required_months", "max_attempts",
        )  # fmt: skip
        frames.append(
            base.with_columns(
                preference=pl.lit(rank),
                screen_bits=pl.Series(sc.screen_bits[0]),
                p_interview=pl.Series(sc.p[0]),
                p_interview_low=pl.Series(sc.p_low[0]),
                p_interview_high=pl.Series(sc.p_high[0]),
                rotation=pl.Series(np.isin(feat.ids[sc.rows], list(rotated))),
            )
        )
    if not frames:
        return pl.DataFrame()
    out = pl.concat(frames)
    out = out.with_columns(
        eligible=pl.col("screen_bits") == 0,
        screen_reason=_screen_reason_expr(applicant),
    )
    thresholds = ("min_step2_score", "yog_cutoff_years", "usce_required_months", "max_attempts")
    return out.drop("screen_bits", "closed_reason", *thresholds).sort(
        ["preference", "p_interview", "program_id"], descending=[False, True, False]
    )


def _plural(n: float, unit: str) -> str:
    return f"{n:g} {unit}" + ("" if n == 1 else "s")


def _screen_reason_expr(applicant: ApplicantProfile) -> pl.Expr:
    """Why each screened-out program is closed, with the program's own threshold.

    Reasons are joined with "; " and contain no semicolon themselves.
    """
    years = applicant.years_since_graduation()
    texts = {
        "visa": pl.col("closed_reason"),
        "military": pl.lit("military program: US citizens only"),
        "step2": pl.format(
            "Step 2 CK {} under the program's minimum of {}",
            pl.lit(applicant.step2_for_model),
            pl.col("min_step2_score"),
        ),
        "graduation": pl.format(
            "graduated {} before the match, over the program's cutoff of {} years",
            pl.lit(_plural(years, "year")),
            pl.col("yog_cutoff_years"),
        ),
        "usce": pl.format(
            "{} of hands-on US clinical experience, under the {} months required",
            pl.lit(_plural(applicant.usce_months, "month")),
            pl.col("usce_required_months").round(1).cast(pl.String).str.replace(r"\.0$", ""),
        ),
        "attempts": pl.format(
            "{} on a USMLE Step, over the {} allowed",
            pl.lit(_plural(applicant.max_attempts, "attempt")),
            pl.col("max_attempts"),
        ),
    }
    parts = [
        pl.when((pl.col("screen_bits") & (1 << bit)) > 0).then(texts[key]).otherwise(None)
        for bit, (key, _) in enumerate(SCREENS)
    ]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True).replace("", None)


def application_curve(
    applicant: ApplicantProfile,
    programs: Any,
    *,
    specialties: Sequence[str] | None = None,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """P(match) and ERAS cost against the number of best-fit programs applied to.

    Columns: specialty, applications, p_match, p_match_low, p_match_high, eras_cost_usd,
    recommended, diminishing_returns (booleans marking those rows).
    """
    return match_chances(applicant, programs, specialties=specialties, as_of=as_of).curves


def what_if(
    applicant: ApplicantProfile,
    programs: Any,
    *,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """The change in P(match anywhere) from concrete actions, one row per lever.

    Levers: Step 2 CK +5 and +10, passing Step 3, one more US letter in the first choice,
    one more away rotation (at the program of the first choice where it helps most),
    20 more applications in each specialty, adding the first backup specialty.
    Columns: lever, label, baseline, p_match_any, delta, p_match_first, delta_first, note.
    """
    model = model_for(programs, as_of=as_of)
    base = match_chances(applicant, model, curve=False)
    first = applicant.target_specialties[0]
    base_first = float(base.specialties["p_match"][0])
    out = []

    def record(lever: str, label: str, chances: MatchChances | None, note: str = "") -> None:
        if chances is None:
            after, after_first = base.p_match_any, base_first
        else:
            after = chances.p_match_any
            after_first = float(
                chances.specialties.filter(pl.col("specialty") == first)["p_match"][0]
            )
        out.append(
            {
                "lever": lever,
                "label": label,
                "baseline": base.p_match_any,
                "p_match_any": after,
                "delta": after - base.p_match_any,
                "p_match_first": after_first,
                "delta_first": after_first - base_first,
                "note": note,
            }
        )

    for points in (5, 10):
        new = min(300, applicant.step2_for_model + points)
        variant = applicant.model_copy(update={"step2_score": new})
        record(
            f"step2_plus_{points}",
            f"Step 2 CK +{points}",
            match_chances(variant, model, curve=False),
            f"{applicant.step2_for_model} -> {new}",
        )
    if applicant.step3_passed:
        record("step3", "Pass Step 3", None, "already passed")
    else:
        variant = applicant.model_copy(update={"step3_passed": True})
        record(
            "step3",
            "Pass Step 3",
            match_chances(variant, model, curve=False),
            "needed for H-1B sponsorship" if applicant.visa_needed in ("h1b", "either") else "",
        )
    letters = dict(applicant.us_letters)
    letters[first] = letters.get(first, 0) + 1
    record(
        "letter",
        f"One more US letter ({first})",
        match_chances(applicant.model_copy(update={"us_letters": letters}), model, curve=False),
    )
    best = best_rotation(applicant, model)
    if best is None:
        record(
            "rotation",
            f"One more away rotation ({first})",
            None,
            "no program in the table takes IMG visiting students",
        )
    else:
        record(
            "rotation",
            f"One more away rotation ({first})",
            match_chances(applicant, model, rotations=[best], curve=False),
            f"at {best}",
        )
    more = {
        s: int(r) + 20
        for s, r in zip(
            base.specialties["specialty"], base.specialties["applications_requested"], strict=True
        )
    }
    record(
        "applications",
        "20 more applications per specialty",
        match_chances(applicant, model, applications=more, curve=False),
    )
    backup = first_backup(applicant, model)
    if backup is None:
        record("backup", "Add a backup specialty", None, "no adjacent specialty left in the table")
    else:
        record(
            "backup",
            f"Add {backup} as a backup",
            match_chances(
                applicant, model, specialties=[*applicant.target_specialties, backup], curve=False
            ),
            f"{backup} after {', '.join(applicant.target_specialties)}",
        )
    return pl.DataFrame(out)


def first_backup(applicant: ApplicantProfile, programs: Any) -> str | None:
    """The first specialty adjacent to the first choice not already targeted (backup.yaml)."""
    model = model_for(programs)
    adjacent = load_params("backup")["adjacent"]
    candidates = adjacent.get(applicant.target_specialties[0], adjacent["default"])
    present = set(model.specialties())
    for s in candidates:
        if s not in applicant.target_specialties and s in present:
            return s
    return None


def best_rotation(
    applicant: ApplicantProfile, programs: Any, specialty: str | None = None
) -> str | None:
    """The program where one more away rotation raises P(match) in `specialty` the most.

    Candidates take IMG visiting students (known yes, or unknown) and are not screened out;
    the gain of each is evaluated in one vectorized step with the generating-function form.
    """
    model = model_for(programs)
    specialty = specialty or applicant.target_specialties[0]
    feat = model.features(applicant.visa_needed)
    arrays = ApplicantArrays.from_profiles([applicant])
    rotated = {r.program_id for r in applicant.completed_rotations if r.program_id}
    sc = specialty_scores(
        model,
        arrays,
        specialty,
        applicant.visa_needed,
        rotations={0: rotated} if rotated else None,
        extra_letters=np.array([1.0]),
    )
    with_bonus = specialty_scores(
        model,
        arrays,
        specialty,
        applicant.visa_needed,
        rotations={0: set(feat.ids[sc.rows].tolist())},
        extra_letters=np.array([1.0]),
    )
    ok = (sc.screen_bits[0] == 0) & (feat.accepts_visitors[sc.rows] != 0)
    if not ok.any():
        return None
    mc = match_curve(specialty)
    n = min(
        int(applicant.applications.get(specialty, default_applications(specialty))),
        int(ok.sum()) + int(((sc.screen_bits[0] == 0) & ~ok).sum()),
    )
    p = sc.p[0]
    order = np.argsort(-p, kind="stable")
    applied = np.zeros(p.size, dtype=bool)
    applied[order[:n]] = True
    log_surv = np.log1p(-mc.q * p)
    base_sum = log_surv[applied].sum()
    # candidate j: replace its factor (or the weakest applied one if j was not applied)
    weakest = log_surv[order[n - 1]] if n > 0 else 0.0
    new_j = np.log1p(-mc.q * with_bonus.p[0])
    totals = np.where(applied, base_sum - log_surv + new_j, base_sum - weakest + new_j)
    totals = np.where(ok, totals, np.inf)
    best = int(np.argmin(totals))
    return str(feat.ids[sc.rows][best])


# --------------------------------------------------------------------------- batch


def chances_batch(
    applicants: Sequence[ApplicantProfile],
    programs: Any,
    *,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Chances of many applicants at once (vectorized by specialty and visa need).

    Same model and method as `match_chances`, in float32 (results agree to about 1e-6) and
    with one thread per core over the (specialty, visa need) groups.

    One row per (applicant, target specialty): applicant_id, specialty, preference,
    applications, eligible_programs, expected_interviews, p_match, p_match_low, p_match_high,
    p_match_in, eras_cost_usd, recommended_applications, and p_match_any (repeated per row).
    Completed rotations with a program id count; planned rotations are not modelled here.
    """
    model = model_for(programs, as_of=as_of)
    arrays = ApplicantArrays.from_profiles(applicants)
    tparams = params()["applications"]
    fees = fee_schedule()
    prefs: dict[tuple[int, str], int] = {}
    wanted: dict[tuple[int, str], int] = {}
    for i, a in enumerate(applicants):
        for rank, s in enumerate(a.target_specialties, start=1):
            prefs[(i, s)] = rank
            wanted[(i, s)] = int(a.applications.get(s, default_applications(s)))
    rotated = {
        i: {r.program_id for r in a.completed_rotations if r.program_id}
        for i, a in enumerate(applicants)
    }
    groups: dict[tuple[str, str], list[int]] = {}
    for i, s in prefs:
        groups.setdefault((s, str(arrays.visa_needed[i])), []).append(i)

    def score_group(key: tuple[str, str]) -> pl.DataFrame:
        s, visa = key
        idx = np.array(groups[key], dtype=int)
        mc = match_curve(s)
        g = mc.p_match_given(np.arange(mc.k_max + 1))
        rot = {k: rotated[i] for k, i in enumerate(idx) if rotated[i]}
        sc = specialty_scores(model, arrays, s, visa, idx, rotations=rot or None, dtype=np.float32)
        eligible = (sc.screen_bits == 0).sum(axis=1)
        n = np.minimum(np.array([wanted[(i, s)] for i in idx]), eligible)
        # best-fit first: programs by p_interview, highest first (ties give equal results)
        order = np.argsort(-sc.p, axis=1)
        ordered = np.take_along_axis(sc.p, order, axis=1)
        n_cols = max(int(n.max()), 1)
        applied = np.arange(n_cols)[None, :] < n[:, None]
        stacks = [
            np.where(applied, np.take_along_axis(mat, order[:, :n_cols], axis=1), np.float32(0))
            for mat in (sc.p, sc.p_low, sc.p_high)
        ]
        pmf = poisson_binomial_pmf(np.stack(stacks), mc.k_max)
        pm = (pmf * g).sum(axis=-1)
        curve_len = min(int(tparams["max_curve"]), sc.p.shape[1])
        curve = _curve_from_sorted(ordered[:, :curve_len], mc.q, mc.p_max)
        reach = curve >= tparams["target"]
        rec = np.where(reach.any(axis=1), reach.argmax(axis=1) + 1, -1)
        return pl.DataFrame(
            {
                "row": idx,
                "specialty": s,
                "applications": n,
                "eligible_programs": eligible,
                "expected_interviews": stacks[0].sum(axis=1),
                "p_any_interview": 1.0 - pmf[0, :, 0],
                "p_match": pm[0],
                "p_match_low": np.minimum(pm[1], pm[0]),
                "p_match_high": np.maximum(pm[2], pm[0]),
                "eras_cost_usd": fees.eras_cost(n),
                "recommended_applications": rec,
                "calibrated": sc.calibrated,
            }
        )

    # numpy releases the GIL in its array work: one thread per core over the groups
    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        frames = list(pool.map(score_group, sorted(groups, key=lambda k: -len(groups[k]))))
    if not frames:
        return pl.DataFrame()
    out = pl.concat(frames, how="vertical_relaxed")
    out = out.with_columns(
        applicant_id=pl.Series([arrays.ids[i] for i in out["row"].to_list()]),
        preference=pl.Series(
            [
                prefs[(i, s)]
                for i, s in zip(out["row"].to_list(), out["specialty"].to_list(), strict=True)
            ]
        ),
        recommended_applications=pl.when(pl.col("recommended_applications") > 0)
        .then(pl.col("recommended_applications"))
        .otherwise(None),
    ).sort(["row", "preference"])
    out = out.with_columns(
        p_match_in=pl.col("p_match")
        * (1.0 - pl.col("p_match")).cum_prod().shift(1, fill_value=1.0).over("row"),
        p_match_any=1.0 - (1.0 - pl.col("p_match")).product().over("row"),
    )
    return out.drop("row").select(
        "applicant_id", "specialty", "preference", "applications", "eligible_programs",
        "expected_interviews", "p_any_interview", "p_match", "p_match_low", "p_match_high",
        "p_match_in",
        "eras_cost_usd", "recommended_applications", "p_match_any", "calibrated",
    )  # fmt: skip


def interview_probability_matrix(
    applicants: Sequence[ApplicantProfile] | ApplicantArrays,
    programs: Any,
    *,
    as_of: dt.date | None = None,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """p_interview for every (applicant, program) pair: (matrix, program ids).

    Vectorized by specialty and visa need; memory is applicants x programs x 4 bytes.
    """
    model = model_for(programs, as_of=as_of)
    arrays = (
        applicants
        if isinstance(applicants, ApplicantArrays)
        else ApplicantArrays.from_profiles(applicants)
    )
    ids = model.features("j1").ids
    out = np.zeros((len(arrays.ids), ids.size), dtype=dtype)
    tasks = []
    for visa in VISA_NEEDS:
        idx = np.flatnonzero(arrays.visa_needed == visa)
        if idx.size:
            tasks += [(visa, s, idx) for s in model.features(visa).specialty_rows]

    def fill(task: tuple[str, str, np.ndarray]) -> None:
        visa, s, idx = task
        sc = specialty_scores(model, arrays, s, visa, idx, intervals=False, dtype=dtype)
        out[np.ix_(idx, sc.rows)] = sc.p  # disjoint blocks: safe across threads

    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        list(pool.map(fill, tasks))
    return out, ids


def _threads() -> int:
    """Worker threads for batch scoring: the machine's cores."""
    return max(1, os.cpu_count() or 1)
