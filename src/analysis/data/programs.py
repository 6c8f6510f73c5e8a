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
   too. `tracker_header_aliases()` lists every accepted header.
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
"""

from __future__ import annotations

import csv
import io as _io
import os
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from analysis.data import normalize as nz
from analysis.data.files import unescape_formulas
from analysis.data.schemas import (
    REQUIRED_PROGRAM_COLUMNS,
    is_canonical,
    polars_schema,
    program_column,
    program_columns,
    slugify,
)
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
    "check_workbook",
    "clear_cache",
    "decode_text",
    "ensure_programs",
    "inspect_programs",
    "load_programs",
    "read_csv_cells",
    "summarize_programs",
    "tracker_header_aliases",
]

UnknownSpecialty = Literal["error", "skip"]
Format = Literal["canonical", "tracker", "freida"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
PARQUET_SUFFIXES = (".parquet", ".pq")

_HEADER_SEARCH_ROWS = 10
_CACHE_SIZE = 16

# --------------------------------------------------------------------------- headers


def _header_key(text: Any) -> str:
    """'Application route (VSLO/direct)' -> 'applicationroutevslodirect'; '% IMG' -> 'pctimg'."""
    raw = "" if text is None else str(text)
    raw = raw.replace("%", " pct ").replace("#", " number ")
    return nz._compact(raw)


_TRACKER_ALIASES: dict[str, tuple[str, ...]] = {
    "program_name": ("Program", "Program name", "Programme", "Institution", "Hospital",
                     "Name", "Program (name)"),
    "specialty_track": ("IR/DR", "DR/IR", "Specialty", "Speciality", "Specialty/Track",
                        "Specialty track", "Specialty and track", "Field"),
    "track": ("Track",),
    "visa": ("Visa for residents", "Visa", "Visas", "Visa sponsorship", "Visa sponsored",
             "Visas sponsored", "Visa support", "Visa status", "Visas accepted",
             "Visa policy", "Resident visa", "Visa (residents)", "Visa for residency"),
    "imgs_present": ("IMGs present", "IMG present", "IMGs", "IMG residents",
                     "IMGs in program", "IMGs in DR/IR", "IMGs in IR/DR",
                     "History of IMGs", "Current IMGs", "IMG residents present"),
    "pct_img_residents": ("% IMG", "% IMGs", "IMG %", "Percent IMG", "Percent IMGs",
                          "IMG share", "Pct IMG", "% IMG residents"),
    "pct_non_us_img_residents": ("% non-US IMG", "% non-US IMGs", "Non-US IMG %"),
    "ir_structure": ("IR structure", "IR pathway", "IR program structure"),
    "visiting_policy": ("Visiting student policy", "Visiting students", "Visiting policy",
                        "Visiting student", "IMG visiting students", "Away rotation policy",
                        "Visiting students policy", "Accepts IMG visiting students"),
    "visiting_route": ("Application route (VSLO/direct)", "Application route", "Route",
                       "How to apply", "VSLO/direct", "VSLO or direct",
                       "Application method"),
    "application_deadline": ("Deadlines", "Deadline", "Application deadline",
                             "Visiting deadline", "Rotation deadline"),
    "visiting_fee_usd": ("Fees", "Fee", "Application fee", "Visiting fee", "Fees (USD)",
                         "Fee (USD)", "Fees ($)", "Fee ($)", "Cost", "Rotation fee"),
    "city": ("City", "Location city"),
    "state": ("State", "Location state", "ST"),
    "program_type": ("Program type", "Type", "Setting", "Program best described as"),
    "notes": ("Notes", "Note", "Comments", "Comment", "Remarks"),
    "pgy1_positions": ("Positions", "PGY-1 positions", "PGY1 positions",
                       "First-year positions", "Spots", "# positions", "Number of positions"),
    "interviews_last_year": ("Interviews", "Interviews last year", "Interviews conducted"),
    "min_step2_score": ("Step 2 CK minimum", "Step 2 minimum", "Step 2 CK min",
                        "Min Step 2", "Min Step 2 CK", "Minimum Step 2 CK", "Step 2 CK cutoff",
                        "Step 2 cutoff", "Step 2 CK cut-off"),
    "yog_cutoff_years": ("YOG cutoff", "YOG cutoff (years)", "Graduation cutoff",
                         "Years since graduation", "YOG", "Year of graduation cutoff"),
    "usce_required_months": ("USCE required", "USCE required (months)", "USCE months",
                             "USCE"),
    "max_attempts": ("Max attempts", "Attempts allowed", "USMLE attempts", "Max USMLE attempts"),
    "esir_available": ("ESIR", "ESIR available"),
    "accepts_graduates_for_rotations": ("Graduates accepted", "Accepts graduates",
                                        "Externship for graduates", "Externships for graduates",
                                        "Graduate externship", "Graduate externships",
                                        "Rotations for graduates",
                                        "Hands-on rotations for graduates"),
    "signal": ("Signal", "Signals", "Program signal", "Signaled", "Signal sent"),
    "pct_us_md_residents": ("% US MD", "% USMD", "US MD %", "Percent US MD"),
    "pct_do_residents": ("% DO", "DO %", "Percent DO"),
    "source": ("Source",),
    "last_verified": ("Last verified", "Verified", "Date verified", "Date checked",
                      "Last checked"),
    "program_id": ("Program ID", "ID"),
}  # fmt: skip
"""Tracker roles and the headers accepted for each (compared without case or punctuation)."""


def tracker_header_aliases() -> dict[str, tuple[str, ...]]:
    """The tracker headers accepted for each role (for documentation and error messages)."""
    return dict(_TRACKER_ALIASES)


def _build_header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for role, aliases in _TRACKER_ALIASES.items():
        for alias in aliases:
            index.setdefault(_header_key(alias), role)
    for spec in program_columns():
        index.setdefault(_header_key(spec.name), spec.name)
    index[_header_key("sponsors_j1")] = "sponsors_j1"
    index[_header_key("sponsors_h1b")] = "sponsors_h1b"
    return index


_TRACKER_INDEX = _build_header_index()
_CANONICAL_INDEX = {_header_key(spec.name): spec.name for spec in program_columns()}
_FREIDA_COLUMNS = {
    "program_id": "program_id",
    "program_name_suffix": "program_name",
    "city": "city",
    "state": "state",
    "specialty_title": "specialty_track",
    "first_year_positions": "pgy1_positions",
    "interviews_conducted_last_year": "interviews_last_year",
    "pct_img": "pct_img_residents",
    "pct_usmd": "pct_us_md_residents",
    "pct_do": "pct_do_residents",
    "program_best_described_as": "program_type",
    "visa_statuses_accepted": "visa_list",
    "data_last_updated": "last_verified",
}
_FREIDA_INDEX = {_header_key(name): role for name, role in _FREIDA_COLUMNS.items()}
_FREIDA_REQUIRED = ("program_id", "program_name_suffix", "specialty_title")

_FORMAT_HELP = (
    "the header row matches no known program-table format. A canonical table needs the "
    "columns program_id, program_name and specialty (see `analysis.program_columns()`); an "
    "applicant's tracker needs a 'Program' column and a specialty column ('IR/DR', "
    "'Specialty' or 'Track'), plus any of 'Visa for residents', 'IMGs present', 'Visiting "
    "student policy', 'Application route (VSLO/direct)', 'Deadlines', 'Fees'; a FREIDA "
    "export needs program_id, program_name_suffix and specialty_title"
)


def _detect_format(headers: Sequence[Any]) -> Format | None:
    """'freida', 'canonical', 'tracker', or None when the headers match no format."""
    keys = {_header_key(h) for h in headers if h is not None and str(h).strip()}
    if _header_key("specialty_title") in keys and (
        _header_key("program_name_suffix") in keys or _header_key("visa_statuses_accepted") in keys
    ):
        return "freida"
    roles = {_TRACKER_INDEX[k] for k in keys if k in _TRACKER_INDEX}
    tracker_only = {k for k in keys if k in _TRACKER_INDEX and k not in _CANONICAL_INDEX}
    required = {_header_key(name) for name in REQUIRED_PROGRAM_COLUMNS}
    has_name = "program_name" in roles
    has_specialty = bool(roles & {"specialty", "specialty_track", "track"})
    if required <= keys and not tracker_only:
        return "canonical"
    if tracker_only and has_name:
        return "tracker"
    if _header_key("program_id") in keys and keys & required - {_header_key("program_id")}:
        return "canonical"  # a canonical table missing a required column: reported as such
    if has_name and has_specialty:
        return "tracker"
    return None


# --------------------------------------------------------------------------- raw reading


@dataclass
class RawTable:
    """Cells of a table as text, before normalization (also read by `analysis.data.applicants`)."""

    file: str | None  # as shown in messages
    name: str  # file name for `source`
    headers: list[str]  # header texts, in column order (may repeat or be empty)
    columns: list[pl.Series]  # one String series per header (or typed, for frames)
    rows: pl.Series  # spreadsheet row number of each record
    excel: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    kind: str = "csv"
    warnings: list[str] = field(default_factory=list)  # repaired on reading (LoadInfo)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def decode_text(data: bytes, label: str) -> tuple[str, str, list[str]]:
    """The text of a CSV file, its encoding, and warnings about lines read as cp1252.

    Every reader of text tables should decode with this (UTF-16 by BOM, else UTF-8, else
    line by line), so no file is ever turned into mojibake.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as error:
            raise DataValidationError(
                [file_problem(label, f"not valid UTF-16 text ({error.reason})")]
            ) from None
    if data.startswith(b"PK\x03\x04"):
        raise DataValidationError(
            [
                file_problem(
                    label,
                    "this is a ZIP/Excel workbook, not a text file: give it the .xlsx extension",
                )
            ]
        )
    if b"\x00" in data:
        raise DataValidationError(
            [
                file_problem(
                    label,
                    "not a text file (it contains binary data); save the table as "
                    "CSV (UTF-8) or XLSX",
                )
            ]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _decode_lines(data, label)
    return text, "utf-8 (with BOM)" if data.startswith(b"\xef\xbb\xbf") else "utf-8", []


_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_LINES_SHOWN = 10


def _decode_lines(data: bytes, label: str) -> tuple[str, str, list[str]]:
    """Text that is not all UTF-8: each line as UTF-8 if it is, else as Windows-1252.

    (Bytes that Windows-1252 leaves undefined are read as Latin-1, which maps every byte.)

    Why line by line: real exports are UTF-8 with a row or two pasted from a Windows program;
    decoding the whole file as cp1252 would turn every UTF-8 accent into mojibake ("Bogotá"
    into "BogotÃ¡"). A file whose non-ASCII lines are all cp1252 is simply a cp1252 file (no
    warning). A line that holds UTF-8 sequences *and* invalid bytes mixes encodings: no
    decoding of it is right, so it stops the load with its line number.
    """
    lines = data.split(b"\n")
    texts: list[str] = []
    fallback: list[int] = []
    utf8_seen = latin1 = False
    for number, line in enumerate(lines, start=1):
        try:
            texts.append(line.decode("utf-8"))
            utf8_seen = utf8_seen or not line.isascii()
            continue
        except UnicodeDecodeError:
            pass
        if _UTF8_SEQUENCE.search(line):
            raise _mixed_line(label, number, "mixes UTF-8 and another encoding")
        try:
            texts.append(line.decode("cp1252"))
        except UnicodeDecodeError:  # bytes cp1252 leaves undefined: Latin-1 maps every byte
            texts.append(line.decode("latin-1"))
            latin1 = True
        fallback.append(number)
    text = "\n".join(texts)
    if not utf8_seen:
        return text, "latin-1" if latin1 else "cp1252", []
    shown = ", ".join(str(n) for n in fallback[:_LINES_SHOWN])
    more = f" and {len(fallback) - _LINES_SHOWN:,} more" if len(fallback) > _LINES_SHOWN else ""
    one = len(fallback) == 1
    lines_read = (
        "1 line is not UTF-8 and was" if one else f"{len(fallback):,} lines are not UTF-8 and were"
    )
    warning = (
        f"{label}: {lines_read} read as Windows-1252 (cp1252): line{'' if one else 's'} "
        f"{shown}{more}; check {'its' if one else 'their'} accents, or save the file as UTF-8"
    )
    return text, f"utf-8 ({len(fallback):,} cp1252 line{'' if one else 's'})", [warning]


def _mixed_line(label: str, number: int, what: str) -> DataValidationError:
    return DataValidationError(
        [
            Problem(label, None, None, _NO,
                    f"line {number} {what}; save the file as UTF-8 (in Excel: CSV UTF-8)",
                    line=number)
        ],
        source=label,
    )  # fmt: skip


def _sniff_delimiter(text: str, suffix: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    if suffix == ".tsv" and counts["\t"]:
        return "\t"
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def read_csv_cells(path: Path, label: str) -> RawTable:
    """Every cell of a CSV file as text, with its encoding and delimiter detected."""
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise DataValidationError([file_problem(label, "the file is empty")])
    text, encoding, warnings_ = decode_text(data, label)
    text = text.lstrip("\ufeff")
    delimiter = _sniff_delimiter(text, path.suffix.lower())
    payload = text.encode("utf-8")
    try:
        frame = pl.read_csv(
            _io.BytesIO(payload),
            has_header=False,
            infer_schema=False,
            separator=delimiter,
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        frame = _read_ragged_csv(text, delimiter)
    raw = _raw_from_grid(frame, label, path.name, first_row=1)
    raw.encoding, raw.delimiter, raw.kind = encoding, delimiter, "csv"
    raw.warnings.extend(warnings_)
    return raw


def _read_ragged_csv(text: str, delimiter: str) -> pl.DataFrame:
    """CSV whose rows differ in length (polars refuses them): pad every row to the widest.

    Cells beyond the header then land in unnamed columns, which are reported as ignored.
    """
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))  # a cell may be the whole file
    records = list(csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter))
    width = max((len(record) for record in records), default=0)
    padded = [record + [""] * (width - len(record)) for record in records]
    return pl.DataFrame(padded, schema=[f"column_{i}" for i in range(width)], orient="row")


