"""What the synthetic demo's programs are drawn to match, specialty by specialty.

For every specialty of `nrmp_2025_specialties.csv` (`specialty_plan`): its programs and
first-year positions (NRMP 2025), the US and non-US IMG shares of its positions (NRMP, or
`IMG_SHARE_ASSUMED` where NRMP 2025 does not give them), its mix of program types
(`TYPE_MIX`: IM from FREIDA, the others assumed), the share of programs listing a J-1 or
H-1B visa or none by type (IM from FREIDA 2025; other specialties from a J-1 rate that grows
with their non-US IMG share, `_j1_rate`, shifted by type on IM's logit scale), the floor of
the published Step 2 CK minimums (10 points under the 2013 mean of matched non-US IMGs, or
`STEP2_FLOOR_FALLBACK`), and the log-normal fitted to its non-US IMG interview-rate
reference row (`_fit_lognormal`; `INTERVIEW_STAND_IN` for the specialties without one).

The generator (`analysis.data.demo`) draws from this plan and `analysis.data.demo_checks`
compares a generated table with it. Everything here is a figure with its source or a
documented assumption; the positions of program types in the arrays follow
`vocabulary.PROGRAM_TYPES` (`UNIV`, `AFFIL`, `COMM`, `MIL`, `OTHER`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

from analysis.config import reference_table
from analysis.data.vocabulary import PROGRAM_TYPES, specialties

UNIV, AFFIL, COMM, MIL, OTHER = range(5)
assert PROGRAM_TYPES == (
    "university",
    "community_university_affiliated",
    "community",
    "military",
    "other",
), "demo indexes program types by position; update it with vocabulary.PROGRAM_TYPES"

TYPE_MIX: dict[str, tuple[float, float, float, float, float]] = {
    # university, community-university affiliated, community, military, other
    "IM": (145 / 689, 325 / 689, 186 / 689, 10 / 689, 23 / 689),  # FREIDA 2025 (reference)
    "FM": (0.12, 0.47, 0.37, 0.02, 0.02),
    "PEDS": (0.45, 0.35, 0.15, 0.03, 0.02),
    "PSYCH": (0.40, 0.38, 0.18, 0.02, 0.02),
    "ANES": (0.62, 0.28, 0.07, 0.02, 0.01),
    "GS": (0.50, 0.30, 0.15, 0.03, 0.02),
    "NEURO": (0.62, 0.28, 0.08, 0.01, 0.01),
    "DR": (0.62, 0.27, 0.08, 0.02, 0.01),
    "IR": (0.80, 0.17, 0.02, 0.01, 0.00),
    "PMR": (0.55, 0.30, 0.12, 0.02, 0.01),
    "PATH": (0.70, 0.22, 0.05, 0.02, 0.01),
    "EM": (0.35, 0.40, 0.21, 0.03, 0.01),
    "OBGYN": (0.45, 0.35, 0.17, 0.02, 0.01),
    "ORTHO": (0.65, 0.25, 0.07, 0.02, 0.01),
    "TY": (0.20, 0.45, 0.30, 0.04, 0.01),
    "IM-PRELIM": (0.35, 0.42, 0.20, 0.02, 0.01),
    "GS-PRELIM": (0.55, 0.30, 0.12, 0.02, 0.01),
}
"""Share of programs of each type per specialty (IM from FREIDA; the others assumed)."""

_DEFAULT_TYPE_MIX = (0.45, 0.35, 0.16, 0.02, 0.02)

IMG_SHARE_ASSUMED: dict[str, tuple[float, float]] = {
    "DR": (3.5, 5.5),
    "IR": (2.0, 3.0),
    "PMR": (5.0, 7.0),
}
"""(US IMG %, non-US IMG %) of PGY-1 positions where NRMP 2025 does not give them (assumed)."""

INTERVIEW_STAND_IN: dict[str, str] = {"TY": "IM", "IM-PRELIM": "IM", "GS-PRELIM": "GS"}
"""Specialties with no interview-rate reference row borrow another specialty's row."""

STEP2_FLOOR_FALLBACK: dict[str, int] = {
    "IR": 235,
    "OBGYN": 225,
    "ORTHO": 235,
    "TY": 226,
    "IM-PRELIM": 222,
    "GS-PRELIM": 225,
}
"""Typical published Step 2 CK minimum where `step2ck_by_specialty.csv` has no IMG mean."""

