"""Program signals: which programs get the gold, silver or single signals, and checks.

**Effect** (`analysis.model.signals`): a signal of tier t adds beta_t to the log-odds of an
interview where the program can consider the applicant, p_with = c sigmoid(logit(p / c) +
f beta_t), c the chance the program considers the applicant at all; it never opens a program.

**Objective.** The model's P(match) per specialty, P_s = sum_k P(K_s = k) g_s(k), K_s the
Poisson-binomial number of interviews over the programs on the list and g_s(k) the saturating
match curve truncated at k_max (the pmf of `analysis.model.probability.poisson_binomial_pmf`,
`analysis.data.reference.match_curve`), and the dual-apply combination P(match anywhere) =
1 - prod_s (1 - P_s). `match_chances(..., signals=...)` computes the same numbers.

**Planner (greedy on the marginal gain, then local improvement).** P_s is linear in each
p_j: with a_j the pmf of the interviews from the other programs (the generating function
divided by (1 - p_j + p_j z)), P_s = A_j + p_j D_j, D_j = sum_k a_j[k] (g(k+1) - g(k)) >= 0.
A signal at j therefore adds exactly D_j (p_with_j - p_j) to P_s and M_s D_j (p_with_j - p_j)
to P(match anywhere), M_s = prod_{r != s} (1 - P_r). The division runs forward when
p_j <= 1/2 and backward otherwise, so no step amplifies rounding errors. Each greedy step
places the signal with the largest gain among the pools that have signals left (a pool is one
specialty, or DR and IR together), a pool's gold signals before its silver ones, then
recomputes the changed specialty. An improvement step follows: the best change that moves one
signal to another program or swaps the tiers of two, while any raises P(match anywhere); each
change is valued exactly from two derivatives (P_s is multilinear in the p's). Pools are
improved one at a time, which loses nothing: a pool's changes scale P(match anywhere)'s
complement by its own members' factors only. Programs where a specialty's guidance forbids a
signal (EM: home and away-rotation programs) are never candidates; other rotation programs
are, at the reduced effect. The tests compare the result with an exhaustive search on small
cases (`exhaustive_best`; benchmarks/bench_signals.py reports the worst gap measured).

**Checks of an applicant's own choice** flag what breaks the season's rules (too many of a
tier, a pool exceeded, a tier the specialty does not use, a duplicate, a program not on the
list, a rotation program where the guidance forbids it) and what is wasted (a screened-out or
zero-chance program), and evaluate P(match) with the choice as entered.

**Baselines** for comparison: signals at random among the programs that can consider the
applicant (seeded, averaged over draws), and the most IMG-friendly programs first.

**For one applicant** (`signal_plan`): the lists are the programs `match_chances` counts in
each specialty of the rank list (with the planned rotations), so the planner's numbers and the
model's agree; the applicant's own signals (profile `signals` or the table's `signal` column)
are always applied to, as `match_chances` does.

Known limits: the effect sizes are priors, not fitted; programs that opted out of signals are
not known; preferred states do not change the effect (a geographic connection raises the
interview yield of a signal in the published figures, mostly through who chooses to signal).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numba import njit

from analysis.config import load_params
from analysis.data.reference import match_curve
from analysis.data.schemas import ApplicantProfile
from analysis.data.signal_rules import TIERS, SignalRules, normalize_season, signal_rules
from analysis.data.vocabulary import specialties
from analysis.errors import DataValidationError, NormalizationError, Problem
from analysis.model.probability import (
    MatchModel,
    default_applications,
    interview_chances,
    model_for,
)
from analysis.model.signals import (
    EFFECT_LEVELS,
    SignalEffects,
    signal_effects,
    signal_map,
    signal_tier,
    with_signal,
)

_MIN_GAIN = 1e-12


# --------------------------------------------------------------------------- engine objective


def match_given_interviews(specialty: str) -> np.ndarray:
    """g(k) = P(match | k interviews), k = 0..k_max (the last entry holds for k >= k_max)."""
    curve = match_curve(specialty)
    return np.asarray(curve.p_match_given(np.arange(curve.k_max + 1)), dtype=float)


def p_match_from_interviews(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The engine's P(match) in one specialty from P(interview) of the programs applied to.

    Vectorized over leading axes of `p` (programs on the last axis): sum_k P(K = k) g(k),
    with the interview count's pmf truncated at len(g) - 1 (the tail in the last bin), as
    `analysis.model.probability.match_chances` computes it (there with a product tree, here
    with the same pmf by a compiled recurrence: one pass over the programs, O(n k_max)).
    """
    g = np.asarray(g, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    if p.ndim == 0:
        p = p.reshape(1)
    lead = p.shape[:-1]
    rows = np.ascontiguousarray(p.reshape(int(np.prod(lead, dtype=int)), p.shape[-1]))
    return _p_match_rows(rows, g).reshape(lead)


def p_match_any(p_match: Sequence[float] | np.ndarray) -> float:
    """Dual applying: P(match anywhere) = 1 - prod(1 - P_s) over the specialties ranked."""
    return float(1.0 - np.prod(1.0 - np.asarray(p_match, dtype=float)))


def interview_derivative(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """dP(match)/dp_j for every program j: sum_k a_j[k] (g(k+1) - g(k)).

    a_j is the pmf of the interviews from the other programs; only its degrees below k_max
    matter (the curve is flat beyond). It is the generating function divided by
    (1 - p_j + p_j z), done so that no step amplifies rounding errors:

    - p_j <= 1/2: forward on the whole list's pmf b (exact below k_max),
      a_j[k] = (b[k] - p_j a_j[k-1]) / (1 - p_j), each step scaling errors by p_j/(1-p_j) <= 1;
    - p_j > 1/2: backward on the exact pmf H of the m programs above 1/2 (degree m),
      h_j[k-1] = (H[k] - (1 - p_j) h_j[k]) / p_j, then a_j = h_j * L with L the pmf of the
      others, so D_j = sum_v h_j[v] w[v], w[v] = sum_u L[u] dg[u + v].

    Compiled (numba): O(n k_max + m (m + k_max)) per list, memory O(n + m).
    """
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    return _derivative_rows(p[None, :], np.asarray(g, dtype=float))[0]


def _derivative_rows(rows: np.ndarray, g: np.ndarray) -> np.ndarray:
    """`interview_derivative` of several lists at once (rows x programs)."""
    rows = np.ascontiguousarray(np.clip(np.asarray(rows, dtype=float), 0.0, 1.0))
    g = np.asarray(g, dtype=float)
    if rows.shape[1] == 0 or g.size < 2:
        return np.zeros(rows.shape)
    return _derivative_kernel(rows, np.diff(g))


@njit(cache=True, nogil=True)
def _p_match_rows(rows: np.ndarray, g: np.ndarray) -> np.ndarray:  # pragma: no cover - numba
    """sum_k P(K = k) g(k) per row, K's pmf truncated at len(g) - 1 with the tail in the last
    bin (the recurrence adds one program at a time; mass never flows to lower degrees)."""
    count, n = rows.shape
    width = g.size
    out = np.zeros(count)
    if width == 1:  # every outcome is in the one bin
        out[:] = g[0]
        return out
    pmf = np.zeros(width)
    for r in range(count):
        pmf[:] = 0.0
        pmf[0] = 1.0
        top = 0  # highest degree reached so far
        for i in range(n):
            q = rows[r, i]
            if q <= 0.0:
                continue
            if top < width - 1:
                top += 1
            k = top
            if k == width - 1:  # the tail bin keeps its mass and gains from the one below
                pmf[k] = pmf[k] + pmf[k - 1] * q if k > 0 else pmf[k]
                k -= 1
            while k > 0:
                pmf[k] = pmf[k] * (1.0 - q) + pmf[k - 1] * q
                k -= 1
            pmf[0] *= 1.0 - q
        total = 0.0
        for k in range(width):
            total += pmf[k] * g[k]
        out[r] = total
    return out


@njit(cache=True, nogil=True)
def _derivative_kernel(rows: np.ndarray, dg: np.ndarray) -> np.ndarray:  # pragma: no cover
    """dP/dp_j per row and program (see `interview_derivative`)."""
    count, n = rows.shape
    depth = min(dg.size, n)
    out = np.zeros((count, n))
    low_pmf = np.zeros(depth)  # L: programs at or below 1/2, exact below depth
    for r in range(count):
        p = rows[r]
        m = 0
        for j in range(n):
            if p[j] > 0.5:
                m += 1
        big = np.zeros(m + 1)  # H: programs above 1/2, exact (degree m)
        big[0] = 1.0
        low_pmf[:] = 0.0
        low_pmf[0] = 1.0
        seen = 0
        for j in range(n):
            q = p[j]
            if q > 0.5:
                seen += 1
                for k in range(seen, 0, -1):
                    big[k] = big[k] * (1.0 - q) + big[k - 1] * q
                big[0] *= 1.0 - q
            elif q > 0.0:
                for k in range(depth - 1, 0, -1):
                    low_pmf[k] = low_pmf[k] * (1.0 - q) + low_pmf[k - 1] * q
                low_pmf[0] *= 1.0 - q
        # b = L * H below depth; w[v] = sum_{u < depth - v} L[u] dg[u + v]
        b = np.zeros(depth)
        for u in range(depth):
            for v in range(min(m, depth - 1 - u) + 1):
                b[u + v] += low_pmf[u] * big[v]
        width = min(m, depth)
        w = np.zeros(max(width, 1))
        for v in range(width):
            acc = 0.0
            for u in range(depth - v):
                acc += low_pmf[u] * dg[u + v]
            w[v] = acc
        for j in range(n):
            q = p[j]
            if q <= 0.5:  # forward division of b by (1 - q + q z)
                a = 0.0
                acc = 0.0
                for k in range(depth):
                    a = (b[k] - q * a) / (1.0 - q)
                    acc += a * dg[k]
                out[r, j] = acc if acc > 0.0 else 0.0
            else:  # backward division of H by (1 - q + q z), then against L
                h = big[m] / q  # h[m-1]
                acc = 0.0
                for k in range(m - 1, -1, -1):
                    if k < width:
                        acc += h * w[k]
                    if k > 0:
                        h = (big[k] - (1.0 - q) * h) / q
                out[r, j] = acc if acc > 0.0 else 0.0
    return out


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, eq=False)
class SpecialtyList:
    """The programs an applicant applies to in one specialty, with what the planner needs.

    Attributes:
        specialty: specialty code.
        program_ids: one id per program (unique across all lists).
        p_interview: the engine's P(interview) without a signal.
        screened: True where a hard screen rules the applicant out (None: none).
        rotated: True at the applicant's home or away-rotation programs (None: none).
        p_considered: chance the program considers the applicant at all (passes its unknown
            screens, interviews the group): the ceiling a signal cannot raise (None: 1).
        match_given_k: P(match | k interviews), k = 0..k_max (None: the engine's curve).
    """

    specialty: str
    program_ids: Sequence[str]
    p_interview: np.ndarray
    screened: np.ndarray | None = None
    rotated: np.ndarray | None = None
    p_considered: np.ndarray | None = None
    match_given_k: np.ndarray | None = None


@dataclass(eq=False)
class _Spec:
    """A checked specialty list plus the planner's working state."""

    preference: int
    specialty: str
    ids: np.ndarray
    p0: np.ndarray
    screened: np.ndarray
    rotated: np.ndarray
    p_considered: np.ndarray | None
    g: np.ndarray
    rules: SignalRules
    factor: np.ndarray  # effect multiplier per program (rotation factor or 1)
    allowed: np.ndarray  # the planner may place a signal here (guidance, screens, p > 0)


def _check_lists(
    lists: Sequence[SpecialtyList], rules: Mapping[str, SignalRules] | None, season: str
) -> list[_Spec]:
    """Validate the inputs (every problem at once) and attach each specialty's rules."""
    problems: list[Problem] = []
    specs: list[_Spec] = []
    seen_specialties: set[str] = set()
    owner: dict[str, str] = {}
    factor = signal_effects().rotation_factor
    for rank, item in enumerate(lists, start=1):
        name = f"{item.specialty} programs"
        if item.specialty in seen_specialties:
            problems.append(
                Problem(name, None, "specialty", item.specialty, "each specialty once in the lists")
            )
        seen_specialties.add(item.specialty)
        ids = np.asarray(item.program_ids, dtype=object).astype(str)
        n = ids.size
        arrays: dict[str, np.ndarray | None] = {}
        for column in ("p_interview", "screened", "rotated", "p_considered", "match_given_k"):
            value = getattr(item, column)
            arrays[column] = None if value is None else np.asarray(value)
            if column != "match_given_k" and value is not None:
                shape = np.shape(value)
                if shape != (n,):
                    problems.append(
                        Problem(
                            name, None, column, f"shape {shape}", f"one value per program id ({n})"
                        )
                    )
                    arrays[column] = None
        for column in ("p_interview", "p_considered", "match_given_k"):
            if arrays[column] is None:
                continue
            try:
                arrays[column] = arrays[column].astype(float).ravel()
            except (TypeError, ValueError):
                problems.append(Problem(name, None, column, "non-numeric values", "numbers"))
                arrays[column] = None
        p = arrays["p_interview"]
        if p is None:
            continue
        for j in np.flatnonzero(~((p >= 0) & (p <= 1))):
            problems.append(
                Problem(
                    name,
                    int(j) + 1,
                    "p_interview",
                    float(p[j]),
                    f"a probability in [0, 1] (program {ids[j]})",
                )
            )
        p_considered = arrays["p_considered"]
        if p_considered is not None:
            bad = ~((p_considered >= 0) & (p_considered <= 1) & (p <= p_considered + 1e-9))
            for j in np.flatnonzero(bad):
                problems.append(
                    Problem(
                        name,
                        int(j) + 1,
                        "p_considered",
                        float(p_considered[j]),
                        f"in [0, 1] and >= p_interview {p[j]:.4g} (program {ids[j]})",
                    )
                )
        for j, pid in enumerate(ids.tolist()):
            if pid in owner:
                problems.append(
                    Problem(
                        name,
                        j + 1,
                        "program_ids",
                        pid,
                        f"a program id used once (also in {owner[pid]})",
                    )
                )
            owner[pid] = name
        g = arrays["match_given_k"]
        if g is None:
            g = match_given_interviews(item.specialty) if item.specialty in specialties() else None
        elif (
            g.size < 1
            or not np.isfinite(g).all()
            or np.any(np.diff(g) < 0)
            or g.min() < 0
            or g.max() > 1
        ):
            problems.append(
                Problem(
                    name,
                    None,
                    "match_given_k",
                    "the curve given",
                    "non-decreasing probabilities, one per k",
                )
            )
        try:
            rule = (rules or {}).get(item.specialty) or signal_rules(item.specialty, season)
        except ValueError as error:
            problems.append(Problem(name, None, "specialty", item.specialty, str(error)))
            continue
        if g is None:
            continue
        screened = np.zeros(n, bool) if arrays["screened"] is None else arrays["screened"]
        rotated = np.zeros(n, bool) if arrays["rotated"] is None else arrays["rotated"]
        screened, rotated = screened.astype(bool), rotated.astype(bool)
        p = np.clip(np.nan_to_num(p), 0.0, 1.0)
        allowed = (p > 0) & ~screened
        if rule.exclude_rotation_programs:
            allowed &= ~rotated
        if p_considered is not None:
            p_considered = np.clip(np.nan_to_num(p_considered), 0.0, 1.0)
        specs.append(
            _Spec(
                preference=rank,
                specialty=item.specialty,
                ids=ids,
                p0=p,
                screened=screened,
                rotated=rotated,
                p_considered=p_considered,
                g=g,
                rules=rule,
                factor=np.where(rotated, factor, 1.0),
                allowed=allowed,
            )
        )
    if problems:
        raise DataValidationError(problems, source="signal planner input")
    return specs


# --------------------------------------------------------------------------- pools


@dataclass
class _Pool:
    """Signals of one pool: counts per tier, members, and how many are used."""

    name: str
    members: tuple[str, ...]
    allowed: dict[str, int]
    tiers: tuple[str, ...]
    unknown: bool
    used: dict[str, int] = field(default_factory=dict)
    note: str | None = None

    def label(self, present: Sequence[str]) -> str:
        """'IR and DR' for a shared pool (the members applied to), else the code."""
        names = [m for m in present if m in self.members] or list(self.members)
        return " and ".join(names)


def _pools(specs: Sequence[_Spec]) -> dict[str, _Pool]:
    """Pools of the specialties applied to; members that disagree on counts use the smaller."""
    pools: dict[str, _Pool] = {}
    for spec in specs:
        rule = spec.rules
        if rule.pool not in pools:
            pools[rule.pool] = _Pool(
                name=rule.pool,
                members=rule.pool_specialties,
                allowed=rule.allowed(),
                tiers=rule.tiers(),
                unknown=rule.unknown,
            )
            continue
        pool = pools[rule.pool]
        if rule.allowed() != pool.allowed or rule.unknown != pool.unknown:
            merged = {
                t: min(pool.allowed.get(t, 0), rule.allowed().get(t, 0))
                for t in set(pool.allowed) | set(rule.allowed())
            }
            pool.note = (
                f"{pool.name}: the members' rules differ ({pool.allowed} vs {rule.allowed()} "
                f"for {rule.specialty}); using the smaller counts"
            )
            pool.allowed = {t: n for t, n in merged.items() if t in pool.tiers}
            pool.unknown = pool.unknown or rule.unknown
    for pool in pools.values():
        pool.used = dict.fromkeys(pool.tiers, 0)
        if pool.unknown:
            pool.allowed = {}
    return pools


# --------------------------------------------------------------------------- results


@dataclass
class SignalPlan:
    """Signals placed on an applicant's lists and what they change.

    Attributes:
        method: "optimized", "own" (an applicant's choice) or "most_friendly_first".
        season: the season the rules were read for.
        signals: one row per signal: program_id, specialty, tier, p_interview_without,
            p_interview_with, rotation, gain_p_match (in its specialty, when placed),
            gain_p_match_any (when placed), reason.
        specialties: one row per specialty: specialty, preference, pool, service, rules_season,
            fallback_from, unknown, gold/silver/single used, p_match_without, p_match_with,
            p_match_in_without, p_match_in_with.
        pools: one row per pool and tier: pool, tier, allowed, used.
        p_match_any_without / p_match_any_with: P(match anywhere) without and with the signals
            (central effect); p_match_any_with_low / _high: with the effect's low and high end.
        notes: plain-text cautions (fallback seasons, unknown counts, unused signals).
        flags: for an applicant's own choice, one row per problem: program_id, specialty,
            tier, code, severity ("rule", "wasted" or "advice"), message.
    """

    method: str
    season: str
    signals: pl.DataFrame
    specialties: pl.DataFrame
    pools: pl.DataFrame
    p_match_any_without: float
    p_match_any_with: float
    p_match_any_with_low: float
    p_match_any_with_high: float
    notes: tuple[str, ...]
    rules: dict[str, SignalRules]
    flags: pl.DataFrame | None = None

    @property
    def gain(self) -> float:
        """P(match anywhere) with the signals minus without."""
        return self.p_match_any_with - self.p_match_any_without

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (the shape `imgmatch plan --json` can embed)."""
        out: dict[str, Any] = {
            "method": self.method,
            "season": self.season,
            "signals": [
                {
                    "program_id": r["program_id"],
                    "specialty": r["specialty"],
                    "tier": r["tier"],
                    "p_interview_without": round(r["p_interview_without"], 4),
                    "p_interview_with": round(r["p_interview_with"], 4),
                    "reason": r["reason"],
                }
                for r in self.signals.iter_rows(named=True)
            ],
            "p_match_any_without_signals": round(self.p_match_any_without, 4),
            "p_match_any": round(self.p_match_any_with, 4),
            "p_match_any_range": [
                round(self.p_match_any_with_low, 4),
                round(self.p_match_any_with_high, 4),
            ],
            "notes": list(self.notes),
        }
        if self.flags is not None:
            out["flags"] = self.flags.to_dicts()
        return out


_SIGNAL_SCHEMA = {
    "program_id": pl.String,
    "specialty": pl.String,
    "tier": pl.String,
    "p_interview_without": pl.Float64,
    "p_interview_with": pl.Float64,
    "rotation": pl.Boolean,
    "gain_p_match": pl.Float64,
    "gain_p_match_any": pl.Float64,
    "reason": pl.String,
}
_SPECIALTY_SCHEMA = {
    "specialty": pl.String,
    "preference": pl.Int64,
    "pool": pl.String,
    "service": pl.String,
    "rules_season": pl.String,
    "fallback_from": pl.String,
    "unknown": pl.Boolean,
    "gold_used": pl.Int64,
    "silver_used": pl.Int64,
    "single_used": pl.Int64,
    "p_match_without": pl.Float64,
    "p_match_with": pl.Float64,
    "p_match_in_without": pl.Float64,
    "p_match_in_with": pl.Float64,
}
_FLAG_SCHEMA = {
    "program_id": pl.String,
    "specialty": pl.String,
    "tier": pl.String,
    "code": pl.String,
    "severity": pl.String,
    "message": pl.String,
}


def _pct(p: float) -> str:
    """A probability as a short percentage: 41%, 4.2%, 0.4%, <0.1%."""
    if p >= 0.995 or p == 0:
        return f"{p:.0%}"
    if p >= 0.1:
        return f"{p:.0%}"
    if p >= 0.001:
        return f"{p:.1%}"
    return "<0.1%"


def _points(gain: float) -> str:
    pts = 100 * gain
    return f"{pts:.1f} points" if pts >= 0.05 else "under 0.1 points"


def _band(p: float) -> str:
    if p <= 0:
        return "no"
    if p < 0.05:
        return "slim"
    if p < 0.15:
        return "low"
    if p <= 0.7:
        return "middling"
    return "high"


def _effects_matrix(spec: _Spec, effects: SignalEffects, level: str) -> dict[str, np.ndarray]:
    """p_with per tier at every program of a specialty (unchanged where no effect applies)."""
    return {
        t: with_signal(
            spec.p0,
            effects.of(t, level) * spec.factor,
            screened=spec.screened,
            p_considered=spec.p_considered,
        )
        for t in TIERS
    }


def _assess(
    method: str,
    season: str,
    specs: Sequence[_Spec],
    pools: Mapping[str, _Pool],
    chosen: Sequence[tuple[int, int, str, float, float, str]],
    effects: SignalEffects,
    notes: Sequence[str],
    flags: list[dict[str, Any]] | None = None,
    levels: Sequence[str] = EFFECT_LEVELS,
) -> SignalPlan:
    """Evaluate an assignment: chosen = (spec index, program index, tier, gain_s, gain_any,
    reason), at the central effect and at the ends of its range (`levels`; a baseline needs
    the central one only, and the ends then repeat it)."""
    totals: dict[str, list[float]] = {}
    per_spec: list[dict[str, Any]] = []
    p_with_central: dict[int, np.ndarray] = {}
    without = [float(p_match_from_interviews(s.p0, s.g)) for s in specs]
    picks: dict[int, tuple[np.ndarray, list[str]]] = {}
    for i in range(len(specs)):
        mine = [(j, tier) for si, j, tier, *_ in chosen if si == i]
        picks[i] = (np.array([j for j, _ in mine], dtype=int), [t for _, t in mine])
    for level in ("central", *(v for v in levels if v != "central")):
        values = []
        for i, spec in enumerate(specs):
            js, tiers = picks[i]
            p = spec.p0.copy()
            if js.size:  # only the signaled programs change
                beta = np.array([effects.of(t, level) for t in tiers]) * spec.factor[js]
                scale = None if spec.p_considered is None else spec.p_considered[js]
                p[js] = with_signal(
                    spec.p0[js], beta, screened=spec.screened[js], p_considered=scale
                )
            if level == "central":
                p_with_central[i] = p
            values.append(float(p_match_from_interviews(p, spec.g)) if js.size else without[i])
        totals[level] = values
    for level in EFFECT_LEVELS:
        totals.setdefault(level, totals["central"])

    def p_in(values: Sequence[float]) -> list[float]:
        before = np.concatenate([[1.0], np.cumprod(1.0 - np.asarray(values))[:-1]])
        return (np.asarray(values) * before).tolist()

    in_without, in_with = p_in(without), p_in(totals["central"])
    for i, spec in enumerate(specs):
        counts = dict.fromkeys(TIERS, 0)
        for si, _, tier, *_ in chosen:
            if si == i:
                counts[tier] += 1
        rule = spec.rules
        per_spec.append(
            {
                "specialty": spec.specialty,
                "preference": spec.preference,
                "pool": rule.pool,
                "service": rule.service,
                "rules_season": rule.season,
                "fallback_from": rule.fallback_from,
                "unknown": rule.unknown,
                "gold_used": counts["gold"],
                "silver_used": counts["silver"],
                "single_used": counts["single"],
                "p_match_without": without[i],
                "p_match_with": totals["central"][i],
                "p_match_in_without": in_without[i],
                "p_match_in_with": in_with[i],
            }
        )
    rows = []
    for si, j, tier, gain_s, gain_any, reason in chosen:
        spec = specs[si]
        rows.append(
            {
                "program_id": str(spec.ids[j]),
                "specialty": spec.specialty,
                "tier": tier,
                "p_interview_without": float(spec.p0[j]),
                "p_interview_with": float(p_with_central[si][j]),
                "rotation": bool(spec.rotated[j]),
                "gain_p_match": gain_s,
                "gain_p_match_any": gain_any,
                "reason": reason,
            }
        )
    pool_rows = [
        {
            "pool": pool.name,
            "tier": t,
            "allowed": pool.allowed.get(t) if not pool.unknown else None,
            "used": sum(
                1 for si, _, tier, *_ in chosen if specs[si].rules.pool == pool.name and tier == t
            ),
        }
        for pool in pools.values()
        for t in pool.tiers
    ]
    return SignalPlan(
        method=method,
        season=season,
        signals=pl.DataFrame(rows, schema=_SIGNAL_SCHEMA),
        specialties=pl.DataFrame(per_spec, schema=_SPECIALTY_SCHEMA),
        pools=pl.DataFrame(
            pool_rows,
            schema={"pool": pl.String, "tier": pl.String, "allowed": pl.Int64, "used": pl.Int64},
        ),
        p_match_any_without=p_match_any(without),
        p_match_any_with=p_match_any(totals["central"]),
        p_match_any_with_low=p_match_any(totals["low"]),
        p_match_any_with_high=p_match_any(totals["high"]),
        notes=tuple(dict.fromkeys(notes)),
        rules={s.specialty: s.rules for s in specs},
        flags=None if flags is None else pl.DataFrame(flags, schema=_FLAG_SCHEMA),
    )


def _rule_notes(specs: Sequence[_Spec], pools: Mapping[str, _Pool]) -> list[str]:
    notes = [flag for s in specs for flag in s.rules.flags()]
    notes += [p.note for p in pools.values() if p.note]
    return notes


# --------------------------------------------------------------------------- planner


class _Search:
    """The planner's state: current P(interview), tiers placed, P(match) per specialty."""

    def __init__(self, specs: Sequence[_Spec], tables: Sequence[Mapping[str, np.ndarray]]):
        self.specs = specs
        self.tables = tables
        self.p = [s.p0.copy() for s in specs]
        self.tier: list[dict[int, str]] = [{} for _ in specs]
        self.free = [s.allowed.copy() for s in specs]  # may still get a signal
        self.pm = [float(p_match_from_interviews(s.p0, s.g)) for s in specs]
        self._deriv: list[np.ndarray | None] = [None] * len(specs)
        # a signal never moves a zero chance, so only these columns can ever matter
        self.nz = [s.p0 > 0 for s in specs]

    def deriv(self, i: int) -> np.ndarray:
        """dP_i/dp_j at the current state (cached until specialty i changes); 0 where p0 = 0
        (those programs never get a signal, so their derivative is never used)."""
        if self._deriv[i] is None:
            d = np.zeros_like(self.p[i])
            nz = self.nz[i]
            d[nz] = interview_derivative(self.p[i][nz], self.specs[i].g)
            self._deriv[i] = d
        return self._deriv[i]

    def others(self, *skip: int) -> float:
        """prod (1 - P_r) over the specialties not in `skip`."""
        return float(np.prod([1.0 - v for r, v in enumerate(self.pm) if r not in skip]))

    def any(self) -> float:
        """P(match anywhere) now."""
        return p_match_any(self.pm)

    def place(self, i: int, j: int, tier: str | None) -> None:
        """Give program j of specialty i a signal of `tier` (None removes it).

        P_i changes by D_j times the change of p_j (exact: P_i is linear in p_j).
        """
        new = self.specs[i].p0[j] if tier is None else self.tables[i][tier][j]
        self.pm[i] += self.deriv(i)[j] * (new - self.p[i][j])
        self.p[i][j] = new
        if tier is None:
            self.tier[i].pop(j, None)
            self.free[i][j] = bool(self.specs[i].allowed[j])
        else:
            self.tier[i][j] = tier
            self.free[i][j] = False
        self._deriv[i] = None


@dataclass
class _Review:
    """One signal looked at in the final state: its worth and the best change found."""

    contribution: float  # P(match anywhere) with it minus without it
    value: float  # P(match anywhere) after the best change (now, when there is none)
    move: tuple[Any, ...] | None  # the best improving change, if any


def _review_specialty(search: _Search, pool: _Pool, i: int) -> dict[int, _Review]:
    """Value every change of each signal of specialty i: moving it to a free program of any
    pool member (same tier), or swapping tiers with a signal of another tier in the pool.

    Exact and cheap because P_s is multilinear in the p's: with D the derivative now and
    D' the derivative once j's signal is removed (one batched call for all j), P_s after
    moving it to k is P_s' + D'_k (p_with_k - p_k), and the derivative at any value x of
    p_j is linear in x, D'_k + (x - p0_j) / (p_j - p0_j) (D_k - D'_k), which values a swap.
    """
    specs, tables = search.specs, search.tables
    signaled = sorted(search.tier[i])
    if not signaled:
        return {}
    current = search.any()
    d_now = search.deriv(i)
    p0 = specs[i].p0
    rows = np.broadcast_to(search.p[i], (len(signaled), p0.size)).copy()
    rows[np.arange(len(signaled)), signaled] = p0[signaled]
    nz = search.nz[i]
    d_rows = np.zeros_like(rows)
    d_rows[:, nz] = _derivative_rows(rows[:, nz], specs[i].g)
    members = [r for r, s in enumerate(specs) if s.rules.pool == pool.name]
    out = {}
    for row, j in enumerate(signaled):
        tier = search.tier[i][j]
        d_rm = d_rows[row]
        d_rm[j] = d_now[j]  # the derivative in p_j does not depend on p_j
        delta = search.p[i][j] - p0[j]
        pm_rm = search.pm[i] - d_now[j] * delta
        best_value, move = current, None
        for r in members:
            free = search.free[r]
            if not free.any():
                continue
            if r == i:
                new = pm_rm + d_rm * (tables[r][tier] - rows[row])
                value = 1.0 - (1.0 - new) * search.others(i)
            else:
                new = search.pm[r] + search.deriv(r) * (tables[r][tier] - search.p[r])
                value = 1.0 - (1.0 - new) * (1.0 - pm_rm) * search.others(i, r)
            value = np.where(free, value, -1.0)
            k = int(np.argmax(value))
            if value[k] > best_value + _MIN_GAIN:
                best_value, move = float(value[k]), ("move", i, j, r, k, tier)
        for r in members:
            for k, other in search.tier[r].items():
                if other == tier:
                    continue
                x = tables[i][other][j]  # j's new value
                pm_i = pm_rm + d_rm[j] * (x - p0[j])
                step = tables[r][tier][k] - search.p[r][k]  # k's change
                if r == i:
                    slope = d_rm[k] + ((x - p0[j]) / delta * (d_now[k] - d_rm[k]) if delta else 0.0)
                    value = 1.0 - (1.0 - (pm_i + slope * step)) * search.others(i)
                else:
                    pm_r = search.pm[r] + search.deriv(r)[k] * step
                    value = 1.0 - (1.0 - pm_i) * (1.0 - pm_r) * search.others(i, r)
                if value > best_value + _MIN_GAIN:
                    best_value, move = float(value), ("swap", i, j, r, k, tier)
        without = 1.0 - (1.0 - pm_rm) * search.others(i)
        out[j] = _Review(contribution=current - without, value=best_value, move=move)
    return out


def plan_signals(
    lists: Sequence[SpecialtyList],
    *,
    season: str | int,
    rules: Mapping[str, SignalRules] | None = None,
    effects: SignalEffects | None = None,
    improve: bool = True,
    max_passes: int = 20,
) -> SignalPlan:
    """Choose the gold, silver or single signals that maximize P(match anywhere).

    Greedy on the exact marginal gain (module docstring), gold before silver within a pool;
    then, with `improve`, the best change that moves one signal to another program or swaps
    the tiers of two, while one raises P(match anywhere) (at most `max_passes` changes per
    pool). No signal goes to a screened-out or zero-chance program, or to a
    rotation program where the specialty's guidance forbids it; specialties with unknown
    counts get none (noted).

    Args:
        lists: one `SpecialtyList` per specialty, in the applicant's rank-list order.
        season: application season ("2026-2027") or match year (2027).
        rules: rules per specialty to use instead of the reference (e.g. confirmed counts).
        effects: effect sizes instead of `params/signals.yaml`.
        improve: improve the greedy placement by single moves and tier swaps.
        max_passes: limit on improving changes per pool.

    Raises:
        DataValidationError: listing every problem of the inputs.
    """
    if max_passes < 0:
        raise ValueError(f"max_passes {max_passes}: expected 0 or more")
    season = normalize_season(season)
    effects = effects or signal_effects()
    specs = _check_lists(lists, rules, season)
    pools = _pools(specs)
    present = [s.specialty for s in specs]
    search = _Search(specs, [_effects_matrix(s, effects, "central") for s in specs])
    while True:  # greedy: the largest exact gain among the pools with signals left
        best: tuple[float, int, int, str] | None = None
        for pool in pools.values():
            tier = next((t for t in pool.tiers if pool.used[t] < pool.allowed.get(t, 0)), None)
            if tier is None:
                continue
            for i, spec in enumerate(specs):
                free = search.free[i]
                if spec.rules.pool != pool.name or not free.any():
                    continue
                gain = search.deriv(i) * (search.tables[i][tier] - search.p[i])
                gain = np.where(free, gain, -1.0) * search.others(i)
                j = int(np.argmax(gain))
                if gain[j] > _MIN_GAIN and (best is None or gain[j] > best[0]):
                    best = (float(gain[j]), i, j, tier)
        if best is None:
            break
        _, i, j, tier = best
        search.place(i, j, tier)
        pools[specs[i].rules.pool].used[tier] += 1
    # improvement: a pool's changes move only its members' P(match), and P(match anywhere)
    # is 1 - (their product) x (the others'), so each pool is improved on its own
    reviews: dict[tuple[int, int], _Review] = {}
    for pool in pools.values():
        members = [i for i, s in enumerate(specs) if s.rules.pool == pool.name]
        for attempt in range(max_passes + 1):
            found = {
                (i, j): r for i in members for j, r in _review_specialty(search, pool, i).items()
            }
            moves = [r for r in found.values() if r.move is not None]
            if not improve or not moves or attempt == max_passes:
                reviews.update(found)
                break
            _apply(search, max(moves, key=lambda r: r.value).move)
    chosen = []
    for (i, j), review in reviews.items():
        spec = specs[i]
        tier = search.tier[i][j]
        label = pools[spec.rules.pool].label(present)
        reason = _reason(spec, j, tier, spec.p0[j], search.p[i][j], review, label)
        gain_s = float(search.deriv(i)[j] * (search.p[i][j] - spec.p0[j]))
        chosen.append((i, j, tier, gain_s, review.contribution, reason))
    order = {t: k for k, t in enumerate(TIERS)}
    chosen.sort(key=lambda c: (specs[c[0]].preference, order[c[2]], -c[4], c[1]))
    notes = _rule_notes(specs, pools)
    for pool in pools.values():
        left = {t: pool.allowed.get(t, 0) - pool.used[t] for t in pool.tiers}
        left = {t: n for t, n in left.items() if n > 0}
        if left and not pool.unknown:
            what = " and ".join(f"{n} {t}" for t, n in left.items())
            notes.append(
                f"{pool.label(present)}: {what} signal(s) left unused: no other program on the "
                "list can consider you (the rest screen you out, cannot interview you, or are "
                "rotation programs the guidance excludes)"
            )
    return _assess("optimized", season, specs, pools, chosen, effects, notes)


def _apply(search: _Search, move: tuple[Any, ...]) -> None:
    """Carry out a change found by `_review_specialty`, then refresh P(match) exactly."""
    kind, i, j, r, k, tier = move
    if kind == "move":
        search.place(i, j, None)
        search.place(r, k, tier)
    else:
        other = search.tier[r][k]
        search.place(i, j, other)
        search.place(r, k, tier)
    for s in {i, r}:
        search.pm[s] = float(p_match_from_interviews(search.p[s], search.specs[s].g))


def _reason(
    spec: _Spec, j: int, tier: str, before: float, after: float, review: _Review, label: str
) -> str:
    """One line: the chance it moves, what it adds to P(match anywhere), and why here."""
    text = (
        f"{_band(before)} chance {_pct(before)} -> {_pct(after)} with a {tier} signal; adds "
        f"{_points(review.contribution)} to P(match anywhere)"
    )
    if review.move is None:
        text += f", more than it would at any other of your {label} programs"
    if spec.rotated[j]:
        text += "; you rotate here, so a signal counts for less there"
    return text


# --------------------------------------------------------------------------- own choice


def _normalize_choice(
    choice: Mapping[str, str] | Iterable[tuple[str, str]] | pl.DataFrame,
) -> list[tuple[str, str]]:
    if isinstance(choice, pl.DataFrame):
        missing = {"program_id", "tier"} - set(choice.columns)
        if missing:
            raise ValueError(f"signal choice: missing column(s) {sorted(missing)}")
        return [(str(a), str(b)) for a, b in choice.select("program_id", "tier").iter_rows()]
    if isinstance(choice, Mapping):
        return [(str(a), str(b)) for a, b in choice.items()]
    return [(str(a), str(b)) for a, b in choice]


def evaluate_signals(
    lists: Sequence[SpecialtyList],
    choice: Mapping[str, str] | Iterable[tuple[str, str]] | pl.DataFrame,
    *,
    season: str | int,
    rules: Mapping[str, SignalRules] | None = None,
    effects: SignalEffects | None = None,
) -> SignalPlan:
    """P(match) with an applicant's own signals, and every way they break the rules.

    `choice` gives (program_id, tier) pairs, as a mapping, pairs or a frame with those
    columns; tiers are gold, silver, single, or yes (a plain signal). Signals are evaluated as
    entered; `flags` lists, with severity "rule", a tier the specialty does not use (counted as
    the nearest one: silver, or single), too many of a tier, a shared pool exceeded, a
    duplicate, a program not on the lists, an unknown tier word, a rotation program where the
    guidance forbids signals; with severity "wasted", a screened-out or zero-chance program;
    with severity "advice", other rotation programs and specialties whose counts are unknown.
    """
    season = normalize_season(season)
    effects = effects or signal_effects()
    specs = _check_lists(lists, rules, season)
    pools = _pools(specs)
    present = [s.specialty for s in specs]
    where = {pid: (i, j) for i, s in enumerate(specs) for j, pid in enumerate(s.ids.tolist())}
    flags: list[dict[str, Any]] = []
    chosen: list[tuple[int, int, str, float, float, str]] = []
    taken: set[str] = set()

    def flag(
        pid: str | None, spec: str | None, tier: str | None, code: str, severity: str, msg: str
    ) -> None:
        """Record a problem; pool-wide ones have no program and name the pool (e.g. DR+IR)."""
        flags.append(
            {
                "program_id": pid,
                "specialty": spec,
                "tier": tier,
                "code": code,
                "severity": severity,
                "message": msg,
            }
        )

    for pid, raw_tier in _normalize_choice(choice):
        try:
            tier = signal_tier(raw_tier)
        except NormalizationError:
            tier = None
        else:
            if tier is None:  # "no", "none", empty: no signal
                continue
        if pid not in where:
            flag(
                pid,
                None,
                raw_tier,
                "not_on_list",
                "rule",
                f"{pid} is not on your program lists: a signal goes only with an application",
            )
            continue
        i, j = where[pid]
        spec = specs[i]
        s = spec.specialty
        if tier is None:
            flag(
                pid,
                s,
                raw_tier,
                "unknown_tier",
                "rule",
                f"tier {raw_tier!r} is not one of gold, silver, single or yes; not counted",
            )
            continue
        if pid in taken:
            flag(pid, s, tier, "duplicate", "rule", f"{pid} is signaled more than once")
            continue
        taken.add(pid)
        rule = spec.rules
        if not rule.unknown and tier not in rule.tiers():
            counted = "silver" if rule.tiered else "single"
            uses = "gold and silver" if rule.tiered else "single (untiered)"
            flag(
                pid,
                s,
                tier,
                "wrong_tier",
                "rule",
                f"{s} uses {uses} signals in {rule.season}; counted as {counted}",
            )
            tier = counted
        elif rule.unknown and tier not in ("gold", "silver", "single"):
            tier = "single"
        if spec.screened[j]:
            flag(
                pid,
                s,
                tier,
                "screened_out",
                "wasted",
                f"{pid} screens you out: a signal cannot open it",
            )
        elif spec.p0[j] <= 0:
            flag(
                pid,
                s,
                tier,
                "zero_chance",
                "wasted",
                f"{pid} does not interview applicants like you: a signal cannot change that",
            )
        if spec.rotated[j] and rule.exclude_rotation_programs:
            flag(
                pid,
                s,
                tier,
                "guidance",
                "rule",
                f"{s} guidance: do not signal your home or away-rotation programs",
            )
        elif spec.rotated[j]:
            flag(pid, s, tier, "rotation", "advice", load_params("signals")["rotation"]["text"])
        chosen.append((i, j, tier, float("nan"), float("nan"), ""))
    for pool in pools.values():
        mine = [c for c in chosen if specs[c[0]].rules.pool == pool.name]
        if pool.unknown:
            if mine:
                flag(
                    None,
                    pool.name,
                    None,
                    "unknown_counts",
                    "advice",
                    f"{pool.label(present)}: signal counts for this season are not known, so "
                    "the number you chose cannot be checked",
                )
            continue
        for t in pool.tiers:
            n = sum(1 for c in mine if c[2] == t)
            limit = pool.allowed.get(t, 0)
            if n > limit:
                shared = len(pool.members) > 1
                flag(
                    None,
                    pool.name,
                    t,
                    "pool_exceeded" if shared else "too_many",
                    "rule",
                    f"{n} {t} signals in {pool.label(present)}, over the {limit} allowed"
                    + (f" for {' and '.join(pool.members)} together" if shared else ""),
                )
    evaluated = _with_gains(specs, chosen, effects)
    return _assess(
        "own", season, specs, pools, evaluated, effects, _rule_notes(specs, pools), flags
    )


def _with_gains(
    specs: Sequence[_Spec],
    chosen: Sequence[tuple[int, int, str, float, float, str]],
    effects: SignalEffects,
) -> list[tuple[int, int, str, float, float, str]]:
    """Fill each signal's gain (P(match) with all chosen signals minus without this one) and
    its one-line reason: the chance it moves and what it adds, then the given reason.

    P_s is linear in each p_j, so the gain is exactly D_j (p_with_j - p_j), D the derivative
    with every chosen signal in place (one call per specialty, not one per signal).
    """
    if not chosen:
        return []
    tables = [_effects_matrix(s, effects, "central") for s in specs]
    p = [s.p0.copy() for s in specs]
    for i, j, tier, *_ in chosen:
        p[i][j] = tables[i][tier][j]
    pm = [float(p_match_from_interviews(p[i], s.g)) for i, s in enumerate(specs)]
    slopes: dict[int, np.ndarray] = {}
    for i in {c[0] for c in chosen}:
        nz = specs[i].p0 > 0
        slopes[i] = np.zeros_like(p[i])
        slopes[i][nz] = interview_derivative(p[i][nz], specs[i].g)
    out = []
    for i, j, tier, _, _, reason in chosen:
        others = float(np.prod([1.0 - pm[r] for r in range(len(specs)) if r != i]))
        gain_s = float(slopes[i][j] * (p[i][j] - specs[i].p0[j]))
        before, after = specs[i].p0[j], p[i][j]
        text = (
            f"{_band(before)} chance {_pct(before)} -> {_pct(after)} with a {tier} signal; "
            f"adds {_points(gain_s * others)} to P(match anywhere)"
        )
        out.append((i, j, tier, gain_s, gain_s * others, f"{text}; {reason}" if reason else text))
    return out


# --------------------------------------------------------------------------- baselines


def most_friendly_first(
    lists: Sequence[SpecialtyList],
    friendliness: Mapping[str, np.ndarray],
    *,
    season: str | int,
    rules: Mapping[str, SignalRules] | None = None,
    effects: SignalEffects | None = None,
) -> SignalPlan:
    """Baseline: each pool's gold, then silver, to its most IMG-friendly programs.

    Evaluated at the central effect only (the range's ends repeat it). Candidates are the
    same as the planner's (no screened-out, zero-chance or excluded
    rotation programs); ties keep list order.

    Args:
        friendliness: per specialty, an IMG-friendliness score per program (higher first),
            aligned with that specialty's list.
    """
    season = normalize_season(season)
    effects = effects or signal_effects()
    specs = _check_lists(lists, rules, season)
    pools = _pools(specs)
    present = [s.specialty for s in specs]
    chosen: list[tuple[int, int, str, float, float, str]] = []
    for pool in pools.values():
        cands = []
        for i, spec in enumerate(specs):
            if spec.rules.pool != pool.name:
                continue
            score = np.asarray(friendliness[spec.specialty], dtype=float)
            if score.shape != spec.p0.shape:
                raise ValueError(
                    f"friendliness for {spec.specialty}: {score.shape[0] if score.ndim else 0} "
                    f"scores for {spec.p0.size} programs"
                )
            cands += [(-score[j], spec.preference, j, i) for j in np.flatnonzero(spec.allowed)]
        cands.sort()
        slots = [t for t in pool.tiers for _ in range(pool.allowed.get(t, 0))]
        for (neg_score, _, j, i), tier in zip(cands, slots, strict=False):
            reason = (
                f"chosen for its IMG-friendliness {-neg_score:.0f}, the highest left among your "
                f"{pool.label(present)} programs"
            )
            chosen.append((i, int(j), tier, float("nan"), float("nan"), reason))
    evaluated = _with_gains(specs, chosen, effects)
    return _assess(
        "most_friendly_first",
        season,
        specs,
        pools,
        evaluated,
        effects,
        _rule_notes(specs, pools),
        levels=("central",),
    )


@dataclass(frozen=True)
class RandomBaseline:
    """Signals placed at random (seeded), P(match) averaged over draws."""

    season: str
    draws: int
    seed: int
    p_match_any_without: float
    p_match_any_with: float  # mean over draws
    p_match_any_with_p10: float
    p_match_any_with_p90: float
    p_match_with: dict[str, float]  # per specialty, mean over draws

    @property
    def gain(self) -> float:
        """Mean P(match anywhere) with random signals minus without."""
        return self.p_match_any_with - self.p_match_any_without


def random_signals(
    lists: Sequence[SpecialtyList],
    *,
    season: str | int,
    rules: Mapping[str, SignalRules] | None = None,
    effects: SignalEffects | None = None,
    draws: int = 200,
    seed: int = 0,
) -> RandomBaseline:
    """Baseline: each pool's signals to random programs that can consider the applicant.

    Every draw fills the pool's counts (gold, then silver) from a uniform random order of the
    planner's candidates; P(match) of all draws is computed at once (draws x programs).
    """
    if draws < 1:
        raise ValueError(f"draws {draws}: expected 1 or more")
    season = normalize_season(season)
    effects = effects or signal_effects()
    specs = _check_lists(lists, rules, season)
    pools = _pools(specs)
    rng = np.random.default_rng(seed)
    p = [np.broadcast_to(s.p0, (draws, s.p0.size)).copy() for s in specs]
    tables = [_effects_matrix(s, effects, "central") for s in specs]
    for pool in pools.values():
        members = [i for i, s in enumerate(specs) if s.rules.pool == pool.name]
        cands = [(i, j) for i in members for j in np.flatnonzero(specs[i].allowed)]
        if not cands:
            continue
        slots = [t for t in pool.tiers for _ in range(pool.allowed.get(t, 0))][: len(cands)]
        order = np.argsort(rng.random((draws, len(cands))), axis=1)[:, : len(slots)]
        spec_of = np.array([c[0] for c in cands])
        prog_of = np.array([c[1] for c in cands])
        for slot, tier in enumerate(slots):
            picks = order[:, slot]
            for i in members:
                rows = np.flatnonzero(spec_of[picks] == i)
                cols = prog_of[picks[rows]]
                p[i][rows, cols] = tables[i][tier][cols]
    pm = np.stack([p_match_from_interviews(p[i], s.g) for i, s in enumerate(specs)], axis=-1)
    anyv = 1.0 - np.prod(1.0 - pm, axis=-1)
    without = [float(p_match_from_interviews(s.p0, s.g)) for s in specs]
    return RandomBaseline(
        season=season,
        draws=draws,
        seed=seed,
        p_match_any_without=p_match_any(without),
        p_match_any_with=float(anyv.mean()),
        p_match_any_with_p10=float(np.quantile(anyv, 0.1)),
        p_match_any_with_p90=float(np.quantile(anyv, 0.9)),
        p_match_with={s.specialty: float(pm[:, i].mean()) for i, s in enumerate(specs)},
    )


# --------------------------------------------------------------------------- from the engine


def lists_from_chances(
    chances: pl.DataFrame,
    applications: Mapping[str, int],
    *,
    include_screened: bool = False,
    forced: Iterable[str] = (),
) -> list[SpecialtyList]:
    """Specialty lists from `interview_chances` output, as `match_chances` picks the programs.

    Per specialty (in `preference` order): the `applications[specialty]` eligible programs
    with the highest p_interview, rotation and `forced` programs (signaled ones) first, ties by
    program id (the programs `match_chances` counts), plus every screened-out program when
    `include_screened`. Uses the `p_considered` column when present.

    Args:
        chances: columns program_id, specialty, preference, eligible, p_interview, rotation
            (and optionally p_considered), without signals.
        applications: programs applied to per specialty.
        include_screened: add the screened-out programs (they never get an interview).
        forced: program ids always applied to when eligible (the applicant's own signals).
    """
    need = {"program_id", "specialty", "preference", "eligible", "p_interview", "rotation"}
    missing = need - set(chances.columns)
    if missing:
        raise ValueError(f"interview chances: missing column(s) {sorted(missing)}")
    forced = list(forced)
    out = []
    for (specialty,), part in chances.sort("preference").group_by("specialty", maintain_order=True):
        eligible = part.filter(pl.col("eligible"))
        n = int(applications.get(str(specialty), eligible.height))
        first = pl.col("rotation") | pl.col("program_id").is_in(forced)
        picked = eligible.with_columns(
            _key=pl.col("p_interview") + pl.when(first).then(2.0).otherwise(0.0)
        ).sort(["_key", "program_id"], descending=[True, False])[:n]
        if include_screened:
            picked = pl.concat([picked.drop("_key"), part.filter(~pl.col("eligible"))])
        out.append(
            SpecialtyList(
                specialty=str(specialty),
                program_ids=picked["program_id"].to_list(),
                p_interview=picked["p_interview"].to_numpy().astype(float),
                screened=~picked["eligible"].to_numpy().astype(bool),
                rotated=picked["rotation"].to_numpy().astype(bool),
                p_considered=(
                    picked["p_considered"].to_numpy().astype(float)
                    if "p_considered" in picked.columns
                    else None
                ),
            )
        )
    return out


def exhaustive_best(
    lists: Sequence[SpecialtyList],
    *,
    season: str | int,
    rules: Mapping[str, SignalRules] | None = None,
    effects: SignalEffects | None = None,
    max_assignments: int = 200_000,
) -> float:
    """The best P(match anywhere) over every assignment of the signals (a check, small cases).

    Enumerates, pool by pool, every way to give each tier's count to distinct candidates (the
    planner's candidates); pools separate because P(match anywhere) = 1 - the product over
    pools of their members' (1 - P_s).

    Raises:
        ValueError: when a pool has more than `max_assignments` assignments.
    """
    season = normalize_season(season)
    effects = effects or signal_effects()
    specs = _check_lists(lists, rules, season)
    pools = _pools(specs)
    survival = 1.0
    for pool in pools.values():
        members = [i for i, s in enumerate(specs) if s.rules.pool == pool.name]
        cands = [(i, int(j)) for i in members for j in np.flatnonzero(specs[i].allowed)]
        counts = [(t, pool.allowed.get(t, 0)) for t in pool.tiers if pool.allowed.get(t, 0)]
        assignments = list(_assignments(cands, counts, max_assignments))
        tables = {i: _effects_matrix(specs[i], effects, "central") for i in members}
        surv = np.ones(len(assignments))
        for i in members:
            p = np.broadcast_to(specs[i].p0, (len(assignments), specs[i].p0.size)).copy()
            for a, picks in enumerate(assignments):
                for si, j, tier in picks:
                    if si == i:
                        p[a, j] = tables[i][tier][j]
            surv *= 1.0 - p_match_from_interviews(p, specs[i].g)
        survival *= float(surv.min())
    return 1.0 - survival


def _assignments(
    cands: list[tuple[int, int]], counts: list[tuple[str, int]], limit: int
) -> Iterable[list[tuple[int, int, str]]]:
    """Every way to give each tier's count of signals to distinct candidates (unordered)."""
    total = 1
    left = len(cands)
    for _, n in counts:
        k = min(n, left)
        total *= math.comb(left, k)
        left -= k
        if total > limit:
            raise ValueError(
                f"exhaustive search: more than {limit} assignments; use a smaller case"
            )

    def walk(rest: list[tuple[int, int]], todo: list[tuple[str, int]], prefix: tuple):
        if not todo:
            yield list(prefix)
            return
        tier, n = todo[0]
        for group in itertools.combinations(range(len(rest)), min(n, len(rest))):
            chosen = set(group)
            others = [c for k, c in enumerate(rest) if k not in chosen]
            yield from walk(others, todo[1:], (*prefix, *((*rest[k], tier) for k in group)))

    yield from walk(cands, counts, ())


# --------------------------------------------------------------------------- one applicant


def table_signals(programs: Any) -> dict[str, str]:
    """{program_id: tier} from a program table's `signal` column (the tracker's "Signal")."""
    if not isinstance(programs, pl.DataFrame) or "signal" not in programs.columns:
        return {}
    rows = programs.filter(pl.col("signal").is_not_null()).select("program_id", "signal")
    return dict(rows.iter_rows())


def own_signals(applicant: ApplicantProfile, programs: Any) -> tuple[dict[str, str], list[str]]:
    """The applicant's own signals: the profile's `signals`, then the table's `signal` column.

    Returns ({program_id: tier}, notes); where both give a program, the profile's tier is
    used and a note says so.
    """
    table = programs.programs if isinstance(programs, MatchModel) else programs
    from_table = table_signals(table)
    from_profile = signal_map(applicant.signals)
    notes = [
        f"{pid}: the profile says {tier}, the program table {from_table[pid]}; using {tier}"
        for pid, tier in from_profile.items()
        if pid in from_table and from_table[pid] != tier
    ]
    return {**from_table, **from_profile}, notes


@dataclass
class ApplicantSignals:
    """One applicant's signals: the planner's choice, their own (if any), and two baselines.

    Every P(match anywhere) here equals `match_chances` with the same signals
    (`optimized_map()`, `own_map`) and the same specialties, applications and rotations.
    `own_map` holds the applicant's signals as evaluated: on the lists, each with the tier it
    counts as (a "yes" in a specialty with gold and silver signals counts as silver).
    """

    applicant_id: str
    season: str
    specialties: list[str]
    optimized: SignalPlan
    own: SignalPlan | None
    own_map: dict[str, str]  # the applicant's signals as evaluated (tiers as counted)
    random: RandomBaseline | None
    most_friendly: SignalPlan | None
    notes: list[str]
    names: pl.DataFrame | None = None  # program_id, program_name, state of the listed programs

    def signals_frame(self, which: str = "optimized") -> pl.DataFrame:
        """The signals ("optimized" or "own") with each program's name and state."""
        plan = self.optimized if which == "optimized" else self.own
        if plan is None:
            return self.optimized.signals.head(0)
        if self.names is None:
            return plan.signals
        return plan.signals.join(self.names, on="program_id", how="left")

    def optimized_map(self) -> dict[str, str]:
        """{program_id: tier} of the planner's signals (for `match_chances(signals=...)`)."""
        return dict(self.optimized.signals.select("program_id", "tier").iter_rows())

    @property
    def p_match_any_without(self) -> float:
        """P(match anywhere) with no signals."""
        return self.optimized.p_match_any_without

    @property
    def p_match_any_with(self) -> float:
        """P(match anywhere) with the planner's signals."""
        return self.optimized.p_match_any_with

    def comparison(self) -> pl.DataFrame:
        """P(match anywhere) per way of signaling: none, optimized, own, IMG-friendly, random."""
        rows = [("none", "No signals", self.p_match_any_without)]
        rows.append(("optimized", "Signals chosen by the planner", self.p_match_any_with))
        if self.own is not None:
            rows.append(("own", "Your own signals", self.own.p_match_any_with))
        if self.most_friendly is not None:
            rows.append(
                (
                    "most_friendly_first",
                    "Most IMG-friendly first",
                    self.most_friendly.p_match_any_with,
                )
            )
        if self.random is not None:
            rows.append(("random", "At random (mean of draws)", self.random.p_match_any_with))
        return pl.DataFrame(
            rows,
            schema={"method": pl.String, "label": pl.String, "p_match_any": pl.Float64},
            orient="row",
        )

    def lines(self, used: str | None = "optimized") -> list[str]:
        """The signals as plain text lines (what `imgmatch plan` prints).

        Args:
            used: the signals the plan counts: "optimized", "own" (applications closed) or
                None (none placed).
        """
        plan = self.own if used == "own" and self.own is not None else self.optimized
        out = [
            f"P(match anywhere) {_pct(plan.p_match_any_without)} without signals, "
            f"{_pct(plan.p_match_any_with)} with {'your' if plan is self.own else 'these'} "
            f"{plan.signals.height} (effect range {_pct(plan.p_match_any_with_low)}-"
            f"{_pct(plan.p_match_any_with_high)}; {self.season} rules; effect sizes are upper "
            "bounds for IMGs)."
        ]
        names = {} if self.names is None else {
            pid: f"{name} ({state})" if state else str(name)
            for pid, name, state in self.names.iter_rows()
        }  # fmt: skip
        for r in plan.signals.iter_rows(named=True):
            where = names.get(r["program_id"], r["program_id"])
            out.append(f"  {r['tier']:<6} {r['specialty']:<5} {where}: {r['reason']}")
        if self.own is not None and plan is not self.own:
            gap = self.own.p_match_any_with - self.optimized.p_match_any_with
            out.append(
                f"Your own {self.own.signals.height} signals give {_pct(self.own.p_match_any_with)}"
                f" ({_points(-gap) if gap < 0 else 'no less'}"
                f"{' below' if gap < 0 else ''} the planner's choice)."
            )
        if self.random is not None and self.most_friendly is not None:
            out.append(
                f"The same signals at random would give {_pct(self.random.p_match_any_with)} "
                f"(mean of {self.random.draws} draws); to the most IMG-friendly programs first, "
                f"{_pct(self.most_friendly.p_match_any_with)}."
            )
        if self.own is not None and self.own.flags is not None:
            out += [f"- {m}" for m in self.own.flags["message"].to_list()]
        out += [f"- {note}" for note in (*self.optimized.notes, *self.notes)]
        return out

    def own_lines(self) -> list[str]:
        """What `imgmatch chances` says about the applicant's own signals (or their absence)."""
        best = self.optimized
        if self.own is None:
            if best.signals.height == 0:
                return [f"No program signals given; {n}" for n in best.notes[-1:]] or [
                    "No program signals given."
                ]
            return [
                "No program signals given (the profile's `signals`, or a Signal column in your "
                f"program table). `imgmatch plan` places the season's {best.signals.height}: "
                f"P(match anywhere) {_pct(best.p_match_any_without)} -> "
                f"{_pct(best.p_match_any_with)}."
            ]
        own = self.own
        counts = ", ".join(
            f"{n} {t}" for t, n in own.signals.group_by("tier").len().sort("tier").iter_rows()
        )
        out = [
            f"Your signals ({counts or 'none counted'}): P(match anywhere) "
            f"{_pct(own.p_match_any_without)} without them, {_pct(own.p_match_any_with)} with "
            f"them (included above); the planner's choice would give "
            f"{_pct(best.p_match_any_with)} (`imgmatch plan`)."
        ]
        if own.flags is not None:
            out += [f"- {m}" for m in own.flags["message"].to_list()]
        return out + [f"- {note}" for note in (*own.notes, *self.notes)]

    def own_dict(self) -> dict[str, Any]:
        """The keys `imgmatch chances --json` adds about the applicant's own signals."""
        out: dict[str, Any] = {
            "signal_season": self.season,
            "signals": [],
            "p_match_any_without_signals": round(self.optimized.p_match_any_without, 4),
            "p_match_any_with_optimized_signals": round(self.optimized.p_match_any_with, 4),
            "signal_flags": [],
            "signal_notes": [*self.optimized.notes, *self.notes],
        }
        if self.own is not None:
            own = self.own.to_dict()
            out["signals"] = own["signals"]
            out["p_match_any_without_signals"] = own["p_match_any_without_signals"]
            out["signal_flags"] = own.get("flags", [])
        return out

    def to_dict(self) -> dict[str, Any]:
        """The keys `imgmatch plan --json` adds: signals, p_match_any_without_signals, ..."""
        plan = self.optimized.to_dict()
        out: dict[str, Any] = {
            "signal_season": self.season,
            "signals": plan["signals"],
            "p_match_any_without_signals": plan["p_match_any_without_signals"],
            "p_match_any_with_signals": plan["p_match_any"],
            "p_match_any_with_signals_range": plan["p_match_any_range"],
            "signal_notes": [*plan["notes"], *self.notes],
            "own_signals": None,
            "signal_baselines": {
                "most_friendly_first": None
                if self.most_friendly is None
                else round(self.most_friendly.p_match_any_with, 4),
                "random": None if self.random is None else round(self.random.p_match_any_with, 4),
            },
        }
        if self.own is not None:
            own = self.own.to_dict()
            out["own_signals"] = {
                "signals": own["signals"],
                "p_match_any": own["p_match_any"],
                "p_match_any_without_signals": own["p_match_any_without_signals"],
                "flags": own.get("flags", []),
                "difference_from_optimized": round(
                    self.own.p_match_any_with - self.optimized.p_match_any_with, 4
                ),
            }
        return out


def signal_plan(
    applicant: ApplicantProfile,
    programs: Any,
    *,
    specialties: Sequence[str] | None = None,
    applications: Mapping[str, int] | None = None,
    rotations: Iterable[str] = (),
    as_of: dt.date | None = None,
    own: Any = None,
    baselines: bool | Sequence[str] = True,
    draws: int = 200,
    seed: int = 0,
) -> ApplicantSignals:
    """The best signals for one applicant, their own choice evaluated, and the baselines.

    The lists are the programs `match_chances` counts with the same arguments (the profile's
    specialties and applications by default, the planned `rotations` included), so
    `match_chances(..., signals=result.optimized_map())` gives the same P(match anywhere).

    Args:
        applicant: the profile; its `match_year` gives the season's rules.
        programs: a program table or a prepared `MatchModel`.
        specialties: rank-list order (default: the profile's targets).
        applications: programs per specialty (default: the profile's, then the model's).
        rotations: planned away rotations (program ids).
        as_of: date for staleness of facts.
        own: the applicant's own signals ({program_id: tier} or a list); None reads the
            profile's `signals` and the table's `signal` column (`own_signals`).
        baselines: also compute most-IMG-friendly-first and random signals (True), none
            (False), or the ones named ("most_friendly_first", "random").
        draws, seed: the random baseline's draws and seed.
    """
    model = model_for(programs, as_of=as_of)
    specs = list(specialties) if specialties is not None else list(applicant.target_specialties)
    rotations = list(dict.fromkeys(rotations))
    if own is None:
        mine, notes = own_signals(applicant, model)
    else:
        mine, notes = signal_map(own), []
    chances = interview_chances(applicant, model, specialties=specs, rotations=rotations)
    # programs applied to per specialty, as match_chances counts them: the number asked for
    # (the call's, the profile's, else the specialty's usual number), at most the eligible
    wanted = {**applicant.applications, **(applications or {})}
    eligible = dict(chances.group_by("specialty").agg(pl.col("eligible").sum()).iter_rows())
    apps = {
        s: min(int(wanted.get(s, default_applications(s))), int(eligible.get(s, 0))) for s in specs
    }
    season = applicant.match_year
    lists = lists_from_chances(chances, apps, include_screened=True) if chances.height else []
    optimized = plan_signals(lists, season=season)
    own_plan = None
    if mine:
        own_lists = lists_from_chances(chances, apps, include_screened=True, forced=mine)
        own_plan = evaluate_signals(own_lists, mine, season=season)
        # as evaluated: a tier the specialty does not use counts as the nearest one
        mine = dict(own_plan.signals.select("program_id", "tier").iter_rows())
    friendly = rand = None
    wanted = {"most_friendly_first", "random"} if baselines is True else set(baselines or ())
    if "random" in wanted and lists:
        rand = random_signals(lists, season=season, draws=draws, seed=seed)
    if "most_friendly_first" in wanted and lists:
        score = dict(chances.select("program_id", "img_friendliness").iter_rows())
        friendliness = {
            item.specialty: np.array([score[pid] for pid in item.program_ids], dtype=float)
            for item in lists
        }
        friendly = most_friendly_first(lists, friendliness, season=season)
    return ApplicantSignals(
        applicant_id=applicant.applicant_id,
        season=optimized.season,
        specialties=specs,
        optimized=optimized,
        own=own_plan,
        own_map=mine,
        random=rand,
        most_friendly=friendly,
        notes=notes,
        names=chances.select("program_id", "program_name", "state") if chances.height else None,
    )


def signals_for_plan(plan: Any, programs: Any, **options: Any) -> ApplicantSignals:
    """`signal_plan` on a whole plan's final lists: its rank list with the backups, their
    numbers of programs and the planned rotations (a `planners.plan.Plan`).

    Its P(match anywhere) without signals is the plan's (`plan.backup.chances`); with them,
    `match_chances` on the same lists with `optimized_map()`. Once applications have closed
    (the plan's season phase "interviewing") new signals can no longer be sent: the result
    says so in its notes.
    """
    rotations = plan.rotations
    result = signal_plan(
        rotations.applicant_after or plan.applicant,
        programs,
        specialties=plan.backup.rank_list,
        applications=plan.backup.applications,
        rotations=rotations.program_ids,
        as_of=plan.as_of,
        **options,
    )
    if getattr(plan, "season_phase", None) == "interviewing":
        result.notes.append(
            "Applications have closed for this season: signals went with them, so these are "
            "what the best signals would have done; only your own signals count now."
        )
    return result


def compare_signals(
    applicants: Sequence[ApplicantProfile],
    programs: Any,
    *,
    as_of: dt.date | None = None,
    draws: int = 200,
    seed: int = 0,
) -> pl.DataFrame:
    """P(match anywhere) per applicant with no signals, the planner's, the most IMG-friendly
    programs first and random ones (mean of `draws`), on each applicant's own lists; and how
    many signals went to a program that screens them out (always 0 for the planner).

    Columns: applicant_id, season, signals, without, optimized, most_friendly_first, random,
    to_screened_out.
    """
    model = model_for(programs, as_of=as_of)
    rows = []
    for applicant in applicants:
        result = signal_plan(applicant, model, draws=draws, seed=seed)
        table = interview_chances(applicant, model)
        shut = set(table.filter(~pl.col("eligible") | (pl.col("p_interview") <= 0))["program_id"])
        rows.append(
            {
                "applicant_id": applicant.applicant_id,
                "season": result.season,
                "signals": result.optimized.signals.height,
                "without": result.p_match_any_without,
                "optimized": result.p_match_any_with,
                "most_friendly_first": (
                    result.most_friendly.p_match_any_with if result.most_friendly else None
                ),
                "random": result.random.p_match_any_with if result.random else None,
                "to_screened_out": len(shut & set(result.optimized.signals["program_id"])),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "applicant_id": pl.String,
            "season": pl.String,
            "signals": pl.Int64,
            "without": pl.Float64,
            "optimized": pl.Float64,
            "most_friendly_first": pl.Float64,
            "random": pl.Float64,
            "to_screened_out": pl.Int64,
        },
    )