def _raw_from_grid(frame: pl.DataFrame, label: str, name: str, *, first_row: int) -> RawTable:
    """Find the header row of a text grid (title rows above it are skipped)."""
    frame = frame.select(
        unescape_formulas(pl.col(c).str.strip_chars()).replace("", None).alias(c)
        for c in frame.columns
    )  # cells escaped by our writers ("'=x") read back as written (files.spreadsheet_safe)
    nonempty = frame.select(pl.any_horizontal(pl.all().is_not_null()).alias("x"))["x"]
    candidates = nonempty.arg_true().to_list()
    if not candidates:
        raise DataValidationError([file_problem(label, "the file is empty")])
    header_index = candidates[0]
    for index in candidates[:_HEADER_SEARCH_ROWS]:
        if _detect_format(frame.row(index)) is not None:
            header_index = index
            break
    headers = ["" if h is None else str(h) for h in frame.row(header_index)]
    body = frame.slice(header_index + 1)
    rows = pl.Series(
        "__row",
        range(first_row + header_index + 1, first_row + header_index + 1 + body.height),
        dtype=pl.Int64,
    )
    keep = body.select(pl.any_horizontal(pl.all().is_not_null()).alias("x"))["x"]
    body = body.filter(keep)
    rows = rows.filter(keep)
    columns = [body.get_column(c) for c in body.columns]
    return RawTable(file=label, name=name, headers=headers, columns=columns, rows=rows)


