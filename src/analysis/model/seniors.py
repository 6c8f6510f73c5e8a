"""US MD and DO seniors in the simulated Match: a simple profile and their interview chances.

The IMG model (`analysis.model.probability`) is about what sets IMGs apart: visas, US
clinical experience, US letters, screens that many programs apply to IMGs only. US seniors
all have core clerkships in US hospitals, US letters and no visa need, so their profile is
simpler (`params/market.yaml`, `seniors`):

- Step 2 CK ~ Normal(level, sd) within the population's floor and ceiling; the MD level is
  the 2024 US MD senior applicants' mean per specialty (`population.step2_level` with no
  offset), DO seniors `do_offset` points lower;
- publications and USMLE attempts from documented distributions; 12 months of US clinical
  experience, graduation this year, no visa.

**Interview probability** of senior a of type t at program p of specialty s::

    p = published screens(a, p) * open_t(p) * E_v[ sigmoid(alpha_ts + tau_ts v + x_a) ]

- *open_t(p)*: the program interviews seniors of the type at all; the share open is the
  reference's (1 - share of programs at zero), drawn once per program and market.
- *v* ~ Normal(0, 1), the program's spread for seniors, is integrated out (probit
  approximation, as the IMG model does for what it cannot see): a program table says nothing
  about how a program treats US seniors, so apart from published screens every program gives
  a senior the same chance. Where seniors go is set by the programs' desirability
  (`analysis.model.market`).
- *x_a* = beta_step2 h(Step 2 CK - level) + beta_research log(1 + publications) - attempt
  penalties, with the IMG model's effects (`params/probability.yaml`), centred on the seniors'
  population so its average member has x = 0.
- *alpha_ts, tau_ts*: tau from the quantiles of the reference's per-program interview rates of
  US MD (or DO) applicants (`interview_rates_by_specialty.csv`, the fit the IMG groups use,
  `analysis.data.reference`), widened for the population's spread; alpha solved so that the
  population's average chance over programs equals the reference mean rate.

Known limits: one Step 2 CK level per specialty and type (no school, class rank or home
program); the program draw for seniors is independent of the program's openness to IMGs
(no data joins them); DO seniors' COMLEX is not modelled, only Step 2 CK.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from analysis.config import load_params, reference_table
from analysis.data.reference import fit_rate_row, interview_fit, sigmoid
from analysis.data.vocabulary import specialties
from analysis.model.population import (
    ApplicantArrays,
    draw_step2,
    effect_params,
    effects,
    step2_level,
)
from analysis.model.program_side import ProgramSide

SENIOR_TYPES = ("us_md", "us_do")
"""The two US senior applicant types (NRMP's US MD seniors and DO seniors)."""

_REFERENCE_PREFIX = {"us_md": "md", "us_do": "do"}
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


def senior_params() -> dict[str, Any]:
    """The seniors' section of `params/market.yaml`."""
    return load_params("market")["seniors"]


def senior_level(specialty: str, kind: str, do_offset: float | None = None) -> float:
    """Mean Step 2 CK of the type's applicants to a specialty."""
    if kind not in SENIOR_TYPES:
        raise ValueError(f"kind must be one of {SENIOR_TYPES}, got {kind!r}")
    offset = 0.0
    if kind == "us_do":
        offset = float(senior_params()["do_offset"] if do_offset is None else do_offset)
    return step2_level(specialty, "non_us_img", offset=offset)


def _draw(rng: np.random.Generator, shares: dict[Any, float], n: int) -> np.ndarray:
    values = np.array([float(v) for v in shares], dtype=float)
    p = np.array(list(shares.values()), dtype=float)
    return values[rng.choice(values.size, size=n, p=p / p.sum())]


def sample_seniors(
    kind: str, specialty: str, size: int, seed: int | np.random.Generator
) -> ApplicantArrays:
    """`size` seniors of a type applying to a specialty (group = the type, no visa)."""
    rng = np.random.default_rng(seed)
    sp = senior_params()
    step2 = draw_step2(rng, senior_level(specialty, kind), size)
    return ApplicantArrays(
        ids=[f"{kind}-{specialty}-{i}" for i in range(size)],
        group=np.full(size, kind),
        visa_needed=np.full(size, "none"),
        step2=step2,
        usce=np.full(size, float(sp["usce_months"])),
        observership=np.zeros(size),
        publications=_draw(rng, sp["publications"], size),
        first_author=np.zeros(size),
        posters=np.zeros(size),
        attempts=_draw(rng, sp["attempts"], size),
        years_since_graduation=np.zeros(size),
        step3=np.zeros(size, dtype=bool),
        letters={},
    )


def raw_standing(arrays: ApplicantArrays, specialty: str, kind: str) -> np.ndarray:
    """Step 2 CK, research and attempts in log-odds, before centring on the population."""
    e = effect_params()
    beta = effects(specialty)
    d = arrays.step2 - senior_level(specialty, kind)
    knee = e["step2"]["knee_points"]
    h_step2 = np.where(d <= knee, d, knee + (d - knee) * e["step2"]["above_knee_factor"])
    extra = np.maximum(arrays.attempts - 1, 0)
    return (
        beta["step2"][0] * h_step2
        + beta["research"][0] * np.log1p(arrays.publications)
        + beta["attempts_first"][0] * (extra > 0)
        + beta["attempts_more"][0] * np.maximum(extra - 1, 0)
    )


@dataclass(frozen=True)
class SeniorAnchor:
    """The seniors' interview model for one specialty and type."""

    specialty: str
    kind: str
    open_share: float  # share of programs that interview the type at all
    intercept: float  # alpha_ts
    tau: float  # program spread on a person's scale
    mean_standing: float  # population mean of raw_standing (subtracted)
    ref_mean: float
    calibrated: bool  # False when a stand-in specialty's reference row is used


def _reference_row(specialty: str) -> tuple[dict[str, Any], bool]:
    """The interview-rate reference row of a specialty (or of its stand-in)."""
    fit = interview_fit(specialty, "non_us_img")
    label = specialties()[fit.source_specialty].interview_ref
    table = reference_table("interview_rates_by_specialty")
    rows = {r["specialty"]: r for r in table.iter_rows(named=True)}
    return rows[label], fit.calibrated


@functools.cache
def senior_anchor(specialty: str, kind: str) -> SeniorAnchor:
    """Fit and anchor the seniors' interview model (cached; see the module docstring)."""
    prefix = _REFERENCE_PREFIX[kind]
    row, calibrated = _reference_row(specialty)
    z0, _, tau = fit_rate_row(row, prefix, float(load_params("probability")["default_tau"]))
    sp = senior_params()
    sample = sample_seniors(kind, specialty, int(sp["sample_size"]), int(sp["sample_seed"]))
    raw = raw_standing(sample, specialty, kind)
    x = raw - raw.mean()
    spread = float(x.std())
    tau_a = tau * math.sqrt(1.0 + math.pi * spread**2 / 8.0)
    open_share = 1.0 - z0
    ref_mean = float(row[f"{prefix}_mean"])
    target = min(ref_mean / max(open_share, 1e-6), 0.95)
    xq = np.quantile(x, (np.arange(200) + 0.5) / 200)
    lo, hi = -15.0, 8.0
    for _ in range(60):  # bisection: the mean is increasing in the intercept
        mid = 0.5 * (lo + hi)
        value = float(
            (sigmoid(mid + tau_a * _GH_NODES[:, None] + xq[None, :]) * _GH_WEIGHTS[:, None]).sum()
            / xq.size
        )
        lo, hi = (mid, hi) if value < target else (lo, mid)
    return SeniorAnchor(
        specialty=specialty,
        kind=kind,
        open_share=open_share,
        intercept=0.5 * (lo + hi),
        tau=tau_a,
        mean_standing=float(raw.mean()),
        ref_mean=ref_mean,
        calibrated=calibrated,
    )


def senior_chance(arrays: ApplicantArrays, specialty: str, kind: str) -> np.ndarray:
    """Each senior's p_interview at an open program that does not screen them out (the same
    at every such program: the program spread is integrated out)."""
    a = senior_anchor(specialty, kind)
    x = raw_standing(arrays, specialty, kind) - a.mean_standing
    return sigmoid((a.intercept + x) / math.sqrt(1.0 + math.pi * a.tau**2 / 8.0))


_SCREENS = (  # (threshold, applicant field, the applicant fails when value < limit)
    ("step2", "step2", True),
    ("yog", "years_since_graduation", False),
    ("usce", "usce", True),
    ("attempts", "attempts", False),
)


def senior_scores(
    side: ProgramSide, arrays: ApplicantArrays, specialty: str, kind: str
) -> np.ndarray:
    """p_interview at open programs: applicants x the specialty's programs (float32).

    Whether a program is open to the type is drawn by the caller (`SeniorAnchor.open_share`).
    """
    rows = side.specialty_rows[specialty]
    chance = senior_chance(arrays, specialty, kind).astype(np.float32)
    p = np.repeat(chance[:, None], rows.size, axis=1)
    for rule, field_name, below in _SCREENS:  # published screens apply to everyone
        limit = side.thresholds[rule][rows]
        known = np.flatnonzero(np.isfinite(limit))
        if known.size:
            value = getattr(arrays, field_name)[:, None]
            hit = value < limit[known][None, :] if below else value > limit[known][None, :]
            block = p[:, known]
            block[hit] = 0.0
            p[:, known] = block
    return p


def senior_applications(
    side: ProgramSide,
    arrays: ApplicantArrays,
    specialty: str,
    kind: str,
    target: np.ndarray,
    bounds: tuple[int, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, p at an open program) of the programs each senior applies to.

    A senior's chance is the same at every program that does not screen them out, so
    "best fit with targeting noise" is a uniformly random choice among those programs; the
    number is what makes the expected interviews reach `target` (chance x the share of
    programs open to the type per application), within `bounds`. Drawn directly (distinct
    programs by rejection, numba) instead of scoring every program: the same distribution,
    at a cost proportional to the applications.
    """
    rows = side.specialty_rows[specialty]
    chance = senior_chance(arrays, specialty, kind)
    per_application = chance * senior_anchor(specialty, kind).open_share
    wanted = np.ceil(np.asarray(target, dtype=float) / np.maximum(per_application, 1e-9))
    low, high = bounds[0], min(bounds[1], rows.size)
    wanted = np.clip(wanted, min(low, high), high).astype(np.int64)
    limits = np.stack([side.thresholds[rule][rows] for rule, _, _ in _SCREENS])
    values = np.stack([getattr(arrays, name).astype(float) for _, name, _ in _SCREENS])
    below = np.array([b for _, _, b in _SCREENS])
    r, c = _sample_eligible(wanted, limits, values, below, int(rng.integers(2**31 - 1)))
    return r, c, chance[r].astype(np.float32)


@njit(cache=True, nogil=True)
def _sample_eligible(
    wanted: np.ndarray, limits: np.ndarray, values: np.ndarray, below: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, `wanted[row]` distinct columns drawn uniformly among those the row passes
    (`limits[k, col]` nan = no rule; fails when value < limit if `below[k]`, else >)."""
    np.random.seed(seed)
    n, m = wanted.shape[0], limits.shape[1]
    out_rows = np.empty(int(wanted.sum()), np.int64)
    out_cols = np.empty(int(wanted.sum()), np.int64)
    eligible = np.empty(m, np.int64)
    count = 0
    for i in range(n):
        k = 0
        for j in range(m):
            ok = True
            for rule in range(limits.shape[0]):
                limit = limits[rule, j]
                fails = values[rule, i] < limit if below[rule] else values[rule, i] > limit
                if limit == limit and fails:  # a known rule (not nan) that screens out
                    ok = False
            if ok:
                eligible[k] = j
                k += 1
        take = min(wanted[i], k)
        for t in range(take):  # partial Fisher-Yates over the eligible columns
            pick = t + np.random.randint(0, k - t)
            eligible[t], eligible[pick] = eligible[pick], eligible[t]
            out_rows[count] = i
            out_cols[count] = eligible[t]
            count += 1
    return out_rows[:count], out_cols[:count]
