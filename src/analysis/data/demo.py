"""Synthetic demo data: a national-scale program table and six demo applicants.

**Everything here is synthetic.** The programs are fictional (invented names, real US cities);
their facts are drawn at random so that the *table as a whole* resembles the public figures
in `data/reference/`. No row describes a real program. The demo exists so that every notebook,
report and benchmark runs out of the box; never use it to choose where to apply.

Method (`generate_programs`, one seeded `numpy.random.default_rng`, no loop over rows):

1. **Counts and sizes.** For every specialty of `nrmp_2025_specialties.csv`, exactly as many
   programs as NRMP lists; first-year positions are 1 per program plus a multinomial share
   of the rest, with log-normal weights (bigger at university programs and big
   institutions), so they sum exactly to NRMP's positions with a realistic right skew.
2. **Program type.** Exact allocation of a per-specialty mix (`TYPE_MIX`): Internal Medicine
   follows FREIDA (university 145, community-university-affiliated 325, community 186,
   military 10, other 23 of 689); the other mixes are documented assumptions (surgical and
   radiology specialties more university-based).
3. **Institutions and places.** A pool of fictional institutions (invented names, a city
   drawn from `CITIES`, a few hundred real cities weighted by where residency programs are)
   hosts the programs, so one institution has several specialties; IR programs sit at
   institutions with a DR program, preliminary programs preferably at one with the
   categorical program.
4. **Openness.** Each program has a latent "openness to IMGs" (standard normal: a shared
   institution part, a small state effect, a program part). Every IMG-related fact is drawn
   from it plus noise, so the facts are correlated as in real data.
5. **IMG residents.** `pct_img_residents` is logit-normal per program type; for IM the
   parameters reproduce FREIDA's quartiles (9.0 / 40.75 / 80.0) and medians by type
   (university 8.8, affiliated 62.0, community 41.0); other specialties get a shift solved
   so that the position-weighted mean equals NRMP's PGY-1 share of US + non-US IMGs
   (`IMG_SHARE_ASSUMED` for DR, IR and PM&R, which NRMP 2025 does not give). Whole percents,
   as FREIDA shows them; unknown for about a quarter. The non-US share of those IMGs follows
   NRMP's non-US / all-IMG ratio, higher where visas are sponsored.
6. **Visas.** IM: J-1 / H-1B listed by university 96.6 / 32.4 %, affiliated 75.1 / 20.3 %,
   community 59.7 / 11.3 %, military 0 / 0 % (FREIDA 2025), both unknown (an empty FREIDA
   visa list) for about 26 % (FREIDA: 26.9 %). Other specialties: a J-1 rate that grows with
   the specialty's non-US IMG share of positions (`_j1_rate`), shifted by type on IM's logit
   scale. Allocated exactly per (specialty, type) to the most open programs (with noise).
7. **Screening rules** (minimum Step 2 CK, years since graduation, US clinical months, most
   attempts): each published by a minority, stricter at university programs; the Step 2 CK
   floor sits about 10 points under the 2013 mean of matched non-US IMGs.
8. **Visiting students.** A minority take IMG visiting students, more at community and
   IMG-heavy programs; route VSLO (mostly university), direct (mostly community), none or
   unknown; fees from VSLO-sized to direct-elective-sized; deadlines in January-June 2027
   (rotations for the 2028 Match).
9. **Non-US IMG interview rate.** Known for the share of programs the reference has data
   for. Zero where a program is closed to non-US IMGs (military, explicitly no visa), then
   more zeros among the least open programs up to the reference share at zero; the rest
   follow a log-normal fitted to the reference median / p75 / p90 and mean of the positive
   part, assigned by rank to programs ordered by openness, visa sponsorship and type
   (IMG-heavy, visa-sponsoring community programs interview more non-US IMGs). Stratified
   draws keep the quantiles on target for every seed. TY and IM-PRELIM use IM's reference
   row and GS-PRELIM uses General Surgery's (`INTERVIEW_STAND_IN`).
10. **Bookkeeping.** `last_verified` spread over the two years before 2026-11-01 (about 28 %
    older than a year, i.e. stale); ids `DEMO-<CODE>-0001`; every name ends in
    "(synthetic)", `notes` says so, `source` names the generator and seed.

11. **More facts** (`_more_facts`, a random stream of its own, so steps 1-10 do not move):
    US MD / DO residents from NRMP's DO share, the US IMG interview rate (the reference's US
    IMG distribution, by rank of the non-US one), and hands-on rotations for graduates
    (uncommon, mostly at community programs; `GRADUATE_ROTATIONS_YES`). The `signal`
    column stays empty.

The per-specialty figures the steps draw to (`TYPE_MIX`, `IMG_SHARE_ASSUMED`, the IM visa
and IMG-share figures, `INTERVIEW_STAND_IN`, the interview-rate fits) are in
`analysis.data.demo_specialties`; `analysis.data.demo_checks.calibration_table` compares a
generated table with the reference, metric by metric, with the tolerance each must meet;
`write_demo_data` writes `programs.csv` and the applicant YAML files atomically.

Inputs: `data/reference/{nrmp_2025_specialties, interview_rates_by_specialty,
step2ck_by_specialty, specialties}.csv` (read through `analysis.config`).
Outputs: a polars frame with exactly `schemas.polars_schema()`; CSV and YAML files.
Limits: joint distributions are plausible, not measured; only the reference figures named
above are calibrated, the rest are documented assumptions. Generation takes about 0.1 s.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from analysis.config import reference_table
from analysis.data.demo_checks import calibration_table
from analysis.data.demo_specialties import (
    COMM,
    INTERVIEW_STAND_IN,
    MIL,
    PCT_IMG_MEDIAN,
    PCT_IMG_MISSING,
    PCT_IMG_SPREAD,
    UNIV,
    SpecialtyPlan,
    expit,
    logit,
    specialty_plan,
)
from analysis.data.files import atomic_outputs, write_programs_csv
from analysis.data.reference import interview_fit
from analysis.data.schemas import polars_schema, program_columns, program_table_schema
from analysis.data.vocabulary import PROGRAM_TYPES, specialties

DEFAULT_SEED = 2025
REFERENCE_DATE = dt.date(2026, 11, 1)
"""The 'today' of the demo data (fixed, so that generation is deterministic)."""

DEMO_FILES = files("analysis.data") / "demo_files"
"""Package data of the demo: `cities.csv` and `applicants/*.yaml`."""

SYNTHETIC_NOTE = "SYNTHETIC demo row: fictional program"
NAME_SUFFIX = " (synthetic)"

# --------------------------------------------------------------------------- assumptions

TRACK_COUNTS: dict[str, tuple[str, int]] = {
    "ANES": ("advanced", 241 - 189),  # NRMP 2025: 189 of 241 programs start at PGY-1
    "NEURO": ("advanced", 196 - 159),  # NRMP 2025: 159 of 196 programs start at PGY-1
    "DR": ("categorical", 30),  # assumed: 151 PGY-1 positions, about 5 per program
}
"""Programs on a track other than the specialty's usual one (the rest keep the default)."""

