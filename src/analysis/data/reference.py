"""Reference figures turned into model inputs: interview-rate distributions, match curves, fees.

Everything here is derived from `data/reference/` (public NRMP/AAMC figures, each row with its
source and grade) plus the documented parameters in `params/probability.yaml`, never from a
program table, so the models behave the same on any table (the demo, a FREIDA export, an
applicant's own tracker).

Interview-rate distribution per specialty and applicant group (non-US IMG or US IMG), fitted
to `interview_rates_by_specialty.csv`:

    rate = 0                      with probability z0 (the share of programs at zero)
    logit(rate) ~ Normal(mu, tau) otherwise ("open" programs)

`tau` is the least-squares slope of logit(quantile value) on the normal score of the
quantile's rank among open programs, over the median, p75 and p90 that are above zero (the
reference rounds them to 0.01, so at least two usable points are needed; otherwise
`default_tau`). `mu` is then solved so that (1 - z0) * E[sigmoid(mu + tau Z)] equals the
reference mean, which is given to four decimals and is the most precise figure.

These are *observed* rates, averaged over a program's applicants; the model anchors its
applicant population on them (`analysis.model.population`).

Known limits: the reference is one ERAS cycle (2024) from a third-party repository (grade C);
quantiles are rounded; specialties without a row borrow another's (flagged uncalibrated).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from analysis.config import load_params, reference_table
from analysis.data.vocabulary import specialties

GROUPS = ("non_us_img", "us_img")
_NORMAL = NormalDist()
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    """Logistic function, overflow-safe."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def logit(p: float) -> float:
    """Log-odds of a probability strictly between 0 and 1."""
    return math.log(p / (1.0 - p))


def expected_sigmoid(mu: float | np.ndarray, sd: float | np.ndarray) -> np.ndarray:
    """E[sigmoid(mu + sd * Z)], Z standard normal (Gauss-Hermite, 40 nodes)."""
    mu = np.asarray(mu, dtype=float)[..., None]
    sd = np.asarray(sd, dtype=float)[..., None]
    return (sigmoid(mu + sd * _GH_NODES) * _GH_WEIGHTS).sum(axis=-1)


@dataclass(frozen=True)
class InterviewFit:
    """Fitted distribution of per-program interview rates for one specialty and group."""

    specialty: str
    group: str
    share_zero: float
    mu: float
    tau: float
    ref_mean: float
    ref_median: float
    source_specialty: str  # the reference row used (itself, or a stand-in)
    calibrated: bool  # False when a stand-in's distribution is borrowed

    @property
    def open_share(self) -> float:
        """Share of programs that interview the group at all."""
        return 1.0 - self.share_zero

    def model_mean(self) -> float:
        """Mean rate implied by the fit (equals `ref_mean` by construction)."""
        return float(self.open_share * expected_sigmoid(self.mu, self.tau))


def fit_rate_row(row: dict, group: str, default_tau: float) -> tuple[float, float, float]:
    """(share at zero, mu, tau) of one reference row's rates for a column prefix (see above)."""
    z0 = float(row[f"{group}_share_zero"])
    mean = float(row[f"{group}_mean"])
    xs, ys = [], []
    for q, key in ((0.5, "median"), (0.75, "p75"), (0.9, "p90")):
        value = float(row[f"{group}_{key}"])
        if value <= 0 or q <= z0 + 0.02:
            continue
        q_open = (q - z0) / (1.0 - z0)
        xs.append(_NORMAL.inv_cdf(min(q_open, 0.995)))
        ys.append(logit(min(value, 0.99)))
    if len(xs) >= 2 and max(xs) - min(xs) > 0.1:
        slope = float(np.polyfit(xs, ys, 1)[0])
        tau = min(max(slope, 0.3), 2.5)
    else:
        tau = default_tau
    open_share = 1.0 - z0
    target = min(mean / open_share, 0.95) if open_share > 0 else 1e-4
    lo, hi = -12.0, 6.0
    for _ in range(80):  # bisection: E[sigmoid(mu + tau Z)] is increasing in mu
        mid = 0.5 * (lo + hi)
        if float(expected_sigmoid(mid, tau)) < target:
            lo = mid
        else:
            hi = mid
    return z0, 0.5 * (lo + hi), tau


@functools.cache
def interview_fits() -> dict[tuple[str, str], InterviewFit]:
    """Fitted interview-rate distributions, keyed by (specialty code, group)."""
    params = load_params("probability")
    table = reference_table("interview_rates_by_specialty")
    rows = {r["specialty"]: r for r in table.iter_rows(named=True)}
    stand_ins = params["interview_stand_ins"]
    default_tau = float(params["default_tau"])
    fits: dict[tuple[str, str], InterviewFit] = {}
    specs = specialties()
    for code, spec in specs.items():
        source = code
        label = spec.interview_ref
        if label is None or label not in rows:
            source = stand_ins.get(code, "IM")
            label = specs[source].interview_ref
        row = rows[label]
        for group in GROUPS:
            z0, mu, tau = fit_rate_row(row, group, default_tau)
            fits[(code, group)] = InterviewFit(
                specialty=code,
                group=group,
                share_zero=z0,
                mu=mu,
                tau=tau,
                ref_mean=float(row[f"{group}_mean"]),
                ref_median=float(row[f"{group}_median"]),
                source_specialty=source,
                calibrated=source == code,
            )
    return fits


