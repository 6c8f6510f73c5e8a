"""Reading applicant profiles: YAML or JSON files, folders of them, CSV files of many.

Method. YAML is parsed with `yaml.safe_load` only (a `!!python/...` tag is refused, never
constructed); JSON with `json.loads`. Each profile is validated by
`analysis.data.schemas.ApplicantProfile`, and every problem is reported at once: errors name
the file, the line of the YAML key (or the CSV row and column) and the field path
(`us_letters.XYZ`, `research.publications`). A CSV file holds one applicant per row, with
columns named as the profile fields (lists separated by ';', per-specialty counts written
'IR:1; DR:2', research as `research_publications`...).

Inputs: paths of profile files, folders of them (not recursive) or CSV files. Outputs:
`ApplicantProfile`s, or, from `iter_applicants`, one `(label, profile or error)` pair per
applicant so that one bad applicant never stops a batch.

Limits: text files must be UTF-8 (with or without BOM) or UTF-16 with a BOM.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from analysis.data import normalize as nz
from analysis.data.programs import read_csv_cells
from analysis.data.schemas import (
    APPLICANT_CSV_RESEARCH,
    APPLICANT_LIST_FIELDS,
    APPLICANT_MAP_FIELDS,
    ApplicantProfile,
)
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


def _yaml_line_index(text: str) -> dict[tuple[str, ...], int]:
    """Key path -> 1-based line of the key, from `yaml.compose` (nothing if it fails)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except Exception:
        return {}
    lines: dict[tuple[str, ...], int] = {}

    def walk(current: Any, path: tuple[str, ...]) -> None:
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                key = str(getattr(key_node, "value", ""))
                lines[(*path, key)] = key_node.start_mark.line + 1
                walk(value_node, (*path, key))
        elif isinstance(current, yaml.SequenceNode):
            for position, item in enumerate(current.value):
                lines[(*path, str(position))] = item.start_mark.line + 1
                walk(item, (*path, str(position)))

    if node is not None:
        walk(node, ())
    return lines


def _parse_profile_text(text: str, label: str, suffix: str) -> Any:
    import yaml

    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise DataValidationError(
                [
                    Problem(
                        label,
                        error.lineno,
                        None,
                        _NO,
                        f"not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}",
                    )
                ]
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.constructor.ConstructorError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        tag = str(error.problem or "").strip()
        raise DataValidationError(
            [
                Problem(
                    label,
                    line,
                    None,
                    _NO,
                    f"tags such as !!python/... are not allowed in a profile ({tag}); write "
                    "plain values",
                )
            ]
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(error, "problem", None) or short_message(error)
        where = f" (line {line}, column {mark.column + 1})" if mark is not None else ""
        raise DataValidationError(
            [Problem(label, line, None, _NO, f"not valid YAML{where}: {what}")]
        ) from None


_PROFILE_FIELDS = tuple(ApplicantProfile.model_fields)


def _profile_problems(
    error: Any, data: Any, label: str, locate: Callable[[tuple[str, ...]], tuple[int | None, str]]
) -> list[Problem]:
    """Pydantic errors -> Problems with the field path and its line (or CSV row/column)."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = tuple(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "invalid"))
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        kind = item.get("type", "")
        if kind == "extra_forbidden":
            message = (
                f"unknown field (allowed: {', '.join(_PROFILE_FIELDS)})"
                if len(loc) == 1
                else "unknown field"
            )
        elif kind == "missing":
            message = "required field is missing"
        loc = _refine_location(loc, message, data)
        for path in _split_by_key(loc, data):
            value = _value_at(data, path)
            if len(path) == 2 and path[0] in APPLICANT_MAP_FIELDS and path != loc:
                value = path[1]  # the unknown specialty is the key, not the count
            if value is not _NO:
                message = message.removeprefix(f"{value!r}: ")
            row, column = locate(path)
            problems.append(Problem(label, row, column, value, message))
    return problems


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


def _split_by_key(loc: tuple[str, ...], data: Any) -> list[tuple[str, ...]]:
    """A specialty error on a whole map/list field -> one path per offending key or item."""
    if len(loc) != 1 or not isinstance(data, dict):
        return [loc]
    name = loc[0]
    value = data.get(name)
    bad: list[tuple[str, ...]] = []
    if name in APPLICANT_MAP_FIELDS and isinstance(value, dict):
        for key in value:
            try:
                nz.normalize_specialty(str(key))
            except NormalizationError:
                bad.append((name, str(key)))
    elif name in ("target_specialties",) and isinstance(value, list):
        for position, item in enumerate(value):
            try:
                nz.normalize_specialty(str(item))
            except NormalizationError:
                bad.append((name, str(position)))
    return bad or [loc]


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

    YAML is parsed with `yaml.safe_load` only: a `!!python/object` tag is refused, never
    constructed. Errors name the file, the line of the offending key and the field path
    (`us_letters.XYZ`, `research.publications`).

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
    data = _parse_profile_text(text, label, suffix)
    if data is None:
        raise DataValidationError([file_problem(label, "the file is empty")])
    if not isinstance(data, dict):
        raise DataValidationError(
            [
                file_problem(
                    label,
                    "a profile is a mapping of fields (applicant_id: ..., name: "
                    f"...), not a {type(data).__name__}",
                )
            ]
        )
    return _validate_profile(data, label, _yaml_line_index(text))


def _validate_profile(
    data: dict[str, Any], label: str, lines: dict[tuple[str, ...], int]
) -> ApplicantProfile:
    from pydantic import ValidationError

    def locate(path: tuple[str, ...]) -> tuple[int | None, str]:
        row = None
        for end in range(len(path), 0, -1):
            row = lines.get(path[:end])
            if row is not None:
                break
        return row, ".".join(path) if path else None

    try:
        return ApplicantProfile.model_validate(data)
    except ValidationError as error:
        raise DataValidationError(
            _profile_problems(error, data, label, locate), source=label
        ) from None
    except NormalizationError as error:  # pragma: no cover - pydantic wraps ValueErrors
        raise DataValidationError(
            [Problem(label, None, None, error.value, error.expected)]
        ) from None


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
        data, problems = _csv_profile_data(cells, label, row, original)
        if problems:
            yield record_label, DataValidationError(problems, source=record_label)
        else:
            yield record_label, _validate_csv_profile(data, label, record_label, row, original)


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

    def locate(path: tuple[str, ...]) -> tuple[int | None, str | None]:
        if not path:
            return row, None
        if path[0] == "research" and len(path) > 1 and path[1] in _RESEARCH_COLUMNS:
            flat = _RESEARCH_COLUMNS[path[1]]
            return row, original.get(flat, flat)
        return row, original.get(path[0], path[0])

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
        for label, item in _expand(source):
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


def _load_one(path: Path, label: str) -> tuple[str, ApplicantProfile | DataValidationError]:
    try:
        return label, load_applicant(path)
    except DataValidationError as error:
        return label, error
    except OSError as error:
        return label, DataValidationError([file_problem(label, f"cannot read: {error}")])


def _applicant_csv_records_safe(
    path: Path, label: str
) -> Iterator[tuple[str, ApplicantProfile | DataValidationError]]:
    try:
        yield from _applicant_csv_records(path, label)
    except DataValidationError as error:
        yield label, error


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
