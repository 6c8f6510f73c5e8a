"""The terminal: consoles that wrap only on a terminal, and user text that is never markup.

What every command prints goes through these helpers (`analysis.cli` and
`analysis.report.text`). Everything a user typed (names, ids, paths, cell values) is printed
as text, never as rich markup, and with its control characters shown as escapes (`\\x1b`),
so a name cannot crash the command, colour the terminal or move the cursor (`printable`).
On a terminal, tables fit the window; in a pipe or a log nothing is wrapped: lines keep
their full length and tables their natural width (`PIPE_WIDTH`). No width ever cuts a value:
a table too wide for the window to show every word whole is printed as one block of
"column: value" lines per row instead (`show`), and a cell folds rather than end in "…".
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

PIPE_WIDTH = 100_000
"""Console width when the output is not a terminal: no line or table is ever wrapped."""


class _Console(Console):
    """A rich console that wraps to the window on a terminal and never in a pipe or a file."""

    @property
    def size(self) -> ConsoleDimensions:
        size = Console.size.fget(self)  # type: ignore[attr-defined]
        return size if self.is_terminal else ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = _Console()
err_console = _Console(stderr=True)

_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def printable(value: object) -> str:
    """`value` as one line a terminal shows as it is: control characters become escapes.

    ESC (the start of every terminal escape sequence) shows as `\\x1b`, a newline as `\\n`,
    a bidirectional override as `\\u202e`, an undecodable byte of a file name as `\\udc80`.
    """
    return _UNPRINTABLE.sub(
        lambda match: match.group().encode("unicode_escape", "backslashreplace").decode("ascii"),
        str(value),
    )


Part = str | tuple[str, str]


def text(*parts: Part) -> Text:
    """Text from plain strings and (string, style) pairs: nothing in it is read as markup."""
    return Text.assemble(
        *((printable(p), "") if isinstance(p, str) else (printable(p[0]), p[1]) for p in parts)
    )


def say(*parts: Part, style: str = "", err: bool = False, one_line: bool = False) -> None:
    """Print a line of text (see `text`); `one_line` never wraps it, even on a terminal."""
    (err_console if err else console).print(text(*parts), style=style, soft_wrap=one_line)


def table(*columns: str | tuple[str, str], **options: Any) -> Table:
    """A rich table whose headers are text; a column is a name or (name, justify)."""
    grid = Table(**options)
    for column in columns:
        name, justify = (column, "left") if isinstance(column, str) else column
        grid.add_column(text(name), justify=justify, overflow="fold")  # type: ignore[arg-type]
    return grid


def show(grid: Table, title: str | None = None) -> None:
    """Print a table, its title on a line of its own (a rich title would wrap to the table).

    On a window too narrow for every word of the table to show whole, each row is printed
    as a block of "column: value" lines instead, so nothing is cut to "…".
    """
    if title:
        say(title, style="italic")
    unbounded = console.options.update_width(PIPE_WIDTH)
    if Measurement.get(console, unbounded, grid).minimum <= console.width:
        console.print(grid)
        return
    headers = [" ".join(column.header.plain.split()) for column in grid.columns]  # type: ignore[union-attr]
    rows = zip(*(list(column.cells) for column in grid.columns), strict=True)
    for row in rows:
        console.line()
        for header, cell in zip(headers, row, strict=True):
            value = " ".join(cell.plain.split()) if isinstance(cell, Text) else str(cell)
            if value:
                console.print(Text.assemble((f"{header or '#'}: ", "bold"), value))
    console.line()


def add_row(grid: Table, *cells: str | Text) -> None:
    """Add a row of cells; strings are shown as text, never as markup."""
    grid.add_row(*(cell if isinstance(cell, Text) else text(cell) for cell in cells))
