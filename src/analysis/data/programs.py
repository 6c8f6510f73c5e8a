"""Reading program tables: CSV, XLSX, Parquet files and data frames, in three header formats.

Method. A program table is read with every cell as text (Parquet and data frames keep the
columns that already have their canonical type), its header row is recognised as one of
three formats, and each column is normalized by mapping its *unique* values through the
pure functions of `analysis.data.normalize` (vectorized replacement afterwards, never a loop over
rows). The result is checked against the pandera contract `schemas.program_table_schema()`.
Every problem of the file (conversion failures, out-of-range numbers, unknown codes,
duplicate ids, missing required columns, empty files) is collected into one
`DataValidationError`; rows are numbered as a spreadsheet shows them (header = row 1, first
data row = row 2; a sheet whose table starts lower keeps its real row numbers; for Parquet
files and data frames, the record number + 1, as if the header were row 1).

Formats, detected from the header row (headers compared without case, spacing or
punctuation; title rows above the header are skipped):

1. **canonical**: the columns of `schemas.program_columns()`; `program_id`, `program_name`
   and `specialty` are required, missing optional columns are unknown. Extra columns are
   ignored and reported.
2. **tracker**: an applicant's own spreadsheet, with headers as the advising guides
   recommend ("Program", "IR/DR" or "Specialty"/"Track", "Visa for residents", "IMGs
   present", "IR structure", "Visiting student policy", "Application route (VSLO/direct)",
   "Deadlines", "Fees", and optional "City", "State", "Program type", "Notes",
   "Positions", "Step 2 CK minimum", "Graduates accepted" (hands-on rotations for
   graduates), "Signal"...). `program_id` is a slug of the program name, plus
   the specialty when two rows share a name. "IMGs present" is yes/no (no also means 0 %)
   or a percentage; "IR structure" goes into `notes`. Canonical column names are accepted
   too. `program_headers.tracker_header_aliases()` lists every accepted header.
3. **FREIDA export**, as public scrapers write them: `program_id, program_name_suffix, city,
   state, specialty_title, first_year_positions, interviews_conducted_last_year, pct_img,
   pct_usmd, pct_do, program_best_described_as, visa_statuses_accepted,
   data_last_updated` (`pct_usmd` and `pct_do` feed `pct_us_md_residents` and
   `pct_do_residents`). An empty visa list means both visas unknown.

Defaults filled after loading: `track` from the specialty's default track,
`visiting_route` "unknown", `img_residents_present` from `pct_img_residents` when that is
known, `source` from the format and file name.

Outputs: polars frames with exactly the columns and dtypes of `schemas.polars_schema()`.
Loading the same unchanged file twice in a process returns the cached table (keyed by
resolved path, size, modification time and options).

Limits: CSV encodings tried are UTF-8 (with or without BOM), UTF-16 with a BOM, cp1252 and
Latin-1; XLS/ODS workbooks are read without their first-used-row offset (row numbers assume
the table starts in row 1). Excel cells formatted as percentages are read as percentages
for the percentage columns of XLSX files.

The cells are read by `analysis.data.tables` and the header formats recognised by
`analysis.data.program_headers`; this module builds and validates the canonical table.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from analysis.data import normalize as nz
from analysis.data.program_headers import (
    CANONICAL_INDEX,
    FORMAT_HELP,
    FREIDA_INDEX,
    FREIDA_REQUIRED,
    TRACKER_INDEX,
    Format,
    detect_format,
    header_key,
)
from analysis.data.schemas import (
    REQUIRED_PROGRAM_COLUMNS,
    is_canonical,
    polars_schema,
    program_column,
    slugify,
)
from analysis.data.tables import RawTable, pandas_to_polars, raw_from_frame, read_table_cells
from analysis.data.vocabulary import specialties
from analysis.errors import (
    KEEP_PER_KIND,
    DataValidationError,
    DataWarning,
    NormalizationError,
    Problem,
    ProblemLog,
    file_problem,
    short_message,
)
from analysis.errors import NO_VALUE as _NO  # "no single value is at fault"

__all__ = [
    "LoadInfo",
    "clear_cache",
    "ensure_programs",
    "inspect_programs",
    "load_programs",
    "summarize_programs",
]

UnknownSpecialty = Literal["error", "skip"]

_CACHE_SIZE = 16


# --------------------------------------------------------------------------- conversion


@dataclass
class _Column:
    """One header of the raw table and what it feeds."""

    header: str
    role: str
    series: pl.Series


@dataclass
class _Work:
    """Accumulates the canonical columns and the problems of one table."""

    raw: RawTable
    log: ProblemLog = field(default_factory=ProblemLog)
    out: dict[str, pl.Series] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # canonical column -> user header
    texts: dict[str, pl.Series] = field(default_factory=dict)  # canonical column -> user text
    positions: dict[int, int] | None = None  # spreadsheet row -> position in raw.rows

    def problem(self, row: int | None, column: str | None, value: Any, expected: str) -> None:
        self.log.add(Problem(self.raw.file, row, column, value, expected))

    def row_problems(self, rows: list[int], column: str | None, value: Any, expected: str) -> None:
        """The same problem on many rows: the first ones kept, the rest only counted."""
        kind = (self.raw.file, column, expected)
        room = self.log.room(kind)
        for row in rows[:room]:
            self.problem(row, column, value, expected)
        self.log.count(kind, len(rows) - min(room, len(rows)))


def _map_unique(
    series: pl.Series, func: Callable[[str], Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run `func` once per distinct non-null value: (value -> result, value -> expected)."""
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    for value in series.drop_nulls().unique().to_list():
        try:
            results[value] = func(value)
        except NormalizationError as error:
            failures[value] = error.expected
    return results, failures