_WORKBOOK_LIMIT = 512 << 20
"""Most bytes a workbook may unpack to (the national table of 5,000 programs is 6 MB)."""
_WORKBOOK_RATIO = 100
"""Highest compression ratio of a large part of a workbook (real sheets compress about 10:1)."""
_RATIO_FROM = 16 << 20
_WORKBOOK_PARTS = 10_000


def check_workbook(path: Path, label: str) -> None:
    """Refuse a workbook that is not a ZIP archive, or that would unpack to too much.

    XLSX, XLSM and ODS files are ZIP archives: a 2 MB "zip bomb" unpacks to gigabytes and
    the reader would hold them in memory. Before any parsing, the archive's table of
    contents is checked (size of every part, compression ratio of the large ones), then the
    parts are unpacked as a stream and counted (table-of-contents sizes can lie), stopping
    as soon as the limit is passed. Nothing is kept in memory.
    """
    import zipfile

    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".ods"):
        return  # .xls workbooks are not ZIP archives (and not compressed)
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        expected = (
            f"not a valid {suffix} workbook (not a ZIP archive: {short_message(error)}); open "
            "it in Excel and save it again, or save the table as CSV"
        )
        raise DataValidationError([file_problem(label, expected)], source=label) from None
    refuse = _workbook_refusal(parts)
    if refuse is None:
        unpacked = _unpacked_size(path, parts, _WORKBOOK_LIMIT)
        if unpacked > _WORKBOOK_LIMIT:
            refuse = f"unpacks to more than {_WORKBOOK_LIMIT >> 20:,} MB"
    if refuse is not None:
        expected = (
            f"{refuse}; refused before reading it (a workbook of 100,000 programs unpacks to "
            "about 110 MB): save the table as CSV, or check where the file comes from"
        )
        raise DataValidationError([file_problem(label, expected)], source=label)