# IM per-type visa facts (FREIDA 2025, reference): share listing J-1 / H-1B, and the
# assumed share whose visa list is empty (unknown), chosen so that about 27% of IM
# programs have an empty list overall, as FREIDA shows.
IM_J1 = np.array([0.966, 0.751, 0.597, 0.0, 0.15])
IM_H1B = np.array([0.324, 0.203, 0.113, 0.0, 0.03])
_IM_VISA_UNKNOWN = np.array([0.030, 0.245, 0.400, 0.40, 0.80])
_VISA_UNKNOWN = np.array([0.030, 0.240, 0.390, 0.40, 0.80])  # other specialties (assumed)
_J1_TYPE_SHIFT = np.log(IM_J1[:3] / (1 - IM_J1[:3])) - math.log(0.723 / 0.277)
"""Logit shift of the J-1 rate by type (university, affiliated, community), from IM."""

# pct_img_residents: logit-normal per type. Medians from FREIDA (IM; military and other
# assumed); spreads fitted so that IM's overall quartiles come out at 9.0 / 40.75 / 80.0.
PCT_IMG_MEDIAN = np.array([8.8, 62.0, 41.0, 1.0, 30.0])
PCT_IMG_SPREAD = np.array([2.3, 2.45, 2.45, 2.45, 2.45])
PCT_IMG_MISSING = 1 - 526 / 689
"""Share of programs with no IMG percentage (FREIDA IM: 526 of 689 give one), every type."""


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: float | np.ndarray) -> Any:
    return np.log(p) - np.log1p(-np.asarray(p))


@dataclass(frozen=True)
class SpecialtyPlan:
    """Per-specialty parameters, as arrays indexed by the specialty's position."""

    codes: tuple[str, ...]
    programs: np.ndarray
    positions: np.ndarray
    us_img_pct: np.ndarray
    non_us_img_pct: np.ndarray
    img_share_assumed: np.ndarray  # bool
    type_mix: np.ndarray  # (n_spec, 5)
    j1: np.ndarray  # (n_spec, 5) share listing J-1
    h1b: np.ndarray  # (n_spec, 5) share listing H-1B
    visa_unknown: np.ndarray  # (n_spec, 5)
    step2_floor: np.ndarray
    interview: pl.DataFrame  # one row per specialty: reference stats and fit


def _j1_rate(non_us_img_pct: float) -> float:
    """Assumed share of a specialty's programs that take J-1 residents.

    Grows with the specialty's non-US IMG share of positions: 0.15 at none, 0.75 at IM's
    32.7% (IM itself uses FREIDA's figures by type instead).
    """
    return 0.15 + 0.60 * math.sqrt(min(1.0, max(non_us_img_pct, 0.0) / 32.7))


def _fit_lognormal(z0: float, quantiles: Mapping[float, float], mean: float) -> tuple[float, float]:
    """Fit (mu, sigma) of the positive part of a zero-inflated log-normal.

    The reference gives, over programs, the share at zero `z0`, some quantiles and the mean.
    A quantile q of the whole distribution above `z0` is the quantile (q - z0) / (1 - z0) of
    the positive part; its mean is mean / (1 - z0). For each sigma on a grid, mu is the
    least-squares fit of those log-quantiles and the log-mean; the best pair wins.
    """
    levels, logs = [], []
    for q, value in quantiles.items():
        if value > 0 and q > z0:
            levels.append(NormalDist().inv_cdf((q - z0) / (1 - z0)))
            logs.append(math.log(value))
    z = np.array(levels)
    ln = np.array(logs)
    sigma = np.linspace(0.15, 2.5, 471)
    cond_mean = math.log(mean / (1 - z0))
    residual = np.concatenate(
        [ln[None, :] - sigma[:, None] * z[None, :], (cond_mean - sigma**2 / 2)[:, None]], axis=1
    )
    mu = residual.mean(axis=1)
    loss = ((residual - mu[:, None]) ** 2).sum(axis=1)
    best = int(np.argmin(loss))
    return float(mu[best]), float(sigma[best])


