"""Reading applicant profiles: YAML or JSON files, folders of them, CSV files of many.

Method. YAML and JSON are read by `analysis.data.documents`, which refuses before building
anything what a profile never needs and what could hang or mislead: anchors and aliases
(the "billion laughs"), nesting deeper than 20 levels, files over 1 MiB, tags such as
`!!python/...` (refused, never constructed), and keys given twice (both lines named). Each
profile is then validated by `analysis.data.schemas.ApplicantProfile`, and every problem is
reported at once: errors name the file, the line of the YAML/JSON key (or the CSV row and
column) and the field path (`us_letters.XYZ`, `research.publications`); an unknown field
gets the closest known one ("did you mean 'step1_passed'?"). A CSV file holds one applicant
per row, with columns named as the profile fields (lists separated by ';', per-specialty
counts written 'IR:1; DR:2', research as `research_publications`...).

Inputs: paths of profile files, folders of them (not recursive) or CSV files. Outputs:
`ApplicantProfile`s, or, from `iter_applicants`, one `(label, profile or error)` pair per
applicant so that one bad applicant never stops a batch: whatever goes wrong while reading
one applicant (even an unexpected exception) becomes that applicant's
`DataValidationError`.

Limits: text files must be UTF-8 (with or without BOM) or UTF-16 with a BOM.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from analysis.data import normalize as nz
from analysis.data.documents import MAX_BYTES, Document, read_document
from analysis.data.schemas import (
    APPLICANT_CSV_RESEARCH,
    APPLICANT_LIST_FIELDS,
    APPLICANT_MAP_FIELDS,
    ApplicantProfile,
    CompletedRotation,
    ProgramSignal,
    Research,
    same_specialty_message,
)
from analysis.data.tables import read_csv_cells
from analysis.errors import NO_VALUE as _NO  # "no single value is at fault"
from analysis.errors import (
    DataValidationError,
    NormalizationError,
    Problem,
    file_problem,
    short_message,
)

__all__ = ["iter_applicants", "load_applicant", "load_applicants"]

APPLICANT_SUFFIXES = (".yaml", ".yml", ".json")


_PROFILE_FIELDS = tuple(ApplicantProfile.model_fields)
_NESTED_FIELDS: dict[str, tuple[str, ...]] = {
    "research": tuple(Research.model_fields),
    "completed_rotations": tuple(CompletedRotation.model_fields),
    "signals": tuple(ProgramSignal.model_fields),
}
_SUGGESTED = 50
"""Unknown fields that get a "did you mean" (the closest match costs time; profiles with more
unknown fields are not profiles)."""

Locate = Callable[[tuple[str, ...]], tuple[int | None, int | None, str | None]]
"""Field path -> (CSV row, YAML/JSON line, column or field shown)."""


def _profile_problems(error: Any, data: Any, label: str, locate: Locate) -> list[Problem]:
    """Pydantic errors -> Problems with the field path and its line (or CSV row/column)."""
    problems: list[Problem] = []
    unknown = 0
    for item in error.errors(include_url=False):
        loc = tuple(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "invalid"))
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        kind = item.get("type", "")
        if kind == "extra_forbidden":
            unknown += 1
            message = _unknown_field(loc, item.get("input"), suggest=unknown <= _SUGGESTED)
        elif kind == "missing":
            message = "required field is missing"
        loc = _refine_location(loc, message, data)
        for path, own_message in _split_by_key(loc, data):
            text = own_message or message
            value = _value_at(data, path)
            if len(path) == 2 and path[0] in APPLICANT_MAP_FIELDS and path != loc:
                value = path[1]  # the unknown specialty is the key, not the count
            if value is not _NO:
                text = text.removeprefix(f"{value!r}: ")
            row, line, column = locate(path)
            problems.append(Problem(label, row, column, value, text, line=line))
    return problems


def _unknown_field(loc: tuple[str, ...], value: Any, *, suggest: bool) -> str:
    """'unknown field: did you mean 'step1_passed'?' (or the fields allowed there)."""
    allowed = _PROFILE_FIELDS if len(loc) == 1 else _NESTED_FIELDS.get(loc[0], ())
    if not suggest or not loc:
        return "unknown field"
    guess = _closest(loc[-1], value, allowed)
    if guess is not None:
        return f"unknown field: did you mean {guess!r}?"
    return f"unknown field (allowed: {', '.join(allowed)})" if allowed else "unknown field"


def _closest(name: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    """The allowed field a mistyped `name` most likely meant.

    Compared without case or punctuation; the value helps ('step1: pass' -> step1_passed);
    a field the name starts (or that starts the name) is the last resort ('visa' ->
    visa_needed).
    """
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if key in allowed:
        return key
    tries = [key]
    if isinstance(value, str | int | float | bool) and len(str(value)) <= 20:
        tries.insert(0, re.sub(r"[^a-z0-9]+", "_", f"{key}_{value}".lower()).strip("_"))
    for attempt in tries:
        found = difflib.get_close_matches(attempt, allowed, n=1, cutoff=0.75)
        if found:
            return found[0]
    found = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if found:
        return found[0]
    stem = key[:-1] if key.endswith("s") and len(key) > 4 else key  # 'targets' -> 'target'
    starts = [f for f in allowed if stem and (f.startswith(stem) or key.startswith(f))]
    return starts[0] if len(starts) == 1 else None


def _refine_location(loc: tuple[str, ...], message: str, data: Any) -> tuple[str, ...]:
    """Point model-level errors at the field they name ('graduation_year 2030 is after...')."""
    if loc and loc[0] in _PROFILE_FIELDS and len(loc) > 1:
        return loc
    if not loc:
        for name in _PROFILE_FIELDS:
            if re.search(rf"\b{name}\b", message):
                return (name,)
        return loc
    if loc == ("research",):
        for name in ("first_author", "publications", "posters"):
            if re.search(rf"\b{name}\b", message):
                return ("research", name)
    return loc


def _split_by_key(loc: tuple[str, ...], data: Any) -> list[tuple[tuple[str, ...], str | None]]:
    """A specialty error on a whole map/list field -> one path per offending key or item.

    Keys that are no known specialty, and keys that name a specialty an earlier key already
    named ('IR', then 'ir' or 'Interventional Radiology'), each get their own problem.
    """
    if len(loc) != 1 or not isinstance(data, dict):
        return [(loc, None)]
    name = loc[0]
    value = data.get(name)
    bad: list[tuple[tuple[str, ...], str | None]] = []
    if name in APPLICANT_MAP_FIELDS and isinstance(value, dict):
        first: dict[str, str] = {}
        for key in value:
            try:
                code = nz.normalize_specialty(str(key))
            except NormalizationError:
                bad.append(((name, str(key)), None))
                continue
            if code in first:
                bad.append(((name, str(key)), same_specialty_message(first[code], code)))
            else:
                first[code] = str(key)
    elif name in ("target_specialties",) and isinstance(value, list):
        for position, item in enumerate(value):
            try:
                nz.normalize_specialty(str(item))
            except NormalizationError:
                bad.append(((name, str(position)), None))
    return bad or [(loc, None)]


def _value_at(data: Any, path: tuple[str, ...]) -> Any:
    current = data
    for part in path:
        if isinstance(current, dict):
            if part not in current:
                return _NO
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _NO
    if isinstance(current, dict | list):
        if path and path[0] in APPLICANT_MAP_FIELDS and len(path) == 2:
            return path[1]
        return _NO
    return current


def _read_text(path: Path, label: str) -> str:
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise DataValidationError(
            [file_problem(label, f"{size:,} bytes: a profile is at most {MAX_BYTES:,} bytes")]
        )
    data = path.read_bytes()
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataValidationError([file_problem(label, "not a text file (binary data)")])
    try:
        return (
            data.decode("utf-16")
            if data.startswith((b"\xff\xfe", b"\xfe\xff"))
            else (data.decode("utf-8-sig"))
        )
    except UnicodeDecodeError as error:
        raise DataValidationError(
            [file_problem(label, f"not UTF-8 text (byte {error.start}); save it as UTF-8")]
        ) from None


def load_applicant(path: str | os.PathLike[str]) -> ApplicantProfile:
    """Read one applicant profile from a YAML or JSON file.

    Anchors and aliases, deep nesting, duplicate keys and tags such as `!!python/object`
    are refused before any value is built (`analysis.data.documents`). Errors name the
    file, the line of the offending key and the field path (`us_letters.XYZ`,
    `research.publications`).

    Raises:
        FileNotFoundError: no such file.
        DataValidationError: broken YAML/JSON, or every invalid field of the profile.
    """
    file = Path(path)
    label = str(path)
    if not file.is_file():
        if file.is_dir():
            raise DataValidationError([file_problem(label, "is a folder; use load_applicants")])
        raise FileNotFoundError(2, "No such file", label)
    suffix = file.suffix.lower()
    if suffix not in APPLICANT_SUFFIXES:
        raise DataValidationError(
            [
                file_problem(
                    label,
                    f"an applicant profile is a .yaml, .yml or .json file "
                    f"(or a .csv of applicants for load_applicants), not "
                    f"{suffix or 'a file without extension'!r}",
                )
            ]
        )
    text = _read_text(file, label)
    document = read_document(text, label, "json" if suffix == ".json" else "yaml")
    if not isinstance(document.data, dict):
        if document.problems:
            raise DataValidationError(document.problems, source=label)
        if document.data is None:
            raise DataValidationError([file_problem(label, "the file is empty")])
        kind = type(document.data).__name__
        expected = f"a profile is a mapping of fields (applicant_id: ..., name: ...), not a {kind}"
        raise DataValidationError([file_problem(label, expected)])
    return _validate_profile(document, label)


def _validate_profile(document: Document, label: str) -> ApplicantProfile:
    """The profile, or the problems of the document and of its fields, each at its line."""
    from pydantic import ValidationError

    def locate(path: tuple[str, ...]) -> tuple[int | None, int | None, str | None]:
        return None, document.line_of(path), ".".join(path) if path else None

    try:
        profile = ApplicantProfile.model_validate(document.data)
    except ValidationError as error:
        problems = _profile_problems(error, document.data, label, locate)
    else:
        problems = []
        if not document.problems:
            return profile
    unreadable = {p.column for p in document.problems}
    problems = [p for p in problems if not _under(p.column, unreadable)]
    raise DataValidationError(document.problems + problems, source=label)


def _under(column: str | None, columns: set[str | None]) -> bool:
    """True if `column` is one of `columns` or a field inside one of them."""
    if column is None:
        return False
    return any(c is not None and (column == c or column.startswith(c + ".")) for c in columns)


_RESEARCH_COLUMNS = {field: column for column, field in APPLICANT_CSV_RESEARCH.items()}


def _split_items(text: str) -> list[str]:
    separator = ";" if ";" in text else ","
    return [item.strip() for item in text.split(separator) if item.strip()]


def _applicant_csv_records(
    path: Path, label: str
) -> Iterator[tuple[str, ApplicantProfile | DataValidationError]]:
    """One `(label, profile or error)` per row of an applicants CSV (or one for the file)."""
    raw = read_csv_cells(path, label)
    headers = [re.sub(r"[^a-z0-9]+", "_", h.strip().lower()).strip("_") for h in raw.headers]
    frame = (
        pl.DataFrame([c.alias(f"c{i}") for i, c in enumerate(raw.columns)])
        if raw.columns
        else pl.DataFrame()
    )
    if "applicant_id" not in headers:
        expected = (
            "an applicants CSV needs an 'applicant_id' column (one applicant per row; "
            "columns named as the profile fields)"
        )
        yield label, DataValidationError([file_problem(label, expected)])
        return
    if raw.rows.len() == 0:
        expected = "the file has a header row but no applicants"
        yield label, DataValidationError([file_problem(label, expected)])
        return
    original = dict(zip(headers, raw.headers, strict=True))
    for position, row in enumerate(raw.rows.to_list()):
        cells = dict(zip(headers, frame.row(position), strict=True)) if frame.width else {}
        record_label = f"{label} row {row}"
        try:
            data, problems = _csv_profile_data(cells, label, row, original)
            if problems:
                yield record_label, DataValidationError(problems, source=record_label)
            else:
                yield record_label, _validate_csv_profile(data, label, record_label, row, original)
        except Exception as error:  # whatever it is, it is this row's problem only
            yield record_label, unreadable(label, error, row=row)


def _csv_profile_data(
    cells: dict[str, Any], label: str, row: int, original: dict[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    """A CSV row's cells as profile fields: lists split, 'IR:1; DR:2' maps, research nested."""
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, value in cells.items():
        if value is None or not name:
            continue
        if name in APPLICANT_LIST_FIELDS:
            data[name] = _split_items(value)
        elif name in APPLICANT_MAP_FIELDS:
            mapping = {}
            for item in _split_items(value):
                key, sep, count = item.partition(":")
                if not sep or not key.strip():
                    problems.append(
                        Problem(
                            label,
                            row,
                            original[name],
                            value,
                            "write specialty:count pairs, e.g. 'IR:1; DR:2'",
                        )
                    )
                    break
                mapping[key.strip()] = count.strip()
            data[name] = mapping
        elif name in APPLICANT_CSV_RESEARCH:
            data.setdefault("research", {})[APPLICANT_CSV_RESEARCH[name]] = value
        else:
            data[name] = value
    return data, problems


