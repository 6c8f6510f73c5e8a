"""The one error type for bad input: every problem of a file, each one actionable.

A `Problem` names the file, the row as a spreadsheet shows it (the header is row 1, so the
first data row is row 2), the column, the offending value and what is allowed. Loaders
collect all problems of a file before raising one `DataValidationError`, so a user fixes
everything in one pass. The CLI prints the list without a traceback and exits 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

_MAX_VALUE_CHARS = 60


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located precisely enough to fix it."""

    file: str | None
    row: int | None
    column: str | None
    value: Any
    expected: str

    def location(self) -> str:
        """'programs.csv, row 14, column pct_img_residents' (parts that are known)."""
        parts = [self.file or "<input>"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)

    def shown_value(self) -> str:
        """The value as the user typed it, shortened for a terminal."""
        if self.value is None:
            return "(empty)"
        text = repr(self.value) if isinstance(self.value, str) else str(self.value)
        return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"

    def __str__(self) -> str:
        if self.value is NO_VALUE:
            return f"{self.location()}: {self.expected}"
        return f"{self.location()}: {self.shown_value()}: {self.expected}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly record (value as text)."""
        record = asdict(self)
        record["value"] = None if self.value is None or self.value is NO_VALUE else str(self.value)
        return record


def short_message(error: BaseException) -> str:
    """The first line of an exception's message (its type if it has none), at most 160 chars."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 160 else text[:159] + "…"


class _NoValue:
    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "<no value>"


NO_VALUE: Any = _NoValue()
"""Marker for problems about a whole file or column, where no single value is at fault."""


def file_problem(file: str | None, expected: str, column: str | None = None) -> Problem:
    """A problem with the file as a whole (empty, not text, missing column...)."""
    return Problem(file=file, row=None, column=column, value=NO_VALUE, expected=expected)


class DataValidationError(ValueError):
    """Raised with every problem found in an input; nothing has been written."""

    def __init__(self, problems: Iterable[Problem], *, source: str | None = None) -> None:
        self.problems: list[Problem] = sorted(
            problems,
            key=lambda p: (p.file or "", p.row if p.row is not None else -1, p.column or ""),
        )
        self.source = source
        super().__init__(self.summary())

    def summary(self) -> str:
        """One line: how many problems, in what."""
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        where = f" in {self.source}" if self.source else ""
        return f"{count} {noun}{where}"

    def __str__(self) -> str:
        lines = [self.summary() + ":"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        return "\n".join(lines)

    @classmethod
    def merge(cls, errors: Sequence[DataValidationError]) -> DataValidationError:
        """One error carrying the problems of several inputs."""
        problems = [p for error in errors for p in error.problems]
        return cls(problems)


class NormalizationError(DataValidationError):
    """A single free-text value that a normalizer cannot map (raised by `analysis.data.normalize`).

    Loaders catch it and re-raise the problem with the file, row and column filled in.
    """

    def __init__(self, value: Any, expected: str, column: str | None = None) -> None:
        self.value = value
        self.expected = expected
        super().__init__([Problem(file=None, row=None, column=column, value=value,
                                  expected=expected)])  # fmt: skip

    def __str__(self) -> str:
        return f"{self.problems[0].shown_value()}: {self.expected}"
