"""The `imgmatch` command line (typer). Every command has `--help`.

Commands stay thin: each calls a function of the package and prints its result. Bad input
(`DataValidationError`) is printed as a readable list of problems, with no traceback, and
the command exits 2. Heavy imports happen inside the commands so `--help` is instant.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from analysis.errors import DataValidationError

app = typer.Typer(
    name="imgmatch",
    help="Residency planning for international medical graduates: load and validate program "
    "tables, score IMG-friendliness, estimate match chances, plan rotations and backups, and "
    "write one HTML report per applicant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)

EXIT_INVALID_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])


def print_problems(error: DataValidationError) -> None:
    """Print every problem of an input as a list (no traceback)."""
    err_console.print(f"[bold red]Invalid input:[/] {error.summary()}")
    for problem in error.problems:
        err_console.print(f"  - {problem}", highlight=False, markup=False)


def handles_bad_input(command: F) -> F:
    """Turn `DataValidationError` (and missing files) into a problem list and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DataValidationError as error:
            print_problems(error)
            raise typer.Exit(EXIT_INVALID_INPUT) from None
        except FileNotFoundError as error:
            err_console.print(f"[bold red]File not found:[/] {error.filename or error}")
            raise typer.Exit(EXIT_INVALID_INPUT) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main() -> None:
    """imgmatch command line."""


if __name__ == "__main__":  # pragma: no cover
    app()