def _replace(series: pl.Series, mapping: dict[str, Any], dtype: Any) -> pl.Series:
    if series.len() == 0:
        return pl.Series(series.name, [], dtype=dtype)
    return series.replace_strict(mapping, default=None, return_dtype=dtype)


def _report(work: _Work, column: _Column, failures: dict[str, str]) -> None:
    """One problem per failing cell: the first `KEEP_PER_KIND` of each kind built, the rest
    counted (vectorized: a column of 200,000 bad cells costs no Python loop over them)."""
    if not failures:
        return
    mask = column.series.is_in(list(failures))
    values = column.series.filter(mask)
    cells = pl.DataFrame(
        {
            "row": work.raw.rows.filter(mask),
            "value": values,
            "expected": values.replace_strict(failures, return_dtype=pl.String),
        }
    ).with_columns(pl.int_range(pl.len()).over("expected").alias("n"))
    for row, value, expected, _ in cells.filter(pl.col("n") < KEEP_PER_KIND).iter_rows():
        work.problem(row, column.header, value, expected)
    rest = cells.filter(pl.col("n") >= KEEP_PER_KIND).group_by("expected").len()
    for expected, count in rest.iter_rows():
        work.log.count((work.raw.file, column.header, expected), count)


def _text_series(column: _Column) -> pl.Series:
    series = column.series
    if series.dtype != pl.String:
        series = series.cast(pl.String)
        if column.series.dtype == pl.Boolean:
            series = series.str.to_lowercase()
    return series.alias(column.header)


def _convert(
    work: _Work,
    column: _Column,
    func: Callable[[str], Any],
    dtype: Any,
    target: str,
    *,
    empty: Any = None,
) -> None:
    """Normalize one raw column into canonical column `target`."""
    if column.series.dtype == dtype and dtype != pl.String:
        work.out[target] = column.series.alias(target)
        work.origin[target] = column.header
        return
    text = _text_series(column)
    mapping, failures = _map_unique(text, func)
    _report(work, _Column(column.header, column.role, text), failures)
    converted = _replace(text, mapping, dtype)
    if empty is not None:
        converted = pl.select(
            pl.when(text.is_null()).then(pl.lit(empty, dtype=dtype)).otherwise(converted)
        ).to_series()
    work.out[target] = converted.alias(target)
    work.origin[target] = column.header
    work.texts[target] = text


def _convert_pair(
    work: _Work,
    column: _Column,
    func: Callable[[str], tuple[Any, ...]],
    targets: Sequence[tuple[str, Any]],
) -> None:
    """Normalize one raw column into several canonical columns (e.g. the two visas)."""
    text = _text_series(column)
    mapping, failures = _map_unique(text, func)
    _report(work, _Column(column.header, column.role, text), failures)
    empty = func("")
    for position, (target, dtype) in enumerate(targets):
        part = {value: result[position] for value, result in mapping.items()}
        converted = _replace(text, part, dtype)
        if empty[position] is not None:
            converted = pl.select(
                pl.when(text.is_null())
                .then(pl.lit(empty[position], dtype=dtype))
                .otherwise(converted)
            ).to_series()
        work.out[target] = converted.alias(target)
        work.origin[target] = column.header
        work.texts[target] = text


def _strip_text(work: _Work, column: _Column, target: str) -> None:
    work.out[target] = _text_series(column).str.strip_chars().replace("", None).alias(target)
    work.origin[target] = column.header


