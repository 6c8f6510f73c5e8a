"""Program signal rules per specialty and application season.

Read from `data/reference/eras_signals.csv` (one row per specialty and season, each with its
source and grade) and `params/signals.yaml` (shared pools, per-specialty guidance).

**Seasons** are named by their two calendar years: "2026-2027" is the season that applies in
2026 for the Match of 2027, so match year 2027 is season 2026-2027 (`season_of_match_year`).

**Counts**: a tiered specialty has gold and silver counts (IM 3 and 12); the others have one
count of plain signals (tier "single"; psychiatry 10). Specialties in one pool (DR and IR)
draw from the same signals: the counts on their rows are the pool's, not each one's.

**Missing seasons**: a season with no row uses the latest known season before it (or, for a
season older than every row, the earliest known one) and says so in `fallback_from`.

**Unknown counts**: a specialty whose latest row moved to another application service with no
confirmed counts (EM and OB/GYN moved to ResidencyCAS for 2025-2026), or with no row at all,
has `unknown=True`, counts None and the reason in `unknown_reason`: a planner places no
signals there and says why.

Known limits: counts change every season and come from program-signaling pages transcribed by
hand; grade C rows are unverified.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from analysis.config import load_params, reference_table
from analysis.data.vocabulary import specialties
from analysis.errors import DataValidationError, Problem, file_problem

TABLE = "eras_signals"
TIERS = ("gold", "silver", "single")
_SEASON = re.compile(r"^\s*(\d{4})\s*-\s*(\d{4})\s*$")
_COLUMNS = (
    "specialty",
    "season",
    "gold_signals",
    "silver_signals",
    "signals_total",
    "application_service",
    "source",
    "source_grade",
    "notes",
)


def season_of_match_year(match_year: int) -> str:
    """The application season of a Match: 2027 -> "2026-2027"."""
    return f"{int(match_year) - 1}-{int(match_year)}"


def normalize_season(season: str | int) -> str:
    """A season as "YYYY-YYYY" from that text or from a match year (2027 -> "2026-2027").

    Raises:
        ValueError: for anything else, saying what is expected.
    """
    if isinstance(season, bool):
        raise ValueError(f"season {season!r}: expected 'YYYY-YYYY' (e.g. '2026-2027') or a year")
    if isinstance(season, int):
        if not 1990 <= season <= 2200:
            raise ValueError(f"season {season!r}: expected a match year such as 2027")
        return season_of_match_year(season)
    match = _SEASON.match(str(season))
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise ValueError(
            f"season {season!r}: expected two consecutive years 'YYYY-YYYY' (e.g. '2026-2027', "
            "the season that applies in 2026 for the 2027 Match) or a match year such as 2027"
        )
    return f"{match.group(1)}-{match.group(2)}"


@dataclass(frozen=True)
class SignalRules:
    """The signals one specialty allows in one season, and the guidance that goes with them.

    `gold`/`silver` are set for tiered specialties, `single` for one-tier ones; all are None
    when the counts are unknown. `pool` names the pool the counts belong to (the specialty's
    own code unless it shares one, e.g. "DR+IR"). `season` is the season of the row used;
    `fallback_from` is the requested season when it had no row.
    """

    specialty: str
    requested_season: str
    season: str | None
    gold: int | None
    silver: int | None
    single: int | None
    total: int | None
    pool: str
    pool_specialties: tuple[str, ...]
    service: str | None
    guidance: tuple[str, ...]
    exclude_rotation_programs: bool
    fallback_from: str | None
    unknown: bool
    unknown_reason: str | None
    source: str | None
    source_grade: str | None
    notes: str | None = None

    @property
    def tiered(self) -> bool:
        """True when the specialty has gold and silver signals."""
        return self.gold is not None or self.silver is not None

    def allowed(self) -> dict[str, int]:
        """Signals per tier ({"gold": 3, "silver": 12} or {"single": 10}); {} when unknown."""
        if self.unknown:
            return {}
        if self.tiered:
            return {"gold": int(self.gold or 0), "silver": int(self.silver or 0)}
        return {"single": int(self.single or 0)}

    def tiers(self) -> tuple[str, ...]:
        """The tiers this specialty uses, strongest first."""
        return ("gold", "silver") if self.tiered else ("single",)

    def flags(self) -> tuple[str, ...]:
        """Plain-text cautions about these rules (fallback season, unknown counts, grade C)."""
        out = []
        if self.fallback_from:
            where = (
                "the latest known season before it"
                if self.season and self.season < self.fallback_from
                else "the earliest known season"
            )
            out.append(
                f"{self.specialty}: no signal rules for {self.fallback_from}; "
                f"using {self.season}, {where}"
            )
        if self.unknown and self.unknown_reason:
            out.append(self.unknown_reason)
        if self.source_grade == "C" and not self.unknown:
            out.append(f"{self.specialty}: signal counts from an unverified secondary summary")
        return tuple(out)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _count(value: str | None) -> int | None:
    """A non-negative whole count, None when empty; ValueError otherwise."""
    if value is None:
        return None
    number = float(value)
    if not number.is_integer() or number < 0:
        raise ValueError(value)
    return int(number)


@functools.cache
def signal_rule_table() -> pl.DataFrame:
    """The checked signal table of `data/reference/eras_signals.csv` (cached).

    Raises:
        DataValidationError: listing each bad row, column, value and what is expected.
    """
    return check_signal_table(reference_table(TABLE), f"{TABLE}.csv")


def check_signal_table(raw: pl.DataFrame, file: str = f"{TABLE}.csv") -> pl.DataFrame:
    """A signal table checked: every problem of the file at once, or a clean frame.

    Columns out: specialty, season, gold, silver, total (Int64, null when not given),
    application_service, source, source_grade, notes. Gold and silver are given together or
    not at all; with both, the total is their sum.

    Raises:
        DataValidationError: listing each bad row (as a spreadsheet numbers it), column,
            value and what is expected.
    """
    missing = [c for c in _COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError(
            [file_problem(file, f"missing column(s): {', '.join(missing)}")], source=file
        )
    frame = raw.select(pl.col(c).cast(pl.String) for c in _COLUMNS)
    known = set(specialties())
    services = set(load_params("signals")["services"])
    problems: list[Problem] = []
    rows: list[dict[str, object]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, row in enumerate(frame.iter_rows(named=True)):
        line = i + 2  # the header is row 1

        def bad(column: str, value: object, expected: str, line: int = line) -> None:
            problems.append(Problem(file, line, column, value, expected))

        checked = _check_row(row, known, services, bad)
        spec, season = checked["specialty"], checked["season"]
        if spec in known and season is not None:
            if (spec, season) in seen:
                bad(
                    "season",
                    row["season"],
                    f"one row per specialty and season (also row {seen[(spec, season)]})",
                )
            seen[(spec, season)] = line
        rows.append(checked)
    if problems:
        raise DataValidationError(problems, source=file)
    return pl.DataFrame(rows, schema=_CHECKED_SCHEMA)


_CHECKED_SCHEMA = {
    "specialty": pl.String,
    "season": pl.String,
    "gold": pl.Int64,
    "silver": pl.Int64,
    "total": pl.Int64,
    "application_service": pl.String,
    "source": pl.String,
    "source_grade": pl.String,
    "notes": pl.String,
}
"""The columns and types of a checked signal table."""

_Bad = Callable[[str, object, str], None]


def _check_row(
    row: dict[str, str | None], known: set[str], services: set[str], bad: _Bad
) -> dict[str, object]:
    """One row of the table as text, checked column by column (`bad` records a problem)."""
    spec = _text(row["specialty"])
    if spec not in known:
        bad("specialty", row["specialty"], "a specialty code of specialties.csv")
    season = None
    try:
        season = normalize_season(_text(row["season"]) or "")
    except ValueError:
        bad("season", row["season"], "two consecutive years 'YYYY-YYYY'")
    gold, silver, total = _counts(row, bad)
    service = _text(row["application_service"])
    if service not in services:
        bad(
            "application_service",
            row["application_service"],
            f"one of {', '.join(sorted(services))}",
        )
    grade = _text(row["source_grade"])
    if grade not in ("A", "B", "C"):
        bad("source_grade", row["source_grade"], "A, B or C")
    if not _text(row["source"]):
        bad("source", row["source"], "the source of the figure")
    return {
        "specialty": spec,
        "season": season,
        "gold": gold,
        "silver": silver,
        "total": total,
        "application_service": service,
        "source": _text(row["source"]),
        "source_grade": grade,
        "notes": _text(row["notes"]),
    }


def _counts(row: dict[str, str | None], bad: _Bad) -> tuple[int | None, int | None, int | None]:
    """Gold, silver and total: whole counts, gold and silver together, the total their sum."""
    counts = {}
    for column in ("gold_signals", "silver_signals", "signals_total"):
        try:
            counts[column] = _count(_text(row[column]))
        except ValueError:
            bad(column, row[column], "a whole number of signals, 0 or more, or empty")
            counts[column] = None
    gold, silver, total = (
        counts["gold_signals"],
        counts["silver_signals"],
        counts["signals_total"],
    )
    if (gold is None) != (silver is None):
        bad(
            "silver_signals" if silver is None else "gold_signals",
            None,
            "gold and silver counts are given together or both left empty",
        )
    elif gold is not None and total is not None and gold + silver != total:
        bad("signals_total", total, f"gold + silver = {gold + silver}")
    elif gold is not None and total is None:
        total = gold + silver
    return gold, silver, total


@functools.cache
def signal_pools() -> dict[str, tuple[str, ...]]:
    """Pools of specialties sharing one set of signals (pool id -> member codes)."""
    pools = load_params("signals").get("pools") or {}
    return {name: tuple(entry["specialties"]) for name, entry in pools.items()}


def pool_of(specialty: str) -> tuple[str, tuple[str, ...]]:
    """(pool id, member specialties) of a specialty; its own code when it shares no pool."""
    for name, members in signal_pools().items():
        if specialty in members:
            return name, members
    return specialty, (specialty,)


def _guidance(specialty: str) -> tuple[tuple[str, ...], bool]:
    rules = load_params("signals")["guidance"]
    entry = rules.get(specialty)
    texts = [entry["text"]] if entry else []
    texts.append(rules["default"]["text"])
    return tuple(texts), bool(entry and entry.get("exclude_rotation_programs", False))


@functools.cache
def signal_rules(specialty: str, season: str | int) -> SignalRules:
    """The signal rules of a specialty in a season ("2026-2027", or the match year 2027).

    Raises:
        ValueError: for a specialty code not in specialties.csv or a malformed season.
    """
    if specialty not in specialties():
        raise ValueError(
            f"specialty {specialty!r}: expected a code of specialties.csv "
            f"({', '.join(sorted(specialties()))})"
        )
    requested = normalize_season(season)
    table = signal_rule_table().filter(pl.col("specialty") == specialty).sort("season")
    pool, members = pool_of(specialty)
    guidance, exclude = _guidance(specialty)
    if table.height == 0:
        return SignalRules(
            specialty=specialty,
            requested_season=requested,
            season=None,
            gold=None,
            silver=None,
            single=None,
            total=None,
            pool=pool,
            pool_specialties=members,
            service=None,
            guidance=guidance,
            exclude_rotation_programs=exclude,
            fallback_from=None,
            unknown=True,
            unknown_reason=f"{specialty}: no signal rules known for this specialty",
            source=None,
            source_grade=None,
        )
    seasons = table["season"].to_list()
    if requested in seasons:
        row = table.row(seasons.index(requested), named=True)
        fallback = None
    else:
        before = [s for s in seasons if s < requested]
        row = table.row(seasons.index(before[-1] if before else seasons[0]), named=True)
        fallback = requested
    tiered = row["gold"] is not None
    counts_known = row["total"] is not None
    reason = None
    if not counts_known:
        reason = (
            f"{specialty}: moved to {row['application_service']} for {row['season']}; "
            "its signal counts are not known here, so no signals are planned"
            if row["application_service"] != "ERAS"
            else f"{specialty}: signal counts for {row['season']} are not known"
        )
    return SignalRules(
        specialty=specialty,
        requested_season=requested,
        season=row["season"],
        gold=row["gold"] if tiered else None,
        silver=row["silver"] if tiered else None,
        single=row["total"] if counts_known and not tiered else None,
        total=row["total"],
        pool=pool,
        pool_specialties=members,
        service=row["application_service"],
        guidance=guidance,
        exclude_rotation_programs=exclude,
        fallback_from=fallback,
        unknown=not counts_known,
        unknown_reason=reason,
        source=row["source"],
        source_grade=row["source_grade"],
        notes=row["notes"],
    )