def _workbook_refusal(parts: list[Any]) -> str | None:
    """Why a workbook's table of contents is refused (None if it is fine)."""
    import zipfile

    if len(parts) > _WORKBOOK_PARTS:
        return f"holds {len(parts):,} parts (a workbook has a few dozen)"
    declared = sum(part.file_size for part in parts)
    if declared > _WORKBOOK_LIMIT:
        return f"unpacks to {declared / (1 << 20):,.0f} MB (more than {_WORKBOOK_LIMIT >> 20} MB)"
    for part in parts:
        if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return f"part {part.filename!r} uses a compression workbooks do not use"
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > _RATIO_FROM and ratio > _WORKBOOK_RATIO:
            return (
                f"part {part.filename!r} is compressed {ratio:,.0f} to 1 (a workbook's large "
                f"parts are at most {_WORKBOOK_RATIO} to 1)"
            )
    return None


def _unpacked_size(path: Path, parts: list[Any], limit: int) -> int:
    """The real unpacked size of the archive's parts, counted up to just past `limit`."""
    import struct
    import zipfile
    import zlib

    total = 0
    with path.open("rb") as handle:
        for part in parts:
            handle.seek(part.header_offset)
            header = handle.read(30)
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                raise zipfile.BadZipFile(f"bad local header for {part.filename!r}")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            handle.seek(part.header_offset + 30 + name_length + extra_length)
            left = part.compress_size
            if part.compress_type == zipfile.ZIP_STORED:
                total += left
                continue
            inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            while left > 0 and total <= limit:
                chunk = handle.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
                while chunk and total <= limit:
                    total += len(inflate.decompress(chunk, 1 << 20))
                    chunk = inflate.unconsumed_tail
            if total > limit:
                return total
    return total