def _scalar_parser(name: str, excel: bool) -> tuple[Callable[[str], Any], Any] | None:
    """The normalizer and dtype of a canonical column read from text."""
    spec = program_column(name)
    if name == "specialty":
        return nz.normalize_specialty, pl.String
    if name == "track":
        return nz.normalize_track, pl.String
    if name == "state":
        return nz.normalize_state, pl.String
    if name == "program_type":
        return nz.normalize_program_type, pl.String
    if name == "visiting_route":
        return nz.normalize_visiting_route, pl.String
    if name in ("pct_img_residents", "pct_non_us_img_residents", "pct_us_md_residents",
                "pct_do_residents"):  # fmt: skip
        return nz.parse_percent, pl.Float64
    if name == "visiting_fee_usd":
        return nz.parse_money, pl.Float64
    if name in ("non_us_img_interview_rate", "us_img_interview_rate"):
        return nz.parse_share, pl.Float64
    if name == "signal":
        return nz.normalize_signal, pl.String
    if name == "usce_required_months":
        return (lambda v: nz.parse_float(v, none_means="zero")), pl.Float64
    if spec.dtype == "int":
        none_means = "unknown" if spec.minimum and spec.minimum > 0 else "error"
        if name == "yog_cutoff_years":
            none_means = "unknown"
        return (lambda v, m=none_means: nz.parse_int(v, none_means=m)), pl.Int64
    if spec.dtype == "float":
        return nz.parse_float, pl.Float64
    if spec.dtype == "bool":
        return nz.normalize_bool, pl.Boolean
    if spec.dtype == "date":
        return (lambda v: nz.parse_date(v, excel_serial=excel)), pl.Date
    return None  # free text


def _imgs_present(value: str) -> tuple[bool | None, float | None]:
    """'yes' -> (True, None); 'no' -> (False, 0.0); '40%' -> (True, 40.0)."""
    try:
        present = nz.normalize_bool(value)
    except NormalizationError:
        pass
    else:
        return present, (0.0 if present is False else None)
    try:
        pct = nz.parse_percent(value)
    except NormalizationError:
        raise NormalizationError(
            value, "yes/no (are there IMG residents?) or a percentage of IMG residents"
        ) from None
    return (None if pct is None else pct > 0), pct


def _visa_list(value: str) -> tuple[bool | None, bool | None]:
    return nz.normalize_visa_list(nz.parse_list_cell(value))


# --------------------------------------------------------------------------- the pipeline


_ROLE_TARGETS = {
    "specialty_track": "specialty + track + esir_available",
    "visa": "sponsors_j1 + sponsors_h1b",
    "visa_list": "sponsors_j1 + sponsors_h1b",
    "imgs_present": "img_residents_present + pct_img_residents",
    "ir_structure": "notes",
    "visiting_policy": "accepts_img_visiting_students",
}
"""The canonical columns each combined tracker/FREIDA role feeds (for `LoadInfo.columns`)."""


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _assign_roles(raw: RawTable, fmt: Format, work: _Work) -> tuple[list[_Column], list[str]]:
    index = {"canonical": CANONICAL_INDEX, "tracker": TRACKER_INDEX, "freida": FREIDA_INDEX}[fmt]
    columns: list[_Column] = []
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for position, (header, series) in enumerate(zip(raw.headers, raw.columns, strict=True)):
        key = header_key(header)
        if not key:
            if series.null_count() < series.len():
                ignored.append(f"column {_column_letter(position)} (no header)")
            continue
        role = index.get(key)
        if role is None:
            ignored.append(header)
            continue
        if role in seen:
            work.problem(
                None,
                header,
                _NO,
                f"two columns give the same information ({seen[role]!r} and {header!r}); keep one",
            )
            continue
        seen[role] = header
        columns.append(_Column(header, role, series))
    return columns, ignored


def _build(
    raw: RawTable, *, on_unknown_specialty: UnknownSpecialty
) -> tuple[pl.DataFrame, LoadInfo]:
    """The canonical table and its `LoadInfo` from raw cells, or every problem at once.

    In order: the header format, the required columns, the specialty (whose unknown values
    may be skipped), every other column, then the values derived from combined cells; the
    assembled frame is checked against the contract (`_assemble`).
    """
    fmt = _table_format(raw)
    dropped = _drop_identical_rows(raw)
    work = _Work(raw)
    columns, ignored = _assign_roles(raw, fmt, work)
    roles = {c.role: c for c in columns}
    _require_columns(work, fmt, roles)
    spec_column, keep, skipped = _read_specialty(work, roles, on_unknown_specialty)
    notes_parts: list[pl.Series] = []
    # combined cells first, so that explicit canonical columns (sponsors_j1...) win below
    combined = ("visa", "visa_list", "imgs_present")
    for column in sorted(columns, key=lambda c: c.role not in combined):
        if column is not spec_column:
            _read_column(work, column, notes_parts)
    _merge_derived(work, roles, notes_parts)
    frame = _assemble(work, fmt, keep)
    info = LoadInfo(
        format=fmt,
        file=raw.file,
        rows=frame.height,
        sheet=raw.sheet,
        encoding=raw.encoding,
        delimiter=raw.delimiter,
        columns={c.header: _ROLE_TARGETS.get(c.role, c.role) for c in columns},
        ignored_columns=tuple(ignored),
        skipped_rows=int(sum(skipped.values())),
        skipped_specialties=skipped,
        dropped_duplicate_rows=dropped,
        warnings=tuple(raw.warnings),
    )
    return frame, info


