"""Reading a table of observed per-program interview rates (a "RATES" table).

Public per-program interview-rate tables have one row per program and one column of rates
per applicant group. This module reads them from CSV or XLSX into a polars frame, and
writes back the rows that could not be used (with spreadsheet formulas neutralised).

Columns, found in the header row (case, spacing and punctuation do not matter; title rows
above the header are skipped; `observed_rates_header_aliases()` lists every accepted header):

==================  ===========================================================  ==========
column              accepted headers (examples)                                  required
==================  ===========================================================  ==========
program             Program, Program Name, Institution                           yes
city                City                                                         no
state               State (a USPS code such as NY, or a name such as New York)   yes
specialty           Specialty (a name or code: Internal Medicine, IM...)          no
md_rate             MD, US MD                                                    at least
do_rate             DO, US DO                                                    one rate
us_img_rate         US IMG                                                       column
non_us_img_rate     Non US IMG, Non-US IMG
==================  ===========================================================  ==========

A rate header may also carry "rate", "interview rate" or "%" ("Non-US IMG interview rate",
"% MD"). Other columns are ignored and named in `ObservedRates.notes`.

Rates. Each cell is the share of that group's applicants whom the program interviewed:

- "0.12" is a share (0-1); "12%" is a percentage (0.12); an XLSX cell formatted as a
  percentage holds its share already.
- A bare number above 1 ("12") cannot be a share. When a rate column holds any bare number
  above 1, or its header says "%" or "percent", **every bare number of that column is read
  as a percentage** (12 -> 0.12, and also 0.5 -> 0.005), and `ObservedRates.notes` says so
  (with an example cell). A column whose bare numbers are all at most 1 is read as
  shares; a percentage column whose values all happen to be 0 or 1 cannot be told apart,
  so write such a column with "%".
- "-", "–", "—", an empty cell, "n/a", "na", "?", "unknown" mean *unknown* (null), never 0.
- Anything else (text, a negative number, more than 100 %, "0,12" with a decimal comma) is
  an error.

Bad input raises one `DataValidationError` listing every problem: the file, the row as a
spreadsheet shows it (the header is row 1 when it is the first row), the column header as
written, the value and what is expected. A cell outside these rules is never guessed.

`write_unjoined_csv` writes the rows an evaluation could not use; every text cell that a
spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) gets
a leading apostrophe (`analysis.data.files.escape_formulas`, shared by every writer).

Formats: CSV, TSV or TXT (UTF-8 with or without BOM, UTF-16 with a BOM, cp1252, then
Latin-1; comma, semicolon or tab delimited), XLSX/XLSM (the first sheet, or `sheet=`), or a
polars or pandas frame whose column names are the headers. Limits: XLS and ODS workbooks
are not read (save as XLSX or CSV); a formula cell is read as the value the spreadsheet
program last computed (a workbook written by a script and never opened has none: unknown);
states are USPS codes or English names of states and territories.
"""

from __future__ import annotations

import csv
import functools
import io as _io
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from warnings import warn

import polars as pl

from analysis.data.files import atomic_output, escape_formulas
from analysis.data.tables import check_workbook, decode_text
from analysis.data.vocabulary import US_STATES, specialties
from analysis.errors import DataValidationError, DataWarning, Problem, file_problem

__all__ = [
    "RATE_COLUMNS",
    "RATE_GROUPS",
    "ObservedRates",
    "observed_rates_header_aliases",
    "read_observed_rates",
    "specialty_code",
    "write_unjoined_csv",
]

RATE_GROUPS: dict[str, str] = {
    "md": "MD",
    "do": "DO",
    "us_img": "US IMG",
    "non_us_img": "Non US IMG",
}
"""Applicant groups of a rates table: key -> the header public tables use."""

RATE_COLUMNS: dict[str, str] = {group: f"{group}_rate" for group in RATE_GROUPS}
"""Applicant group -> column of `ObservedRates.table` holding its rates (0-1, null unknown)."""

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
_HEADER_SEARCH_ROWS = 10
_MAX_PROBLEMS_PER_COLUMN = 200  # a wholly wrong column must not build millions of messages

