"""The simulated Match's setup: its inputs, NRMP's figures, and the table prepared for it.

`MarketSetup` is what every replication needs (a canonical program table, the plan date,
the user's applicants, a scenario and the solved entry factors), picklable and sent once to
every worker. `prepare_market` turns it into a `Market`, the arrays a replication reads
(`analysis.model.market`, which also solves the entry factors and caches built markets);
every parameter is in `params/market.yaml` with its source or "judgement".

- **Specialties**: those of the table that NRMP 2025 figures cover (positions, fill rate and
  the share of filled positions per applicant type; the shares and fill rates NRMP does not
  give are the documented assumptions of `params/market.yaml` and `params/population.yaml`:
  `nrmp_specialty_figures`). The others are left out (`Market.left_out`); a table with none
  is refused.
- **Positions** per program from the table (missing: NRMP's positions per program of the
  specialty) and **interviews per position** (the program's interviews last year / its
  positions, else FREIDA's IM median of 11.4).
- **Applicants** per type and first-choice specialty s: the type's NRMP 2025 matches in s /
  its applicants' match rate there (US MD seniors: their 2024 rate by preferred specialty
  where known; else the type's 2025 rate) x (positions of s in the table / NRMP's positions
  of s) x the type's entrants per applicant with an interview (the entry factors).
- **Held out**: per program, the share of positions NRMP shows filled by applicants outside
  the four types (US graduates of earlier years, Canadians).
- **The scenario** (`analysis.model.scenarios`): more or fewer positions, spread over the
  specialty's programs in proportion to their positions after the applicant counts (the
  same applicants), interview capacity scaled, applicants added, the user's applications
  changed, a rank limit.
- **The user's applicants** (`Inserted`): their profiles as arrays, their specialties in the
  market in their order, their applications and completed rotations.

`scaled_programs` keeps a random share of each specialty's programs: a smaller market of the
same shape, for tests and scaling benchmarks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from analysis.config import load_params, reference_table
from analysis.data.reference import nrmp_specialties
from analysis.data.schemas import ApplicantProfile
from analysis.errors import DataValidationError, file_problem
from analysis.model.population import ApplicantArrays, population_params, profile_group
from analysis.model.probability import MatchModel, default_applications
from analysis.model.scenarios import Scenario
from analysis.model.seniors import SENIOR_TYPES

TYPES = ("us_md", "us_do", "us_img", "non_us_img")
"""NRMP's four applicant types, in the order every array of results uses."""

TYPE_LABELS = {
    "us_md": "US MD seniors",
    "us_do": "US DO seniors",
    "us_img": "US IMGs",
    "non_us_img": "non-US IMGs",
}


def market_params() -> dict[str, Any]:
    """`params/market.yaml`."""
    return load_params("market")


# --------------------------------------------------------------------------- NRMP figures


@functools.cache
def nrmp_type_figures() -> dict[str, dict[str, float]]:
    """Per type: NRMP active applicants, matched and match rate in the market's year."""
    p = market_params()
    rates = reference_table("nrmp_match_rates")
    out = {}
    for t, label in p["types"].items():
        rows = rates.filter((pl.col("applicant_type") == label) & (pl.col("year") == p["year"]))
        if rows.height != 1:
            raise ValueError(f"nrmp_match_rates.csv: no single {p['year']} row for {label}")
        r = rows.row(0, named=True)
        out[t] = {
            "active": float(r["active_applicants"]),
            "matched": float(r["matched"]),
            "match_rate": float(r["match_rate_pct"]) / 100,
        }
    return out


