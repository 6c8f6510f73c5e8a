"""The signal planner: greedy on the exact marginal gain, then local improvement.

**Greedy.** P_s is linear in each p_j (`analysis.planners.signal_objective`), so a signal at
program j adds exactly D_j (p_with_j - p_j) to P_s and M_s D_j (p_with_j - p_j) to P(match
anywhere), M_s = prod_{r != s} (1 - P_r). Each step places the signal with the largest gain
among the pools that have signals left (a pool is one specialty, or DR and IR together), a
pool's gold signals before its silver ones, then recomputes the changed specialty.

**Improvement.** The best change that moves one signal to another program or swaps the
tiers of two, while any raises P(match anywhere); each change is valued exactly from two
derivatives (P_s is multilinear in the p's). Pools are improved one at a time, which loses
nothing: a pool's changes scale P(match anywhere)'s complement by its own members' factors
only.

Programs where a specialty's guidance forbids a signal (EM: home and away-rotation
programs) are never candidates; other rotation programs are, at the reduced effect. The
tests compare the result with an exhaustive search on small cases (`exhaustive_best`;
benchmarks/bench_signals.py reports the worst gap measured).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.data.signal_rules import TIERS, SignalRules, normalize_season
from analysis.model.signals import SignalEffects, signal_effects
from analysis.planners.signal_assessment import (
    Placement,
    SignalPlan,
    assess,
    effect_text,
    rule_notes,
    signaled_chances,
)
from analysis.planners.signal_lists import (
    CheckedList,
    SignalPool,
    SpecialtyList,
    check_lists,
    pools_of,
)
from analysis.planners.signal_objective import (
    derivative_rows,
    interview_derivative,
    p_match_any,
    p_match_from_interviews,
)

_MIN_GAIN = 1e-12


class _Search:
    """The planner's state: current P(interview), tiers placed, P(match) per specialty."""

    def __init__(self, specs: Sequence[CheckedList], tables: Sequence[Mapping[str, np.ndarray]]):
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


def _review_specialty(search: _Search, pool: SignalPool, i: int) -> dict[int, _Review]:
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
    d_rows[:, nz] = derivative_rows(rows[:, nz], specs[i].g)
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
    specs = check_lists(lists, rules, season)
    pools = pools_of(specs)
    search = _Search(specs, [signaled_chances(s, effects, "central") for s in specs])
    _greedy(search, pools)
    reviews = _improve(search, pools, improve=improve, max_passes=max_passes)
    present = [s.specialty for s in specs]
    chosen = _placements(search, pools, reviews, present)
    notes = rule_notes(specs, pools) + _unused_notes(pools, present)
    return assess("optimized", season, specs, pools, chosen, effects, notes)


def _greedy(search: _Search, pools: Mapping[str, SignalPool]) -> None:
    """Place signals one at a time, each where it gains most among the pools with signals
    left (a pool's gold before its silver), until none is left or none gains."""
    specs = search.specs
    while True:
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
            return
        _, i, j, tier = best
        search.place(i, j, tier)
        pools[specs[i].rules.pool].used[tier] += 1


def _improve(
    search: _Search, pools: Mapping[str, SignalPool], *, improve: bool, max_passes: int
) -> dict[tuple[int, int], _Review]:
    """Carry out the best improving change while there is one (with `improve`, at most
    `max_passes` per pool), then the review of every signal in the final state.

    A pool's changes move only its members' P(match), and P(match anywhere) is 1 - (their
    product) x (the others'), so each pool is improved on its own.
    """
    reviews: dict[tuple[int, int], _Review] = {}
    for pool in pools.values():
        members = [i for i, s in enumerate(search.specs) if s.rules.pool == pool.name]
        for attempt in range(max_passes + 1):
            found = {
                (i, j): r for i in members for j, r in _review_specialty(search, pool, i).items()
            }
            moves = [r for r in found.values() if r.move is not None]
            if not improve or not moves or attempt == max_passes:
                reviews.update(found)
                break
            _apply(search, max(moves, key=lambda r: r.value).move)
    return reviews


def _placements(
    search: _Search,
    pools: Mapping[str, SignalPool],
    reviews: Mapping[tuple[int, int], _Review],
    present: Sequence[str],
) -> list[Placement]:
    """The signals placed, each with its gains and reason, in rank-list order, gold first,
    then by what it adds."""
    specs = search.specs
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
    return chosen


def _unused_notes(pools: Mapping[str, SignalPool], present: Sequence[str]) -> list[str]:
    """A note per pool with signals left: no other program on its lists can consider you."""
    notes = []
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
    return notes


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
    spec: CheckedList, j: int, tier: str, before: float, after: float, review: _Review, label: str
) -> str:
    """One line: the chance it moves, what it adds to P(match anywhere), and why here."""
    text = effect_text(before, after, tier, review.contribution)
    if review.move is None:
        text += f", more than it would at any other of your {label} programs"
    if spec.rotated[j]:
        text += "; you rotate here, so a signal counts for less there"
    return text


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
    specs = check_lists(lists, rules, season)
    pools = pools_of(specs)
    survival = 1.0
    for pool in pools.values():
        members = [i for i, s in enumerate(specs) if s.rules.pool == pool.name]
        cands = [(i, int(j)) for i in members for j in np.flatnonzero(specs[i].allowed)]
        counts = [(t, pool.allowed.get(t, 0)) for t in pool.tiers if pool.allowed.get(t, 0)]
        assignments = list(_assignments(cands, counts, max_assignments))
        tables = {i: signaled_chances(specs[i], effects, "central") for i in members}
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