def _read_excel_cells(path: Path, label: str, sheet: str | None) -> RawTable:
    import fastexcel

    check_workbook(path, label)
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as error:  # fastexcel raises its own error types
        raise DataValidationError(
            [
                file_problem(
                    label,
                    f"could not read the workbook ({short_message(error)}); is it a valid "
                    f"{path.suffix} file?",
                )
            ]
        ) from None
    names = list(reader.sheet_names)
    if sheet is None:
        if not names:
            raise DataValidationError([file_problem(label, "the workbook has no sheets")])
        sheet = names[0]
    elif sheet not in names:
        raise DataValidationError(
            [
                file_problem(
                    label,
                    f"no sheet named {sheet!r}; the sheets are {', '.join(repr(n) for n in names)}",
                )
            ]
        )
    try:
        loaded = reader.load_sheet(sheet, header_row=None, dtypes="string")
        frame = loaded.to_polars()
    except Exception as error:
        raise DataValidationError(
            [file_problem(label, f"could not read sheet {sheet!r} ({short_message(error)})")]
        ) from None
    if frame.width == 0 or frame.height == 0:
        others = [name for name in names if name != sheet]
        hint = f"; the other sheets are {', '.join(map(repr, others))}" if others else ""
        raise DataValidationError([file_problem(label, f"sheet {sheet!r} is empty{hint}")])
    frame = frame.rename({c: f"column_{i}" for i, c in enumerate(frame.columns)})
    first_row = _excel_first_row(path, sheet)
    raw = _raw_from_grid(frame, label, path.name, first_row=first_row)
    raw.excel, raw.sheet, raw.kind = True, sheet, "excel"
    raw.columns = _excel_percent_cells(path, sheet, raw, loaded)
    return raw