def nrmp_specialty_figures(specialty: str) -> dict[str, Any] | None:
    """Positions, fill rate and share of filled positions per type of a specialty (or None).

    Shares and fill rates NRMP does not give here are the documented assumptions
    (`params/market.yaml` and `params/population.yaml`); `assumed` lists which.
    """
    row = nrmp_specialties().get(specialty)
    if row is None or not row.get("positions"):
        return None
    p = market_params()["applicants"]
    img_assumed = population_params()["cohort"]["assumed_share_pct"]
    columns = {
        "us_md": "pgy1_share_md_senior_pct",
        "us_do": "pgy1_share_do_senior_pct",
        "us_img": "pgy1_share_us_img_pct",
        "non_us_img": "pgy1_share_non_us_img_pct",
    }
    assumed = []
    shares = {}
    for t, column in columns.items():
        value = row.get(column)
        if value is None:
            table = p["assumed_share_pct"] if t in SENIOR_TYPES else img_assumed
            value = table.get(t, {}).get(specialty)
            if value is None:
                return None
            assumed.append(f"share_{t}")
        shares[t] = float(value) / 100
    fill = row.get("pgy1_fill_pct")
    if fill is None:
        fill = p["assumed_fill_pct"].get(specialty)
        if fill is None:
            return None
        assumed.append("fill")
    return {
        "positions": int(row["positions"]),
        "fill": float(fill) / 100,
        "shares": shares,
        "other_share": max(0.0, 1.0 - sum(shares.values())),
        "applicants_ranking": row.get("applicants_ranking"),
        "assumed": assumed,
    }


# --------------------------------------------------------------------------- the setup


@dataclass(frozen=True)
class MarketSetup:
    """Everything a replication needs, picklable (sent once to every worker).

    `programs` is a canonical table (`analysis.load_programs`); `applicants` join every
    replication; `scenario` changes the market (`analysis.model.scenarios`).
    """

    programs: pl.DataFrame
    as_of: dt.date
    applicants: tuple[ApplicantProfile, ...] = ()
    scenario: Scenario = field(default_factory=Scenario)
    entry: tuple[float, ...] | None = None  # entrants per certified, per type (solved)

    @functools.cached_property
    def key(self) -> str:
        """A digest of the inputs: workers keep one built market per key."""
        digest = hashlib.sha256()
        digest.update(self.programs.hash_rows(seed=0).to_numpy().tobytes())
        digest.update(",".join(self.programs.columns).encode())
        digest.update(self.as_of.isoformat().encode())
        for a in self.applicants:
            digest.update(a.model_dump_json().encode())
        digest.update(repr(self.scenario).encode())
        digest.update(repr(self.entry).encode())
        return digest.hexdigest()

    def with_scenario(self, scenario: Scenario) -> MarketSetup:
        """The same setup under another scenario."""
        return dataclasses.replace(self, scenario=scenario)


@dataclass
class Inserted:
    """The user's applicants: arrays, specialties in rank order, applications, rotations."""

    ids: list[str]
    types: np.ndarray  # index into TYPES
    arrays: ApplicantArrays
    targets: list[list[str]]
    applications: list[dict[str, int]]
    rotations: list[set[str]]
    rank_limit: int | None


@dataclass
class Market:
    """A program table prepared for replications (built once per worker and setup)."""

    model: MatchModel
    specialties: list[str]  # in the market, in the order of every per-specialty array
    spec_index: np.ndarray  # per program row: index into `specialties`, -1 if left out
    positions: np.ndarray  # per program row (int64), after the scenario
    per_position: np.ndarray  # interviews per position per program row (scenario applied)
    other_share: np.ndarray  # per program row: share of positions filled by other types
    img_openness: np.ndarray  # per program row: placement on non-US IMG openness (u)
    open_j1: np.ndarray  # per program row: P(open) to non-US IMGs needing a J-1
    counts: dict[tuple[str, str], int]  # (type, specialty) -> first-choice applicants
    figures: dict[str, dict[str, Any]]  # NRMP figures per specialty in the market
    left_out: list[str]  # specialties of the table without NRMP figures (no applicants)
    inserted: Inserted


@functools.cache
def _model_cache() -> dict[str, MatchModel]:
    return {}


def model_key(setup: MarketSetup) -> str:
    """A digest of the table and the date: one `MatchModel`, and one set of entry factors, each."""
    digest = hashlib.sha256(setup.programs.hash_rows(seed=0).to_numpy().tobytes())
    return digest.hexdigest() + setup.as_of.isoformat()


def model_for(setup: MarketSetup) -> MatchModel:
    """One `MatchModel` per table and date in this process (building it places openness)."""
    key = model_key(setup)
    cache = _model_cache()
    if key not in cache:
        cache.clear()
        cache[key] = MatchModel(setup.programs, as_of=setup.as_of)
    return cache[key]


