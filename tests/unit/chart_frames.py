"""Synthetic frames shaped like the engine's and planners' outputs, for the chart tests.

Each builder returns a small, seeded polars frame that follows one output contract of
`analysis.viz` (see the docstrings of its modules): `scored`, `contributions`, `curves`, `pmf`,
`levers`, `plan`, `rotations`, `timeline` and `calibration`. The numbers are made up but
plausible (scores rise with IMG share and visa sponsorship, P(match) saturates with the
number of applications), so the rendered PNGs look like what a user will see. Nothing here
reads the demo data or the engine: the chart tests must not depend on code being written in
parallel.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from analysis.data.schemas import polars_schema
from analysis.data.vocabulary import US_STATES

TIERS = ("closed", "unfriendly", "moderate", "friendly", "very friendly")
COMPONENTS = (
    ("visa", "Visa fit", 0.25),
    ("img_share", "IMG share of residents", 0.20),
    ("non_us_img_share", "Non-US IMG share", 0.15),
    ("interview_rate", "Non-US IMG interview rate", 0.15),
    ("visiting", "Visiting-student access", 0.10),
    ("screening", "Screening rules", 0.10),
    ("program_type", "Program type", 0.05),
)
"""(component key, label, weight): weights sum to 1, as in the contract."""

_SPECIALTY_MIX = {"IM": 0.45, "FM": 0.2, "PSYCH": 0.12, "DR": 0.1, "IR": 0.05, "ANES": 0.08}
_BIG_STATES = ("NY", "CA", "TX", "PA", "FL", "IL", "OH", "MI", "NJ", "MA")


def tier_of(score: pl.Expr) -> pl.Expr:
    """The friendliness tier of a 0-100 score (closed programs are set separately)."""
    return (
        pl.when(score < 25)
        .then(pl.lit("unfriendly"))
        .when(score < 50)
        .then(pl.lit("moderate"))
        .when(score < 75)
        .then(pl.lit("friendly"))
        .otherwise(pl.lit("very friendly"))
    )


def scored_frame(n: int = 300, seed: int = 7) -> pl.DataFrame:
    """A scored program table: every canonical column plus the score columns.

    Args:
        n: number of programs (use more than 5,000 to test Altair's row limit).
        seed: random seed.
    """
    rng = np.random.default_rng(seed)
    specialties = rng.choice(
        list(_SPECIALTY_MIX), size=n, p=np.array(list(_SPECIALTY_MIX.values()))
    )
    states = list(US_STATES)
    weights = np.array(
        [8.0 if s in _BIG_STATES else (0.3 if s in ("GU", "VI") else 1.0) for s in states]
    )
    state = rng.choice(states, size=n, p=weights / weights.sum())
    positions = np.where(
        np.isin(specialties, ["IR", "DR"]),
        rng.integers(1, 12, size=n),
        rng.integers(4, 60, size=n),
    )
    latent = rng.beta(2.0, 2.0, size=n)  # how IMG-friendly a program really is

    def noisy(spread: float) -> np.ndarray:
        return np.clip(latent + rng.normal(0, spread, size=n), 0, 1)

    pct_img = (noisy(0.15) * 100).round(1)
    pct_non_us = (pct_img * rng.uniform(0.2, 0.9, size=n)).round(1)
    j1 = rng.choice([True, False, None], size=n, p=[0.6, 0.25, 0.15])
    h1b = rng.choice([True, False, None], size=n, p=[0.2, 0.55, 0.25])
    base = {
        "program_id": [f"P{i:05d}" for i in range(n)],
        "program_name": [f"{state[i]} {specialties[i]} Program {i}" for i in range(n)],
        "specialty": specialties.tolist(),
        "track": ["categorical"] * n,
        "esir_available": [None] * n,
        "city": [f"City {i % 97}" for i in range(n)],
        "state": state.tolist(),
        "program_type": rng.choice(
            ["university", "community_university_affiliated", "community"], size=n
        ).tolist(),
        "pgy1_positions": positions.tolist(),
        "interviews_last_year": (positions * rng.integers(8, 14, size=n)).tolist(),
        "pct_img_residents": pct_img.tolist(),
        "pct_non_us_img_residents": pct_non_us.tolist(),
        "img_residents_present": (pct_img > 0).tolist(),
        "sponsors_j1": j1.tolist(),
        "sponsors_h1b": h1b.tolist(),
        "min_step2_score": [None] * n,
        "yog_cutoff_years": [None] * n,
        "usce_required_months": [None] * n,
        "max_attempts": [None] * n,
        "accepts_img_visiting_students": rng.choice([True, False, None], size=n).tolist(),
        "visiting_route": rng.choice(["vslo", "direct", "none", "unknown"], size=n).tolist(),
        "visiting_fee_usd": [None] * n,
        "application_deadline": [None] * n,
        "non_us_img_interview_rate": [None] * n,
        "source": ["synthetic"] * n,
        "last_verified": [dt.date(2025, 6, 1)] * n,
        "notes": [None] * n,
    }
    base = {name: base.get(name, [None] * n) for name in polars_schema()}  # the rest unknown
    frame = pl.DataFrame(base, schema=polars_schema())
    visa = np.where(j1 == True, 1.0, np.where(j1 == False, 0.0, 0.5))  # noqa: E712
    comps = {
        "component_visa": visa,
        "component_img_share": pct_img / 100,
        "component_non_us_img_share": pct_non_us / 100,
        "component_interview_rate": noisy(0.2),
        "component_visiting": noisy(0.3),
        "component_screening": noisy(0.2),
        "component_program_type": noisy(0.3),
    }
    score = 100 * sum(w * comps[f"component_{key}"] for key, _, w in COMPONENTS)
    closed = (j1 == False) & (rng.uniform(size=n) < 0.5)  # noqa: E712
    return (
        frame.with_columns(
            pl.Series("img_friendliness", np.where(closed, 0.0, score.round(1))),
            *[pl.Series(name, values.round(3)) for name, values in comps.items()],
            pl.Series("confidence", rng.uniform(0.4, 1, size=n).round(2)),
            pl.Series("closed", closed),
        )
        .with_columns(
            pl.when(pl.col("closed"))
            .then(pl.lit("closed"))
            .otherwise(tier_of(pl.col("img_friendliness")))
            .alias("tier"),
            pl.when(pl.col("closed"))
            .then(pl.lit("does not sponsor a J-1 visa"))
            .otherwise(pl.lit(None, dtype=pl.String))
            .alias("closed_reason"),
            (pl.col("last_verified") < dt.date(2024, 6, 1)).alias("stale"),
        )
        .drop("closed")
    )


def contributions_frame(scored: pl.DataFrame) -> pl.DataFrame:
    """The long component table of `friendliness.component_contributions(scored)`."""
    keys = [key for key, _, _ in COMPONENTS]
    long = scored.select(
        "program_id", "program_name", "specialty", *[f"component_{k}" for k in keys]
    ).unpivot(
        index=["program_id", "program_name", "specialty"],
        variable_name="column",
        value_name="value",
    )
    table = pl.DataFrame(
        {
            "column": [f"component_{k}" for k in keys],
            "component": keys,
            "label": [label for _, label, _ in COMPONENTS],
            "weight": [w for _, _, w in COMPONENTS],
        }
    )
    return (
        long.join(table, on="column")
        .drop("column")
        .with_columns(
            (100 * pl.col("weight") * pl.col("value")).alias("contribution"),
            ((pl.col("component") == "interview_rate") | (pl.col("value") == 0.5)).alias("imputed"),
        )
        .select(
            "program_id",
            "program_name",
            "specialty",
            "component",
            "label",
            "value",
            "weight",
            "contribution",
            "imputed",
        )
    )


def curves_frame(
    specialties: dict[str, tuple[float, float]] | None = None,
    n_max: int = 120,
    target: float = 0.8,
) -> pl.DataFrame:
    """P(match) against number of applications, one saturating curve per specialty.

    Args:
        specialties: code -> (ceiling, half-saturation applications).
        n_max: largest number of applications.
        target: the target probability used to set `recommended`.
    """
    specialties = specialties or {"IM": (0.93, 14.0), "IR": (0.52, 45.0)}
    frames = []
    apps = np.arange(1, n_max + 1)
    cost = np.where(apps <= 30, apps * 11.0, 30 * 11.0 + (apps - 30) * 30.0) + 80.0
    for code, (ceiling, half) in specialties.items():
        p = ceiling * apps / (apps + half)
        low, high = np.clip(p - 0.08 * np.sqrt(p), 0, 1), np.clip(p + 0.06 * np.sqrt(p), 0, 1)
        gain = np.diff(p, prepend=0.0)
        reached = np.flatnonzero(p >= target)
        dim = int(np.flatnonzero(gain < 0.002)[0]) if (gain < 0.002).any() else n_max - 1
        rec = int(reached[0]) if reached.size else dim
        frames.append(
            pl.DataFrame(
                {
                    "specialty": code,
                    "applications": apps,
                    "p_match": p,
                    "p_match_low": low,
                    "p_match_high": high,
                    "eras_cost_usd": cost,
                    "recommended": apps == apps[rec],
                    "diminishing_returns": apps == apps[dim],
                }
            )
        )
    return pl.concat(frames).with_columns(pl.col("applications").cast(pl.Int64))


def pmf_frame(specialties: dict[str, float] | None = None, k_max: int = 12) -> pl.DataFrame:
    """Poisson-like interview distributions; the last bin means 'k_max or more'."""
    from math import exp, factorial

    specialties = specialties or {"IM": 4.5, "IR": 0.9}
    rows = []
    for code, lam in specialties.items():
        probs = [exp(-lam) * lam**k / factorial(k) for k in range(k_max)]
        probs.append(1 - sum(probs))
        rows += [
            {"specialty": code, "interviews": k, "probability": p} for k, p in enumerate(probs)
        ]
    return pl.DataFrame(rows).with_columns(pl.col("interviews").cast(pl.Int64))


def levers_frame(baseline: float = 0.41) -> pl.DataFrame:
    """What-if levers, with positive, negative and zero changes."""
    deltas = {
        "step2_plus5": ("Step 2 CK +5", 0.031),
        "step2_plus10": ("Step 2 CK +10", 0.064),
        "step3": ("Pass Step 3", 0.022),
        "letter": ("One more US letter", 0.018),
        "rotation": ("One more away rotation", 0.027),
        "more_apps": ("Apply to 30 more programs", 0.012),
        "backup": ("Add IM as a backup", 0.21),
        "yog": ("Apply one year later", -0.045),
        "observership": ("Observership instead of hands-on USCE", 0.0),
    }
    return pl.DataFrame(
        {
            "lever": list(deltas),
            "label": [label for label, _ in deltas.values()],
            "p_match_any": [baseline + d for _, d in deltas.values()],
            "delta": [d for _, d in deltas.values()],
            "baseline": baseline,
        }
    )


def plan_frame() -> pl.DataFrame:
    """A backup plan: IR first, then DR, IM, GS (the last not included)."""
    spec = ["IR", "DR", "IM", "GS"]
    p = [0.22, 0.35, 0.62, 0.18]
    cumulative, miss = [], 1.0
    for value in p:
        miss *= 1 - value
        cumulative.append(1 - miss)
    apps = [60, 40, 45, 30]
    cost = [80 + 30 * 11 + (a - 30) * 30 if a > 30 else 80 + a * 11 for a in apps]
    return pl.DataFrame(
        {
            "order": [1, 2, 3, 4],
            "specialty": spec,
            "included": [True, True, True, False],
            "p_match": p,
            "p_match_first": [0.2] * 4,
            "p_match_any_cumulative": cumulative,
            "applications": apps,
            "eras_cost_usd": [float(c) for c in cost],
            "cumulative_cost_usd": np.cumsum(cost).astype(float).tolist(),
        }
    )


def rotations_frame() -> pl.DataFrame:
    """Three away rotations (anchor, opportunity, safety) in the summer before ERAS."""
    return pl.DataFrame(
        {
            "program_id": ["P00010", "P00020", "P00030"],
            "program_name": [
                "Mayo Clinic Interventional Radiology",
                "University of Toledo IR",
                "Wayne State Diagnostic Radiology",
            ],
            "specialty": ["IR", "IR", "DR"],
            "state": ["MN", "OH", "MI"],
            "role": ["anchor", "opportunity", "safety"],
            "start": [dt.date(2026, 6, 1), dt.date(2026, 7, 6), dt.date(2026, 8, 3)],
            "end": [dt.date(2026, 6, 26), dt.date(2026, 7, 31), dt.date(2026, 8, 28)],
            "cost_usd": [4200.0, 3100.0, 2800.0],
            "gain": [0.06, 0.035, 0.02],
            "reason": [
                "takes IMG visiting students; sponsors J-1",
                "IMG residents present; direct application",
                "community program with ESIR",
            ],
        }
    )


def timeline_frame() -> pl.DataFrame:
    """A personal timeline to Match Day 2027, with periods and single dates."""
    d = dt.date
    rows = [
        (d(2025, 11, 1), d(2026, 3, 31), "Step 2 CK preparation", "preparation", False),
        (d(2026, 4, 15), None, "Step 2 CK exam", "exam", True),
        (d(2026, 5, 20), None, "Step 2 CK score released", "exam", True),
        (d(2026, 6, 3), None, "ERAS opens: start application", "application", False),
        (d(2026, 9, 24), None, "ERAS submitted to programs", "application", False),
        (d(2026, 10, 1), d(2027, 1, 31), "Interview season", "interviews", True),
        (d(2027, 2, 3), d(2027, 3, 3), "Rank list open", "match", False),
        (d(2027, 3, 19), None, "Match Day", "match", False),
    ]
    return pl.DataFrame(
        {
            "start": [r[0] for r in rows],
            "end": [r[1] for r in rows],
            "event": [r[2] for r in rows],
            "category": [r[3] for r in rows],
            "approximate": [r[4] for r in rows],
            "source": ["NRMP/AAMC calendar (synthetic)"] * len(rows),
        },
        schema_overrides={"end": pl.Date},
    )


def calibration_frame(seed: int = 3) -> pl.DataFrame:
    """Model against reference figures for a few specialties and metrics."""
    rng = np.random.default_rng(seed)
    reference = {
        "mean interview rate": {"IM": 0.08, "FM": 0.12, "PSYCH": 0.07, "DR": 0.04, "IR": 0.02},
        "median": {"IM": 0.04, "FM": 0.08, "PSYCH": 0.03, "DR": 0.01, "IR": 0.0},
        "share at zero": {"IM": 0.28, "FM": 0.18, "PSYCH": 0.33, "DR": 0.45, "IR": 0.62},
        "P(match)": {"IM": 0.64, "FM": 0.71, "PSYCH": 0.52, "DR": 0.41, "IR": 0.18},
    }
    rows = []
    for metric, values in reference.items():
        for code, ref in values.items():
            model = max(0.0, ref * rng.uniform(0.8, 1.25) + rng.normal(0, 0.01))
            rows.append({"specialty": code, "metric": metric, "model": model, "reference": ref})
    return pl.DataFrame(rows)
