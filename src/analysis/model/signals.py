"""Program signals in the interview model: the effect of a gold, silver or single signal.

A signal of tier t adds beta_t to the log-odds of an interview at a program that can consider
the applicant::

    p_with = c * sigmoid(logit(p / c) + f * beta_t)

where p is the model's P(interview) without the signal and c the chance that the program
considers the applicant at all (it passes the program's unknown screens and the program
interviews applicants of the group: `p_considered` in `interview_chances`); f = 1, or the
rotation factor at a program where the applicant rotates (the rotation already shows
interest). Where c = 0 or a hard screen applies (visa, Step 2 CK minimum, graduation year,
USCE, attempts) p stays 0: a signal never opens a program and never raises c. On the log-odds
scale the same beta moves a middling chance most, a high one little and zero not at all.

beta_t is added to the integrated (program-average) log-odds, because the published figures
it comes from compare average interview rates of signaled and non-signaled programs. Its
central value and range are in `params/signals.yaml` with their sources; none of the figures
is specific to IMGs, so they are upper-bound priors. In the model's 80% interval the low end
uses the low effect and the high end the high effect.

Known limits: programs that opted out of signals are not known; the base rates come from a
cycle in which applicants already signaled, so adding the full effect overstates the gain a
little.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.config import load_params
from analysis.data.normalize import normalize_signal
from analysis.data.signal_rules import TIERS
from analysis.errors import DataValidationError, NormalizationError, Problem

__all__ = [
    "EFFECT_LEVELS",
    "SignalEffects",
    "effect_logits",
    "signal_effects",
    "signal_map",
    "signal_tier",
    "with_signal",
]

EFFECT_LEVELS = ("central", "low", "high")


@dataclass(frozen=True)
class SignalEffects:
    """Log-odds effect per tier (central, low, high) and the factor at rotation programs."""

    central: Mapping[str, float]
    low: Mapping[str, float]
    high: Mapping[str, float]
    rotation_factor: float

    def of(self, tier: str, level: str = "central") -> float:
        """beta for a tier at a level ("central", "low" or "high")."""
        if level not in EFFECT_LEVELS:
            raise ValueError(f"effect level {level!r}: expected one of {EFFECT_LEVELS}")
        return float(getattr(self, level)[tier])


@functools.cache
def signal_effects() -> SignalEffects:
    """The documented effect sizes of `params/signals.yaml` (checked: 0 <= low <= central <= high).

    Raises:
        ValueError: naming the tier and values when the file breaks that order.
    """
    p = load_params("signals")
    levels: dict[str, dict[str, float]] = {level: {} for level in EFFECT_LEVELS}
    problems = []
    for tier in TIERS:
        entry = p["effects"][tier]
        values = [float(entry[level]) for level in EFFECT_LEVELS]
        central, low, high = values
        if not 0.0 <= low <= central <= high:
            problems.append(f"{tier}: low {low}, central {central}, high {high}")
        for level, value in zip(EFFECT_LEVELS, values, strict=True):
            levels[level][tier] = value
    factor = float(p["rotation"]["effect_factor"])
    if not 0.0 <= factor <= 1.0:
        problems.append(f"rotation effect_factor {factor}")
    if problems:
        raise ValueError(
            "signals.yaml: effects need 0 <= low <= central <= high and a rotation factor "
            "in [0, 1]; got " + "; ".join(problems)
        )
    return SignalEffects(rotation_factor=factor, **levels)


def with_signal(
    p: np.ndarray | float,
    effect: np.ndarray | float,
    *,
    screened: np.ndarray | None = None,
    p_considered: np.ndarray | float | None = None,
) -> np.ndarray:
    """P(interview) with a log-odds effect added where the program can consider the applicant.

    Vectorized (all arguments broadcast). Unchanged where p = 0, where `screened` is True,
    where the effect is 0, or where the chance given an open program is already 1.

    Args:
        p: P(interview) without a signal, in [0, 1].
        effect: log-odds to add (0 = no signal; the tiers' values are >= 0).
        screened: True where a hard screen rules the applicant out.
        p_considered: chance the program considers the applicant at all (a signal cannot
            change it); None treats p as the chance given that it does.
    """
    p = np.asarray(p, dtype=float)
    effect = np.asarray(effect, dtype=float)
    scale = np.ones_like(p) if p_considered is None else np.asarray(p_considered, dtype=float)
    scale = np.broadcast_to(scale, np.broadcast_shapes(p.shape, scale.shape))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        base = np.clip(np.where(scale > 0, p / scale, 0.0), 0.0, 1.0)
        can = (p > 0) & (base < 1) & (effect != 0)
        if screened is not None:
            can = can & ~np.asarray(screened, dtype=bool)
        logit = np.log(base) - np.log1p(-base)
        z = np.where(can, logit + effect, 0.0)
        raised = scale * 0.5 * (1.0 + np.tanh(0.5 * z))
    return np.where(can, raised, np.broadcast_to(p, can.shape))


def signal_tier(text: object) -> str | None:
    """A tier word as gold, silver or single ("yes", "Gold signal"...); None for no signal.

    Raises:
        NormalizationError: for a word that is not a signal tier (from `normalize_signal`).
    """
    if text is None:
        return None
    return normalize_signal(str(text))


def effect_logits(
    program_ids: np.ndarray,
    signals: Mapping[str, str],
    *,
    rotated: np.ndarray | None = None,
    level: str = "central",
    effects: SignalEffects | None = None,
) -> np.ndarray:
    """Log-odds added at each program by the applicant's signals (0 where none).

    Args:
        program_ids: the programs (one row of the model's arrays).
        signals: program id -> tier (gold, silver, single); ids not in `program_ids` are
            ignored.
        rotated: True where the applicant rotates (the effect is scaled by the rotation
            factor there).
        level: "central", "low" or "high" end of the effect's range.
        effects: effect sizes instead of `params/signals.yaml`.
    """
    effects = effects or signal_effects()
    ids = np.asarray(program_ids).astype(str)
    out = np.zeros(ids.size)
    if not signals or ids.size == 0:
        return out
    tiers = np.array([signals.get(pid, "") for pid in ids.tolist()], dtype=object)
    for tier in TIERS:
        out[tiers == tier] = effects.of(tier, level)
    if rotated is not None:
        out *= np.where(np.asarray(rotated, dtype=bool), effects.rotation_factor, 1.0)
    return out


def signal_map(signals: Any) -> dict[str, str]:
    """{program_id: tier} from the forms an applicant's signals come in.

    Accepts None, a mapping {program_id: tier}, or an iterable of `ProgramSignal`s (the
    profile's `signals`), {program_id, tier} dicts or (program_id, tier) pairs. Tier words go
    through `normalize_signal` (gold, silver; yes/single for one tier); "no" drops the entry.

    Raises:
        DataValidationError: listing every entry whose tier is not a signal tier.
    """
    if not signals:
        return {}
    if isinstance(signals, Mapping):
        pairs = list(signals.items())
    else:
        pairs = []
        for item in signals:
            if isinstance(item, Mapping):
                pairs.append((item.get("program_id"), item.get("tier", "single")))
            elif hasattr(item, "program_id"):
                pairs.append((item.program_id, getattr(item, "tier", "single")))
            else:
                pid, tier = item
                pairs.append((pid, tier))
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for n, (pid, tier) in enumerate(pairs, start=1):
        try:
            word = signal_tier(tier)
        except NormalizationError as error:
            problems.append(Problem("signals", n, "tier", tier, error.problems[0].expected))
            continue
        if word is not None and pid is not None:
            out[str(pid)] = word
    if problems:
        raise DataValidationError(problems, source="signals")
    return out


def effect_table(
    starts: tuple[float, ...] = (0.05, 0.18, 0.5, 0.9), effects: SignalEffects | None = None
) -> Any:
    """The effect sizes per tier (central, low, high) and what each does to a few chances.

    Returns a polars frame: tier, central, low, high, then one column `from_XX` per starting
    P(interview) (at a program that considers the applicant for sure) with the chance after a
    signal of the tier at the central effect.
    """
    import polars as pl

    effects = effects or signal_effects()
    rows = []
    for tier in TIERS:
        row: dict[str, Any] = {level: effects.of(tier, level) for level in EFFECT_LEVELS}
        row["tier"] = tier
        for p in starts:
            row[f"from_{round(100 * p):02d}"] = float(with_signal(p, effects.of(tier)))
        rows.append(row)
    order = ["tier", "central", "low", "high", *(f"from_{round(100 * p):02d}" for p in starts)]
    return pl.DataFrame(rows).select(order)