_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "program": ("Program", "Program Name", "Programme", "Program Title", "Institution",
                "Institution Name", "Name"),
    "city": ("City", "Program City", "Location City"),
    "state": ("State", "Program State", "ST", "Location State"),
    "specialty": ("Specialty", "Speciality", "Specialty Name"),
    "md": ("MD", "US MD", "USMD", "MD Seniors", "US MD Seniors", "Allopathic"),
    "do": ("DO", "US DO", "USDO", "DO Seniors", "Osteopathic"),
    "us_img": ("US IMG", "US IMGs", "US-IMG", "US citizen IMG", "US citizen IMGs"),
    "non_us_img": ("Non US IMG", "Non-US IMG", "Non US IMGs", "Non-US IMGs", "NonUS IMG",
                   "Non US citizen IMG", "Non-US citizen IMGs", "Foreign IMG"),
}  # fmt: skip
"""Roles of a rates table and the headers accepted for each."""

_RATE_AFFIXES = re.compile(r"^(?:pct|percent)|(?:interviewrate|interviewed|rate|pct|percent)$")
_UNKNOWN_CELLS = frozenset({"", "-", "--", "–", "—", "n/a", "na", "?", "unknown"})
_RATE_EXPECTED = (
    "a rate from 0 to 1 (0.12), a percentage (12%), or '-' or an empty cell for unknown"
)


def _compact(text: Any) -> str:
    """'Non-US IMG (%)' -> 'nonusimgpct': lower case letters and digits only."""
    raw = "" if text is None else str(text)
    raw = unicodedata.normalize("NFKD", raw.replace("%", " pct ")).casefold()
    return "".join(ch for ch in raw if ch.isalnum() and not unicodedata.combining(ch))


def _build_header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for role, aliases in _HEADER_ALIASES.items():
        for alias in aliases:
            index.setdefault(_compact(alias), role)
    for group in RATE_GROUPS:  # snake_case forms: non_us_img, non_us_img_rate
        index.setdefault(_compact(group), group)
    return index


_HEADER_INDEX = _build_header_index()


def observed_rates_header_aliases() -> dict[str, tuple[str, ...]]:
    """The headers accepted for each column of a rates table (for documentation and help)."""
    return dict(_HEADER_ALIASES)


def _role_of(header: Any) -> str | None:
    """The role of a header: 'program', 'state', 'non_us_img'... or None (ignored)."""
    key = _compact(header)
    if not key:
        return None
    role = _HEADER_INDEX.get(key)
    if role is not None:
        return role
    stripped = key
    for _ in range(3):  # "% Non-US IMG interview rate" -> "nonusimg"
        stripped = _RATE_AFFIXES.sub("", stripped)
    role = _HEADER_INDEX.get(stripped)
    return role if role in RATE_GROUPS else None


@dataclass(frozen=True)
class ObservedRates:
    """A rates table as read: one row per program of the file.

    Attributes:
        table: columns `row` (the spreadsheet row), `program`, `city`, `state` (USPS code),
            `specialty` (code), and one `<group>_rate` column per group of `RATE_GROUPS`
            (share 0-1, null when unknown or when the file has no such column).
        file: the file as named in messages (None for a data frame).
        groups: the groups whose column the file has, in `RATE_GROUPS` order.
        has_specialty: the file has a specialty column.
        notes: what a user should know about how the file was read (ignored columns,
            columns read as percentages).
    """

    table: pl.DataFrame
    file: str | None
    groups: tuple[str, ...]
    has_specialty: bool
    notes: tuple[str, ...] = ()

    def require_group(self, group: str) -> str:
        """The rate column of `group`, or a `DataValidationError` if the file has none."""
        if group not in RATE_GROUPS:
            raise ValueError(f"group must be one of {', '.join(RATE_GROUPS)}; got {group!r}")
        if group not in self.groups:
            present = ", ".join(repr(RATE_GROUPS[g]) for g in self.groups) or "none"
            raise DataValidationError(
                [
                    file_problem(
                        self.file,
                        f"no {RATE_GROUPS[group]!r} column of rates (rate columns found: "
                        f"{present})",
                    )
                ]
            )
        return RATE_COLUMNS[group]


