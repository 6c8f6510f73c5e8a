"""How the planners write numbers in sentences, so every note words a fact the same way.

A difference of two probabilities is written in percentage points ("adds 2.4 points"), a
probability as a whole percent ("P(match anywhere) 81%"), an amount of money as whole
dollars ("$6,000"). Notes and tables take their numbers from the plan's fields and format
them here, so a number shown twice reads the same twice.
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