def _drop_identical_rows(raw: RawTable) -> int:
    """Drop rows identical, cell for cell, to an earlier row; warn how many (in `raw`).

    Real exports repeat a program as an identical row (a scraper's national FREIDA export of
    Internal Medicine lists one program twice); such a row adds nothing. Rows that share an
    id but differ anywhere stay, and are reported as duplicate ids with both rows.
    """
    if not raw.columns or raw.rows.len() < 2:
        return 0
    cells = pl.DataFrame([c.alias(f"c{i}") for i, c in enumerate(raw.columns)])
    repeat = cells.select(~pl.struct(pl.all()).is_first_distinct()).to_series()
    count = int(repeat.sum())
    if not count:
        return 0
    first_row = (
        cells.with_columns(raw.rows.alias("__row"))
        .with_columns(pl.col("__row").first().over(cells.columns).alias("__first"))
        .filter(repeat)
        .select("__row", "__first")
        .head(_ROWS_SHOWN)
        .rows()
    )
    pairs = ", ".join(f"row {row} = row {first}" for row, first in first_row)
    more = f" and {count - _ROWS_SHOWN:,} more" if count > _ROWS_SHOWN else ""
    noun = "row identical to an earlier row" if count == 1 else "rows identical to earlier rows"
    raw.warnings.append(f"{raw.file or 'table'}: dropped {count:,} {noun} ({pairs}{more})")
    raw.columns = [c.filter(~repeat) for c in raw.columns]
    raw.rows = raw.rows.filter(~repeat)
    return count


def _table_format(raw: RawTable) -> Format:
    """The header format of a table that has data rows (else a `DataValidationError`)."""
    fmt = detect_format(raw.headers)
    if fmt is None:
        shown = ", ".join(repr(h) for h in raw.headers if h)
        raise DataValidationError([file_problem(raw.file, f"{FORMAT_HELP}. Found: {shown}")])
    if raw.rows.len() == 0:
        raise DataValidationError(
            [file_problem(raw.file, "the file has a header row but no data rows")]
        )
    return fmt


def _require_columns(work: _Work, fmt: Format, roles: dict[str, _Column]) -> None:
    """Raise every missing required column of the format at once."""
    if fmt == "canonical":
        missing = [name for name in REQUIRED_PROGRAM_COLUMNS if name not in roles]
    elif fmt == "freida":
        missing = [name for name in FREIDA_REQUIRED if FREIDA_INDEX[header_key(name)] not in roles]
    else:
        missing = []
        if "program_name" not in roles:
            missing.append("Program")
        if "specialty_track" not in roles and "specialty" not in roles and "track" not in roles:
            missing.append("a specialty column ('IR/DR', 'Specialty' or 'Track')")
    label = work.raw.file
    for name in missing:
        work.log.add(file_problem(label, f"missing required column {name!r} ({fmt} format)", name))
    if missing:
        raise work.log.error(label)


