"""Raw cells of a table file: CSV, XLSX/XLS/ODS, Parquet or a data frame, before normalization.

Every cell is read as text (Parquet files and data frames keep the columns that already have
a type), with the header row found among the first rows (title rows above it are skipped)
and each record's row number as a spreadsheet shows it (`RawTable`).

- CSV: decoded as UTF-8 (with or without BOM), UTF-16 with a BOM, else line by line, each
  line not UTF-8 read as Windows-1252 (`decode_text`: never mojibake); the delimiter sniffed
  from the first line; rows of different lengths padded.
- Workbooks: a ZIP workbook is refused before parsing when it would unpack to too much
  (`check_workbook`: the "zip bomb" check); the first used row is read from the sheet's XML
  (calamine drops leading blank rows); cells of the percentage columns formatted as a
  percentage in an XLSX file hold a fraction and are scaled to percent
  (`percent_styled_cells`). XLS/ODS workbooks are read without their first-used-row offset.
- Parquet files and polars or pandas frames: typed columns kept, the rest as text.
"""

from __future__ import annotations

import csv
import io as _io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from analysis.data.files import unescape_formulas
from analysis.data.program_headers import FREIDA_INDEX, TRACKER_INDEX, detect_format, header_key
from analysis.errors import NO_VALUE as _NO  # "no single value is at fault"
from analysis.errors import DataValidationError, Problem, file_problem, short_message

__all__ = [
    "CSV_SUFFIXES",
    "EXCEL_SUFFIXES",
    "PARQUET_SUFFIXES",
    "RawTable",
    "check_workbook",
    "decode_text",
    "pandas_to_polars",
    "percent_styled_cells",
    "raw_from_frame",
    "read_csv_cells",
    "read_table_cells",
]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
PARQUET_SUFFIXES = (".parquet", ".pq")

_HEADER_SEARCH_ROWS = 10


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
        if detect_format(frame.row(index)) is not None:
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
    fmt = detect_format(raw.headers)
    index = FREIDA_INDEX if fmt == "freida" else TRACKER_INDEX
    targets = [
        i for i, header in enumerate(raw.headers) if index.get(header_key(header)) in _PERCENT_ROLES
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
    raw = raw_from_frame(frame, label, path.name)
    raw.kind = "parquet"
    return raw


def raw_from_frame(frame: pl.DataFrame, label: str | None, name: str) -> RawTable:
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


def pandas_to_polars(frame: Any) -> pl.DataFrame:
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


def read_table_cells(path: Path, label: str, sheet: str | None) -> RawTable:
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
