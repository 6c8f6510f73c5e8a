"""An applicant's own signals: where they come from, what breaks the rules, what they do.

`own_signals` reads them from the profile's `signals`, then the program table's `signal`
column (the profile wins where both give a program, with a note). `evaluate_signals` takes
them as entered and flags what breaks the season's rules (too many of a tier, a shared pool
exceeded, a tier the specialty does not use, a duplicate, a program not on the lists, a
rotation program where the guidance forbids it) and what is wasted (a screened-out or
zero-chance program), then values P(match) with the choice as entered
(`analysis.planners.signal_assessment`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from analysis.config import load_params
from analysis.data.schemas import ApplicantProfile
from analysis.data.signal_rules import SignalRules, normalize_season
from analysis.errors import NormalizationError
from analysis.model.probability import MatchModel
from analysis.model.signals import SignalEffects, signal_effects, signal_map, signal_tier
from analysis.planners.signal_assessment import (
    Placement,
    SignalPlan,
    assess,
    rule_notes,
    with_gains,
)
from analysis.planners.signal_lists import (
    CheckedList,
    SignalPool,
    SpecialtyList,
    check_lists,
    pools_of,
)


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


def _normalize_choice(
    choice: Mapping[str, str] | Iterable[tuple[str, str]] | pl.DataFrame,
) -> list[tuple[str, str]]:
    """(program_id, tier) pairs, as text, from a mapping, pairs or a frame."""
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
    specs = check_lists(lists, rules, season)
    pools = pools_of(specs)
    where = {pid: (i, j) for i, s in enumerate(specs) for j, pid in enumerate(s.ids.tolist())}
    flags: list[dict[str, Any]] = []
    chosen: list[Placement] = []
    taken: set[str] = set()
    for pid, raw_tier in _normalize_choice(choice):
        found = _locate(pid, raw_tier, specs, where, taken, flags)
        if found is None:
            continue
        i, j, tier = found
        tier = _counted_tier(specs[i], pid, tier, flags)
        _program_flags(specs[i], j, pid, tier, flags)
        chosen.append((i, j, tier, float("nan"), float("nan"), ""))
    flags += _count_flags(specs, pools, chosen)
    evaluated = with_gains(specs, chosen, effects)
    return assess("own", season, specs, pools, evaluated, effects, rule_notes(specs, pools), flags)


def _flag(
    pid: str | None, specialty: str | None, tier: str | None, code: str, severity: str, msg: str
) -> dict[str, Any]:
    """One problem of the choice; pool-wide ones have no program and name the pool (DR+IR)."""
    return {
        "program_id": pid,
        "specialty": specialty,
        "tier": tier,
        "code": code,
        "severity": severity,
        "message": msg,
    }


def _locate(
    pid: str,
    raw_tier: str,
    specs: Sequence[CheckedList],
    where: Mapping[str, tuple[int, int]],
    taken: set[str],
    flags: list[dict[str, Any]],
) -> tuple[int, int, str] | None:
    """(list, program, tier) of one signal entered, or None (flagged, unless it says "no"):
    not on the lists, an unknown tier word, or a program signaled before."""
    try:
        tier = signal_tier(raw_tier)
    except NormalizationError:
        tier = None
    else:
        if tier is None:  # "no", "none", empty: no signal
            return None
    if pid not in where:
        flags.append(
            _flag(
                pid,
                None,
                raw_tier,
                "not_on_list",
                "rule",
                f"{pid} is not on your program lists: a signal goes only with an application",
            )
        )
        return None
    i, j = where[pid]
    s = specs[i].specialty
    if tier is None:
        flags.append(
            _flag(
                pid,
                s,
                raw_tier,
                "unknown_tier",
                "rule",
                f"tier {raw_tier!r} is not one of gold, silver, single or yes; not counted",
            )
        )
        return None
    if pid in taken:
        flags.append(_flag(pid, s, tier, "duplicate", "rule", f"{pid} is signaled more than once"))
        return None
    taken.add(pid)
    return i, j, tier


def _counted_tier(spec: CheckedList, pid: str, tier: str, flags: list[dict[str, Any]]) -> str:
    """The tier a signal counts as: a tier the specialty does not use counts as the nearest
    one (flagged); with unknown counts, a plain "yes" counts as single."""
    rule = spec.rules
    s = spec.specialty
    if not rule.unknown and tier not in rule.tiers():
        counted = "silver" if rule.tiered else "single"
        uses = "gold and silver" if rule.tiered else "single (untiered)"
        flags.append(
            _flag(
                pid,
                s,
                tier,
                "wrong_tier",
                "rule",
                f"{s} uses {uses} signals in {rule.season}; counted as {counted}",
            )
        )
        return counted
    if rule.unknown and tier not in ("gold", "silver", "single"):
        return "single"
    return tier


def _program_flags(
    spec: CheckedList, j: int, pid: str, tier: str, flags: list[dict[str, Any]]
) -> None:
    """Flag a signal wasted on a program that cannot interview you, and one at a rotation
    program (against the guidance where it forbids them, else advice)."""
    s = spec.specialty
    if spec.screened[j]:
        flags.append(
            _flag(
                pid,
                s,
                tier,
                "screened_out",
                "wasted",
                f"{pid} screens you out: a signal cannot open it",
            )
        )
    elif spec.p0[j] <= 0:
        flags.append(
            _flag(
                pid,
                s,
                tier,
                "zero_chance",
                "wasted",
                f"{pid} does not interview applicants like you: a signal cannot change that",
            )
        )
    if spec.rotated[j] and spec.rules.exclude_rotation_programs:
        flags.append(
            _flag(
                pid,
                s,
                tier,
                "guidance",
                "rule",
                f"{s} guidance: do not signal your home or away-rotation programs",
            )
        )
    elif spec.rotated[j]:
        text = load_params("signals")["rotation"]["text"]
        flags.append(_flag(pid, s, tier, "rotation", "advice", text))


def _count_flags(
    specs: Sequence[CheckedList], pools: Mapping[str, SignalPool], chosen: Sequence[Placement]
) -> list[dict[str, Any]]:
    """Flag each tier of a pool with more signals than allowed (or counts not known)."""
    present = [s.specialty for s in specs]
    flags = []
    for pool in pools.values():
        mine = [c for c in chosen if specs[c[0]].rules.pool == pool.name]
        if pool.unknown:
            if mine:
                flags.append(
                    _flag(
                        None,
                        pool.name,
                        None,
                        "unknown_counts",
                        "advice",
                        f"{pool.label(present)}: signal counts for this season are not known, "
                        "so the number you chose cannot be checked",
                    )
                )
            continue
        for t in pool.tiers:
            n = sum(1 for c in mine if c[2] == t)
            limit = pool.allowed.get(t, 0)
            if n > limit:
                shared = len(pool.members) > 1
                flags.append(
                    _flag(
                        None,
                        pool.name,
                        t,
                        "pool_exceeded" if shared else "too_many",
                        "rule",
                        f"{n} {t} signals in {pool.label(present)}, over the {limit} allowed"
                        + (f" for {' and '.join(pool.members)} together" if shared else ""),
                    )
                )
    return flags