def _read_specialty(
    work: _Work, roles: dict[str, _Column], on_unknown_specialty: UnknownSpecialty
) -> tuple[_Column, pl.Series, dict[str, int]]:
    """Convert the specialty column (and the track and ESIR a tracker cell holds with it).

    Returns:
        The column read, the rows to keep (all, unless unknown specialties are skipped) and
        the skipped specialties with their row counts.
    """
    raw = work.raw
    skipped: dict[str, int] = {}
    keep = pl.Series("keep", [True] * raw.rows.len(), dtype=pl.Boolean)
    spec_column = roles.get("specialty") or roles.get("specialty_track")
    track_as_specialty = False
    if spec_column is None and "track" in roles:
        spec_column, track_as_specialty = roles["track"], True
    assert spec_column is not None
    text = _text_series(spec_column)
    use_track = spec_column.role == "specialty_track" or track_as_specialty
    func = nz.normalize_specialty_track if use_track else nz.normalize_specialty
    mapping, failures = _map_unique(text, func)
    if on_unknown_specialty == "skip" and failures:
        unknown = text.is_in(list(failures))
        keep = ~unknown
        counts = text.filter(unknown).value_counts(sort=True)
        skipped = dict(zip(counts[text.name].to_list(), counts["count"].to_list(), strict=True))
    else:
        hint = (
            " (to drop rows of other specialties, such as fellowships, load with "
            "on_unknown_specialty='skip' or `imgmatch validate --skip-unknown-specialties`)"
        )
        _report(
            work,
            _Column(spec_column.header, spec_column.role, text),
            {value: expected + hint for value, expected in failures.items()},
        )
    if use_track:
        work.out["specialty"] = _replace(text, {k: v[0] for k, v in mapping.items()}, pl.String)
        cell_track = _replace(text, {k: v[1] for k, v in mapping.items()}, pl.String)
        cell_esir = _replace(text, {k: v[2] for k, v in mapping.items()}, pl.Boolean)
        work.out["track"] = cell_track.alias("track")
        work.out["esir_available"] = cell_esir.alias("esir_available")
        work.origin["track"] = work.origin["esir_available"] = spec_column.header
    else:
        work.out["specialty"] = _replace(text, mapping, pl.String)
    work.out["specialty"] = work.out["specialty"].alias("specialty")
    work.origin["specialty"] = spec_column.header
    missing_rows = raw.rows.filter(text.is_null()).to_list()
    work.row_problems(
        missing_rows, spec_column.header, None, "a specialty is required on every row"
    )
    return spec_column, keep, skipped


_VISAS = [("sponsors_j1", pl.Boolean), ("sponsors_h1b", pl.Boolean)]
_IMGS_PRESENT = [
    ("img_residents_present", pl.Boolean),
    ("pct_img_residents_from_present", pl.Float64),
]


def _read_column(work: _Work, column: _Column, notes_parts: list[pl.Series]) -> None:
    """Convert one column other than the specialty into the canonical column(s) it feeds.

    A value already derived from another cell (the track of a tracker's 'IR/DR' cell) fills
    the gaps of an explicit column; 'IR structure' cells are collected into `notes_parts`.
    """
    role = column.role
    if role == "track":
        before = work.out.get("track")
        _convert(work, column, nz.normalize_track, pl.String, "track")
        if before is not None:
            work.out["track"] = work.out["track"].fill_null(before).alias("track")
    elif role == "esir_available" and "esir_available" in work.out:
        before = work.out["esir_available"]
        _convert(work, column, nz.normalize_bool, pl.Boolean, "esir_available")
        work.out["esir_available"] = work.out["esir_available"].fill_null(before)
    elif role == "visa":
        _convert_pair(work, column, nz.normalize_visa, _VISAS)
    elif role == "visa_list":
        _convert_pair(work, column, _visa_list, _VISAS)
    elif role == "imgs_present":
        _convert_pair(work, column, _imgs_present, _IMGS_PRESENT)
    elif role == "visiting_policy":
        _convert(
            work, column, nz.normalize_visiting_policy, pl.Boolean, "accepts_img_visiting_students"
        )
    elif role == "ir_structure":
        part = _text_series(column)
        notes_parts.append(pl.select(pl.concat_str(pl.lit("IR structure: "), part)).to_series())
    elif role in ("program_id", "program_name", "city", "source", "notes"):
        _strip_text(work, column, role)
    else:
        parser = _scalar_parser(role, work.raw.excel)
        if parser is None:  # pragma: no cover - every role is handled above
            return
        func, dtype = parser
        derived_value = work.out.get(role)
        empty = "unknown" if role == "visiting_route" else None
        _convert(work, column, func, dtype, role, empty=empty)
        if derived_value is not None:
            work.out[role] = work.out[role].fill_null(derived_value).alias(role)


def _merge_derived(work: _Work, roles: dict[str, _Column], notes_parts: list[pl.Series]) -> None:
    """Values from combined cells fill what explicit canonical columns leave unknown."""
    derived = work.out.pop("pct_img_residents_from_present", None)
    if derived is not None:
        if "pct_img_residents" in work.out:
            work.out["pct_img_residents"] = work.out["pct_img_residents"].fill_null(derived)
        else:
            work.out["pct_img_residents"] = derived.alias("pct_img_residents")
            work.origin["pct_img_residents"] = roles["imgs_present"].header
    if notes_parts:
        pieces = ([work.out["notes"]] if "notes" in work.out else []) + notes_parts
        work.out["notes"] = (
            pl.select(pl.concat_str(pieces, separator="; ", ignore_nulls=True).replace("", None))
            .to_series()
            .alias("notes")
        )
        work.origin.setdefault("notes", roles["ir_structure"].header)