INTERVIEWS_PER_POSITION_MULT: dict[str, float] = {"IR": 1.4, "ORTHO": 1.5, "DR": 1.1}
"""Interviews per first-year position relative to IM's FREIDA median of 11.4."""

ESIR_SHARE = 0.5
"""Share of DR programs (with a known answer) offering ESIR: "about half" (assumed)."""

DO_SHARE_ASSUMED: dict[str, float] = {"DR": 0.12, "IR": 0.10, "PMR": 0.35}
"""DO share of US-graduate (MD + DO) residents where NRMP 2025 does not give it (assumed)."""

GRADUATE_ROTATIONS_KNOWN = 0.35
"""Share of programs whose policy on hands-on rotations for graduates is known (assumed)."""

GRADUATE_ROTATIONS_YES = np.array([0.03, 0.10, 0.15, 0.0, 0.05])
"""Among those, the share offering them, by program type (assumed: uncommon, mostly at
community and affiliated programs; military programs none)."""

_STATE_OPENNESS: dict[str, float] = {
    "NY": 0.5, "NJ": 0.5, "MI": 0.4, "IL": 0.3, "FL": 0.3, "CT": 0.3, "PA": 0.2, "OH": 0.2,
    "MD": 0.2, "TX": 0.1, "UT": -0.5, "CO": -0.3, "OR": -0.3, "WA": -0.3, "MN": -0.3,
    "VT": -0.3, "NH": -0.3, "ID": -0.3, "NC": -0.2,
}  # fmt: skip
"""Small state effects on openness to IMGs (IMG-heavy states up), an assumption."""

_INSTITUTION_POOL = (230, 560, 660, 25, 60)
"""Fictional institutions of each type."""

_SIZE_FACTOR = np.array([1.35, 1.0, 0.8, 0.6, 0.7])
"""Relative program size by type."""

# --------------------------------------------------------------------------- places, names


@functools.cache
def cities() -> pl.DataFrame:
    """The real US cities programs are placed in, with their USPS state and a weight.

    From `DEMO_FILES / "cities.csv"`: city, USPS state, weight (roughly how many residency
    programs the city has). Real US cities only.
    """
    schema = {"city": pl.String, "state": pl.String, "weight": pl.Int64}
    return pl.read_csv((DEMO_FILES / "cities.csv").read_bytes(), schema=schema)


_NAME_PREFIXES = (
    "Quill", "Bramble", "Thistle", "Marble", "Copper", "Juniper", "Lark", "Fennel", "Saffron",
    "Wren", "Moss", "Tansy", "Plover", "Sorrel", "Briar", "Ember", "Lantern", "Hazel", "Otter",
    "Pebble", "Kestrel", "Nettle", "Sable", "Tinder", "Willow", "Yarrow", "Zephyr", "Cobalt",
    "Fable", "Gossamer", "Indigo", "Jasper", "Lumen", "Meadow", "Nimbus", "Orchid", "Pippin",
    "Quartz", "Rook", "Starling", "Teasel", "Umber", "Vesper", "Whisper", "Bracken", "Cinder",
)  # fmt: skip
_NAME_SUFFIXES = (
    "wick", "feather", "down", "finch", "wold", "mere", "combe", "holt", "thorn", "shaw",
    "fold", "hollow", "brook", "glen", "vale", "moor", "reach", "spire", "haven", "field",
    "ridge", "stone", "light", "water", "bury", "ford", "gate", "crest", "wood", "point",
    "lake", "dale", "grove", "bank", "marsh", "heath", "cliff", "well",
)  # fmt: skip
_NAME_KINDS: tuple[tuple[str, ...], ...] = (
    ("University Medical Center", "University Hospital", "School of Medicine",
     "Health Sciences University", "University Health System"),
    ("Regional Medical Center", "Medical Center", "Memorial Hospital", "Health Network",
     "General Hospital"),
    ("Community Hospital", "Community Health System", "Medical Center", "Family Health Center",
     "Hospital"),
    ("Military Medical Center", "Army Medical Center", "Naval Medical Center",
     "Air Force Medical Center"),
    ("Health Partners", "Clinic", "Health Foundation"),
)  # fmt: skip

# --------------------------------------------------------------------------- helpers


@functools.cache
def _normal_grid() -> tuple[np.ndarray, np.ndarray]:
    """A fine grid of the standard normal CDF (numpy has no erf; interpolated, vectorized)."""
    z = np.linspace(-6.0, 6.0, 12_001)
    cdf = 0.5 * np.array([math.erfc(-v / math.sqrt(2.0)) for v in z])
    return z, cdf


