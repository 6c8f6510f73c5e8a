"""The program side of the interview model: openness, P(open) and screens, per program.

For every program of a canonical table, once per table (`ProgramSide`) and per visa need
(`ProgramFeatures`):

- **Openness u** (standard normal scale, per applicant group). A program whose observed
  interview rate of the group is known is placed exactly: u is solved so that the group's
  *population* (`analysis.model.population`), screened by the program's published rules and
  the expected effect of its unknown ones, has an average chance there equal to the observed
  rate; then u is shrunk by `observed_reliability` (one year's rate is noisy) and the rest of
  the program spread is integrated out. Otherwise u = `facts_reliability` x openness_z, the
  standardized openness from the program's facts (`analysis.model.friendliness.openness`),
  and the share of the spread those facts do not explain is integrated out. The US IMG group
  uses the program's US IMG rate when the table has one, else the non-US IMG placement.
- **P(open)**, the chance the program interviews applicants like this at all. A positive
  observed rate of the applicant's kind (non-US IMG rate for a visa need, US IMG rate for
  none): 1; an observed zero: `zero_open_probability`. With only the non-US IMG rate known,
  an applicant who needs no visa gets 1 where it is positive and, where it is zero, the
  share of such programs the reference shows open to US IMGs
  ((1 - z0 US) - (1 - z0 non-US)) / z0 non-US.
  Otherwise one latent openness drives both whether and how often a program interviews a
  group: P(open | facts) = Phi((E[openness | facts] - threshold) / sd left), the threshold at
  the group's reference open share (1 - z0); for a visa need, times P(sponsors it): 1 or 0
  when known, `unknown_sponsor_probability` when unknown. A visa need never raises P(open).
- **Screens** (hard zeros with a reason): a visa known not to be sponsored, a military
  program for a non-citizen, and the published minimum Step 2 CK, graduation cutoff,
  required USCE and most attempts. Unknown rules are not zeros: the applicant's chance of
  passing them is applied in expectation (`population.unknown_screen_pass`).

Parameters: `params/probability.yaml` (`programs`), `params/population.yaml` (`screens`).
Known limits: one observed year places a program; its facts are self-reported and go stale.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

from analysis.config import load_params
from analysis.data.reference import interview_fit, sigmoid
from analysis.model.friendliness import component_frame, openness
from analysis.model.population import (
    GROUPS,
    ApplicantArrays,
    anchor,
    friction,
    representative_sample,
    standing,
    unknown_screen_pass,
)

SCREEN_RULES = ("step2", "yog", "usce", "attempts")
"""The published screens an applicant can fail, in bit order 2-5 (visa 0, military 1)."""

_SOLVE_SAMPLE = 256  # population members used to place a program by its observed rate


def program_params() -> dict[str, Any]:
    """`params/probability.yaml`, section `programs`."""
    return load_params("probability")["programs"]


@dataclass
class ProgramSide:
    """Visa-independent program arrays of a table, aligned with `ids` (sorted by id)."""

    ids: np.ndarray
    specialty: np.ndarray
    specialty_rows: dict[str, np.ndarray]
    row_of: dict[str, int]
    u: dict[str, np.ndarray]  # per group
    explained: dict[str, np.ndarray]  # per group: share of the program spread known
    observed: dict[str, np.ndarray]  # per group: observed rate, nan when unknown
    thresholds: dict[str, np.ndarray]  # per screen rule: the program's threshold, nan unknown
    military: np.ndarray
    accepts_visitors: np.ndarray  # 1 yes, 0 no, nan unknown
    sponsors_j1: np.ndarray  # 1 yes, 0 no, nan unknown
    sponsors_h1b: np.ndarray
    facts_mean: np.ndarray  # E[openness | known facts] on the standard-normal scale
    facts_sd: np.ndarray  # sd of openness left once the known facts are used


@dataclass
class ProgramFeatures:
    """Program arrays for one visa need: the shared side plus P(open) and the scored table."""

    visa_needed: str
    side: ProgramSide
    table: pl.DataFrame  # the friendliness frame for this visa need, sorted by program_id
    p_open: np.ndarray  # for an applicant with this visa need
    visa_closed: np.ndarray
    h1b_only: np.ndarray
    ids: np.ndarray = field(init=False)
    specialty_rows: dict[str, np.ndarray] = field(init=False)
    row_of: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.ids = self.side.ids
        self.specialty_rows = self.side.specialty_rows
        self.row_of = self.side.row_of


def _float(frame: pl.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(frame.height, np.nan)
    return frame[column].cast(pl.Float64).to_numpy()


def build_side(table: pl.DataFrame, as_of: dt.date) -> ProgramSide:
    """The visa-independent arrays of a canonical table (openness solved per specialty)."""
    frame = openness(component_frame(table, None, as_of=as_of)).sort("program_id")
    spec = frame["specialty"].to_numpy()
    rows = {s: np.flatnonzero(spec == s) for s in np.unique(spec)}
    thresholds = dict(
        zip(
            SCREEN_RULES,
            (
                _float(frame, c)
                for c in (
                    "min_step2_score",
                    "yog_cutoff_years",
                    "usce_required_months",
                    "max_attempts",
                )
            ),
            strict=True,
        )
    )
    observed = {
        "non_us_img": _float(frame, "non_us_img_interview_rate"),
        "us_img": _float(frame, "us_img_interview_rate"),
    }
    p = program_params()
    reliability = float(p["facts_reliability"])
    facts_u = reliability * frame["openness_z"].to_numpy()
    facts_explained = reliability**2 * frame["facts_known_share"].to_numpy()
    u = {g: facts_u.copy() for g in GROUPS}
    explained = {g: facts_explained.copy() for g in GROUPS}
    for s, r in rows.items():
        for g in GROUPS:
            rate = observed[g][r]
            if np.isfinite(rate).any():
                placed = _place_by_rate(s, g, rate, {k: v[r] for k, v in thresholds.items()})
                known = np.isfinite(placed)
                u[g][r] = np.where(known, placed, u[g][r])
                explained[g][r] = np.where(
                    known, float(p["observed_reliability"]) ** 2, explained[g][r]
                )
    # an observed zero that may still be open sits at the bottom of the open programs
    bottom = float(p["zero_rate_openness"])
    for g in GROUPS:
        zero = observed[g] == 0
        u[g] = np.where(zero, np.minimum(u[g], bottom), u[g])
    # where only the non-US IMG rate is known, the US IMG group is placed on the rate at the
    # same quantile of the US IMG reference distribution
    for s, r in rows.items():
        mapped = _same_quantile_rate(s, observed["non_us_img"][r])
        mapped = np.where(np.isfinite(observed["us_img"][r]), np.nan, mapped)
        if np.isfinite(mapped).any():
            placed = _place_by_rate(s, "us_img", mapped, {k: v[r] for k, v in thresholds.items()})
            known = np.isfinite(placed)
            u["us_img"][r] = np.where(known, placed, u["us_img"][r])
            explained["us_img"][r] = np.where(
                known, float(p["observed_reliability"]) ** 2, explained["us_img"][r]
            )
    ids = frame["program_id"].to_numpy()
    return ProgramSide(
        ids=ids,
        specialty=spec,
        specialty_rows=rows,
        row_of={pid: i for i, pid in enumerate(ids.tolist())},
        u=u,
        explained={g: np.clip(v, 0.0, 1.0) for g, v in explained.items()},
        observed=observed,
        thresholds=thresholds,
        military=(frame["program_type"] == "military").fill_null(False).to_numpy(),
        accepts_visitors=_float(frame, "accepts_img_visiting_students"),
        sponsors_j1=_float(frame, "sponsors_j1"),
        sponsors_h1b=_float(frame, "sponsors_h1b"),
        facts_mean=facts_u,
        facts_sd=np.sqrt(np.clip(1.0 - facts_explained, 1e-6, 1.0)),
    )


def _same_quantile_rate(specialty: str, rate: np.ndarray) -> np.ndarray:
    """The US IMG rate at the quantile a positive non-US IMG rate holds among open programs."""
    src, dst = interview_fit(specialty, "non_us_img"), interview_fit(specialty, "us_img")
    r = np.clip(rate, 1e-4, 0.95)
    z = (np.log(r / (1 - r)) - src.mu) / src.tau
    return np.where(np.isfinite(rate) & (rate > 0), sigmoid(dst.mu + dst.tau * z), np.nan)


@functools.cache
def _solve_sample(specialty: str, group: str) -> tuple[ApplicantArrays, np.ndarray]:
    """The population members (and their standing) used to place programs by their rates."""
    sample = representative_sample(specialty, group, _SOLVE_SAMPLE)
    x = standing(sample, specialty) - friction()[0] * (sample.visa_needed != "none")
    return sample, x


def screen_pass(
    arrays: ApplicantArrays, thresholds: dict[str, np.ndarray], specialty: str
) -> tuple[np.ndarray, np.ndarray]:
    """(screen bits for rules 2-5, expected pass of unknown rules): applicants x programs.

    Bits are set where a published rule screens the applicant out; where a rule is unknown
    the applicant's chance of passing it (`population.unknown_screen_pass`) multiplies in.
    """
    values = {
        "step2": (arrays.step2, np.less),
        "yog": (arrays.years_since_graduation, np.greater),
        "usce": (arrays.usce, np.less),
        "attempts": (arrays.attempts, np.greater),
    }
    n, m = len(arrays), next(iter(thresholds.values())).size
    bits = np.zeros((n, m), dtype=np.uint8)
    passes = unknown_screen_pass(arrays, specialty)
    pattern = np.zeros(m, dtype=np.int64)  # which rules each program leaves unknown (4 bits)
    combos = np.ones((n, 1 << len(SCREEN_RULES)))  # applicant x pattern: product of passes
    for k, rule in enumerate(SCREEN_RULES):
        limit = thresholds[rule]
        known = np.flatnonzero(np.isfinite(limit))
        if known.size:
            value, compare = values[rule]
            hit = compare(value[:, None], limit[known][None, :])
            bits[:, known] |= hit.astype(np.uint8) << (k + 2)
        pattern |= (~np.isfinite(limit)).astype(np.int64) << k
        has_rule = (np.arange(combos.shape[1]) >> k) & 1
        combos *= np.where(has_rule[None, :] == 1, passes[rule][:, None], 1.0)
    return bits, combos[:, pattern]


def _place_by_rate(
    specialty: str, group: str, rate: np.ndarray, thresholds: dict[str, np.ndarray]
) -> np.ndarray:
    """u solved so that the population's average chance equals each positive observed rate.

    nan where the rate is unknown or zero (a zero is handled by P(open)).
    """
    p = program_params()
    a = anchor(specialty, group)
    sample, x = _solve_sample(specialty, group)
    bits, expected = screen_pass(sample, thresholds, specialty)
    weight = np.where(bits == 0, expected, 0.0)
    target = np.clip(rate, 0.0, float(p["observed_max_rate"]))
    # safeguarded Newton on the log-odds of the average, all programs at once (the average
    # rises with u; bisection whenever a step would leave the bracket); a target the screens
    # make unreachable ends at the bracket's top
    lo = np.full(rate.size, -8.0)
    hi = np.full(rate.size, 8.0)
    u = np.zeros(rate.size)
    goal = np.log(np.clip(target, 1e-9, None)) - np.log1p(-np.clip(target, None, 1 - 1e-9))
    for _ in range(14):
        s_ = sigmoid(a.intercept + a.tau * u[None, :] + x[:, None])
        mean = np.clip((weight * s_).mean(axis=0), 1e-12, 1 - 1e-12)
        slope = a.tau * (weight * s_ * (1.0 - s_)).mean(axis=0) / (mean * (1.0 - mean))
        gap = np.log(mean) - np.log1p(-mean) - goal
        lo = np.where(gap < 0, u, lo)
        hi = np.where(gap < 0, hi, u)
        step = u - gap / np.maximum(slope, 1e-12)
        u = np.where((step > lo) & (step < hi), step, 0.5 * (lo + hi))
    placed = float(p["observed_reliability"]) * u
    return np.where(np.isfinite(rate) & (rate > 0), placed, np.nan)


def _p_sponsor(side: ProgramSide, rows: np.ndarray, visa_needed: str) -> np.ndarray:
    """P(sponsors the visa needed): 1 known yes, 0 known no, `unknown_sponsor_probability` if
    unknown (times `h1b_share_of_sponsors` for the H-1B)."""
    p = program_params()
    unknown = float(p["unknown_sponsor_probability"])
    j1, h1b = side.sponsors_j1[rows], side.sponsors_h1b[rows]
    p_j1 = np.where(np.isnan(j1), unknown, j1)
    p_h1b = np.where(np.isnan(h1b), unknown * float(p["h1b_share_of_sponsors"]), h1b)
    if visa_needed == "j1":
        return p_j1
    if visa_needed == "h1b":
        return p_h1b
    return np.maximum(p_j1, p_h1b)  # "either": an H-1B sponsor almost always sponsors the J-1


def _phi(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (vectorized)."""
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x, dtype=float) / math.sqrt(2.0)))