def _validate_csv_profile(
    data: dict[str, Any], label: str, record_label: str, row: int, original: dict[str, str]
) -> ApplicantProfile | DataValidationError:
    """The profile of one CSV row, or its problems located by row and column header."""
    from pydantic import ValidationError

    def locate(path: tuple[str, ...]) -> tuple[int | None, int | None, str | None]:
        if not path:
            return row, None, None
        if path[0] == "research" and len(path) > 1 and path[1] in _RESEARCH_COLUMNS:
            flat = _RESEARCH_COLUMNS[path[1]]
            return row, None, original.get(flat, flat)
        return row, None, original.get(path[0], path[0])

    try:
        return ApplicantProfile.model_validate(data)
    except ValidationError as error:
        return DataValidationError(
            _profile_problems(error, data, label, locate), source=record_label
        )


def _expand(source: Any) -> Iterator[tuple[str, Path | DataValidationError]]:
    path = Path(source)
    label = str(source)
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in APPLICANT_SUFFIXES
        )
        if not files:
            yield (
                label,
                DataValidationError(
                    [
                        file_problem(
                            label, "no applicant files (*.yaml, *.yml, *.json) in this folder"
                        )
                    ]
                ),
            )
        for file in files:
            yield str(file), file
    elif path.is_file():
        yield label, path
    else:
        yield label, DataValidationError([file_problem(label, "no such file or folder")])


