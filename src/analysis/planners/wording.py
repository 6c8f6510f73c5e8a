"""How the planners write numbers in sentences, so every note words a fact the same way.

A difference of two probabilities is written in percentage points ("adds 2.4 points"), a
probability as a whole percent ("P(match anywhere) 81%"), an amount of money as whole
dollars ("$6,000"). Notes and tables take their numbers from the plan's fields and format
them here, so a number shown twice reads the same twice.

The signal planner's reasons are finer, because one signal moves small chances: a chance as
a short percentage ("4.2%", "<0.1%"), a gain in points to one decimal ("0.3 points", "under
0.1 points"), and the band the chance falls in ("slim", "middling").
"""

from __future__ import annotations


def points(share: float) -> str:
    """A difference of probabilities in percentage points: 0.01 -> '1 point', 0.024 -> '2.4
    points' (one decimal unless whole)."""
    value = share * 100
    text = f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"
    return f"{text} point" + ("" if text == "1" else "s")


def signed_points(share: float | None) -> str:
    """A change in percentage points with its sign: '+6.1 points', '-1 point'; 'no change'
    under 0.05 points; '' for a missing value."""
    if share is None or share != share:  # None or NaN
        return ""
    if abs(share) < 0.0005:
        return "no change"
    return ("+" if share > 0 else "-") + points(abs(share))


def percent(p: float) -> str:
    """A probability as a whole percent: 0.806 -> '81%'."""
    return f"{p:.0%}"


def dollars(amount: float) -> str:
    """Whole dollars: 6000 -> '$6,000'."""
    return f"${amount:,.0f}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 rotation', '2 rotations' (or the given plural)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def short_percent(p: float) -> str:
    """A probability as a short percentage: 41%, 4.2%, 0.4%, <0.1%."""
    if p >= 0.995 or p == 0:
        return f"{p:.0%}"
    if p >= 0.1:
        return f"{p:.0%}"
    if p >= 0.001:
        return f"{p:.1%}"
    return "<0.1%"


def points_added(gain: float) -> str:
    """A gain in percentage points to one decimal: '1.2 points', 'under 0.1 points'."""
    pts = 100 * gain
    return f"{pts:.1f} points" if pts >= 0.05 else "under 0.1 points"


def chance_band(p: float) -> str:
    """The band a chance falls in: no, slim (< 5%), low (< 15%), middling (<= 70%), high."""
    if p <= 0:
        return "no"
    if p < 0.05:
        return "slim"
    if p < 0.15:
        return "low"
    if p <= 0.7:
        return "middling"
    return "high"
