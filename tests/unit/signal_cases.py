"""Small signal-planning cases drawn at random: the test suite checks the planner against
exhaustive search on them and benchmarks/bench_signals.py measures its worst gap on them."""

from __future__ import annotations

import dataclasses

import numpy as np

from analysis.data.signal_rules import signal_rules
from analysis.planners.signal_lists import SpecialtyList


def rules_with(specialty: str, gold: int | None, silver: int | None, single: int | None = None):
    """The reference rules of a specialty with other counts (for small cases)."""
    base = signal_rules(specialty, "2024-2025")
    total = single if gold is None else gold + silver
    return dataclasses.replace(
        base, gold=gold, silver=silver, single=single, total=total, unknown=False
    )


def ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:03d}" for i in range(n)]


def random_small_case(rng: np.random.Generator):
    """A seeded small case: 8-12 IM programs (1-2 gold, 1-3 silver), with probability 0.4 also
    a DR+IR pool of 2-5 programs each (1-2 gold, 1-2 silver); some screened and rotation
    programs."""
    n = int(rng.integers(8, 13))
    kind = rng.choice(["mixed", "middling", "high", "low"])
    if kind == "mixed":
        p = rng.choice([0.0, 0.01, 0.05, 0.15, 0.3, 0.5, 0.8, 0.95], n) * rng.uniform(0.6, 1.1, n)
    elif kind == "middling":
        p = rng.uniform(0.1, 0.7, n)
    elif kind == "high":
        p = rng.uniform(0.3, 0.99, n)
    else:
        p = rng.uniform(0.0, 0.15, n)
    p = np.clip(p, 0.0, 0.99)
    lists = [
        SpecialtyList(
            "IM", ids("IM", n), p, screened=rng.random(n) < 0.1, rotated=rng.random(n) < 0.15
        )
    ]
    rules = {"IM": rules_with("IM", int(rng.integers(1, 3)), int(rng.integers(1, 4)))}
    if rng.random() < 0.4:
        gold, silver = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        for code in ("IR", "DR"):
            m = int(rng.integers(2, 6))
            lists.insert(
                0, SpecialtyList(code, ids(code, m), np.clip(rng.uniform(0, 0.9, m), 0, 0.99))
            )
            rules[code] = rules_with(code, gold, silver)
    return lists, rules