_XLSX_ROW = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"(\d+)\"[^>]*>(.*?)</(?:\w+:)?row>", re.S)
_XLSX_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is|f)\b")
_XLSX_SCAN_BYTES = 1 << 20


def _excel_first_row(path: Path, sheet: str) -> int:
    """The spreadsheet row of the first cell with a value (calamine drops leading blank rows).

    Reads the sheet's XML from the XLSX archive only until that row (at most 1 MB), because
    openpyxl computes sheet dimensions by parsing the whole sheet when the writer left them
    out. Other workbook types, and anything unexpected, give row 1.
    """
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return 1
    try:
        import zipfile
        from xml.etree import ElementTree

        ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
        ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
        with zipfile.ZipFile(path) as archive:
            book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rel_id = next(
                node.get(f"{ns_rel}id")
                for node in book.iter(f"{ns_main}sheet")
                if node.get("name") == sheet
            )
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            target = next(node.get("Target") for node in rels if node.get("Id") == rel_id)
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            with archive.open(member) as handle:
                head = handle.read(_XLSX_SCAN_BYTES)
        for match in _XLSX_ROW.finditer(head):
            if _XLSX_VALUE.search(match.group(2)):
                return int(match.group(1))
    except Exception:  # a refinement of row numbers; never fail the load on it
        return 1
    return 1


_PERCENT_ROLES = {"pct_img_residents", "pct_non_us_img_residents", "pct_us_md_residents",
                  "pct_do_residents", "imgs_present"}  # fmt: skip


def _excel_percent_cells(path: Path, sheet: str, raw: RawTable, loaded: Any) -> list[pl.Series]:
    """Cells formatted as a percentage hold a fraction (0.4 shows as 40 %): scale them.

    Only the percentage columns of XLSX files, and only when one of their numbers is at most
    1 (otherwise no cell can be a formatted fraction), are scanned (`percent_styled_cells`).
    """
    columns = list(raw.columns)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return columns
    fmt = _detect_format(raw.headers)
    index = _FREIDA_INDEX if fmt == "freida" else _TRACKER_INDEX
    targets = [
        i
        for i, header in enumerate(raw.headers)
        if index.get(_header_key(header)) in _PERCENT_ROLES
    ]
    suspicious = []
    for i in targets:
        numbers = columns[i].cast(pl.Float64, strict=False)
        if ((numbers > 0) & (numbers <= 1)).any():
            suspicious.append(i)
    if not suspicious:
        return columns
    absolute = {i: info.absolute_index + 1 for i, info in enumerate(loaded.selected_columns)}
    wanted = {absolute[i]: i for i in suspicious}
    try:
        by_column = percent_styled_cells(path, sheet, set(wanted))
    except Exception:  # an unusual workbook layout: leave the numbers as they are
        return columns
    percent = {wanted[c]: rows for c, rows in by_column.items()}
    for i, marked in percent.items():
        if not marked:
            continue
        mask = raw.rows.is_in(sorted(marked))
        numbers = columns[i].cast(pl.Float64, strict=False)
        scaled = (numbers * 100).round(10).cast(pl.String)
        columns[i] = (
            pl.select(pl.when(mask & numbers.is_not_null()).then(scaled).otherwise(columns[i]))
            .to_series()
            .alias(columns[i].name)
        )
    return columns