def _interview_reference(codes: tuple[str, ...]) -> pl.DataFrame:
    """Per specialty: the interview-rate reference row used (own or stand-in) and its fit."""
    ref = reference_table("interview_rates_by_specialty")
    spec = specialties()
    rows = []
    for code in codes:
        basis_code = INTERVIEW_STAND_IN.get(code, code)
        label = spec[basis_code].interview_ref if basis_code in spec else None
        match = ref.filter(pl.col("specialty") == label) if label else ref.clear()
        if match.height != 1:
            raise ValueError(
                f"no interview-rate reference row for {code}: add it to "
                "interview_rates_by_specialty.csv or to INTERVIEW_STAND_IN"
            )
        r = match.row(0, named=True)
        mu, sigma = _fit_lognormal(
            r["non_us_img_share_zero"],
            {0.5: r["non_us_img_median"], 0.75: r["non_us_img_p75"], 0.9: r["non_us_img_p90"]},
            r["non_us_img_mean"],
        )
        stand_in = basis_code != code
        rows.append(
            {
                "specialty": code,
                "basis": (
                    f"stand-in: {label} row (no reference row for {code})"
                    if stand_in
                    else f"interview_rates_by_specialty.csv: {label}"
                ),
                "stand_in": stand_in,
                "known_share": r["non_us_img_n"] / r["programs_listed"],
                "share_zero": r["non_us_img_share_zero"],
                "median": r["non_us_img_median"],
                "p90": r["non_us_img_p90"],
                "mean": r["non_us_img_mean"],
                "mu": mu,
                "sigma": sigma,
            }
        )
    return pl.DataFrame(rows)


@functools.cache
def specialty_plan() -> SpecialtyPlan:
    """The plan of every specialty of `nrmp_2025_specialties.csv`, in its order (cached)."""
    nrmp = reference_table("nrmp_2025_specialties")
    step2 = reference_table("step2ck_by_specialty")
    known_codes = specialties()
    codes = tuple(nrmp["specialty"].to_list())
    unknown = [c for c in codes if c not in known_codes]
    if unknown:
        raise ValueError(f"nrmp_2025_specialties.csv has codes not in specialties.csv: {unknown}")

    us_img, non_us, assumed = [], [], []
    for row in nrmp.iter_rows(named=True):
        if row["pgy1_share_non_us_img_pct"] is None:
            us, nus = IMG_SHARE_ASSUMED[row["specialty"]]
            assumed.append(True)
        else:
            us, nus = row["pgy1_share_us_img_pct"], row["pgy1_share_non_us_img_pct"]
            assumed.append(False)
        us_img.append(us)
        non_us.append(nus)

    mix = np.array([TYPE_MIX.get(c, _DEFAULT_TYPE_MIX) for c in codes], dtype=float)
    mix /= mix.sum(axis=1, keepdims=True)

    j1 = np.zeros((len(codes), 5))
    h1b = np.zeros((len(codes), 5))
    unknown_visa = np.zeros((len(codes), 5))
    for i, code in enumerate(codes):
        if code == "IM":
            j1[i], h1b[i] = IM_J1, IM_H1B
            unknown_visa[i] = _IM_VISA_UNKNOWN
            continue
        base = logit(_j1_rate(non_us[i]))
        j1[i, :3] = expit(base + _J1_TYPE_SHIFT)
        j1[i, OTHER] = expit(base - 2.0)
        h1b_given_j1 = IM_H1B / np.where(IM_J1 > 0, IM_J1, 1)
        h1b[i] = j1[i] * h1b_given_j1 * (0.5 + 0.5 * min(1.0, non_us[i] / 32.7))
        unknown_visa[i] = np.minimum(_VISA_UNKNOWN, 0.95 * (1 - j1[i]))

    means = dict(
        zip(step2["specialty"], step2["non_us_img_matched_2013_mean_step2ck"], strict=True)
    )
    floor = np.array(
        [
            means[c] - 10 if means.get(c) is not None else STEP2_FLOOR_FALLBACK.get(c, 225)
            for c in codes
        ],
        dtype=float,
    )
    return SpecialtyPlan(
        codes=codes,
        programs=nrmp["programs"].to_numpy().astype(int),
        positions=nrmp["positions"].to_numpy().astype(int),
        us_img_pct=np.array(us_img, dtype=float),
        non_us_img_pct=np.array(non_us, dtype=float),
        img_share_assumed=np.array(assumed),
        type_mix=mix,
        j1=j1,
        h1b=h1b,
        visa_unknown=unknown_visa,
        step2_floor=floor,
        interview=_interview_reference(codes),
    )