def _assemble(work: _Work, fmt: Format, keep: pl.Series) -> pl.DataFrame:
    """Canonical frame from the converted columns: defaults, ids, contract checks."""
    raw = work.raw
    schema = polars_schema()
    height = raw.rows.len()
    data = {}
    for name, dtype in schema.items():
        series = work.out.get(name)
        if series is None:
            series = pl.Series(name, [None] * height, dtype=dtype)
        data[name] = series.cast(dtype).alias(name)
    frame = pl.DataFrame(data).with_columns(raw.rows.alias("__row")).filter(keep)
    frame = _fill_defaults(frame, raw, fmt)
    # program ids for trackers: slug of the name (plus the specialty when names repeat)
    if fmt == "tracker":
        frame = _tracker_ids(frame)
    _check_required_and_unique(work, frame)
    _validate_contract(work, frame)
    if work.log:
        raise work.log.error(raw.file)
    return frame.drop("__row").select(list(schema))


def _fill_defaults(frame: pl.DataFrame, raw: RawTable, fmt: Format) -> pl.DataFrame:
    """The default track, route, IMG presence and source where the table leaves them out."""
    label = raw.name
    default_source = {
        "canonical": f"table ({label})",
        "tracker": f"tracker ({label})",
        "freida": f"FREIDA export ({label})",
    }[fmt]
    if raw.kind == "frame" and raw.file is None:
        default_source = {
            "canonical": "data frame",
            "tracker": "tracker (data frame)",
            "freida": "FREIDA export (data frame)",
        }[fmt]
    defaults = {code: spec.default_track for code, spec in specialties().items()}
    return frame.with_columns(
        pl.col("track").fill_null(
            pl.col("specialty").replace_strict(defaults, default=None, return_dtype=pl.String)
        ),
        pl.col("visiting_route").fill_null("unknown"),
        pl.col("img_residents_present").fill_null(
            pl.when(pl.col("pct_img_residents").is_not_null()).then(pl.col("pct_img_residents") > 0)
        ),
        pl.col("source").fill_null(pl.lit(default_source)),
    )


_ROWS_SHOWN = 5


def _check_required_and_unique(work: _Work, frame: pl.DataFrame) -> None:
    """Required values on every row, unique ids (named precisely; pandera repeats dropped)."""
    for name in ("program_id", "program_name"):
        if name == "program_id" and "program_id" not in work.origin:
            continue  # ids made from names: a missing name is reported once, below
        header = work.origin.get(name, name)
        rows = frame.filter(pl.col(name).is_null())["__row"].to_list()
        work.row_problems(
            rows, header, None, f"a {name.replace('_', ' ')} is required on every row"
        )
    duplicated = frame.filter(
        pl.col("program_id").is_duplicated() & pl.col("program_id").is_not_null()
    )
    if not duplicated.height:
        return
    id_header = work.origin.get("program_id", work.origin.get("program_name", "program_id"))
    groups = (
        duplicated.group_by("program_id")
        .agg(pl.col("__row").sort())
        .sort(pl.col("__row").list.first())
    )
    built = 0
    for program_id, rows in groups.iter_rows():
        for row in rows:
            if built >= KEEP_PER_KIND:
                kind = (work.raw.file, id_header, "duplicate program id (ids must be unique)")
                work.log.count(kind, 1)
                continue
            others = [str(r) for r in rows if r != row]
            shown = ", ".join(others[:_ROWS_SHOWN])
            if len(others) > _ROWS_SHOWN:
                shown += f" and {len(others) - _ROWS_SHOWN:,} more"
            expected = f"duplicate program id: also on row {shown} (ids must be unique)"
            work.problem(row, id_header, program_id, expected)
            built += 1


def _tracker_ids(frame: pl.DataFrame) -> pl.DataFrame:
    names = frame["program_name"]
    slugs = {name: slugify(name) for name in names.drop_nulls().unique().to_list()}
    frame = frame.with_columns(
        pl.col("program_name")
        .replace_strict(slugs, default=None, return_dtype=pl.String)
        .alias("__slug")
    )
    with_spec = (
        pl.col("__slug") + "-" + pl.col("specialty").str.to_lowercase().str.replace_all("_", "-")
    )
    frame = frame.with_columns(
        pl.col("program_id").fill_null(
            pl.when(pl.col("__slug").is_duplicated()).then(with_spec).otherwise(pl.col("__slug"))
        )
    )
    return frame.drop("__slug")


