"""The signal planner's input: one list of programs per specialty, checked, and the pools.

A `SpecialtyList` holds the programs an applicant applies to in one specialty with their
P(interview) without a signal, the hard screens, the rotation programs, the ceiling a signal
cannot raise and the match curve. `check_lists` validates the lists (every problem at once)
and attaches each specialty's rules for the season; `pools_of` groups the specialties that
share one set of signals (DR and IR) with the counts they may send. `lists_from_chances`
builds the lists from the engine's interview chances, as `match_chances` picks the programs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from analysis.data.signal_rules import SignalRules, signal_rules
from analysis.data.vocabulary import specialties
from analysis.errors import DataValidationError, Problem
from analysis.model.signals import signal_effects
from analysis.planners.signal_objective import match_given_interviews


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
class CheckedList:
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


def check_lists(
    lists: Sequence[SpecialtyList], rules: Mapping[str, SignalRules] | None, season: str
) -> list[CheckedList]:
    """Validate the inputs (every problem at once) and attach each specialty's rules."""
    problems: list[Problem] = []
    specs: list[CheckedList] = []
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
        arrays = _list_arrays(item, name, ids.size, problems)
        if arrays["p_interview"] is None:
            continue
        _check_chances(name, ids, arrays["p_interview"], arrays["p_considered"], problems)
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
        g = _match_curve(item, arrays["match_given_k"], name, problems)
        try:
            rule = (rules or {}).get(item.specialty) or signal_rules(item.specialty, season)
        except ValueError as error:
            problems.append(Problem(name, None, "specialty", item.specialty, str(error)))
            continue
        if g is not None:
            specs.append(_checked(rank, item.specialty, ids, arrays, g, rule, factor))
    if problems:
        raise DataValidationError(problems, source="signal planner input")
    return specs


def _list_arrays(
    item: SpecialtyList, name: str, n: int, problems: list[Problem]
) -> dict[str, np.ndarray | None]:
    """The list's arrays: one value per program id (the curve: any length), numbers where
    numbers are due; a bad one is reported and comes back as None."""
    arrays: dict[str, np.ndarray | None] = {}
    for column in ("p_interview", "screened", "rotated", "p_considered", "match_given_k"):
        value = getattr(item, column)
        arrays[column] = None if value is None else np.asarray(value)
        if column != "match_given_k" and value is not None:
            shape = np.shape(value)
            if shape != (n,):
                problems.append(
                    Problem(name, None, column, f"shape {shape}", f"one value per program id ({n})")
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
    return arrays


def _check_chances(
    name: str,
    ids: np.ndarray,
    p: np.ndarray,
    p_considered: np.ndarray | None,
    problems: list[Problem],
) -> None:
    """Each P(interview) a probability, each ceiling one at or above it."""
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
    if p_considered is None:
        return
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


def _match_curve(
    item: SpecialtyList, g: np.ndarray | None, name: str, problems: list[Problem]
) -> np.ndarray | None:
    """The curve given (reported unless it is non-decreasing probabilities), else the
    engine's for a known specialty (None for an unknown one: its rules are reported)."""
    if g is None:
        return match_given_interviews(item.specialty) if item.specialty in specialties() else None
    if (
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
    return g


def _checked(
    rank: int,
    specialty: str,
    ids: np.ndarray,
    arrays: Mapping[str, np.ndarray | None],
    g: np.ndarray,
    rule: SignalRules,
    factor: float,
) -> CheckedList:
    """A valid list with its rules: where the planner may place a signal, and its effect."""
    n = ids.size
    screened = np.zeros(n, bool) if arrays["screened"] is None else arrays["screened"]
    rotated = np.zeros(n, bool) if arrays["rotated"] is None else arrays["rotated"]
    screened, rotated = screened.astype(bool), rotated.astype(bool)
    p = np.clip(np.nan_to_num(arrays["p_interview"]), 0.0, 1.0)
    allowed = (p > 0) & ~screened
    if rule.exclude_rotation_programs:
        allowed &= ~rotated
    p_considered = arrays["p_considered"]
    if p_considered is not None:
        p_considered = np.clip(np.nan_to_num(p_considered), 0.0, 1.0)
    return CheckedList(
        preference=rank,
        specialty=specialty,
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


@dataclass
class SignalPool:
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


def pools_of(specs: Sequence[CheckedList]) -> dict[str, SignalPool]:
    """Pools of the specialties applied to; members that disagree on counts use the smaller."""
    pools: dict[str, SignalPool] = {}
    for spec in specs:
        rule = spec.rules
        if rule.pool not in pools:
            pools[rule.pool] = SignalPool(
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