def iter_applicants(
    *sources: str | os.PathLike[str],
) -> Iterator[tuple[str, ApplicantProfile | DataValidationError]]:
    """Yield `(label, profile or error)` one applicant at a time, so a batch can go on.

    Args:
        *sources: YAML/JSON files, folders of them (`*.yaml`, `*.yml`, `*.json`, sorted by
            name, not recursive), or CSV files with one applicant per row.

    Yields:
        The label (file path, or "file.csv row N") and either the `ApplicantProfile` or the
        `DataValidationError` that describes what is wrong with it. A second applicant with
        an `applicant_id` already seen is an error.
    """
    seen: dict[str, str] = {}
    for source in sources:
        try:
            expanded = list(_expand(source))
        except OSError as error:  # an unreadable folder
            expanded = [(str(source), unreadable(str(source), error))]
        for label, item in expanded:
            if isinstance(item, DataValidationError):
                yield label, item
                continue
            if item.suffix.lower() == ".csv":
                records = _applicant_csv_records_safe(item, label)
            else:
                records = iter([_load_one(item, label)])
            for record_label, result in records:
                if isinstance(result, ApplicantProfile):
                    first = seen.get(result.applicant_id)
                    if first is not None:
                        result = DataValidationError(
                            [
                                Problem(
                                    record_label.rsplit(" row ", 1)[0],
                                    _row_of(record_label),
                                    "applicant_id",
                                    result.applicant_id,
                                    f"applicant_id already used by {first}",
                                )
                            ]
                        )
                    else:
                        seen[result.applicant_id] = record_label
                yield record_label, result