# --------------------------------------------------------------------------- raw cells


def _csv_grid(path: Path, label: str) -> list[list[str]]:
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise DataValidationError([file_problem(label, "the file is empty")])
    text, _, warnings = decode_text(data, label)
    text = text.lstrip("\ufeff")
    for warning in warnings:
        warn(warning, DataWarning, stacklevel=3)
    first = text.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    delimiter = max(counts, key=lambda sep: counts[sep])
    if counts[delimiter] <= counts[","]:
        delimiter = ","
    try:
        return list(csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise DataValidationError(
            [file_problem(label, f"could not read the file as CSV ({error})")]
        ) from None


def _excel_text(cell: Any) -> str | None:
    """An openpyxl cell as text; percent-formatted numbers as '12%' (their share x 100)."""
    value = getattr(cell, "value", None)
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if "%" in str(getattr(cell, "number_format", "") or ""):
            return f"{round(float(value) * 100, 10):g}%"
        return f"{value:.15g}" if isinstance(value, float) else str(value)
    return str(value)


def _xlsx_grid(path: Path, label: str, sheet: str | None) -> list[list[str | None]]:
    import openpyxl

    check_workbook(path, label)  # a zip bomb is refused before any parsing
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a broken archive
        detail = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        raise DataValidationError(
            [file_problem(label, f"could not read the workbook ({detail}); is it a valid XLSX?")]
        ) from None
    try:
        names = list(workbook.sheetnames)
        if sheet is None:
            sheet = names[0]
        elif sheet not in names:
            shown = ", ".join(repr(n) for n in names)
            raise DataValidationError(
                [file_problem(label, f"no sheet named {sheet!r}; the sheets are {shown}")]
            )
        worksheet = workbook[sheet]
        worksheet.reset_dimensions()  # trust the cells, not the dimension the writer stored
        grid: list[list[str | None]] = []
        for cells in worksheet.iter_rows():
            row_number = next((c.row for c in cells if getattr(c, "row", None)), None)
            if row_number is not None:
                while len(grid) < row_number - 1:  # rows absent from the XML are empty
                    grid.append([])
            grid.append([_excel_text(cell) for cell in cells])
        return grid
    finally:
        workbook.close()


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and type(obj).__name__ == "DataFrame"


def _pandas_grid(frame: Any) -> list[list[Any]]:
    """A pandas frame as a grid of text (no pyarrow needed): header, then rows."""
    header = [str(c) for c in frame.columns]
    body = frame.astype(object).where(frame.notna(), None).values.tolist()
    return [header, *[[None if v is None else str(v) for v in row] for row in body]]


def _frame_grid(frame: pl.DataFrame) -> list[list[Any]]:
    if frame.width == 0:
        raise DataValidationError([file_problem(None, "the table has no columns")])
    header: list[Any] = list(frame.columns)
    body = frame.select(pl.all().cast(pl.String)).rows()
    return [header, *[list(row) for row in body]]


# --------------------------------------------------------------------------- parsing


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _find_header(grid: Sequence[Sequence[Any]], label: str | None) -> int:
    nonempty = [i for i, row in enumerate(grid) if any(_clean(v) for v in row)]
    if not nonempty:
        raise DataValidationError([file_problem(label, "the file is empty")])
    for index in nonempty[:_HEADER_SEARCH_ROWS]:
        roles = {_role_of(v) for v in grid[index]}
        if "program" in roles and roles & set(RATE_GROUPS):
            return index
    first = grid[nonempty[0]]
    shown = ", ".join(repr(_clean(v)) for v in first if _clean(v)) or "(nothing)"
    raise DataValidationError(
        [
            file_problem(
                label,
                "no header row of a rates table in the first rows: it needs a 'Program' column,"
                " a 'State' column and at least one column of rates ('MD', 'DO', 'US IMG', "
                f"'Non US IMG'). The first row reads: {shown}",
            )
        ]
    )


@functools.cache
def _state_lookup() -> dict[str, str]:
    """USPS codes and state names (the program table's vocabulary) -> USPS code."""
    index = {_compact(code): code for code in US_STATES}
    index.update({_compact(name): code for code, name in US_STATES.items()})
    index.update({"washingtondc": "DC", "virginislands": "VI", "usvirginislands": "VI"})
    return index


@functools.cache
def _specialty_lookup() -> dict[str, str]:
    index: dict[str, str] = {}
    for code, spec in specialties().items():
        labels = (code, spec.name, *spec.aliases, spec.interview_ref or "")
        for label in labels:
            for variant in (label, label.replace("&", " and ")):
                if _compact(variant):
                    index.setdefault(_compact(variant), code)
    return index


def specialty_code(text: str) -> str:
    """A specialty code from its code, name or an alias ('Internal Medicine' -> 'IM').

    Raises:
        ValueError: not a known specialty (the message lists the codes).
    """
    code = _specialty_lookup().get(_compact(text))
    if code is None:
        raise ValueError(
            f"unknown specialty {text!r}; use a name or one of {', '.join(specialties())}"
        )
    return code


@dataclass
class _Columns:
    """Header positions of each role, plus what was ignored."""

    positions: dict[str, int]
    headers: dict[str, str]
    ignored: list[str]


def _assign(header_row: Sequence[Any], label: str | None) -> tuple[_Columns, list[Problem]]:
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    for position, value in enumerate(header_row):
        header = _clean(value)
        if header is None:
            continue
        role = _role_of(header)
        if role is None:
            ignored.append(header)
        elif role in positions:
            problems.append(
                file_problem(
                    label,
                    f"two columns give the same information ({headers[role]!r} and "
                    f"{header!r}); keep one",
                    header,
                )
            )
        else:
            positions[role], headers[role] = position, header
    if "state" not in positions:
        problems.append(
            file_problem(
                label,
                "missing the 'State' column (programs are joined on name and state)",
                "State",
            )
        )
    return _Columns(positions, headers, ignored), problems


def _cell_problems(
    mask: pl.Series,
    values: pl.Series,
    rows: pl.Series,
    header: str,
    label: str | None,
    expected: str,
) -> list[Problem]:
    """One problem per flagged cell (the first `_MAX_PROBLEMS_PER_COLUMN`, then a count)."""
    hits = mask.fill_null(False).arg_true()
    problems = [
        Problem(label, int(rows[i]), header, values[i], expected)
        for i in hits.head(_MAX_PROBLEMS_PER_COLUMN).to_list()
    ]
    if hits.len() > _MAX_PROBLEMS_PER_COLUMN:
        more = hits.len() - _MAX_PROBLEMS_PER_COLUMN
        problems.append(file_problem(label, f"{more} more cells like these", header))
    return problems


def _parse_rates(
    text: pl.Series, rows: pl.Series, header: str, label: str | None
) -> tuple[pl.Series, list[Problem], str | None]:
    """Text cells of one rate column -> shares (0-1), the problems, and a note if percent."""
    lowered = text.str.strip_chars().str.to_lowercase()
    unknown = lowered.is_null() | lowered.is_in(sorted(_UNKNOWN_CELLS))
    percent = lowered.str.ends_with("%").fill_null(False)
    body = lowered.str.strip_suffix("%").str.strip_chars()
    number = body.cast(pl.Float64, strict=False)
    number = pl.select(pl.when(number.is_nan()).then(None).otherwise(number)).to_series()
    unreadable = ~unknown & number.is_null()
    bare = ~unknown & ~percent & number.is_not_null()
    bare_above_one = bare & (number > 1)
    note = None
    header_says_percent = "%" in header or "percent" in header.casefold()
    percent_column = header_says_percent or bool(bare_above_one.any())
    if header_says_percent:
        note = (
            f"column {header!r} was read as percentages because its header says so: every "
            "bare number of that column was divided by 100"
        )
    elif percent_column:
        first = int(bare_above_one.arg_true()[0])
        note = (
            f"column {header!r} was read as percentages because it holds bare numbers above 1 "
            f"(row {rows[first]}: {text[first]!r} -> {float(number[first]) / 100:g}); every "
            "bare number of that column was divided by 100"
        )
    scale = pl.when(percent | pl.lit(percent_column)).then(0.01).otherwise(1.0)
    share = pl.select((pl.lit(number) * scale).alias(header)).to_series()
    out_of_range = ~unknown & ~unreadable & ((share < 0) | (share > 1))
    problems: list[Problem] = []
    for mask, expected in (
        (unreadable, _RATE_EXPECTED),
        (
            out_of_range,
            "a rate from 0 to 1 or a percentage from 0% to 100%"
            + (" (this column is read as percentages)" if percent_column else ""),
        ),
    ):
        problems.extend(_cell_problems(mask, text, rows, header, label, expected))
    share = pl.select(
        pl.when(pl.lit(unknown | unreadable | out_of_range)).then(None).otherwise(pl.lit(share))
    ).to_series()
    return share, problems, note


def _lookup_column(
    text: pl.Series,
    rows: pl.Series,
    header: str,
    label: str | None,
    index: dict[str, str],
    expected: str,
) -> tuple[pl.Series, list[Problem]]:
    """Map text cells through a compact-key index (vectorized over distinct values)."""
    distinct = text.drop_nulls().unique().to_list()
    mapping = {value: index.get(_compact(value)) for value in distinct}
    unknown_cells = {"n/a", "na", "?", "unknown", "-", "–", "—"}
    bad = {v for v, code in mapping.items() if code is None and v.casefold() not in unknown_cells}
    problems = _cell_problems(text.is_in(sorted(bad)), text, rows, header, label, expected)
    codes = text.replace_strict(mapping, default=None, return_dtype=pl.String)
    return codes, problems


def _parse_grid(grid: list[list[Any]], label: str | None, *, first_row: int = 1) -> ObservedRates:
    header_index = _find_header(grid, label)
    columns, problems = _assign(grid[header_index], label)
    body = grid[header_index + 1 :]
    width = max((len(r) for r in body), default=0)
    width = max(width, len(grid[header_index]))
    numbers = [first_row + header_index + 1 + i for i in range(len(body))]
    kept = [
        (n, list(r) + [None] * (width - len(r)))
        for n, r in zip(numbers, body, strict=True)
        if any(_clean(v) for v in r)
    ]
    if not kept:
        problems.append(file_problem(label, "the file has a header row but no data rows"))
        raise DataValidationError(problems, source=label)
    rows = pl.Series("row", [n for n, _ in kept], dtype=pl.Int64)

    def cells(role: str) -> pl.Series:
        position = columns.positions.get(role)
        if position is None:
            return pl.Series(role, [None] * len(kept), dtype=pl.String)
        return pl.Series(role, [_clean(r[position]) for _, r in kept], dtype=pl.String)

    program = cells("program")
    problems.extend(
        _cell_problems(
            program.is_null(),
            program,
            rows,
            columns.headers["program"],
            label,
            "a program name is required on every row",
        )
    )
    out: dict[str, pl.Series] = {"row": rows, "program": program, "city": cells("city")}
    out.update(_place_columns(cells, columns, rows, label, problems))
    notes: list[str] = []
    out.update(_rate_columns(cells, columns, rows, label, problems, notes))
    groups = tuple(g for g in RATE_GROUPS if g in columns.positions)
    if problems:
        raise DataValidationError(problems, source=label)
    if columns.ignored:
        notes.insert(0, "columns ignored: " + ", ".join(repr(h) for h in columns.ignored))
    table = pl.DataFrame(out).with_columns(
        pl.col(RATE_COLUMNS[g]).cast(pl.Float64) for g in RATE_GROUPS
    )
    return ObservedRates(
        table=table,
        file=label,
        groups=groups,
        has_specialty="specialty" in columns.positions,
        notes=tuple(notes),
    )


def _place_columns(
    cells: Any, columns: Any, rows: pl.Series, label: str | None, problems: list[Problem]
) -> dict[str, pl.Series]:
    """State and specialty, read through their lookups (problems appended)."""
    out: dict[str, pl.Series] = {}
    lookups = {
        "state": (_state_lookup(), "a USPS state code (NY, TX, PR...) or a state name (New York)"),
        "specialty": (
            _specialty_lookup(),
            f"a specialty name or code ({', '.join(specialties())})",
        ),
    }
    for role, (lookup, expected) in lookups.items():
        raw = cells(role)
        if role not in columns.positions:
            out[role] = raw
            continue
        out[role], found = _lookup_column(raw, rows, columns.headers[role], label, lookup, expected)
        problems.extend(found)
    return out


def _rate_columns(
    cells: Any,
    columns: Any,
    rows: pl.Series,
    label: str | None,
    problems: list[Problem],
    notes: list[str],
) -> dict[str, pl.Series]:
    """One share column per applicant group (null where unknown or absent)."""
    out: dict[str, pl.Series] = {}
    for group in RATE_GROUPS:
        if group in columns.positions:
            share, found, note = _parse_rates(cells(group), rows, columns.headers[group], label)
            problems.extend(found)
            if note:
                notes.append(note)
        else:
            share = pl.Series([None] * len(rows), dtype=pl.Float64)
        out[RATE_COLUMNS[group]] = share.alias(RATE_COLUMNS[group])
    return out


def read_observed_rates(source: Any, *, sheet: str | None = None) -> ObservedRates:
    """Read a rates table (see the module docstring for the format and the rules).

    Args:
        source: a path (`.csv`, `.tsv`, `.txt`, `.xlsx`, `.xlsm`), or a polars or pandas
            frame whose column names are the headers (rows numbered as if the header were
            row 1).
        sheet: the workbook sheet to read (default: the first).

    Returns:
        The table, with the groups found and notes on how it was read.

    Raises:
        FileNotFoundError: no such file.
        DataValidationError: every problem of the file, with row, column, value and what
            is expected.

    Example:
        >>> rates = read_observed_rates("data/private/im_interview_rates.csv")
        >>> rates.table.select("program", "state", "non_us_img_rate")
    """
    if isinstance(source, ObservedRates):
        return source
    if isinstance(source, pl.DataFrame):
        return _parse_grid(_frame_grid(source), None)
    if _is_pandas(source):
        if len(source.columns) == 0:
            raise DataValidationError([file_problem(None, "the table has no columns")])
        return _parse_grid(_pandas_grid(source), None)
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"expected a path or a data frame, got {type(source).__name__}")
    path = Path(source)
    label = str(source)
    if path.is_dir():
        raise DataValidationError([file_problem(label, "is a folder; give a rates table file")])
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", label)
    suffix = path.suffix.lower()
    if sheet is not None and suffix not in XLSX_SUFFIXES:
        raise DataValidationError(
            [file_problem(label, f"a sheet can be chosen in XLSX workbooks only, not {suffix}")]
        )
    if suffix in CSV_SUFFIXES:
        grid: list[list[Any]] = list(_csv_grid(path, label))
    elif suffix in XLSX_SUFFIXES:
        grid = list(_xlsx_grid(path, label, sheet))
    else:
        allowed = ", ".join(CSV_SUFFIXES + XLSX_SUFFIXES)
        raise DataValidationError(
            [
                file_problem(
                    label,
                    f"unsupported file type {suffix or '(none)'!r}; save the table as one of "
                    f"{allowed}",
                )
            ]
        )
    return _parse_grid(grid, label)


# --------------------------------------------------------------------------- writing


def write_unjoined_csv(unjoined: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the rows that were not joined as a UTF-8 CSV (with BOM, for Excel), atomically.

    Text cells are made formula-safe (`analysis.data.files.escape_formulas`); list columns are
    written as '; '-separated text. The file appears complete or not at all.

    Returns:
        The path written.
    """
    frame = unjoined.with_columns(
        pl.col(name).cast(pl.List(pl.String)).list.join("; ")
        for name, dtype in unjoined.schema.items()
        if isinstance(dtype, pl.List)
    )
    frame = escape_formulas(frame)
    target = Path(path)
    with atomic_output(target) as tmp, tmp.open("wb") as handle:
        handle.write(b"\xef\xbb\xbf")
        frame.write_csv(handle)
    return target
