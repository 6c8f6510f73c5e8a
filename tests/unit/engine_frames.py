"""Small synthetic canonical program tables and applicants for the engine's tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from analysis.data.schemas import ApplicantProfile, polars_schema, program_columns
from analysis.data.vocabulary import specialties

DEFAULTS: dict[str, Any] = {spec.name: None for spec in program_columns()}
DEFAULTS.update(visiting_route="unknown", source="test fixture")


def program(program_id: str, specialty: str = "IM", **facts: Any) -> dict[str, Any]:
    """One canonical program row: unknown facts unless given."""
    row = dict(DEFAULTS)
    row.update(
        program_id=program_id,
        program_name=f"Test Program {program_id}",
        specialty=specialty,
        track=specialties()[specialty].default_track,
    )
    row.update(facts)
    return row


def table(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A canonical polars program table from row dicts."""
    return pl.DataFrame(rows, schema=polars_schema())


def national(n_per: int = 80, specs: tuple[str, ...] = ("IM", "IR", "DR", "FM", "ANES"),
             seed: int = 0) -> pl.DataFrame:  # fmt: skip
    """A random table with realistic missingness (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    rows = []
    types = ["university", "community_university_affiliated", "community", None]
    for s in specs:
        for i in range(n_per):
            pct = float(rng.uniform(0, 90)) if rng.random() < 0.7 else None
            j1 = [True, False, None][rng.choice(3, p=[0.6, 0.15, 0.25])]
            h1b = None if j1 is None else (bool(rng.random() < 0.3) if j1 else False)
            rows.append(
                program(
                    f"{s}-{i:04d}",
                    s,
                    program_type=types[rng.choice(4, p=[0.3, 0.4, 0.2, 0.1])],
                    pgy1_positions=int(rng.integers(2, 30)),
                    pct_img_residents=pct,
                    pct_non_us_img_residents=None if pct is None else pct * 0.6,
                    img_residents_present=None if pct is None else pct > 0,
                    sponsors_j1=j1,
                    sponsors_h1b=h1b,
                    min_step2_score=int(rng.integers(215, 250)) if rng.random() < 0.2 else None,
                    yog_cutoff_years=int(rng.integers(3, 10)) if rng.random() < 0.2 else None,
                    usce_required_months=float(rng.integers(0, 6)) if rng.random() < 0.1 else None,
                    max_attempts=int(rng.integers(1, 3)) if rng.random() < 0.1 else None,
                    accepts_img_visiting_students=[True, False, None][
                        rng.choice(3, p=[0.3, 0.3, 0.4])
                    ],
                    non_us_img_interview_rate=(
                        float(rng.uniform(0, 0.1)) if rng.random() < 0.5 else None
                    ),
                    last_verified=dt.date(2026, 1, 1),
                )
            )
    return table(rows)


def applicant(**overrides: Any) -> ApplicantProfile:
    """A typical non-US IMG targeting IR, DR then IM (overridable)."""
    base: dict[str, Any] = dict(
        applicant_id="test-applicant",
        name="Test Applicant",
        visa_needed="j1",
        graduation_year=2025,
        step2_score=245,
        usce_months=2,
        us_letters={"IR": 1},
        target_specialties=["IR", "DR", "IM"],
        match_year=2028,
    )
    base.update(overrides)
    return ApplicantProfile(**base)