def _row_of(label: str) -> int | None:
    match = re.search(r" row (\d+)$", label)
    return int(match.group(1)) if match else None


def unreadable(label: str, error: BaseException, row: int | None = None) -> DataValidationError:
    """The error of an input whose reading failed in a way no check foresaw.

    One applicant's (or one file's) problem only: the batch goes on. The message names the
    exception, so the case can be reproduced and turned into a precise check.
    """
    if isinstance(error, OSError):
        expected = f"cannot read: {error.strerror or short_message(error)}"
    else:
        expected = f"could not be read ({type(error).__name__}: {short_message(error)})"
    return DataValidationError([Problem(label, row, None, _NO, expected)], source=label)


def _load_one(path: Path, label: str) -> tuple[str, ApplicantProfile | DataValidationError]:
    try:
        return label, load_applicant(path)
    except DataValidationError as error:
        return label, error
    except Exception as error:  # OSError, or anything no check foresaw: this file only
        return label, unreadable(label, error)


def _applicant_csv_records_safe(
    path: Path, label: str
) -> Iterator[tuple[str, ApplicantProfile | DataValidationError]]:
    try:
        yield from _applicant_csv_records(path, label)
    except DataValidationError as error:
        yield label, error
    except Exception as error:  # reading the file failed: its rows cannot be told apart
        yield label, unreadable(label, error)


def load_applicants(*sources: str | os.PathLike[str]) -> list[ApplicantProfile]:
    """Every applicant of the sources (files, folders, CSVs), or one error with all problems.

    Raises:
        DataValidationError: the problems of every bad input (nothing is returned then).
    """
    profiles: list[ApplicantProfile] = []
    errors: list[DataValidationError] = []
    for _, result in iter_applicants(*sources):
        if isinstance(result, DataValidationError):
            errors.append(result)
        else:
            profiles.append(result)
    if errors:
        raise DataValidationError.merge(errors)
    return profiles