def interview_fit(specialty: str, group: str) -> InterviewFit:
    """The fitted interview-rate distribution of a specialty for a group."""
    return interview_fits()[(specialty, group)]


@functools.cache
def nrmp_specialties() -> dict[str, dict]:
    """NRMP 2025 figures per specialty code (programs, positions, applicants per position...)."""
    return {
        r["specialty"]: r for r in reference_table("nrmp_2025_specialties").iter_rows(named=True)
    }


@dataclass(frozen=True)
class MatchCurve:
    """P(match | k interviews) = p_max * (1 - (1 - q)^k), truncated at k_max."""

    specialty: str
    p_max: float
    q: float
    k_max: int

    def p_match_given(self, k: np.ndarray | int) -> np.ndarray:
        """Match probability with k interviews (k at or beyond k_max is the tail bin)."""
        k = np.minimum(np.asarray(k), self.k_max)
        return self.p_max * (1.0 - (1.0 - self.q) ** k)


@functools.cache
def match_curve(specialty: str, q_scale: float | None = None) -> MatchCurve:
    """The saturating match curve of a specialty (calibration in probability.yaml).

    `q_scale` overrides the fitted scale (`match_curve.q_scale`), for refitting it.
    """
    p = load_params("probability")["match_curve"]
    scale = float(p["q_scale"]) if q_scale is None else float(q_scale)
    anchor = p["anchor"]
    p_max = float(p["p_max"])
    q_anchor = 1.0 - (1.0 - anchor["p_match"] / p_max) ** (1.0 / anchor["interviews"])
    nrmp = nrmp_specialties()

    def competition(code: str) -> float:
        row = nrmp.get(code)
        value = row.get("applicants_per_position") if row else None
        return float(value) if value else float(p["default_competition"])

    q = q_anchor * (competition(anchor["specialty"]) / competition(specialty)) ** float(
        p["competition_exponent"]
    )
    q = min(max(scale * q, 0.01), 0.9)
    k_max = math.ceil(math.log(1.0 - float(p["saturation"])) / math.log(1.0 - q))
    return MatchCurve(specialty=specialty, p_max=p_max, q=q, k_max=int(k_max))


@dataclass(frozen=True)
class FeeSchedule:
    """ERAS fees per specialty (tiers reset for each specialty) and once-per-season fees."""

    season: str
    tiers: tuple[tuple[int, float], ...]  # (programs up to, fee each); last upto is large
    transcript_usd: float
    nrmp_registration_usd: float
    nrmp_included_ranks: int
    nrmp_extra_rank_usd: float

    def eras_cost(self, applications: np.ndarray | int) -> np.ndarray:
        """ERAS program fees for n applications in one specialty (vectorized)."""
        n = np.asarray(applications, dtype=float)
        cost = np.zeros_like(n)
        lower = 0
        for upper, fee in self.tiers:
            cost += np.clip(n - lower, 0, upper - lower) * fee
            lower = upper
        return cost


@functools.cache
def fee_schedule(season: str = "2025-2026") -> FeeSchedule:
    """ERAS and NRMP fees from `data/reference/fees.csv`."""
    fees = reference_table("fees")
    tiers = []
    for row in fees.iter_rows(named=True):
        if row["item"] != "eras_per_program" or row["season"] != season:
            continue
        match = re.search(r"programs (\d+)(?:-(\d+)|\+)", row["rule"])
        if match:
            upper = int(match.group(2)) if match.group(2) else 10**9
            tiers.append((upper, float(row["amount_usd"])))
    if not tiers:
        raise ValueError(f"no ERAS fee tiers for season {season!r} in fees.csv")

    def amount(item: str) -> float:
        rows = fees.filter(fees["item"] == item)
        return float(rows["amount_usd"][0])

    return FeeSchedule(
        season=season,
        tiers=tuple(sorted(tiers)),
        transcript_usd=amount("eras_transcript"),
        nrmp_registration_usd=amount("nrmp_registration"),
        nrmp_included_ranks=20,
        nrmp_extra_rank_usd=amount("nrmp_extra_rank"),
    )


@functools.cache
def rotation_cost_ranges() -> dict[str, tuple[float, float]]:
    """Per-rotation cost ranges (USD) from fees.csv: housing, food/transport, application."""
    out = {}
    for row in reference_table("fees").iter_rows(named=True):
        if row["item"].startswith("away_rotation_"):
            low, high = (float(x) for x in str(row["amount_usd"]).split("-"))
            out[row["item"].removeprefix("away_rotation_")] = (low, high)
    return out
