"""Writing files: one atomic-write helper, and the writers built on it.

Method. Every file the package writes (program tables, scores, demo data, reports, their
state, `errors.json`, the index) goes through `atomic_output`: the content is written to a
temporary file beside the target and renamed onto it only when the writer finished, so a
reader never sees a half-written file and an interrupted run leaves the old file (or none).
`atomic_outputs` does the same for several files at once: all are written first, then all
renamed. Temporary files are named `.<name>.<8 hex>.tmp<suffix>`, so a run can recognise
and delete the ones a killed run left.

Inputs: target paths and frames or text. Outputs: the files.
Limits: the rename is atomic on one file system (the temporary file is in the target's
folder); a set of files written by `atomic_outputs` is renamed file by file.
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

from analysis.data.programs import ensure_programs
from analysis.errors import DataValidationError, file_problem

__all__ = [
    "TEMP_NAME",
    "atomic_output",
    "atomic_outputs",
    "save_programs",
    "write_programs_csv",
    "write_text",
]


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
    """Write a program table as CSV: booleans true/false, unknown as empty, ISO dates."""
    df.write_csv(path, null_value="", date_format="%Y-%m-%d")


def save_programs(df: Any, path: str | os.PathLike[str]) -> Path:
    """Write a program table as CSV, Parquet or XLSX (by extension), atomically.

    The table is first made canonical (`ensure_programs`). CSV: UTF-8, booleans
    `true`/`false`, unknown as an empty cell, dates ISO (YYYY-MM-DD). Reading the file back
    with `load_programs` gives the same table (XLSX keeps about 15 significant digits).

    Returns:
        The path written.
    """
    frame = ensure_programs(df)
    target = Path(path)
    suffix = target.suffix.lower()
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
    with atomic_output(target) as tmp:
        if suffix == ".csv":
            write_programs_csv(frame, tmp)
        elif suffix in (".parquet", ".pq"):
            frame.write_parquet(tmp)
        else:
            _write_xlsx(frame, tmp)
    return target


def _write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("programs")
    sheet.append(list(frame.columns))
    for record in frame.iter_rows():
        sheet.append(list(record))
    workbook.save(path)
