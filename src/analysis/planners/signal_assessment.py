"""A placement of signals valued: P(match) with and without them, per signal and specialty.

Every way of choosing signals (the planner, the applicant's own choice, the baselines) ends
here: `assess` turns a placement (which program of which list gets which tier, with its gain
and reason) into a `SignalPlan`, with P(match) per specialty and P(match anywhere) without the
signals and with them, at the central effect and at the low and high ends of its range
(`analysis.model.signals`: a signal changes only the P(interview) of its own program).
`with_gains` fills each signal's exact gain, P(match) with every chosen signal minus without
that one: P_s is linear in each p_j, so it is D_j (p_with_j - p_j) with D the derivative of
`analysis.planners.signal_objective`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from analysis.data.signal_rules import TIERS, SignalRules
from analysis.model.signals import EFFECT_LEVELS, SignalEffects, with_signal
from analysis.planners.signal_lists import CheckedList, SignalPool
from analysis.planners.signal_objective import (
    interview_derivative,
    p_match_any,
    p_match_from_interviews,
)
from analysis.planners.wording import chance_band, points_added, short_percent

Placement = tuple[int, int, str, float, float, str]
"""One signal placed: (list index, program index, tier, gain in its specialty, gain in
P(match anywhere), reason); the gains are NaN until `with_gains` fills them."""


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


def signaled_chances(
    spec: CheckedList, effects: SignalEffects, level: str
) -> dict[str, np.ndarray]:
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


def assess(
    method: str,
    season: str,
    specs: Sequence[CheckedList],
    pools: Mapping[str, SignalPool],
    chosen: Sequence[Placement],
    effects: SignalEffects,
    notes: Sequence[str],
    flags: list[dict[str, Any]] | None = None,
    levels: Sequence[str] = EFFECT_LEVELS,
) -> SignalPlan:
    """Evaluate an assignment: chosen = (spec index, program index, tier, gain_s, gain_any,
    reason), at the central effect and at the ends of its range (`levels`; a baseline needs
    the central one only, and the ends then repeat it)."""
    without, totals, p_with = _p_match_by_level(specs, chosen, effects, levels)
    return SignalPlan(
        method=method,
        season=season,
        signals=pl.DataFrame(_signal_rows(specs, chosen, p_with), schema=_SIGNAL_SCHEMA),
        specialties=pl.DataFrame(
            _specialty_rows(specs, chosen, without, totals["central"]), schema=_SPECIALTY_SCHEMA
        ),
        pools=pl.DataFrame(
            _pool_rows(specs, pools, chosen),
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


def _p_match_by_level(
    specs: Sequence[CheckedList],
    chosen: Sequence[Placement],
    effects: SignalEffects,
    levels: Sequence[str],
) -> tuple[list[float], dict[str, list[float]], dict[int, np.ndarray]]:
    """P(match) per specialty without the signals, with them at each effect level (every
    level of `EFFECT_LEVELS`; those not in `levels` repeat the central one), and the
    P(interview) with them at the central effect."""
    totals: dict[str, list[float]] = {}
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
    return without, totals, p_with_central


def _p_match_in(values: Sequence[float]) -> list[float]:
    """P(match in each specialty) down the rank list: its P(match) times not matching above."""
    before = np.concatenate([[1.0], np.cumprod(1.0 - np.asarray(values))[:-1]])
    return (np.asarray(values) * before).tolist()


def _specialty_rows(
    specs: Sequence[CheckedList],
    chosen: Sequence[Placement],
    without: Sequence[float],
    with_: Sequence[float],
) -> list[dict[str, Any]]:
    """One row per specialty: its rules, the signals used, P(match) without and with them."""
    in_without, in_with = _p_match_in(without), _p_match_in(with_)
    per_spec: list[dict[str, Any]] = []
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
                "p_match_with": with_[i],
                "p_match_in_without": in_without[i],
                "p_match_in_with": in_with[i],
            }
        )
    return per_spec


def _signal_rows(
    specs: Sequence[CheckedList], chosen: Sequence[Placement], p_with: Mapping[int, np.ndarray]
) -> list[dict[str, Any]]:
    """One row per signal: the program, P(interview) without and with it, gains, reason."""
    rows = []
    for si, j, tier, gain_s, gain_any, reason in chosen:
        spec = specs[si]
        rows.append(
            {
                "program_id": str(spec.ids[j]),
                "specialty": spec.specialty,
                "tier": tier,
                "p_interview_without": float(spec.p0[j]),
                "p_interview_with": float(p_with[si][j]),
                "rotation": bool(spec.rotated[j]),
                "gain_p_match": gain_s,
                "gain_p_match_any": gain_any,
                "reason": reason,
            }
        )
    return rows


def _pool_rows(
    specs: Sequence[CheckedList], pools: Mapping[str, SignalPool], chosen: Sequence[Placement]
) -> list[dict[str, Any]]:
    """One row per pool and tier: the signals allowed (None when unknown) and used."""
    return [
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


def rule_notes(specs: Sequence[CheckedList], pools: Mapping[str, SignalPool]) -> list[str]:
    """The cautions of the rules read (fallback seasons, unknown counts) and of the pools."""
    notes = [flag for s in specs for flag in s.rules.flags()]
    notes += [p.note for p in pools.values() if p.note]
    return notes


def with_gains(
    specs: Sequence[CheckedList],
    chosen: Sequence[Placement],
    effects: SignalEffects,
) -> list[Placement]:
    """Fill each signal's gain (P(match) with all chosen signals minus without this one) and
    its one-line reason: the chance it moves and what it adds, then the given reason.

    P_s is linear in each p_j, so the gain is exactly D_j (p_with_j - p_j), D the derivative
    with every chosen signal in place (one call per specialty, not one per signal).
    """
    if not chosen:
        return []
    tables = [signaled_chances(s, effects, "central") for s in specs]
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
        text = effect_text(specs[i].p0[j], p[i][j], tier, gain_s * others)
        out.append((i, j, tier, gain_s, gain_s * others, f"{text}; {reason}" if reason else text))
    return out


def effect_text(before: float, after: float, tier: str, gain_any: float) -> str:
    """What one signal does, in words: the chance it moves and what it adds to P(match
    anywhere) ("middling chance 20% -> 31% with a gold signal; adds 1.4 points to ...")."""
    return (
        f"{chance_band(before)} chance {short_percent(before)} -> {short_percent(after)} with a "
        f"{tier} signal; adds {points_added(gain_any)} to P(match anywhere)"
    )