def _open_given_facts(side: ProgramSide, rows: np.ndarray, open_share: float) -> np.ndarray:
    """P(open | facts) = Phi((E[openness | facts] - threshold) / sd left), threshold at the
    reference's open share (so it averages to that share over programs like the reference's)."""
    threshold = NormalDist().inv_cdf(1.0 - min(max(open_share, 1e-3), 0.999))
    return _phi((side.facts_mean[rows] - threshold) / side.facts_sd[rows])


def p_open(side: ProgramSide, visa_needed: str) -> np.ndarray:
    """P(the program interviews applicants of this visa need at all), per program.

    One latent openness drives both whether a program interviews a group at all and how
    often: the group's reference share of programs at zero is the share of the latent below a
    threshold. A visa need: the non-US IMG open share, times P(the program sponsors the visa)
    (known: 1 or 0; unknown: `unknown_sponsor_probability`). No visa need: the US IMG open
    share, never less than with a visa need. A known observed rate of the applicant's kind
    settles it (positive: 1; zero: `zero_open_probability`).
    """
    p = program_params()
    zero = float(p["zero_open_probability"])
    out = np.zeros(side.ids.size)
    for s, rows in side.specialty_rows.items():
        open_us = interview_fit(s, "us_img").open_share
        open_nonus = interview_fit(s, "non_us_img").open_share
        visa_kind = "j1" if visa_needed == "none" else visa_needed
        visa_open = _p_sponsor(side, rows, visa_kind) * _open_given_facts(side, rows, open_nonus)
        nonus_rate = side.observed["non_us_img"][rows]
        if visa_needed == "none":
            base = np.maximum(_open_given_facts(side, rows, open_us), visa_open)
            # programs that interviewed no non-US IMG: the US IMG open share left over
            left = min(1.0, max(0.0, (open_us - open_nonus) / max(1.0 - open_nonus, 1e-6)))
            value = np.where(nonus_rate > 0, 1.0, np.where(nonus_rate == 0, left, base))
            us_rate = side.observed["us_img"][rows]  # the no-visa group's own rate settles it
            value = np.where(us_rate > 0, 1.0, np.where(us_rate == 0, zero, value))
        else:
            value = np.where(nonus_rate > 0, 1.0, np.where(nonus_rate == 0, zero, visa_open))
        out[rows] = np.minimum(value, 1.0)
    return out


def features_for(
    side: ProgramSide, table: pl.DataFrame, visa_needed: str, as_of: dt.date
) -> ProgramFeatures:
    """The per-visa arrays: P(open), the visa screen and the scored table for display."""
    frame = component_frame(table, visa_needed, as_of=as_of).sort("program_id")
    needs = visa_needed != "none"
    j1, h1b = side.sponsors_j1, side.sponsors_h1b
    if visa_needed == "j1":
        closed = j1 == 0
    elif visa_needed == "h1b":
        closed = h1b == 0
    elif visa_needed == "either":
        closed = (j1 == 0) & (h1b == 0)
    else:
        closed = np.zeros(side.ids.size, dtype=bool)
    open_none = p_open(side, "none")
    return ProgramFeatures(
        visa_needed=visa_needed,
        side=side,
        table=frame,
        p_open=np.minimum(p_open(side, visa_needed), open_none) if needs else open_none,
        visa_closed=closed & ~side.military,
        h1b_only=j1 == 0,
    )