_XLSX = {
    "main": "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}",
    "rel": "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}",
    "pkg": "{http://schemas.openxmlformats.org/package/2006/relationships}",
}
_PERCENT_FORMAT_IDS = frozenset({9, 10})  # built-in number formats "0%" and "0.00%"


def percent_styled_cells(path: Path, sheet: str, columns: set[int]) -> dict[int, set[int]]:
    """Rows of the cells formatted as a percentage, per column (1-based), of one XLSX sheet.

    Read straight from the workbook's XML with a streaming parser (the styles, then the
    sheet's cells' style indices), so a sheet of 50,000 rows takes well under a second where
    opening it cell by cell took tens of seconds.
    """
    import zipfile
    from xml.etree import ElementTree as ET

    m, rel, pkg = _XLSX["main"], _XLSX["rel"], _XLSX["pkg"]
    with zipfile.ZipFile(path) as archive:
        book = ET.fromstring(archive.read("xl/workbook.xml"))
        rid = next(s.get(f"{rel}id") for s in book.iter(f"{m}sheet") if s.get("name") == sheet)
        links = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        target = next(
            r.get("Target") for r in links.iter(f"{pkg}Relationship") if r.get("Id") == rid
        )
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        percent_styles = _percent_styles(ET.fromstring(archive.read("xl/styles.xml")), m)
        found: dict[int, set[int]] = {c: set() for c in columns}
        with archive.open(target) as handle:
            for _, cell in ET.iterparse(handle):
                if cell.tag != f"{m}c":
                    if cell.tag == f"{m}row":
                        cell.clear()
                    continue
                style = cell.get("s")
                if style is not None and int(style) in percent_styles:
                    column, row = _cell_position(cell.get("r", ""))
                    if column in found:
                        found[column].add(row)
    return found


def _percent_styles(styles: Any, m: str) -> set[int]:
    """Indices of the cell styles whose number format shows a percentage."""
    custom = {
        int(f.get("numFmtId", -1))
        for f in styles.iter(f"{m}numFmt")
        if "%" in f.get("formatCode", "")
    }
    xfs = styles.find(f"{m}cellXfs")
    return {
        i
        for i, xf in enumerate([] if xfs is None else xfs.findall(f"{m}xf"))
        if int(xf.get("numFmtId", 0)) in _PERCENT_FORMAT_IDS | custom
    }


def _cell_position(reference: str) -> tuple[int, int]:
    """'AB12' -> (column 28, row 12)."""
    letters = "".join(ch for ch in reference if ch.isalpha())
    column = 0
    for ch in letters.upper():
        column = column * 26 + ord(ch) - 64
    return column, int(reference[len(letters) :] or 0)


def _read_parquet_cells(path: Path, label: str) -> RawTable:
    try:
        frame = pl.read_parquet(path)
    except Exception as error:
        raise DataValidationError(
            [file_problem(label, f"could not read the Parquet file ({short_message(error)})")]
        ) from None
    raw = _raw_from_frame(frame, label, path.name)
    raw.kind = "parquet"
    return raw


