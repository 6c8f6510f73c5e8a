"""Writing files: one atomic-write helper, the spreadsheet-formula escape, and the writers.

Method. Every file the package writes (program tables, scores, demo data, reports, their
state, `errors.json`, the index) goes through `atomic_output`: the content is written to a
temporary file beside the target and renamed onto it only when the writer finished, so a
reader never sees a half-written file and an interrupted run leaves the old file (or none).
`atomic_outputs` does the same for several files at once: all are written first, then all
renamed. Temporary files are named `.<name>.<8 hex>.tmp<suffix>`, so a run can recognise
and delete the ones a killed run left.

Spreadsheet formulas. A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return runs as a formula when a CSV is opened in Excel, LibreOffice or Google Sheets
(`=HYPERLINK(...)`, `@SUM(...)`, "CSV injection"). Every CSV and XLSX written here escapes
such cells with ONE helper, `spreadsheet_safe` (`escape_formulas` for a frame): it puts a
leading apostrophe before them, the mark spreadsheets themselves use for "this is text".
The round trip is exact because the convention is a bijection: the writer adds one
apostrophe to a text cell that starts with any number of apostrophes followed by a formula
character, and the reader (`unescape_formulas`, used by `analysis.data.programs` for CSV and
XLSX cells) removes one apostrophe from a cell that starts with one or more apostrophes
followed by a formula character. So "=1+1" is written "'=1+1" and read back "=1+1"; "'=1+1"
(an apostrophe the user typed) is written "''=1+1" and read back "'=1+1"; any other text is
written and read unchanged. Numbers are never escaped (a negative number is a number, not a
formula); XLSX cells are also stored as text cells, so nothing written there is ever a live
formula.

Inputs: target paths and frames or text. Outputs: the files.
Limits: the rename is atomic on one file system (the temporary file is in the target's
folder); a set of files written by `atomic_outputs` is renamed file by file. A CSV written
here and read by another program shows the apostrophe of an escaped cell.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from analysis.errors import DataValidationError, file_problem

__all__ = [
    "FORMULA_START",
    "TEMP_NAME",
    "atomic_output",
    "atomic_outputs",
    "escape_formulas",
    "save_programs",
    "spreadsheet_safe",
    "unescape_formulas",
    "write_programs_csv",
    "write_table",
    "write_text",
]

FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")
"""Text a spreadsheet would run as a formula (after any apostrophes the user typed)."""

_ESCAPED = r"^'+[=+\-@\t\r]"
"""A cell the writer escaped: one apostrophe to remove."""


def spreadsheet_safe(text: str | None) -> str | None:
    """Text that a spreadsheet shows as text: a leading apostrophe before a formula start.

    Example:
        >>> spreadsheet_safe("=HYPERLINK(\"http://x\")")
        '\'=HYPERLINK("http://x")'
        >>> spreadsheet_safe("Mount Sinai")
        'Mount Sinai'
    """
    if text and FORMULA_START.match(text):
        return "'" + text
    return text


def escape_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """`spreadsheet_safe` applied to every text column of a frame (vectorized)."""
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_START.pattern))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


def unescape_formulas(column: pl.Expr) -> pl.Expr:
    """The reader's half of the round trip: drop the apostrophe `spreadsheet_safe` added."""
    return pl.when(column.str.contains(_ESCAPED)).then(column.str.slice(1)).otherwise(column)


TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp(\.[A-Za-z0-9]+)?$")
"""The names `atomic_output` gives its temporary files: `.<name>.<8 hex>.tmp<suffix>`."""


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it onto `path` only on success.

    The temporary file lives in the same folder (so the rename is atomic on one file
    system) and keeps the suffix (so writers that look at it still work). On any error it
    is removed and `path` is left untouched: readers never see a half-written file.

    Example:
        >>> with atomic_output("reports/index.html") as tmp:
        ...     tmp.write_text(html)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[str | os.PathLike[str]]) -> Iterator[list[Path]]:
    """`atomic_output` for several files: all are renamed into place only if all were written.

    Example:
        >>> with atomic_outputs(["a.csv", "b.yaml"]) as (tmp_a, tmp_b):
        ...     tmp_a.write_text(a)
        ...     tmp_b.write_text(b)
    """
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_output(path)) for path in paths]


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 text atomically (newlines as given)."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


def write_programs_csv(df: pl.DataFrame, path: Path) -> None:
    """Write a program table as CSV: booleans true/false, unknown as empty, ISO dates.

    Text cells that would run as spreadsheet formulas are escaped (`spreadsheet_safe`).
    """
    escape_formulas(df).write_csv(path, null_value="", date_format="%Y-%m-%d")


def write_table(frame: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write any frame (scores, plans...) as CSV, Parquet or XLSX by extension, atomically.

    CSV and XLSX text cells are formula-safe (`spreadsheet_safe`); Parquet keeps the values
    as they are (no spreadsheet runs it). Nested columns (lists) are written as JSON text in
    CSV and XLSX.

    Raises:
        DataValidationError: an extension other than .csv, .parquet/.pq or .xlsx.
    """
    target = Path(path)
    suffix = _checked_suffix(path)
    with atomic_output(target) as tmp:
        if suffix in (".parquet", ".pq"):
            frame.write_parquet(tmp)
        else:
            flat = _flat(frame)
            if suffix == ".csv":
                write_programs_csv(flat, tmp)
            else:
                _write_xlsx(flat, tmp, sheet="table")
    return target


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    if not nested:
        return frame
    return frame.with_columns(pl.col(name).map_elements(_json_text, return_dtype=pl.String)
                              for name in nested)  # fmt: skip


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value.to_list() if isinstance(value, pl.Series) else value, default=str)


def _checked_suffix(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq", ".xlsx"):
        raise DataValidationError(
            [
                file_problem(
                    str(path),
                    f"cannot write {suffix or 'files without an extension'!r}; "
                    "use .csv, .parquet or .xlsx",
                )
            ]
        )
    return suffix


def save_programs(df: Any, path: str | os.PathLike[str]) -> Path:
    """Write a program table as CSV, Parquet or XLSX (by extension), atomically.

    The table is first made canonical (`ensure_programs`). CSV: UTF-8, booleans
    `true`/`false`, unknown as an empty cell, dates ISO (YYYY-MM-DD). CSV and XLSX text cells
    that would run as formulas are escaped (module docstring). Reading the file back with
    `load_programs` gives the same table (XLSX keeps about 15 significant digits).

    Returns:
        The path written.
    """
    from analysis.data.programs import ensure_programs  # programs reads with this module

    frame = ensure_programs(df)
    target = Path(path)
    suffix = _checked_suffix(path)
    with atomic_output(target) as tmp:
        if suffix == ".csv":
            write_programs_csv(frame, tmp)
        elif suffix in (".parquet", ".pq"):
            frame.write_parquet(tmp)
        else:
            _write_xlsx(frame, tmp)
    return target


def _write_xlsx(frame: pl.DataFrame, path: Path, sheet: str = "programs") -> None:
    """XLSX with formula-safe text stored as text cells (never a live formula)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    workbook = openpyxl.Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)

    def cell(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = WriteOnlyCell(worksheet, value=spreadsheet_safe(value))
        text.data_type = "s"  # openpyxl would store text starting with "=" as a formula
        return text

    worksheet.append([cell(name) for name in frame.columns])
    for record in frame.iter_rows():
        worksheet.append([cell(value) for value in record])
    workbook.save(path)