def _validate_contract(work: _Work, frame: pl.DataFrame) -> None:
    """Run the pandera contract and turn its failure cases into `Problem`s."""
    import pandera.errors

    from analysis.data.schemas import program_table_schema

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unique_column_names has no effect
        schema = program_table_schema()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            schema.validate(frame.drop("__row"), lazy=True)
    except pandera.errors.SchemaErrors as error:
        cases = error.failure_cases
    except pandera.errors.SchemaError as error:  # pragma: no cover - lazy=True collects
        cases = error.failure_cases if error.failure_cases is not None else pl.DataFrame()
    else:
        return
    cases = cases.with_columns(
        pl.int_range(pl.len()).over(["column", "check"]).alias("__n")
    )  # fmt: skip
    for (column, check), count in (
        cases.filter(pl.col("__n") >= KEEP_PER_KIND).group_by("column", "check").len().rows()
        if cases.height
        else []
    ):
        case = {"column": column, "check": check, "schema_context": None}
        target = _case_target(work, frame, case)
        if target is not None:
            work.log.count((work.raw.file, target[0], target[1]), count)
    already = {(p.row, p.column) for p in work.log.problems}
    rows = frame["__row"]
    for case in cases.filter(pl.col("__n") < KEEP_PER_KIND).iter_rows(named=True):
        index = case.get("index")
        row = int(rows[int(index)]) if index is not None and index < rows.len() else None
        target = _case_target(work, frame, case)
        if target is None or (row, target[0]) in already:
            continue
        header, expected = target
        if case.get("schema_context") == "DataFrameSchema":
            value = frame["pct_non_us_img_residents"][int(index)] if row is not None else _NO
        else:
            value = _user_text(work, case.get("column"), row, case.get("failure_case"))
        work.problem(row, header, value, expected)
        already.add((row, header))


_NON_US_SHARE = "the percent of non-US IMG residents cannot exceed the percent of IMG residents"


def _case_target(work: _Work, frame: pl.DataFrame, case: dict[str, Any]) -> tuple[str, str] | None:
    """(header, expected) of a pandera failure case, or None when reported elsewhere."""
    column = case.get("column")
    check = str(case.get("check") or "")
    if case.get("schema_context") == "DataFrameSchema" or check.startswith("non_us_img_share"):
        return work.origin.get(
            "pct_non_us_img_residents", "pct_non_us_img_residents"
        ), _NON_US_SHARE
    if column not in work.origin and column not in frame.columns:
        return None
    if check == "field_uniqueness":
        return None  # reported with the other rows by _check_required_and_unique
    if check == "not_nullable":
        if column in REQUIRED_PROGRAM_COLUMNS:
            return None  # reported by the loader with what to write
        return work.origin.get(column, column), "a value is required on every row"
    expected = program_column(column).expected() if column in polars_schema() else check
    return work.origin.get(column, column), expected


def _user_text(work: _Work, column: str, row: int | None, fallback: Any) -> Any:
    """The cell as the user wrote it ('140', not the parsed 140.0), when known."""
    text = work.texts.get(column)
    if text is None or row is None:
        return fallback
    if work.positions is None:
        work.positions = {r: i for i, r in enumerate(work.raw.rows.to_list())}
    position = work.positions.get(row)
    if position is None:
        return fallback
    value = text[position]
    return fallback if value is None else value


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class LoadInfo:
    """What `inspect_programs` found: format, file, rows, ignored columns, skipped rows.

    `warnings` says what was repaired while reading (identical duplicate rows dropped, lines
    read as Windows-1252); `load_programs` also issues each as a `DataWarning`.
    """

    format: str
    file: str | None
    rows: int
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # header -> canonical column(s)
    ignored_columns: tuple[str, ...] = ()
    skipped_rows: int = 0
    skipped_specialties: dict[str, int] = field(default_factory=dict)
    dropped_duplicate_rows: int = 0
    warnings: tuple[str, ...] = ()  # what was repaired: identical rows dropped, cp1252 lines


_cache: dict[tuple[Any, ...], tuple[pl.DataFrame, LoadInfo]] = {}
_cache_lock = threading.Lock()


def _is_pandas(obj: Any) -> bool:
    module = type(obj).__module__
    return module.startswith("pandas") and type(obj).__name__ == "DataFrame"


