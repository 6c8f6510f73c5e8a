"""Baselines for the signal planner: signals at random, and to the most IMG-friendly first.

Both use the planner's candidates (no screened-out or zero-chance program, no rotation
program the specialty's guidance excludes) and the same counts per pool, gold then silver.
`random_signals` fills them from a uniform random order (seeded) and averages P(match) over
the draws, all at once (draws x programs); `most_friendly_first` gives them to the highest
IMG-friendliness scores. They show what the planner adds over simpler ways to choose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.data.signal_rules import SignalRules, normalize_season
from analysis.model.signals import SignalEffects, signal_effects
from analysis.planners.signal_assessment import (
    Placement,
    SignalPlan,
    assess,
    rule_notes,
    signaled_chances,
    with_gains,
)
from analysis.planners.signal_lists import SpecialtyList, check_lists, pools_of
from analysis.planners.signal_objective import p_match_any, p_match_from_interviews


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
    specs = check_lists(lists, rules, season)
    pools = pools_of(specs)
    present = [s.specialty for s in specs]
    chosen: list[Placement] = []
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
    evaluated = with_gains(specs, chosen, effects)
    return assess(
        "most_friendly_first",
        season,
        specs,
        pools,
        evaluated,
        effects,
        rule_notes(specs, pools),
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
    specs = check_lists(lists, rules, season)
    pools = pools_of(specs)
    rng = np.random.default_rng(seed)
    p = [np.broadcast_to(s.p0, (draws, s.p0.size)).copy() for s in specs]
    tables = [signaled_chances(s, effects, "central") for s in specs]
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