def _norm_ppf(u: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF (accurate to about 1e-6 on (1e-9, 1 - 1e-9))."""
    z, cdf = _normal_grid()
    return np.interp(u, cdf, z)


def _group_rank(score: np.ndarray, *keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1-based rank of `score` (highest first) within the groups of `keys`, and group sizes."""
    frame = pl.DataFrame({"s": score, **{f"k{i}": k for i, k in enumerate(keys)}})
    over = [f"k{i}" for i in range(len(keys))]
    out = frame.select(
        pl.col("s").rank("ordinal", descending=True).over(over).alias("r"),
        pl.len().over(over).alias("n"),
    )
    return out["r"].to_numpy(), out["n"].to_numpy()


def _top_share(
    score: np.ndarray, share: np.ndarray, *keys: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """True for the `round(share * n)` highest scores in each group (among `mask` rows).

    Exact allocation: a group of 160 programs with share 0.966 gets exactly 155, whatever
    the seed, so calibrated shares do not wander with sampling noise.
    """
    if mask is None:
        mask = np.ones(score.shape, dtype=bool)
    rank, size = _group_rank(score, *keys, mask)
    return mask & (rank <= np.floor(share * size + 0.5))


def _spread_share(
    rng: np.random.Generator, score: np.ndarray, share: float, *keys: np.ndarray
) -> np.ndarray:
    """True for a `share` of each group, spread evenly along `score` (systematic sampling).

    Rows are walked in score order and every 1/share-th one is taken, from a random start
    per group: the chosen subset has the same distribution of `score` as the whole group,
    so dropping it (as missing data) leaves the group's quantiles where they were.
    """
    rank, _ = _group_rank(score, *keys)
    frame = pl.DataFrame({"u": rng.random(score.size), **{f"k{i}": k for i, k in enumerate(keys)}})
    start = frame.select(pl.col("u").first().over([f"k{i}" for i in range(len(keys))]))
    u = start["u"].to_numpy()
    return np.floor(share * rank + u) - np.floor(share * (rank - 1) + u) >= 1


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One index per row from a row-wise probability matrix (rows need not sum exactly to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _exact_counts(shares: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to `total`, proportional to `shares` (largest remainder)."""
    raw = np.asarray(shares, dtype=float) / np.sum(shares) * total
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


# --------------------------------------------------------------------------- generation


def generate_programs(seed: int = DEFAULT_SEED) -> pl.DataFrame:
    """Generate the synthetic national program table for a seed.

    Args:
        seed: any non-negative integer; the same seed always gives the same table.

    Returns:
        A polars frame with exactly the canonical columns and dtypes
        (`schemas.polars_schema()`, in `schemas.program_columns()` order), one row per
        fictional program, sorted by specialty (NRMP order) and `program_id`. Valid against
        `schemas.program_table_schema()`.

    Raises:
        ValueError: for a negative seed.
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    rng = np.random.default_rng(seed)  # every step draws from it in this order
    plan = specialty_plan()
    spec_idx, type_idx, inst, inst_idx, positions = _rows(rng, plan)
    n = spec_idx.size
    openness = _openness(rng, inst["openness"].to_numpy()[inst_idx], spec_idx, type_idx)
    visas = _visas(rng, plan, spec_idx, type_idx, openness)
    residents = _residents(rng, plan, spec_idx, type_idx, positions, openness, visas)
    # 7. screening rules: a minority publish them, stricter at university programs
    screening = _screening(rng, plan, spec_idx, type_idx)
    strict = (screening["yog"] <= 3) | (screening["attempts"] == 1)
    # 8. visiting students; 10. tracks and ESIR
    visiting = _visiting(rng, plan, spec_idx, type_idx, openness)
    track = _tracks(rng, plan, spec_idx)
    esir = _esir(rng, plan, spec_idx, inst_idx)
    # 9. non-US IMG interview rate
    rate = _interview_rate(
        rng,
        plan,
        spec_idx=spec_idx,
        type_idx=type_idx,
        openness=openness,
        j1=visas["j1"],
        h1b=visas["h1b"],
        visa_unknown=visas["unknown"],
        closed=(type_idx == MIL) | visas["none"],
        strict=strict.fill_null(False).to_numpy(),
    )
    interviews = _interviews(rng, plan, spec_idx, positions)
    # 10. bookkeeping: verification dates, some older than a year (stale)
    age_days = np.where(rng.random(n) < 0.72, rng.integers(0, 365, n), rng.integers(365, 731, n))
    last_verified = np.datetime64(REFERENCE_DATE) - age_days.astype("timedelta64[D]")
    codes = np.array(plan.codes)[spec_idx]
    columns = {
        "_order": np.arange(n),
        "_spec": spec_idx,
        "specialty": codes,
        "program_name": inst["name"].to_numpy()[inst_idx] + " Program" + NAME_SUFFIX,
        "track": track,
        "esir_available": esir,
        "city": inst["city"].to_numpy()[inst_idx],
        "state": inst["state"].to_numpy()[inst_idx],
        "program_type": np.array(PROGRAM_TYPES)[type_idx],
        "pgy1_positions": positions,
        "interviews_last_year": interviews,
        **residents,
        "sponsors_j1": _masked(visas["j1"], ~visas["unknown"]),
        "sponsors_h1b": _masked(visas["h1b"], ~visas["unknown"]),
        "min_step2_score": screening["step2"],
        "yog_cutoff_years": screening["yog"],
        "usce_required_months": screening["usce"],
        "max_attempts": screening["attempts"],
        "accepts_img_visiting_students": visiting["accepts"],
        "visiting_route": visiting["route"],
        "visiting_fee_usd": visiting["fee"],
        "application_deadline": visiting["deadline"],
        "non_us_img_interview_rate": rate,
        **_more_facts(seed, plan, spec_idx, type_idx, openness, residents, rate),
        "source": f"synthetic demo data (imgmatch demo_data, seed {seed})",
        "last_verified": pl.Series(last_verified).cast(pl.Date),
        "_stand_in_of": np.array([INTERVIEW_STAND_IN.get(c, "") for c in plan.codes])[spec_idx],
    }
    return _program_frame(columns)


def _rows(
    rng: np.random.Generator, plan: SpecialtyPlan
) -> tuple[np.ndarray, np.ndarray, pl.DataFrame, np.ndarray, np.ndarray]:
    """Steps 1-3: one row per program with its specialty, type, institution and positions.

    Returns:
        specialty index, type index, the institutions, each row's institution index, and
        first-year positions (1 each plus a multinomial share of the rest, log-normal
        weights, so they sum exactly to NRMP's positions per specialty).
    """
    n_spec = len(plan.codes)
    # 1-2. rows, program types (exact allocation of each specialty's mix, shuffled)
    spec_idx = np.repeat(np.arange(n_spec), plan.programs)
    n = spec_idx.size
    type_idx = np.concatenate(
        [
            rng.permutation(np.repeat(np.arange(5), _exact_counts(plan.type_mix[s], k)))
            for s, k in enumerate(plan.programs)
        ]
    )
    # 3. institutions and places
    inst = _institutions(rng)
    inst_idx = _assign_institutions(rng, plan, spec_idx, type_idx, inst)
    inst_weight = inst["weight"].to_numpy()[inst_idx]
    # sizes: 1 each plus a multinomial share of the rest, log-normal weights
    weight = _SIZE_FACTOR[type_idx] * inst_weight**0.3 * np.exp(0.55 * rng.standard_normal(n))
    positions = np.ones(n, dtype=np.int64)
    for s in range(n_spec):
        rows = spec_idx == s
        w = weight[rows]
        positions[rows] += rng.multinomial(plan.positions[s] - plan.programs[s], w / w.sum())
    return spec_idx, type_idx, inst, inst_idx, positions


def _openness(
    rng: np.random.Generator, z_inst: np.ndarray, spec_idx: np.ndarray, type_idx: np.ndarray
) -> np.ndarray:
    """Step 4: openness to IMGs, institution + state + program, as normal scores.

    Ranked within each (specialty, type), so that every type's distribution is exactly
    standard normal, whatever the seed.
    """
    noise = 0.8 * rng.standard_normal(spec_idx.size)
    rank, size = _group_rank(-(0.6 * z_inst + noise), spec_idx, type_idx)
    return _norm_ppf((rank - 0.5) / size)


def _visas(
    rng: np.random.Generator,
    plan: SpecialtyPlan,
    spec_idx: np.ndarray,
    type_idx: np.ndarray,
    openness: np.ndarray,
) -> dict[str, np.ndarray]:
    """Step 6: J-1 and H-1B sponsorship, allocated exactly per (specialty, type).

    Returns:
        Boolean arrays `j1`, `h1b` (sponsored), `unknown` (both unknown) and `none`
        (explicitly sponsors neither).
    """
    n = spec_idx.size
    visa_score = 0.7 * openness + 0.7 * rng.standard_normal(n)
    j1_true = _top_share(visa_score, plan.j1[spec_idx, type_idx], spec_idx, type_idx)
    visa_unknown = _top_share(
        rng.random(n),
        plan.visa_unknown[spec_idx, type_idx] / np.maximum(1 - plan.j1[spec_idx, type_idx], 1e-9),
        spec_idx,
        type_idx,
        mask=~j1_true,
    )
    h1b_share_of_j1 = plan.h1b[spec_idx, type_idx] / np.maximum(plan.j1[spec_idx, type_idx], 1e-9)
    h1b_true = _top_share(
        0.6 * openness + 0.8 * rng.standard_normal(n),
        h1b_share_of_j1,
        spec_idx,
        type_idx,
        mask=j1_true,
    )
    return {"j1": j1_true, "h1b": h1b_true, "unknown": visa_unknown,
            "none": ~j1_true & ~visa_unknown}  # fmt: skip


def _residents(
    rng: np.random.Generator,
    plan: SpecialtyPlan,
    spec_idx: np.ndarray,
    type_idx: np.ndarray,
    positions: np.ndarray,
    openness: np.ndarray,
    visas: dict[str, np.ndarray],
) -> dict[str, pl.Series]:
    """Step 5: the IMG residents' columns, with their unknowns.

    Returns:
        `pct_img_residents`, `pct_non_us_img_residents` and `img_residents_present`.
    """
    n = spec_idx.size
    pct_img_raw = _pct_img(plan, spec_idx, type_idx, positions, openness)
    pct_img = np.round(100 * pct_img_raw)
    pct_img_known = ~_spread_share(rng, openness, PCT_IMG_MISSING, spec_idx, type_idx)
    non_us_ratio = plan.non_us_img_pct / (plan.non_us_img_pct + plan.us_img_pct)
    visa_shift = np.where(visas["none"], -2.5, 0.0) + 0.4 * visas["j1"] + 0.4 * visas["h1b"]
    non_us_fraction = expit(
        logit(non_us_ratio)[spec_idx] + visa_shift + 0.6 * rng.standard_normal(n)
    )
    pct_non_us = np.minimum(np.round(pct_img * non_us_fraction), pct_img)
    pct_non_us_known = pct_img_known & (rng.random(n) < 0.65)
    present_known = pct_img_known | (rng.random(n) < 0.4)
    return {
        "pct_img_residents": _masked(pct_img, pct_img_known),
        "pct_non_us_img_residents": _masked(pct_non_us, pct_non_us_known),
        "img_residents_present": _masked(pct_img_raw >= 0.005, present_known),
    }


def _more_facts(
    seed: int,
    plan: SpecialtyPlan,
    spec_idx: np.ndarray,
    type_idx: np.ndarray,
    openness: np.ndarray,
    residents: dict[str, pl.Series],
    non_us_rate: pl.Series,
) -> dict[str, pl.Series]:
    """Step 11: US MD / DO residents, the US IMG interview rate, rotations for graduates.

    Drawn from a stream of their own (`default_rng([seed, 11])`), so that the columns of
    steps 1-10 are the same as without them. The signal column stays empty: it holds an
    applicant's own signals, and a national table has no applicant.

    - `pct_us_md_residents`, `pct_do_residents`: the residents who are not IMGs, split by
      the specialty's DO share of MD + DO seniors' PGY-1 positions (NRMP 2025;
      `DO_SHARE_ASSUMED` where NRMP does not give it), fewer DOs at university programs;
      known where the IMG share is (FREIDA shows the three together).
    - `us_img_interview_rate`: the reference's US IMG distribution of the specialty, assigned
      by rank of the non-US IMG rate with noise (`_us_img_rates`).
    - `accepts_graduates_for_rotations`: known for `GRADUATE_ROTATIONS_KNOWN` of programs;
      among them, `GRADUATE_ROTATIONS_YES` by type, to the most open programs.
    """
    rng = np.random.default_rng([seed, 11])
    n = spec_idx.size
    nrmp = reference_table("nrmp_2025_specialties")
    do_share = np.array(
        [
            DO_SHARE_ASSUMED[r["specialty"]]
            if r["pgy1_share_do_senior_pct"] is None
            else r["pgy1_share_do_senior_pct"]
            / (r["pgy1_share_do_senior_pct"] + r["pgy1_share_md_senior_pct"])
            for r in nrmp.iter_rows(named=True)
        ]
    )
    type_shift = np.array([-0.4, 0.1, 0.3, 0.0, 0.0])[type_idx]
    frac_do = expit(logit(do_share)[spec_idx] + type_shift + 0.5 * rng.standard_normal(n))
    pct_img = residents["pct_img_residents"]
    us_grads = 100.0 - pct_img.fill_null(0.0).to_numpy()
    pct_do = np.round(us_grads * frac_do)
    known = pct_img.is_not_null().to_numpy()
    us_rate = _us_img_rates(rng, plan, spec_idx, non_us_rate.fill_null(np.nan).to_numpy())
    graduates_known = rng.random(n) < GRADUATE_ROTATIONS_KNOWN
    graduates = _top_share(
        openness + 0.8 * rng.standard_normal(n),
        GRADUATE_ROTATIONS_YES[type_idx],
        spec_idx,
        type_idx,
        mask=graduates_known,
    )
    return {
        "pct_us_md_residents": _masked(us_grads - pct_do, known),
        "pct_do_residents": _masked(pct_do, known),
        "us_img_interview_rate": _masked(
            np.round(np.clip(us_rate, 0.0, 1.0), 3), non_us_rate.is_not_null().to_numpy()
        ),
        "accepts_graduates_for_rotations": _masked(graduates, graduates_known),
        "signal": pl.Series([None] * n, dtype=pl.String),
    }


def _us_img_rates(
    rng: np.random.Generator, plan: SpecialtyPlan, spec_idx: np.ndarray, non_us_rate: np.ndarray
) -> np.ndarray:
    """US IMG interview rates that reproduce the reference's US IMG distribution per specialty.

    Programs are ranked by their non-US IMG rate (log scale, with noise: the two groups'
    rates are related, not identical; an unknown one ranks at random around the middle); the
    lowest share at zero of the reference gets 0 and the rest the quantiles of the
    reference's fitted logit-normal (`data.reference`), in rank order, so the specialty's
    share at zero and mean match the reference.
    """
    noise = rng.standard_normal(spec_idx.size)
    key = np.log(non_us_rate + 0.002) + 0.5 * noise
    out = np.zeros(spec_idx.size)
    for k, code in enumerate(plan.codes):
        idx = np.flatnonzero(spec_idx == k)
        if not idx.size:
            continue
        known = np.isfinite(key[idx])  # an unknown non-US rate: anywhere in the ranking
        centre = np.median(key[idx][known]) if known.any() else 0.0
        key[idx[~known]] = centre + 1.5 * noise[idx[~known]]
        fit = interview_fit(INTERVIEW_STAND_IN.get(code, code), "us_img")
        order = idx[np.argsort(key[idx], kind="stable")]
        opened = order[round(fit.share_zero * idx.size) :]
        quantiles = (np.arange(opened.size) + 0.5) / max(opened.size, 1)
        out[opened] = expit(fit.mu + fit.tau * _norm_ppf(quantiles))
    return out


def _interviews(
    rng: np.random.Generator, plan: SpecialtyPlan, spec_idx: np.ndarray, positions: np.ndarray
) -> pl.Series:
    """Interviews conducted last year: IM median 11.4 per position, IQR 9.1-14.7 (FREIDA)."""
    n = spec_idx.size
    mult = np.array([INTERVIEWS_PER_POSITION_MULT.get(c, 1.0) for c in plan.codes])
    per_position = 11.4 * mult[spec_idx] * np.exp(0.356 * rng.standard_normal(n))
    interviews = np.round(positions * per_position).astype(np.int64)
    interviews_known = rng.random(n) >= 0.15
    return _masked(interviews, interviews_known)


def _program_frame(columns: dict[str, Any]) -> pl.DataFrame:
    """The canonical table: notes, ids numbered within a specialty, canonical column order."""
    frame = pl.DataFrame(columns, nan_to_null=True).with_columns(
        notes=pl.when(pl.col("_stand_in_of") != "")
        .then(
            pl.format(
                "{}; interview rate modelled on {} (no reference row)",
                pl.lit(SYNTHETIC_NOTE),
                pl.col("_stand_in_of"),
            )
        )
        .otherwise(pl.lit(SYNTHETIC_NOTE))
    )
    # ids: numbered within a specialty in (state, city, name) order, like a directory
    frame = frame.sort(["_spec", "state", "city", "program_name", "_order"]).with_columns(
        program_id=pl.format(
            "DEMO-{}-{}",
            pl.col("specialty"),
            pl.int_range(1, pl.len() + 1).over("_spec").cast(pl.String).str.zfill(4),
        )
    )
    schema = polars_schema()
    return frame.select([pl.col(spec.name).cast(schema[spec.name]) for spec in program_columns()])


def _masked(values: np.ndarray, known: np.ndarray) -> pl.Series:
    """A series with `values` where `known`, null elsewhere."""
    series = pl.Series(values)
    return pl.select(pl.when(pl.Series(known)).then(series)).to_series()


def _institutions(rng: np.random.Generator) -> pl.DataFrame:
    """The pool of fictional institutions: type, unique invented name, real city, openness."""
    counts = np.array(_INSTITUTION_POOL)
    total = int(counts.sum())
    inst_type = np.repeat(np.arange(5), counts)
    combos = len(_NAME_PREFIXES) * len(_NAME_SUFFIXES)
    pick = rng.permutation(combos)[:total]
    stem = np.array([p + s for p in _NAME_PREFIXES for s in _NAME_SUFFIXES], dtype=object)[pick]
    kind_pick = rng.random(total)
    kinds = np.empty(total, dtype=object)
    for t, options in enumerate(_NAME_KINDS):  # five types, not rows
        rows = inst_type == t
        kinds[rows] = np.array(options, dtype=object)[(kind_pick[rows] * len(options)).astype(int)]
    name = np.where(inst_type == MIL, "Fort " + stem + " " + kinds, stem + " " + kinds)

    place = cities()
    weight = place["weight"].to_numpy().astype(float)
    city_idx = rng.choice(place.height, size=total, p=weight / weight.sum())
    state = place["state"].to_numpy()[city_idx]
    state_effect = pl.Series(state).replace_strict(_STATE_OPENNESS, default=0.0).to_numpy()
    return pl.DataFrame(
        {
            "type": inst_type,
            "name": name.astype(str),
            "city": place["city"].to_numpy()[city_idx],
            "state": state,
            "weight": np.exp(0.8 * rng.standard_normal(total)),
            "openness": rng.standard_normal(total) + state_effect,
        }
    )


_PARENT = {"IR": "DR", "IM-PRELIM": "IM", "GS-PRELIM": "GS"}
"""Programs of these specialties sit preferably at institutions hosting the parent."""


def _assign_institutions(
    rng: np.random.Generator,
    plan: SpecialtyPlan,
    spec_idx: np.ndarray,
    type_idx: np.ndarray,
    inst: pl.DataFrame,
) -> np.ndarray:
    """Pick a distinct institution of the right type for every program of a specialty.

    Weighted sampling without replacement by the Gumbel-top-k trick (bigger institutions
    host more specialties); institutions hosting the parent specialty come first.
    """
    inst_type = inst["type"].to_numpy()
    log_w = np.log(inst["weight"].to_numpy())
    out = np.empty(spec_idx.size, dtype=np.int64)
    hosts: dict[str, np.ndarray] = {}
    for s, code in enumerate(plan.codes):  # specialties, not rows
        key = log_w + rng.gumbel(size=inst_type.size)
        parent = _PARENT.get(code)
        if parent in hosts:
            key = key + 1000.0 * hosts[parent]
        rows = np.flatnonzero(spec_idx == s)
        chosen = np.zeros(inst_type.size, dtype=bool)
        for t in range(5):
            want = rows[type_idx[rows] == t]
            if want.size == 0:
                continue
            candidates = np.flatnonzero(inst_type == t)
            if candidates.size < want.size:
                raise ValueError(f"institution pool too small for {code} type {t}")
            best = candidates[np.argsort(-key[candidates], kind="stable")[: want.size]]
            out[want] = best
            chosen[best] = True
        hosts[code] = chosen
    return out


def _pct_img(
    plan: SpecialtyPlan,
    spec_idx: np.ndarray,
    type_idx: np.ndarray,
    positions: np.ndarray,
    openness: np.ndarray,
) -> np.ndarray:
    """Share of residents who are IMGs (0-1), logit-normal by type, shifted per specialty.

    IM keeps the FREIDA fit (shift 0). Every other specialty's shift is found by bisection
    (vectorized over specialties) so that the position-weighted mean share equals NRMP's
    PGY-1 share of US + non-US IMGs.
    """
    base = logit(PCT_IMG_MEDIAN / 100)[type_idx] + PCT_IMG_SPREAD[type_idx] * openness
    target = (plan.us_img_pct + plan.non_us_img_pct) / 100
    n_spec = len(plan.codes)
    lo, hi = np.full(n_spec, -12.0), np.full(n_spec, 12.0)
    fixed = np.array([c == "IM" for c in plan.codes])
    lo[fixed] = hi[fixed] = 0.0
    pos_total = np.bincount(spec_idx, weights=positions, minlength=n_spec)
    for _ in range(60):
        mid = (lo + hi) / 2
        share = expit(base + mid[spec_idx])
        mean = np.bincount(spec_idx, weights=positions * share, minlength=n_spec) / pos_total
        too_high = mean > target
        hi = np.where(too_high & ~fixed, mid, hi)
        lo = np.where(~too_high & ~fixed, mid, lo)
    return expit(base + ((lo + hi) / 2)[spec_idx])


def _screening(
    rng: np.random.Generator, plan: SpecialtyPlan, spec_idx: np.ndarray, type_idx: np.ndarray
) -> pl.DataFrame:
    """Published screening rules; unknown (null) unless the program publishes them."""
    n = spec_idx.size
    publishes = rng.random(n) < np.array([0.50, 0.45, 0.40, 0.30, 0.30])[type_idx]

    def known(p_published: float) -> np.ndarray:
        return np.where(publishes, rng.random(n) < p_published, rng.random(n) < 0.05)

    type_shift = np.array([8.0, 0.0, -4.0, 0.0, -2.0])[type_idx]
    step2 = np.clip(
        5 * np.round((plan.step2_floor[spec_idx] + type_shift + 6 * rng.standard_normal(n)) / 5),
        200,
        260,
    )
    yog_values = np.array([1, 2, 3, 5, 7, 10])
    yog_p = np.array(
        [
            [0.10, 0.25, 0.40, 0.25, 0.00, 0.00],  # university
            [0.00, 0.10, 0.35, 0.40, 0.15, 0.00],  # affiliated
            [0.00, 0.00, 0.20, 0.45, 0.25, 0.10],  # community
            [0.00, 0.00, 0.50, 0.50, 0.00, 0.00],  # military
            [0.00, 0.00, 0.40, 0.40, 0.20, 0.00],  # other
        ]
    )
    usce_values = np.array([0.0, 1.0, 2.0, 3.0, 6.0])
    usce_p = np.array(
        [
            [0.10, 0.15, 0.25, 0.30, 0.20],
            [0.15, 0.25, 0.25, 0.25, 0.10],
            [0.25, 0.25, 0.25, 0.20, 0.05],
            [0.60, 0.20, 0.20, 0.00, 0.00],
            [0.25, 0.25, 0.25, 0.20, 0.05],
        ]
    )
    attempt_values = np.array([1, 2, 3])
    attempt_p = np.array(
        [[0.70, 0.30, 0.00], [0.40, 0.45, 0.15], [0.25, 0.50, 0.25], [0.5, 0.5, 0], [0.3, 0.5, 0.2]]
    )
    return pl.DataFrame(
        {
            "step2": _masked(step2.astype(np.int64), known(0.55)),
            "yog": _masked(yog_values[_categorical(rng, yog_p[type_idx])], known(0.60)),
            "usce": _masked(usce_values[_categorical(rng, usce_p[type_idx])], known(0.60)),
            "attempts": _masked(
                attempt_values[_categorical(rng, attempt_p[type_idx])], known(0.50)
            ),
        }
    )


_ROUTES = np.array(["vslo", "direct", "none", "unknown"])


def _visiting(
    rng: np.random.Generator,
    plan: SpecialtyPlan,
    spec_idx: np.ndarray,
    type_idx: np.ndarray,
    openness: np.ndarray,
) -> pl.DataFrame:
    """IMG visiting-student policy, application route, fee and deadline."""
    n = spec_idx.size
    img_share = (plan.us_img_pct + plan.non_us_img_pct)[spec_idx]
    base = np.array([0.20, 0.38, 0.35, 0.0, 0.15])[type_idx]
    share = base * (0.7 + 0.3 * np.minimum(1.0, img_share / 43.2))
    accepts = _top_share(0.6 * openness + 0.8 * rng.standard_normal(n), share, spec_idx, type_idx)
    unknown = rng.random(n) < np.array([0.15, 0.30, 0.40, 0.10, 0.50])[type_idx]

    # route probabilities (vslo, direct, none, unknown) by what is known of the policy
    vslo_if_yes = np.array([0.80, 0.55, 0.30, 0.50, 0.30])[type_idx]
    vslo_if_no = np.array([0.60, 0.40, 0.15, 0.20, 0.15])[type_idx]
    probs = np.where(
        unknown[:, None],
        np.array([0.25, 0.05, 0.0, 0.70])[None, :],
        np.where(
            accepts[:, None],
            np.stack([vslo_if_yes, 1 - vslo_if_yes, 0 * base, 0 * base], axis=1),
            np.stack(
                [vslo_if_no, 0 * base, (1 - vslo_if_no) * 0.8, (1 - vslo_if_no) * 0.2], axis=1
            ),
        ),
    )
    route = _ROUTES[_categorical(rng, probs)]

    accepting = accepts & ~unknown
    vslo_fees = np.array([0, 50, 100, 150, 200, 250, 300, 500], dtype=float)
    vslo_fee = vslo_fees[_categorical(rng, np.tile([1, 1, 3, 2, 3, 2, 1, 1], (n, 1)))]
    direct_fee = np.clip(50 * np.round(750 * np.exp(0.7 * rng.standard_normal(n)) / 50), 0, 5000)
    direct_fee = np.where(rng.random(n) < 0.15, 0.0, direct_fee)
    fee = np.where(route == "vslo", vslo_fee, direct_fee)
    fee_known = accepting & (rng.random(n) >= 0.15)

    offset = rng.integers(0, 167, n).astype("timedelta64[D]")
    deadline = np.datetime64("2027-01-15") + offset
    deadline_known = np.where(accepting, rng.random(n) < 0.75, unknown & (rng.random(n) < 0.2))
    return pl.DataFrame(
        {
            "accepts": _masked(accepts, ~unknown),
            "route": route,
            "fee": _masked(fee, fee_known),
            "deadline": _masked(deadline, deadline_known).cast(pl.Date),
        }
    )


def _tracks(rng: np.random.Generator, plan: SpecialtyPlan, spec_idx: np.ndarray) -> np.ndarray:
    """Each specialty's usual track, except `TRACK_COUNTS` programs on another one."""
    spec = specialties()
    track = np.array([spec[c].default_track for c in plan.codes], dtype=object)[spec_idx]
    for code, (other, count) in TRACK_COUNTS.items():
        if code not in plan.codes:
            continue
        rows = np.flatnonzero(spec_idx == plan.codes.index(code))
        track[rng.choice(rows, size=min(count, rows.size), replace=False)] = other
    return track.astype(str)


def _esir(
    rng: np.random.Generator, plan: SpecialtyPlan, spec_idx: np.ndarray, inst_idx: np.ndarray
) -> pl.Series:
    """DR only: ESIR offered by `ESIR_SHARE` of DR programs, mostly those at an institution
    with an IR program; unknown for about 8%; null for every other specialty."""
    n = spec_idx.size
    if "DR" not in plan.codes or "IR" not in plan.codes:
        return pl.Series([None] * n, dtype=pl.Boolean)
    is_dr = spec_idx == plan.codes.index("DR")
    ir_hosts = np.unique(inst_idx[spec_idx == plan.codes.index("IR")])
    has_ir = np.isin(inst_idx, ir_hosts)
    known = is_dr & (rng.random(n) >= 0.08)
    score = 1.5 * has_ir + rng.standard_normal(n)
    offered = _top_share(score, np.full(n, ESIR_SHARE), spec_idx, mask=known)
    return _masked(offered, known)


def _interview_rate(
    rng: np.random.Generator,
    plan: SpecialtyPlan,
    *,
    spec_idx: np.ndarray,
    type_idx: np.ndarray,
    openness: np.ndarray,
    j1: np.ndarray,
    h1b: np.ndarray,
    visa_unknown: np.ndarray,
    closed: np.ndarray,
    strict: np.ndarray,
) -> pl.Series:
    """Observed share of non-US IMG applicants interviewed, calibrated per specialty.

    Known for the reference's share of programs. Closed programs are zero; more zeros go to
    the least open programs until the reference share at zero is reached; the positive part
    is the fitted log-normal, handed out by rank of an attractiveness score (stratified:
    one draw per 1/n slice of the distribution).
    """
    n = spec_idx.size
    ref = plan.interview
    known = _top_share(rng.random(n), ref["known_share"].to_numpy()[spec_idx], spec_idx)

    forced_zero = known & closed
    # how many more zeros each specialty needs to reach the reference share at zero
    n_known = np.bincount(spec_idx, weights=known, minlength=len(plan.codes))
    n_forced = np.bincount(spec_idx, weights=forced_zero, minlength=len(plan.codes))
    extra = np.maximum(np.round(ref["share_zero"].to_numpy() * n_known) - n_forced, 0)
    is_univ, is_comm = type_idx == UNIV, type_idx == COMM
    closedness = (
        -openness
        + 1.0 * visa_unknown
        + 0.5 * is_univ
        - 0.3 * is_comm
        + 0.6 * strict
        + 0.7 * rng.standard_normal(n)
    )
    candidates = known & ~forced_zero
    rank, _ = _group_rank(closedness, spec_idx, candidates)
    zero = forced_zero | (candidates & (rank <= extra[spec_idx]))

    positive = known & ~zero
    attractiveness = (
        openness
        + 0.4 * j1
        + 0.5 * h1b
        - 0.5 * is_univ
        + 0.3 * is_comm
        + 0.8 * rng.standard_normal(n)
    )
    rank, size = _group_rank(-attractiveness, spec_idx, positive)  # 1 = least attractive
    u = (rank - 0.5 + 0.8 * (rng.random(n) - 0.5)) / size
    mu, sigma = ref["mu"].to_numpy()[spec_idx], ref["sigma"].to_numpy()[spec_idx]
    value = np.clip(np.round(np.exp(mu + sigma * _norm_ppf(u)), 3), 0.001, 0.9)
    rate = np.where(zero, 0.0, value)
    return _masked(rate, known)


# --------------------------------------------------------------------------- applicants

DEMO_APPLICANT_FILES = (
    "amira_ir.yaml",
    "kenji_ir_h1b.yaml",
    "lucia_anes.yaml",
    "samuel_im.yaml",
    "daniel_fm_us_img.yaml",
    "zoe_psych.yaml",
)
"""The six demo applicants, in the order they are written and listed."""

DEMO_APPLICANTS: dict[str, str] = {
    name: (DEMO_FILES / "applicants" / name).read_text(encoding="utf-8")
    for name in DEMO_APPLICANT_FILES
}
"""The six demo applicant files (file name -> YAML text with comments), from `DEMO_FILES`."""


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class DemoDataWritten:
    """What `write_demo_data` wrote."""

    programs_path: Path
    applicant_paths: tuple[Path, ...]
    programs: pl.DataFrame
    calibration: pl.DataFrame


def write_demo_data(out_dir: str | os.PathLike[str], seed: int = DEFAULT_SEED) -> DemoDataWritten:
    """Generate and write the demo data: `programs.csv` and `applicants/*.yaml`.

    Every file is first written to a temporary name in its destination folder and renamed
    into place only after all of them were written, so an interrupted run leaves the old
    files (or none), never a half-written one. Other files in `out_dir` are left alone.

    Args:
        out_dir: destination folder (created if missing).
        seed: generator seed (the committed `data/demo/` uses 2025).

    Returns:
        The paths written, the program table and its calibration table.

    Raises:
        NotADirectoryError: `out_dir` (or `out_dir/applicants`) exists and is a file.
        RuntimeError: the generated table fails the program-table contract (a bug).
    """
    out = Path(out_dir)
    for folder in (out, out / "applicants"):
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"{folder} exists and is not a folder")
    programs = generate_programs(seed)
    try:
        with warnings.catch_warnings():  # pandera notes a no-op option for polars frames
            warnings.simplefilter("ignore", UserWarning)
            program_table_schema().validate(programs, lazy=True)
    except Exception as error:  # pandera SchemaErrors: the generator is wrong, not the user
        message = f"generated demo table violates the program contract: {error}"
        raise RuntimeError(message) from error

    targets: list[tuple[Path, Callable[[Path], None]]] = [
        (out / "programs.csv", lambda tmp: write_programs_csv(programs, tmp))
    ]
    for file_name, text in DEMO_APPLICANTS.items():
        targets.append((out / "applicants" / file_name, _text_writer(text)))
    with atomic_outputs([path for path, _ in targets]) as temporary:
        for tmp, (_, write) in zip(temporary, targets, strict=True):
            write(tmp)
    return DemoDataWritten(
        programs_path=targets[0][0],
        applicant_paths=tuple(path for path, _ in targets[1:]),
        programs=programs,
        calibration=calibration_table(programs),
    )


def _text_writer(text: str) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8", newline="\n")

    return write