def prepare_market(setup: MarketSetup, entry: np.ndarray | None) -> Market:
    """The market of a setup with each type's counts multiplied by `entry` (None: 1)."""
    model = model_for(setup)
    side = model.side
    table = model.features("none").table  # sorted by program_id, aligned with the side
    scenario = setup.scenario
    figures, left_out = _covered_specialties(model)
    specs = sorted(figures)
    spec_index = np.full(side.ids.size, -1, dtype=np.int64)
    for k, s in enumerate(specs):
        spec_index[side.specialty_rows[s]] = k

    positions = table["pgy1_positions"].cast(pl.Float64).to_numpy().copy()
    interviews = table["interviews_last_year"].cast(pl.Float64).to_numpy().copy()
    default_positions = {
        s: max(1, round(f["positions"] / max(nrmp_specialties()[s]["programs"] or 1, 1)))
        for s, f in figures.items()
    }
    for s, rows in side.specialty_rows.items():
        if s in default_positions:
            missing = rows[~np.isfinite(positions[rows])]
            positions[missing] = default_positions[s]
    positions = np.nan_to_num(positions, nan=0.0)
    per_default = float(market_params()["interviews"]["per_position"])
    with np.errstate(divide="ignore", invalid="ignore"):
        per_position = np.where(
            np.isfinite(interviews) & (positions > 0) & (interviews > 0),
            interviews / positions,
            per_default,
        )
    positions = positions.astype(np.int64)
    counts = _first_choice_counts(figures, positions, side.specialty_rows, entry)
    for change in scenario.positions:  # after the counts: more positions, same applicants
        rows = side.specialty_rows.get(change.specialty, np.array([], dtype=int))
        positions[rows] = _spread(positions[rows], change.count)
    for change in scenario.interview_capacity:
        rows = side.specialty_rows.get(change.specialty, np.array([], dtype=int))
        per_position[rows] = per_position[rows] * change.factor

    other = np.zeros(side.ids.size)
    if market_params()["applicants"]["hold_out_others"]:
        for s, f in figures.items():
            other[side.specialty_rows[s]] = f["fill"] * f["other_share"]

    for change in scenario.applicants:
        key = (change.applicant_type, change.specialty)
        counts[key] = counts.get(key, 0) + change.count

    return Market(
        model=model,
        specialties=specs,
        spec_index=spec_index,
        positions=positions,
        per_position=per_position,
        other_share=other,
        img_openness=side.u["non_us_img"],
        open_j1=model.features("j1").p_open,
        counts=counts,
        figures=figures,
        left_out=left_out,
        inserted=_inserted(setup, specs),
    )


def _covered_specialties(model: MatchModel) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """NRMP's figures of each specialty of the table they cover, and the specialties left out.

    Raises:
        DataValidationError: the table has no specialty the figures cover.
    """
    figures: dict[str, dict[str, Any]] = {}
    left_out = []
    for s in model.specialties():
        f = nrmp_specialty_figures(s)
        if f is None:
            left_out.append(s)
        else:
            figures[s] = f
    if not figures:
        raise DataValidationError(
            [
                file_problem(
                    None,
                    "a program table with at least one specialty that NRMP 2025 figures cover "
                    f"(positions and shares by applicant type); this one has only "
                    f"{', '.join(left_out) or 'no programs'}",
                )
            ],
            source="the program table",
        )
    return figures, left_out


def _spread(positions: np.ndarray, extra: int) -> np.ndarray:
    """Add `extra` positions (or remove, if negative) across programs in proportion to their
    positions, by largest remainder; never below zero."""
    total = positions.sum()
    if positions.size == 0 or extra == 0:
        return positions
    weights = positions / total if total > 0 else np.full(positions.size, 1 / positions.size)
    share = weights * extra
    base = np.floor(share).astype(np.int64)
    left = int(extra - base.sum())
    order = np.argsort(-(share - base), kind="stable")
    base[order[:left]] += 1
    return np.maximum(positions + base, 0)


