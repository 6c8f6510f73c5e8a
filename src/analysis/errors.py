"""The one error type for bad input: every problem of a file, each one actionable.

A `Problem` names the file, the row as a spreadsheet shows it (the header is row 1, so the
first data row is row 2) or, for YAML and JSON files, the line, the column or field, the
offending value and what is allowed. Loaders collect all problems of a file before raising
one `DataValidationError`, so a user fixes everything in one pass. The CLI prints the list
without a traceback and exits 2.

Thousands of problems stay readable and cheap: `DataValidationError.lines()` lists the first
`LISTED` (50) and sums up the rest by kind ("and 199,950 more like this: ..."), and loaders
keep at most `KEEP_PER_KIND` problems of one kind (same file, column and expectation), only
counting the others (`more`), so the memory an error holds does not grow with the file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

_MAX_VALUE_CHARS = 60

LISTED = 50
"""Problems listed one by one; the rest are summed up by kind."""

KEEP_PER_KIND = 50
"""Problems of one kind (file, column, expectation) a loader keeps; it only counts the rest."""

_KINDS_SHOWN = 10


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located precisely enough to fix it."""

    file: str | None
    row: int | None
    column: str | None
    value: Any
    expected: str
    line: int | None = None  # YAML/JSON files: the line (row is then None)

    def location(self) -> str:
        """'programs.csv, row 14, column 'pct_img'' or 'amira.yaml, line 5, field 'step2_score''."""
        parts = [self.file or "<input>"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(f"{'field' if self.line is not None else 'column'} {self.column!r}")
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


Kind = tuple[str | None, str | None, str]
"""What makes problems alike: (file, column, expected)."""


def kind_of(problem: Problem) -> Kind:
    """The kind of a problem: its file, column and expectation."""
    return (problem.file, problem.column, problem.expected)


class DataValidationError(ValueError):
    """Raised with every problem found in an input; nothing has been written.

    Args:
        problems: the problems kept (listed in order of file, row or line, column).
        source: the input, for the summary line.
        more: problems counted but not kept, by kind (see `KEEP_PER_KIND`).
    """

    def __init__(
        self,
        problems: Iterable[Problem],
        *,
        source: str | None = None,
        more: Mapping[Kind, int] | None = None,
    ) -> None:
        self.problems: list[Problem] = sorted(problems, key=_order)
        self.more: Counter[Kind] = Counter({k: n for k, n in (more or {}).items() if n > 0})
        self.source = source
        super().__init__(self.summary())

    @property
    def count(self) -> int:
        """How many problems the input has (kept and counted)."""
        return len(self.problems) + sum(self.more.values())

    def summary(self) -> str:
        """One line: how many problems, in what."""
        count = self.count
        noun = "problem" if count == 1 else "problems"
        where = f" in {self.source}" if self.source else ""
        return f"{count:,} {noun}{where}"

    def lines(self, limit: int = LISTED) -> list[str]:
        """The problems as lines to print: the first `limit`, then the rest summed up.

        The rest is grouped by file and expectation, e.g. "  - and 199,950 more like this:
        199,950 x programs.csv, column 'pct_img': a percentage from 0 to 100".
        """
        lines = [f"  - {problem}" for problem in self.problems[:limit]]
        rest = Counter(kind_of(p) for p in self.problems[limit:]) + self.more
        if not rest:
            return lines
        groups: dict[tuple[str | None, str], tuple[int, set[str]]] = {}
        for (file, column, expected), count in rest.items():
            total, columns = groups.get((file, expected), (0, set()))
            groups[(file, expected)] = (total + count, columns | ({column} if column else set()))
        ranked = sorted(groups.items(), key=lambda item: -item[1][0])
        alike = "like this" if len(ranked) == 1 else "like these"
        lines.append(f"  - and {sum(rest.values()):,} more {alike}:")
        for (file, expected), (count, columns) in ranked[:_KINDS_SHOWN]:
            lines.append(f"    {count:,} x {file or '<input>'}{_columns_text(columns)}: {expected}")
        if len(ranked) > _KINDS_SHOWN:
            others = sum(count for _, (count, _) in ranked[_KINDS_SHOWN:])
            lines.append(f"    {others:,} of {len(ranked) - _KINDS_SHOWN:,} other kinds")
        return lines

    def __str__(self) -> str:
        return "\n".join([self.summary() + ":", *self.lines()])

    @classmethod
    def merge(cls, errors: Sequence[DataValidationError]) -> DataValidationError:
        """One error carrying the problems of several inputs."""
        problems = [p for error in errors for p in error.problems]
        more: Counter[Kind] = Counter()
        for error in errors:
            more.update(error.more)
        return cls(problems, more=more)


def _columns_text(columns: set[str]) -> str:
    if not columns:
        return ""
    if len(columns) == 1:
        return f", column {next(iter(columns))!r}"
    if len(columns) <= 3:
        return ", columns " + ", ".join(repr(c) for c in sorted(columns))
    return f", {len(columns):,} columns or fields"


def _order(problem: Problem) -> tuple[str, int, int, str]:
    row = problem.row if problem.row is not None else -1
    line = problem.line if problem.line is not None else -1
    return (problem.file or "", row, line, problem.column or "")


class ProblemLog:
    """Collects the problems of one input, keeping `KEEP_PER_KIND` of each kind.

    Loaders add problems in row order, so the ones kept are the first of their kind and the
    first `LISTED` problems of the input are always among them.
    """

    def __init__(self, keep_per_kind: int = KEEP_PER_KIND) -> None:
        self.problems: list[Problem] = []
        self.more: Counter[Kind] = Counter()
        self._kept: Counter[Kind] = Counter()
        self._keep = keep_per_kind

    def add(self, problem: Problem) -> None:
        """Keep the problem, or only count it when its kind is full."""
        kind = kind_of(problem)
        if self._kept[kind] < self._keep:
            self._kept[kind] += 1
            self.problems.append(problem)
        else:
            self.more[kind] += 1

    def count(self, kind: Kind, number: int) -> None:
        """Count `number` problems of `kind` that were not built (rows past the kept ones)."""
        if number > 0:
            self.more[kind] += number

    def room(self, kind: Kind) -> int:
        """How many more problems of `kind` would be kept."""
        return max(0, self._keep - self._kept[kind])

    def __bool__(self) -> bool:
        return bool(self.problems) or bool(self.more)

    def __len__(self) -> int:
        return len(self.problems) + sum(self.more.values())

    def error(self, source: str | None = None) -> DataValidationError:
        """The `DataValidationError` of everything collected."""
        return DataValidationError(self.problems, source=source, more=self.more)


class DataWarning(UserWarning):
    """Something in an input was repaired or dropped, and the user should know (loaders)."""


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
