"""Interview and match probability, dual applying, how many to apply to.

A documented heuristic anchored on public figures (data/reference), not a model fitted to
outcomes; its parameters and their sources are in `params/probability.yaml` and
`params/population.yaml`.

**Interview probability** of applicant a (group g: non-US or US IMG, by citizenship) at
program p of specialty s::

    p_interview = screens(a, p) * E[pass unknown screens](a, p) * P(open_v(p))
                  * E_e[ sigmoid(alpha_sg + tau_sg u_p + x_a - f v_a + r_ap + e) ]

- *screens* are hard zeros with a reason: visa known not sponsored, military program for a
  non-citizen, published Step 2 CK minimum, graduation cutoff, required USCE, most attempts.
  Unknown rules are applied in expectation (`analysis.model.population`).
- *x_a* is the applicant's standing against the mean of their population (group and
  specialty; `analysis.model.population`): Step 2 CK against the population's level, hands-on
  USCE (observerships at a fraction), US letters, research, attempts, years since
  graduation, Step 3, each effect with a central value and a range.
- *alpha_sg, tau_sg* anchor the population: its average chance over the reference
  distribution of programs equals the published mean interview rate of the group in the
  specialty (`data/reference/interview_rates_by_specialty.csv`).
- *u_p, P(open)*: the program's openness and the chance it interviews such applicants at
  all, from its observed rate when known (placed so the population reproduces it) or its
  facts (`analysis.model.program_side`); the unexplained spread e is integrated out with the
  probit approximation E[sigmoid(m + e)] ~ sigmoid(m / sqrt(1 + pi v / 8)).
- *f v_a*: needing a visa costs `visa_friction` log-odds at programs that sponsor it, and
  unknown sponsorship lowers P(open); needing no visa never lowers a chance. An H-1B need
  without Step 3 costs more at H-1B programs.
- *r_ap*: an away rotation at the program (and it adds a US letter in its specialty).
- *signals* (optional, `signals=`): a program signal adds its tier's log-odds to the
  integrated log-odds where the program can consider the applicant, below the ceiling
  screens(a, p) * E[pass unknown screens] * P(open) that it never raises
  (`analysis.model.signals`); a signaled program is always on the list applied to.

**Match probability** per specialty: the number of interviews K is Poisson-binomial over the
programs applied to (the n best-fit eligible programs, highest p_interview first), computed
exactly (a vectorized product tree, truncated where the match curve has saturated). The
chance of matching with k interviews is g_s(k) = p_max (1 - (1 - q_s)^k), shaped by NRMP's
curves and applicants per position, its scale fitted so that the population's cohort
reproduces NRMP's non-US IMG match rate (`analysis.model.calibration`). P(match) =
sum_k P(K = k) g_s(k) = p_max (1 - prod_i (1 - q_s p_i)) (the generating function of K; a test
checks the identity).

**Interval** (80%): P(match) with the standing shifted by -/+ 1.28 sd_a at every program,
sd_a from the ranges of the effects weighted by how far the applicant sits from the
population's mean on each (plus the Step 2 CK level and the anchor's own uncertainty), so a
profile far from the centre gets a wider interval. P(match) is monotone in the shift.

**Dual applying**: specialties in preference order on one rank list; with independence given
the applicant, P(match in s_i) = P_i prod_{j<i} (1 - P_j) and P(match anywhere) = 1 - prod
(1 - P_i). ERAS fee tiers reset for each specialty (fees.csv).

**Denominators**: NRMP's match rates count only applicants who certified a rank list, so the
comparable figure for a cohort is sum P(match) / sum P(at least one interview).

Known limits: effect sizes are rules of thumb from the advising guides with judgement ranges;
the reference interview rates are one ERAS cycle from a third-party repository (grade C);
programs are treated as deciding independently given the applicant; geography, letters'
quality, interview performance and couples matching are not modelled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

from analysis.config import load_params
from analysis.data.reference import fee_schedule, match_curve
from analysis.data.schemas import ApplicantProfile, canonical_programs
from analysis.data.vocabulary import VISA_NEEDS
from analysis.model.population import (
    ApplicantArrays,
    anchor,
    friction,
    letter_specialties,
    letter_weight,
    standing,
    standing_sd,
)
from analysis.model.population import effect_params as population_effects
from analysis.model.population import group_of as population_group_of
from analysis.model.program_side import (
    ProgramFeatures,
    ProgramSide,
    build_side,
    features_for,
    screen_pass,
)
from analysis.model.signals import effect_logits, signal_map

__all__ = [
    "SCREENS",
    "ApplicantArrays",
    "MatchChances",
    "MatchModel",
    "SpecialtyScores",
    "application_curve",
    "best_rotation",
    "default_applications",
    "first_backup",
    "interview_chances",
    "letter_specialties",
    "letter_weight",
    "match_chances",
    "model_for",
    "poisson_binomial_pmf",
    "specialty_scores",
]

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


def group_of(visa_needed: str, citizenship: str | None = None) -> str:
    """Reference group by citizenship ('us_img' or 'non_us_img'; see `population.group_of`)."""
    return population_group_of(citizenship, visa_needed)


# --------------------------------------------------------------------------- program side


class MatchModel:
    """A program table prepared for fast interview and match probabilities.

    Build once per table (openness is placed once; P(open) and the scored table are cached
    per visa need), then ask for chances of any number of applicants. The module-level
    functions (`match_chances`...) keep a small cache of models keyed by table, so repeated
    calls are fast too.
    """

    def __init__(self, programs: Any, *, as_of: dt.date | None = None) -> None:
        self.programs = canonical_programs(programs)
        self.as_of = as_of or dt.date.today()
        self._side: ProgramSide | None = None
        self._features: dict[str, ProgramFeatures] = {}

    @property
    def side(self) -> ProgramSide:
        """The visa-independent program arrays (openness placed once per table)."""
        if self._side is None:
            self._side = build_side(self.programs, self.as_of)
        return self._side

    def features(self, visa_needed: str) -> ProgramFeatures:
        """Program arrays for a visa need (cached)."""
        if visa_needed not in VISA_NEEDS:
            raise ValueError(f"visa_needed must be one of {VISA_NEEDS}")
        if visa_needed not in self._features:
            self._features[visa_needed] = features_for(
                self.side, self.programs, visa_needed, self.as_of
            )
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
    half_ceiling: np.ndarray | None = None  # half the ceiling, as the computation keeps it

    @property
    def ceiling(self) -> np.ndarray | None:
        """(applicants, programs) chance the program considers the applicant at all (passes
        the unknown screens and interviews the group): the ceiling a signal cannot raise."""
        return None if self.half_ceiling is None else 2.0 * self.half_ceiling


def _with_letters(arrays: ApplicantArrays, specialty: str, extra: np.ndarray) -> ApplicantArrays:
    """A copy of `arrays` with `extra` US letters in `specialty` per applicant."""
    letters = dict(arrays.letters)
    letters[specialty] = letters.get(specialty, np.zeros(len(arrays))) + extra
    return dataclasses.replace(arrays, letters=letters)


def _screen_bits(
    feat: ProgramFeatures, rows: np.ndarray, arrays: ApplicantArrays, visa: str
) -> tuple[np.ndarray, np.ndarray]:
    """(screen bit flags, expected pass of unknown rules): applicants x programs; 0 = eligible.

    Visa depends only on the program (the applicants share one visa need); a military
    program closes to non-citizens; the published rules are compared where known.
    """
    side = feat.side
    bits, expected = screen_pass(
        arrays, {k: v[rows] for k, v in side.thresholds.items()}, feat_specialty(side, rows)
    )
    bits |= (feat.visa_closed[rows] & (visa != "none")).astype(np.uint8)[None, :]
    non_citizen = (arrays.group == "non_us_img") | (visa != "none")
    bits |= (np.multiply.outer(non_citizen, side.military[rows])).astype(np.uint8) << 1
    return bits, expected


def feat_specialty(side: ProgramSide, rows: np.ndarray) -> str:
    """The specialty of a block of rows (blocks are always one specialty)."""
    return str(side.specialty[rows[0]]) if rows.size else "IM"


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
    signals: Mapping[int, Mapping[str, str]] | None = None,
) -> SpecialtyScores:
    """p_interview (and the interval ends) for applicants `idx` sharing one visa need.

    `rotations` maps an applicant position (in `idx`) to program ids with an away rotation;
    `extra_letters` adds US letters in this specialty per applicant (planned rotations);
    `intervals=False` skips the interval ends (they are then the central estimate);
    `signals` maps an applicant position to {program_id: tier} (gold, silver, single): each
    adds its log-odds effect where the program can consider the applicant
    (`analysis.model.signals`; the interval ends use the effect's low and high values).
    """
    feat = model.features(visa_needed)
    rows = feat.specialty_rows.get(specialty, np.array([], dtype=int))
    sub = arrays.subset(np.arange(len(arrays)) if idx is None else idx)
    if extra_letters is not None:
        sub = _with_letters(sub, specialty, extra_letters)
    z, step = _logits(feat, rows, sub, specialty, visa_needed, rotations, intervals, dtype)
    bits, expected = _screen_bits(feat, rows, sub, visa_needed)
    weight = np.where(bits == 0, (expected * feat.p_open[rows][None, :]).astype(dtype), dtype(0))
    weight *= 0.5
    level = float(params()["uncertainty"]["level"])
    zq = NormalDist().inv_cdf(0.5 + level / 2)
    boost = _signal_logits(feat, rows, z.shape, signals, rotations, intervals, dtype)

    def prob(offset: float) -> np.ndarray:
        t = z + (offset * zq) * step if offset else z.copy()
        if boost is not None:
            t += boost[{0.0: "central", -1.0: "low", 1.0: "high"}[offset]]
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
        calibrated=bool(anchor(specialty, "non_us_img").calibrated),
        half_ceiling=weight,
    )


def _signal_logits(
    feat: ProgramFeatures,
    rows: np.ndarray,
    shape: tuple[int, ...],
    signals: Mapping[int, Mapping[str, str]] | None,
    rotations: Mapping[int, set[str]] | None,
    intervals: bool,
    dtype: Any,
) -> dict[str, np.ndarray] | None:
    """Log-odds added by the applicants' signals, per end of the effect's range (None: none)."""
    if not signals or not any(signals.values()):
        return None
    ids = feat.ids[rows]
    levels = ("central", "low", "high") if intervals else ("central",)
    out = {level: np.zeros(shape, dtype=dtype) for level in levels}
    for i, chosen in signals.items():
        if not chosen:
            continue
        rotated = np.isin(ids, list((rotations or {}).get(i, ())))
        for level in levels:
            out[level][i] = effect_logits(ids, chosen, rotated=rotated, level=level)
    if not intervals:
        out["low"] = out["high"] = out["central"]
    return out


def _logits(
    feat: ProgramFeatures,
    rows: np.ndarray,
    sub: ApplicantArrays,
    specialty: str,
    visa: str,
    rotations: dict[int, set[str]] | None,
    intervals: bool,
    dtype: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """(z, step): integrated log-odds and the interval's shift per unit (applicants x programs)."""
    e = population_effects()
    side = feat.side
    x = standing(sub, specialty)
    sd = standing_sd(sub, specialty) if intervals else np.zeros(len(sub))
    cost, _ = friction()
    x = x - cost * (visa != "none")
    z = np.empty((len(sub), rows.size), dtype=dtype)
    step = np.empty_like(z)
    inv = np.empty_like(z)
    for g in np.unique(sub.group):
        mine = sub.group == g
        a = anchor(specialty, str(g))
        explained = side.explained[str(g)][rows]
        inv_den = 1.0 / np.sqrt(1.0 + math.pi * a.tau**2 * (1.0 - explained) / 8.0)
        base = (a.intercept + a.tau * side.u[str(g)][rows]) * inv_den
        z[mine] = base[None, :] + np.multiply.outer(x[mine], inv_den)
        step[mine] = np.multiply.outer(sd[mine], inv_den)
        inv[mine] = inv_den[None, :]
    if visa in ("h1b", "either"):
        penalty = float(e["step3"]["h1b_without_step3"])
        at = np.ones(rows.size, dtype=bool) if visa == "h1b" else feat.h1b_only[rows]
        z -= np.multiply.outer(~sub.step3, at) * penalty * inv
    if rotations:
        bonus = float(e["rotation_at_program"]["logodds"])
        lo, hi = e["rotation_at_program"]["range"]
        spread = (hi - lo) / (2 * NormalDist().inv_cdf(0.5 + params()["uncertainty"]["level"] / 2))
        local = {pid: j for j, pid in enumerate(side.ids[rows].tolist())}
        sd_full = np.broadcast_to(sd[:, None], z.shape)
        for i, pids in rotations.items():
            cols = [local[pid] for pid in pids if pid in local]
            if cols:
                z[i, cols] += bonus * inv[i, cols]
                if intervals:
                    step[i, cols] = np.sqrt(sd_full[i, cols] ** 2 + spread**2) * inv[i, cols]
    return z, step


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
    signals: Any = None,
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
        signals: program signals ({program_id: tier}, or the profile's `signals`); each
            raises P(interview) where the program can consider the applicant
            (`analysis.model.signals`), and a signaled program is always applied to. None:
            no signals, not even the profile's.
    """
    model = model_for(programs, as_of=as_of)
    specs = list(specialties) if specialties is not None else _profile_specialties(applicant)
    request = _make_request(applicant, model, specs, rotations, signals, applications, curve)
    parts = [_specialty_chances(request, s, rank) for rank, s in enumerate(specs, start=1)]
    table = pl.DataFrame([row for row, _, _ in parts], schema_overrides=_ROW_TYPES)
    table, any_mid, any_lo, any_hi = _combine(table)
    curves = [c for _, _, c in parts if c is not None]
    return MatchChances(
        applicant_id=applicant.applicant_id,
        specialties=table,
        p_match_any=any_mid,
        p_match_any_low=any_lo,
        p_match_any_high=any_hi,
        total_cost_usd=_total_cost(table),
        interviews=pl.concat([pmf for _, pmf, _ in parts]) if parts else pl.DataFrame(),
        curves=pl.concat(curves, how="vertical_relaxed") if curves else _EMPTY_CURVE,
    )


_ROW_TYPES = {
    "recommended_applications": pl.Int64,
    "recommended_cost_usd": pl.Float64,
    "diminishing_returns_applications": pl.Int64,
}
_EMPTY_CURVE = pl.DataFrame(
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


@dataclass
class _Request:
    """What every specialty of one `match_chances` call shares."""

    model: MatchModel
    arrays: ApplicantArrays
    visa: str
    rotated: set[str]
    signaled: dict[str, str]
    letters: dict[str, float]  # extra US letters per specialty from planned rotations
    wanted: dict[str, int]
    curve: bool


def _make_request(
    applicant: ApplicantProfile,
    model: MatchModel,
    specs: Sequence[str],
    rotations: Iterable[str],
    signals: Any,
    applications: dict[str, int] | None,
    curve: bool,
) -> _Request:
    """The shared inputs: rotated programs (completed and planned), the planned rotations'
    letters per specialty, the signals and the applications wanted."""
    feat = model.features(applicant.visa_needed)
    planned = list(dict.fromkeys(rotations))
    rotated = {r.program_id for r in applicant.completed_rotations if r.program_id} | set(planned)
    planned_specialties = [
        feat.table["specialty"][feat.row_of[pid]] for pid in planned if pid in feat.row_of
    ]
    return _Request(
        model=model,
        arrays=ApplicantArrays.from_profiles([applicant]),
        visa=applicant.visa_needed,
        rotated=rotated,
        signaled=signal_map(signals),
        letters={s: sum(letter_weight(s, r) for r in planned_specialties) for s in specs},
        wanted={**applicant.applications, **(applications or {})},
        curve=curve,
    )


def _scores(request: _Request, s: str) -> SpecialtyScores:
    """The applicant's interview chances at one specialty's programs, as the request says."""
    return specialty_scores(
        request.model,
        request.arrays,
        s,
        request.visa,
        rotations={0: request.rotated} if request.rotated else None,
        extra_letters=np.array([request.letters.get(s, 0)], dtype=float),
        signals={0: request.signaled} if request.signaled else None,
    )


def _specialty_chances(
    request: _Request, s: str, preference: int
) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame | None]:
    """(the specialty's row, its interview pmf, its application curve or None)."""
    feat = request.model.features(request.visa)
    scores = _scores(request, s)
    mc = match_curve(s)
    eligible_mask = scores.screen_bits[0] == 0
    eligible = int(eligible_mask.sum()) if scores.rows.size else 0
    n_req = int(request.wanted.get(s, default_applications(s)))
    n = min(n_req, eligible)
    # rotated and signaled programs are always applied to, then the best-fit ones
    ids = feat.ids[scores.rows]
    forced = np.isin(ids, [*request.rotated, *request.signaled]) & eligible_mask
    order = np.lexsort((ids, -(scores.p[0] + np.where(forced, 2.0, 0.0))))
    chosen = order[:n]
    stack = np.stack([scores.p[0, chosen], scores.p_low[0, chosen], scores.p_high[0, chosen]])
    pmf = poisson_binomial_pmf(stack, mc.k_max)
    pm, lo, hi = (pmf * mc.p_match_given(np.arange(mc.k_max + 1))).sum(axis=-1)
    curve, rec, dim = None, None, None
    if request.curve and eligible:
        curve, rec, dim = _application_curve(scores, order, eligible, mc, s)
    fees = fee_schedule()
    row = {
        "specialty": s,
        "preference": preference,
        "applications": n,
        "applications_requested": n_req,
        "eligible_programs": eligible,
        "programs_in_table": int(scores.rows.size),
        "expected_interviews": float(stack[0].sum()),
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
    interviews = np.arange(mc.k_max + 1)
    pmf_frame = pl.DataFrame({"specialty": s, "interviews": interviews, "probability": pmf[0]})
    return row, pmf_frame, curve


def _application_curve(
    scores: SpecialtyScores, order: np.ndarray, eligible: int, mc: Any, s: str
) -> tuple[pl.DataFrame, int | None, int | None]:
    """P(match) against the number of best-fit programs, with the recommended counts."""
    tparams = params()["applications"]
    fees = fee_schedule()
    ordered = scores.p[0, order[: min(eligible, tparams["max_curve"])]]
    c_mid = _curve_from_sorted(ordered, mc.q, mc.p_max)
    rec, dim = _recommend(
        c_mid, tparams["target"], tparams["min_gain_per_10"], tparams["realistic_floor"]
    )
    c_lo = _curve_from_sorted(np.sort(scores.p_low[0])[::-1][: ordered.size], mc.q, mc.p_max)
    c_hi = _curve_from_sorted(np.sort(scores.p_high[0])[::-1][: ordered.size], mc.q, mc.p_max)
    napps = np.arange(1, ordered.size + 1)
    curve = pl.DataFrame(
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
    return curve, rec, dim


def _total_cost(table: pl.DataFrame) -> float:
    """ERAS fees of every specialty, the transcript, NRMP registration and extra ranks."""
    fees = fee_schedule()
    expected_ranks = float(table["expected_interviews"].sum()) if table.height else 0.0
    extra_ranks = max(0.0, math.ceil(expected_ranks) - fees.nrmp_included_ranks)
    eras = float(table["eras_cost_usd"].sum()) if table.height else 0.0
    return (
        eras
        + fees.transcript_usd
        + fees.nrmp_registration_usd
        + extra_ranks * fees.nrmp_extra_rank_usd
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
    signals: Any = None,
) -> pl.DataFrame:
    """Per program of the applicant's specialties: eligibility, screen reason, p_interview.

    Columns: program_id, program_name, specialty, city, state, program_type, img_friendliness,
    tier, confidence, stale, eligible, screen_reason, screen_kinds (the kinds of screen that
    close the program, keys of `SCREENS` in their order; empty when eligible), p_interview,
    p_interview_low, p_interview_high, rotation, p_considered (the chance the program
    considers the applicant at all: the ceiling a signal cannot raise), signal (the tier
    given, or null). Sorted by specialty preference, then p_interview (highest first).

    `signals` ({program_id: tier}, or the profile's `signals`) raise p_interview as in
    `match_chances`; None: no signals.
    """
    model = model_for(programs, as_of=as_of)
    specs = list(specialties) if specialties is not None else _profile_specialties(applicant)
    request = _make_request(applicant, model, specs, rotations, signals, None, False)
    frames = [_program_rows(request, s, rank) for rank, s in enumerate(specs, start=1)]
    frames = [f for f in frames if f is not None]
    if not frames:
        return pl.DataFrame()
    out = pl.concat(frames).with_columns(
        eligible=pl.col("screen_bits") == 0,
        screen_reason=_screen_reason_expr(applicant),
        screen_kinds=_screen_kinds_expr(),
    )
    thresholds = ("min_step2_score", "yog_cutoff_years", "usce_required_months", "max_attempts")
    return out.drop("screen_bits", "closed_reason", *thresholds).sort(
        ["preference", "p_interview", "program_id"], descending=[False, True, False]
    )


_PROGRAM_COLUMNS = (
    "program_id", "program_name", "specialty", "city", "state", "program_type",
    "img_friendliness", "tier", "confidence", "stale", "closed_reason",
    "min_step2_score", "yog_cutoff_years", "usce_required_months", "max_attempts",
)  # fmt: skip


def _program_rows(request: _Request, s: str, rank: int) -> pl.DataFrame | None:
    """One specialty's programs with the applicant's chances there (None: no program)."""
    feat = request.model.features(request.visa)
    sc = _scores(request, s)
    if sc.rows.size == 0:
        return None
    ids = feat.ids[sc.rows]
    return (
        feat.table[sc.rows.tolist()]
        .select(_PROGRAM_COLUMNS)
        .with_columns(
            preference=pl.lit(rank),
            screen_bits=pl.Series(sc.screen_bits[0]),
            p_interview=pl.Series(sc.p[0]),
            p_interview_low=pl.Series(sc.p_low[0]),
            p_interview_high=pl.Series(sc.p_high[0]),
            rotation=pl.Series(np.isin(ids, list(request.rotated))),
            p_considered=pl.Series(sc.ceiling[0]),
            signal=pl.Series([request.signaled.get(pid) for pid in ids.tolist()], dtype=pl.String),
        )
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


def _screen_kinds_expr() -> pl.Expr:
    """The kinds of screen that close each program: `SCREENS` keys in their order."""
    kinds = [
        pl.when((pl.col("screen_bits") & (1 << bit)) > 0).then(pl.lit(key)).otherwise(None)
        for bit, (key, _) in enumerate(SCREENS)
    ]
    return pl.concat_list(kinds).list.drop_nulls()


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
    ok = (sc.screen_bits[0] == 0) & (feat.side.accepts_visitors[sc.rows] != 0)
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