def _first_choice_counts(
    figures: dict[str, dict[str, Any]],
    positions: np.ndarray,
    rows: dict[str, np.ndarray],
    entry: np.ndarray | None,
) -> dict[tuple[str, str], int]:
    """Applicants per (type, first-choice specialty): the type's NRMP 2025 matches in the
    specialty / the match rate of its applicants there (US MD seniors: their 2024 rate in the
    specialty where the reference has it; otherwise the type's 2025 rate), scaled to the
    table's positions and by the type's entry factor."""
    nrmp = nrmp_type_figures()
    ratio = np.ones(len(TYPES)) if entry is None else entry
    md_rates = _md_specialty_match_rates()
    out = {}
    for t in TYPES:
        for s, f in figures.items():
            matches = f["positions"] * f["fill"] * f["shares"][t]
            scale = positions[rows[s]].sum() / f["positions"]
            rate = nrmp[t]["matched"] / nrmp[t]["active"]
            if t == "us_md" and s in md_rates:
                rate = md_rates[s]
            out[(t, s)] = round(float(ratio[TYPES.index(t)]) * matches / rate * scale)
    return out


@functools.cache
def _md_specialty_match_rates() -> dict[str, float]:
    """US MD seniors' 2024 match rate among applicants preferring each specialty (NRMP
    Charting Outcomes, `step2ck_by_specialty.csv`), where the reference has it."""
    table = reference_table("step2ck_by_specialty")
    rows = table.filter(pl.col("md_senior_2024_match_rate_pct").is_not_null())
    return {
        r["specialty"]: float(r["md_senior_2024_match_rate_pct"]) / 100
        for r in rows.iter_rows(named=True)
    }


def _inserted(setup: MarketSetup, specs: list[str]) -> Inserted:
    """The user's applicants as arrays, with their specialties restricted to the market."""
    profiles = list(setup.applicants)
    scenario = setup.scenario
    arrays = ApplicantArrays.from_profiles(profiles) if profiles else _empty_arrays()
    targets, applications, rotations = [], [], []
    for a in profiles:
        t = [s for s in a.target_specialties if s in specs]
        apps = {s: int(a.applications.get(s, default_applications(s))) for s in t}
        for change in scenario.applications:
            for s in t:
                if change.specialty in (None, s):
                    apps[s] = max(1, change.apply(apps[s]))
        targets.append(t)
        applications.append(apps)
        rotations.append({r.program_id for r in a.completed_rotations if r.program_id})
    return Inserted(
        ids=[a.applicant_id for a in profiles],
        types=np.array([TYPES.index(profile_group(a)) for a in profiles], dtype=np.int64),
        arrays=arrays,
        targets=targets,
        applications=applications,
        rotations=rotations,
        rank_limit=scenario.rank_limit,
    )


def _empty_arrays() -> ApplicantArrays:
    empty = np.zeros(0)
    return ApplicantArrays(
        ids=[],
        group=np.zeros(0, dtype="<U10"),
        visa_needed=np.zeros(0, dtype="<U6"),
        step2=empty,
        usce=empty,
        observership=empty,
        publications=empty,
        first_author=empty,
        posters=empty,
        attempts=empty,
        years_since_graduation=empty,
        step3=np.zeros(0, dtype=bool),
        letters={},
    )


def scaled_programs(programs: pl.DataFrame, fraction: float, seed: int = 0) -> pl.DataFrame:
    """A random `fraction` of each specialty's programs (at least one each): a smaller market
    of the same shape (applicants follow the positions), for tests and scaling benchmarks."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return programs
    keys = np.random.default_rng(seed).random(programs.height)
    ranked = programs.with_columns(_key=pl.Series(keys)).with_columns(
        _rank=pl.col("_key").rank("ordinal").over("specialty"),
        _count=pl.len().over("specialty"),
    )
    keep = pl.col("_rank") <= (pl.col("_count") * fraction).ceil()
    return ranked.filter(keep).drop("_key", "_rank", "_count")


def market_size(market: Market) -> dict[str, int]:
    """Programs, positions and applicants (before the user's) of a prepared market."""
    in_market = market.spec_index >= 0
    return {
        "programs": int(in_market.sum()),
        "positions": int(market.positions[in_market].sum()),
        "applicants": int(sum(market.counts.values())),
    }


def expected_interview_capacity(market: Market) -> float:
    """Interview slots in the market at full positions (for summaries)."""
    return float(math.fsum(market.per_position * market.positions))


__all__ = [
    "TYPES",
    "TYPE_LABELS",
    "Inserted",
    "Market",
    "MarketSetup",
    "expected_interview_capacity",
    "market_params",
    "market_size",
    "model_for",
    "model_key",
    "nrmp_specialty_figures",
    "nrmp_type_figures",
    "prepare_market",
    "scaled_programs",
]