def _raw_from_frame(frame: pl.DataFrame, label: str | None, name: str) -> RawTable:
    if frame.width == 0:
        raise DataValidationError([file_problem(label, "the table has no columns")])
    rows = pl.Series("__row", range(2, 2 + frame.height), dtype=pl.Int64)
    columns = []
    for column in frame.columns:
        series = frame.get_column(column)
        if series.dtype == pl.String:
            series = series.str.strip_chars().replace("", None)
        elif not (series.dtype.is_numeric() or series.dtype in (pl.Boolean, pl.Date)):
            series = _as_text(series)
        columns.append(series)
    return RawTable(
        file=label, name=name, headers=list(frame.columns), columns=columns, rows=rows, kind="frame"
    )


def _as_text(series: pl.Series) -> pl.Series:
    """Any column as text: lists (scrapers' visa lists) joined with '; ', the rest cast."""
    try:
        if isinstance(series.dtype, pl.List):
            inner = series.dtype.inner
            element = pl.element()
            if isinstance(inner, pl.Struct) and "value" in [f.name for f in inner.fields]:
                element = element.struct.field("value")
            return series.list.eval(element.cast(pl.String)).list.join("; ").replace("", None)
        return series.cast(pl.String)
    except Exception:  # exotic dtypes (Object...): fall back to str() per value
        values = [None if v is None else str(v) for v in series.to_list()]
        return pl.Series(series.name, values, dtype=pl.String)


def _pandas_to_polars(frame: Any) -> pl.DataFrame:
    import pandas as pd

    frame = frame.reset_index(drop=True)
    series = []
    for name in frame.columns:
        column = frame[name]
        try:
            converted = pl.from_pandas(column)
            if converted.dtype == pl.Object:
                raise TypeError
        except Exception:
            values = [None if pd.isna(v) else str(v) for v in column.tolist()]
            converted = pl.Series(values, dtype=pl.String)
        series.append(converted.alias(str(name)))
    return pl.DataFrame(series)


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


def _assign_roles(raw: RawTable, fmt: Format, work: _Work) -> tuple[list[_Column], list[str]]:
    index = {"canonical": _CANONICAL_INDEX, "tracker": _TRACKER_INDEX, "freida": _FREIDA_INDEX}[fmt]
    columns: list[_Column] = []
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for position, (header, series) in enumerate(zip(raw.headers, raw.columns, strict=True)):
        key = _header_key(header)
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
    fmt = _detect_format(raw.headers)
    if fmt is None:
        shown = ", ".join(repr(h) for h in raw.headers if h)
        raise DataValidationError([file_problem(raw.file, f"{_FORMAT_HELP}. Found: {shown}")])
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
        missing = [
            name for name in _FREIDA_REQUIRED if _FREIDA_INDEX[_header_key(name)] not in roles
        ]
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
            frame = source if isinstance(source, pl.DataFrame) else _pandas_to_polars(source)
            raw = _raw_from_frame(frame, None, "data frame")
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
        lambda: _build(_read_file(path, label, sheet), on_unknown_specialty=on_unknown_specialty),
    )
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = (frame, info)
    return frame.clone(), info


def _read_file(path: Path, label: str, sheet: str | None) -> RawTable:
    """The cells of a program-table file, by extension."""
    suffix = path.suffix.lower()
    if sheet is not None and suffix not in EXCEL_SUFFIXES:
        raise DataValidationError(
            [
                file_problem(
                    label,
                    f"--sheet applies to workbooks ({', '.join(EXCEL_SUFFIXES)}), "
                    f"not to {suffix or 'files without an extension'}",
                )
            ]
        )
    if suffix in CSV_SUFFIXES:
        raw = read_csv_cells(path, label)
    elif suffix in EXCEL_SUFFIXES:
        raw = _read_excel_cells(path, label, sheet)
    elif suffix in PARQUET_SUFFIXES:
        raw = _read_parquet_cells(path, label)
    else:
        allowed = ", ".join(CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES)
        raise DataValidationError(
            [file_problem(label, f"unsupported file type {suffix or '(none)'!r}; use {allowed}")]
        )
    raw.name = path.name
    return raw


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