def inspect_programs(
    source: Any,
    *,
    sheet: str | None = None,
    on_unknown_specialty: UnknownSpecialty = "error",
) -> tuple[pl.DataFrame, LoadInfo]:
    """Load a program table and say how it was read.

    Args:
        source: a path (`.csv`/`.tsv`/`.txt`, `.xlsx`/`.xlsm`/`.xls`/`.ods`, `.parquet`), a
            polars or a pandas data frame.
        sheet: the workbook sheet to read (default: the first).
        on_unknown_specialty: "error" (default) reports rows whose specialty is not a
            known one; "skip" drops them (e.g. fellowships in a full FREIDA dump) and
            counts them in `LoadInfo.skipped_rows`.

    Returns:
        The canonical table and a `LoadInfo`.

    Raises:
        FileNotFoundError: no such file.
        DataValidationError: every problem of the table, located by row and column.
    """
    if on_unknown_specialty not in ("error", "skip"):
        raise ValueError("on_unknown_specialty must be 'error' or 'skip'")
    if isinstance(source, pl.LazyFrame):
        source = source.collect()
    if isinstance(source, pl.DataFrame) or _is_pandas(source):

        def from_frame() -> tuple[pl.DataFrame, LoadInfo]:
            frame = source if isinstance(source, pl.DataFrame) else pandas_to_polars(source)
            raw = raw_from_frame(frame, None, "data frame")
            return _build(raw, on_unknown_specialty=on_unknown_specialty)

        return _guarded(None, from_frame)
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"expected a path or a data frame, got {type(source).__name__}")
    path = Path(source)
    label = str(source)
    if path.is_dir():
        raise DataValidationError([file_problem(label, "is a folder; give a program table file")])
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", label)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, sheet, on_unknown_specialty)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit[0].clone(), hit[1]
    frame, info = _guarded(
        label,
        lambda: _build(
            read_table_cells(path, label, sheet), on_unknown_specialty=on_unknown_specialty
        ),
    )
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = (frame, info)
    return frame.clone(), info


def _guarded(
    label: str | None, call: Callable[[], tuple[pl.DataFrame, LoadInfo]]
) -> tuple[pl.DataFrame, LoadInfo]:
    """`call()`, with any failure no check foresaw turned into this table's error.

    The loader's checks name row, column and what is expected; this is the net under them,
    so that a table never ends in a traceback (the message names the exception, so the case
    can be reproduced and given a precise check).
    """
    try:
        return call()
    except DataValidationError:
        raise
    except OSError as error:
        expected = f"cannot read: {error.strerror or short_message(error)}"
        raise DataValidationError([file_problem(label, expected)], source=label) from None
    except Exception as error:
        expected = f"could not be read ({type(error).__name__}: {short_message(error)})"
        raise DataValidationError([file_problem(label, expected)], source=label) from None


def load_programs(
    source: Any,
    *,
    sheet: str | None = None,
    on_unknown_specialty: UnknownSpecialty = "error",
) -> pl.DataFrame:
    """Load, normalize and validate a program table (see the module docstring).

    Args:
        source: a path (CSV, XLSX/XLS/ODS, Parquet; chosen by extension), or a polars or
            pandas data frame.
        sheet: the workbook sheet to read (default: the first).
        on_unknown_specialty: "error" or "skip" (drop rows of unknown specialties).

    Returns:
        A polars frame with exactly the columns and dtypes of `schemas.polars_schema()`.

    Raises:
        FileNotFoundError: no such file.
        DataValidationError: every problem of the table at once.

    Warns:
        DataWarning: what was repaired while reading (`LoadInfo.warnings`): identical
            duplicate rows dropped, lines read as Windows-1252.

    Example:
        >>> programs = load_programs("data/demo/programs.csv")
    """
    frame, info = inspect_programs(source, sheet=sheet, on_unknown_specialty=on_unknown_specialty)
    for message in info.warnings:
        warnings.warn(message, DataWarning, stacklevel=2)
    return frame


def clear_cache() -> None:
    """Forget the tables loaded so far (tests; long sessions editing files in place)."""
    with _cache_lock:
        _cache.clear()


def ensure_programs(obj: Any) -> pl.DataFrame:
    """A canonical program table from a path, a pandas frame or a polars frame.

    A polars frame that already has exactly the canonical columns and dtypes is trusted and
    returned as is (it was validated when it was loaded); anything else goes through
    `load_programs`.
    """
    if is_canonical(obj):
        return obj
    return load_programs(obj)


def summarize_programs(df: pl.DataFrame) -> dict[str, Any]:
    """The `validate` summary: rows, rows per specialty, share of unknown values per column.

    Returns:
        `{"rows": int, "specialties": {code: count} (most first), "unknown_share":
        {column: share 0-1}}`; a value is unknown when null (or `visiting_route` is
        "unknown"). Required columns are left out (they are never unknown).
    """
    frame = ensure_programs(df)
    counts = frame["specialty"].value_counts(sort=True)
    specialties_count = dict(
        zip(counts["specialty"].to_list(), counts["count"].to_list(), strict=True)
    )
    shares: dict[str, float] = {}
    if frame.height:
        exprs = []
        for name in frame.columns:
            if name in REQUIRED_PROGRAM_COLUMNS:
                continue
            unknown = pl.col(name).is_null()
            if name == "visiting_route":
                unknown = unknown | (pl.col(name) == "unknown")
            exprs.append(unknown.mean().alias(name))
        shares = {k: float(v) for k, v in frame.select(exprs).row(0, named=True).items()}
    return {"rows": frame.height, "specialties": specialties_count, "unknown_share": shares}
