"""The `imgmatch` command line (typer). Every command has `--help`.

Commands stay thin: each calls a function of the package and prints its result. Bad input
(`DataValidationError`) is printed as a list of problems, one per line, with no traceback,
and the command exits 2; so does a file-system error (an output path that is a file, a
read-only folder...), in one sentence. Heavy imports happen inside the commands so `--help`
is instant.

Output rules. Everything a user typed (names, ids, paths, cell values) is printed as text,
never as rich markup, and with its control characters shown as escapes (`\\x1b`), so a
name cannot crash the command, colour the terminal or move the cursor (`printable`).
On a terminal, tables fit the window; in a pipe or a log nothing is wrapped: lines keep
their full length and tables their natural width (`PIPE_WIDTH`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console, ConsoleDimensions
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand

from analysis.errors import DataValidationError


class _Command(TyperCommand):
    """A typer command whose `--help` shows no `<bool>` beside flags (they take no value)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


app = typer.Typer(
    name="imgmatch",
    help="Residency planning for international medical graduates: load and validate program "
    "tables, score IMG-friendliness, estimate match chances, plan rotations and backups, and "
    "write one HTML report per applicant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
command = functools.partial(app.command, cls=_Command)
"""`app.command` with the flag display fixed; every command is declared through it."""

EXIT_BUG = 1
EXIT_INVALID_INPUT = 2
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------- output

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


def refuse(label: str, message: str) -> typer.Exit:
    """Print `label message` (one line, on stderr) and return the exit to raise (code 2)."""
    say((label, "bold red"), " ", message, err=True, one_line=True)
    return typer.Exit(EXIT_INVALID_INPUT)


def table(*columns: str | tuple[str, str], **options: Any) -> Table:
    """A rich table whose headers are text; a column is a name or (name, justify)."""
    grid = Table(**options)
    for column in columns:
        name, justify = (column, "left") if isinstance(column, str) else column
        grid.add_column(text(name), justify=justify)  # type: ignore[arg-type]
    return grid


def show(grid: Table, title: str | None = None) -> None:
    """Print a table, its title on a line of its own (a rich title would wrap to the table)."""
    if title:
        say(title, style="italic")
    console.print(grid)


def add_row(grid: Table, *cells: str | Text) -> None:
    """Add a row of cells; strings are shown as text, never as markup."""
    grid.add_row(*(cell if isinstance(cell, Text) else text(cell) for cell in cells))


def print_problems(error: DataValidationError) -> None:
    """Print the problems of an input, one per line and never wrapped (no traceback).

    One problem fits on the summary line; more are listed below it, the first 50 one by one
    and the rest summed up by kind (`DataValidationError.lines`).
    """
    lines = error.lines()
    if error.count == 1 and len(lines) == 1:
        say(("Invalid input:", "bold red"), " ", lines[0].strip()[2:], err=True, one_line=True)
        return
    say(("Invalid input:", "bold red"), " ", error.summary(), err=True, one_line=True)
    for line in lines:
        say(line, err=True, one_line=True)


def os_error_sentence(error: OSError) -> str:
    """An `OSError` as one sentence: what failed, on which path, and what to check."""
    path = error.filename if error.filename is not None else ""
    reason = error.strerror or str(error) or type(error).__name__
    hints = {
        IsADirectoryError: "a file name is needed there, not a folder",
        NotADirectoryError: "a part of that path is a file, not a folder",
        FileExistsError: "something else already has that name",
        PermissionError: "that location is not writable by you; choose another",
    }
    hint = next((h for kind, h in hints.items() if isinstance(error, kind)), "")
    where = f"{path}: " if path else ""
    return f"{where}{reason}" + (f" ({hint})." if hint else ".")


def handles_bad_input(command: F) -> F:
    """Turn bad input and file-system errors into a message and exit code 2 (no traceback).

    Anything else is a bug: one line naming it and exit code 1, or the traceback with
    `IMGMATCH_DEBUG=1` in the environment.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DataValidationError as error:
            print_problems(error)
            raise typer.Exit(EXIT_INVALID_INPUT) from None
        except FileNotFoundError as error:
            raise refuse("File not found:", str(error.filename or error)) from None
        except OSError as error:
            raise refuse("Cannot read or write a file:", os_error_sentence(error)) from None
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except Exception as error:
            if os.environ.get("IMGMATCH_DEBUG"):
                raise
            from analysis.errors import short_message

            say(
                ("Internal error:", "bold red"),
                f" {type(error).__name__}: {short_message(error)}. This is a bug in imgmatch: "
                "run the same command with IMGMATCH_DEBUG=1 for the traceback and report it.",
                err=True,
                one_line=True,
            )
            raise typer.Exit(EXIT_BUG) from None

    return wrapper  # type: ignore[return-value]


def json_text(doc: Any) -> str:
    """Indented JSON that is always valid: NaN and infinities become null."""

    def finite(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {key: finite(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [finite(item) for item in value]
        return value

    return json.dumps(finite(doc), indent=2, allow_nan=False, default=str)


@app.callback()
def main() -> None:
    """imgmatch command line."""


# ---------------------------------------------------------------------------- validate

_FORMAT_NAMES = {
    "canonical": "canonical program table",
    "tracker": "applicant's tracker spreadsheet",
    "freida": "FREIDA-style export",
}


@command(
    short_help="Check a program table and/or applicant profiles.",
    help="Check a program table and/or applicant profiles before using them.\n\n"
    "Prints what was read (format detected, rows, programs per specialty, share of unknown "
    "values per column, ignored columns) and exits 0; or lists every problem (file, row as "
    "the spreadsheet shows it, column, value, what is allowed) and exits 2. --programs and "
    "--applicants may be given together.",
)
@handles_bad_input
def validate(
    programs: str | None = typer.Option(
        None,
        "--programs",
        "-p",
        metavar="FILE",
        help="Program table to check: CSV, XLSX/XLS/ODS or Parquet, in the canonical format, "
        "an applicant's tracker (Program, IR/DR, Visa for residents, ...) or a FREIDA-style "
        "export. The format is detected from the header row.",
    ),
    sheet: str | None = typer.Option(
        None, "--sheet", metavar="NAME", help="Workbook sheet to read (default: the first)."
    ),
    skip_unknown_specialties: bool = typer.Option(
        False,
        "--skip-unknown-specialties",
        help="Drop rows whose specialty is not a known one (for example fellowships in a full "
        "FREIDA dump) and report how many, instead of failing.",
    ),
    applicants: list[str] | None = typer.Option(
        None,
        "--applicants",
        "-a",
        metavar="FILE_OR_DIR",
        help="Applicant profiles to check: a YAML/JSON file, a folder of them, or a CSV with "
        "one applicant per row. Repeat the option for several.",
    ),
) -> None:
    """Check a program table and/or applicant profiles (exit 0 valid, 2 with the problems)."""
    from analysis.data.applicants import iter_applicants
    from analysis.data.programs import inspect_programs, summarize_programs
    from analysis.errors import file_problem

    if programs is None and not applicants:
        raise refuse(
            "Nothing to validate:",
            "give --programs FILE and/or --applicants FILE_OR_DIR (see imgmatch validate --help).",
        )
    errors: list[DataValidationError] = []
    if programs is not None:
        try:
            table_, info = inspect_programs(
                programs,
                sheet=sheet,
                on_unknown_specialty="skip" if skip_unknown_specialties else "error",
            )
        except DataValidationError as error:
            errors.append(error)
        except FileNotFoundError:
            errors.append(DataValidationError([file_problem(programs, "no such file")]))
        else:
            _print_program_summary(info, summarize_programs(table_))
    if applicants:
        good, bad = [], []
        for label, result in iter_applicants(*applicants):
            (bad if isinstance(result, DataValidationError) else good).append((label, result))
        _print_applicant_summary(good, len(bad))
        errors.extend(error for _, error in bad)
    if errors:
        raise DataValidationError.merge(errors)


def _print_program_summary(info: Any, summary: dict[str, Any]) -> None:
    from analysis.data.vocabulary import specialty_name

    overview = table("what", "value", show_header=False)
    add_row(overview, text(("format", "bold")), _FORMAT_NAMES.get(info.format, info.format))
    if info.sheet:
        add_row(overview, text(("sheet", "bold")), info.sheet)
    if info.encoding:
        delimiter = {"\t": "tab", ",": "comma", ";": "semicolon"}.get(info.delimiter or "", "")
        add_row(overview, text(("encoding", "bold")), f"{info.encoding}, {delimiter}-separated")
    add_row(overview, text(("rows", "bold")), str(summary["rows"]))
    if info.skipped_rows:
        skipped = ", ".join(f"{name} ({count})" for name, count in info.skipped_specialties.items())
        add_row(
            overview,
            text(("skipped rows", "bold")),
            f"{info.skipped_rows} of unknown specialties: {skipped}",
        )
    if info.format != "canonical":
        used = "; ".join(f"{header} → {role}" for header, role in info.columns.items())
        add_row(overview, text(("columns read", "bold")), used)
    ignored = ", ".join(info.ignored_columns) if info.ignored_columns else "none"
    add_row(overview, text(("ignored columns", "bold")), ignored)
    show(overview, f"Program table: {info.file}")

    by_specialty = table("code", "specialty", ("programs", "right"))
    for code, count in summary["specialties"].items():
        add_row(by_specialty, code, specialty_name(code), str(count))
    show(by_specialty, "Programs per specialty")

    unknown = table("column", ("unknown", "right"))
    known = []
    for column, share in sorted(summary["unknown_share"].items(), key=lambda kv: -kv[1]):
        if share > 0:
            add_row(unknown, column, f"{share:.0%}")
        else:
            known.append(column)
    show(unknown, "Unknown values per column")
    if known:
        say(f"Fully known: {', '.join(known)}", style="dim")
    say(("OK", "green"), f": {summary['rows']} programs in {info.file}")


def _print_applicant_summary(good: list[tuple[str, Any]], bad_count: int) -> None:
    if good:
        grid = table("applicant_id", "name", "visa", "targets", "match year", "from")
        for label, profile in good:
            add_row(
                grid,
                profile.applicant_id,
                profile.name,
                profile.visa_needed,
                ", ".join(profile.target_specialties),
                str(profile.match_year),
                label.replace("\\", "/").rsplit("/", 1)[-1],
            )
        show(grid, "Applicants")
    noun = "applicant" if len(good) == 1 else "applicants"
    invalid = f", {bad_count} invalid" if bad_count else ""
    say((f"{len(good)} valid {noun}", "yellow" if bad_count else "green"), invalid)


# --------------------------------------------------------------------------- demo data


@command(
    "demo-data",
    short_help="Write the synthetic demo program table and demo applicants.",
    help="Generate the SYNTHETIC demo data (fictional programs calibrated to the reference "
    "figures, and six demo applicants) and write OUT/programs.csv and OUT/applicants/*.yaml. "
    "Files are written atomically; other files in OUT are left alone. Prints what it wrote "
    "and how the table compares with data/reference/. The committed data/demo/ is seed 2025.",
)
@handles_bad_input
def demo_data_command(
    out: str = typer.Option(..., "--out", help="Folder to write into (created if missing)."),
    seed: int = typer.Option(2025, "--seed", min=0, help="Generator seed (same seed, same data)."),
) -> None:
    """Write the synthetic demo data and print its calibration summary."""
    from analysis.data.demo import write_demo_data

    try:
        written = write_demo_data(out, seed=seed)
    except NotADirectoryError as error:
        raise refuse("Cannot write demo data:", str(error)) from None
    programs = written.programs
    say("Wrote ", ("SYNTHETIC", "bold"), f" demo data (seed {seed}) to {out}:")
    say(
        f"  {written.programs_path.name}: {programs.height:,} fictional programs, "
        f"{int(programs['pgy1_positions'].sum()):,} first-year positions, "
        f"{programs['specialty'].n_unique()} specialties"
    )
    say(f"  applicants/: {', '.join(path.name for path in written.applicant_paths)}")
    _print_demo_calibration(written.calibration)


def _print_demo_calibration(checks: Any) -> None:
    """How the demo table compares with the reference: per specialty, then every check."""
    import polars as pl
    from rich import box

    from analysis.data.demo_checks import calibration_summary
    from analysis.data.demo_specialties import INTERVIEW_STAND_IN

    summary = calibration_summary(checks)
    exact = summary.filter(
        (pl.col("programs") == pl.col("programs_ref"))
        & (pl.col("pgy1_positions") == pl.col("pgy1_positions_ref"))
    ).height
    say(f"  programs and positions equal NRMP 2025's for {exact} of {summary.height} specialties")
    grid = table(
        "specialty",
        *((column, "right") for column in ("share at 0", "median", "p90", "mean", "ok")),
        box=box.SIMPLE_HEAD,
    )
    for row in summary.iter_rows(named=True):
        add_row(
            grid,
            row["specialty"] + ("*" if row["stand_in"] else ""),
            f"{row['share_zero']:.2f}/{row['share_zero_ref']:.2f}",
            f"{row['median']:.3f}/{row['median_ref']:.3f}",
            f"{row['p90']:.3f}/{row['p90_ref']:.3f}",
            f"{row['mean']:.3f}/{row['mean_ref']:.3f}",
            text(("yes", "green")) if row["ok"] else text(("no", "red")),
        )
    show(grid, "Non-US IMG interview rate per program, generated/reference")
    if summary["stand_in"].any():
        stand_ins = ", ".join(f"{code} -> {ref}" for code, ref in INTERVIEW_STAND_IN.items())
        say(
            f"  * no reference row of its own: compared with a stand-in's ({stand_ins}), "
            "with a wider tolerance at zero"
        )
    passed = int(checks["within_tolerance"].sum())
    say(
        (
            f"{passed} of {checks.height} calibration checks within tolerance",
            "green" if passed == checks.height else "yellow",
        ),
        " (analysis.data.demo_checks.calibration_table lists them all, with their tolerances).",
    )
    for row in checks.filter(~checks["within_tolerance"]).iter_rows(named=True):
        say(
            "  ",
            ("outside tolerance:", "yellow"),
            f" {row['specialty']} {row['metric']}: {row['generated']} vs {row['reference']}",
        )


# --------------------------------------------------------------------------- engine commands

VISA_CHOICES = ("j1", "h1b", "either", "none")
AS_OF_RANGE = (dt.date(2000, 1, 1), dt.date(2100, 12, 31))
"""Plan dates the commands accept: the seasons the model's calendar and figures can describe."""
MAX_BUDGET_USD = 1_000_000.0
"""The largest --budget, as for a profile's budget_usd."""


def _parse_as_of(as_of: str | None) -> dt.date | None:
    """The --as-of date, or None for the default; anything else exits 2 with one sentence."""
    if not as_of:
        return None
    first, last = AS_OF_RANGE
    try:
        date = dt.date.fromisoformat(as_of)
    except ValueError:
        date = None
    if date is None or not first <= date <= last:
        raise refuse(
            "Invalid --as-of:",
            f"{as_of!r}; expected a date (YYYY-MM-DD) from {first} to {last}.",
        )
    return date


def _checked_budget(budget: float | None) -> float | None:
    """The --budget in USD: a number from 0 to `MAX_BUDGET_USD` (NaN and infinity refused)."""
    if budget is not None and not (math.isfinite(budget) and 0 <= budget <= MAX_BUDGET_USD):
        raise refuse(
            "Invalid --budget:",
            f"{budget}; expected an amount in USD from 0 to {MAX_BUDGET_USD:,.0f}.",
        )
    return budget


def _check_output_file(out: Path, option: str = "--out") -> None:
    """Refuse an output file that is a folder, or that sits under a file."""
    if out.is_dir():
        raise refuse(f"Invalid {option}:", f"{out} is a folder; give a file name.")
    existing = next((parent for parent in out.parents if parent.exists()), None)
    if existing is not None and not existing.is_dir():
        raise refuse(
            f"Invalid {option}:", f"{out} cannot be created: {existing} is a file, not a folder."
        )


@command()
@handles_bad_input
def score(
    programs: Path = typer.Option(..., "--programs", help="Program table (CSV, XLSX, Parquet)."),
    out: Path = typer.Option(
        ...,
        "--out",
        help="Output file: .csv, .xlsx or .parquet (text that a spreadsheet would run as a "
        "formula, such as =HYPERLINK(...), is written with a leading apostrophe).",
    ),
    visa: str | None = typer.Option(
        None,
        "--visa",
        help="Visa the applicant needs: j1, h1b, either or none (default: generic IMG).",
    ),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX sheet name (default: first)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Date for staleness (YYYY-MM-DD)."),
) -> None:
    """Score every program's IMG-friendliness (0-100) with its components and confidence."""
    if visa is not None and visa not in VISA_CHOICES:
        raise refuse("Invalid --visa:", f"{visa!r}; expected one of {', '.join(VISA_CHOICES)}.")
    if out.suffix.lower() not in (".csv", ".xlsx", ".parquet"):
        raise refuse("Invalid --out:", f"{out}; use a .csv, .xlsx or .parquet file name.")
    _check_output_file(out)
    plan_date = _parse_as_of(as_of)
    from analysis.data.files import write_table
    from analysis.data.programs import load_programs
    from analysis.model.friendliness import score_programs

    table_ = load_programs(programs, sheet=sheet)
    scored = score_programs(table_, visa_needed=visa, as_of=plan_date)
    write_table(scored, out)
    tiers = scored.group_by("tier").len().sort("len", descending=True)
    say(
        f"Scored {scored.height} programs for visa need ",
        (visa or "generic IMG", "bold"),
        f"; wrote {out}",
    )
    say("  " + ", ".join(f"{r['tier']}: {r['len']}" for r in tiers.iter_rows(named=True)))


@command()
@handles_bad_input
def chances(
    applicant: Path = typer.Option(..., "--applicant", help="Applicant profile (YAML or JSON)."),
    programs: Path = typer.Option(..., "--programs", help="Program table (CSV, XLSX, Parquet)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    as_of: str | None = typer.Option(None, "--as-of", help="Date for staleness (YYYY-MM-DD)."),
) -> None:
    """Interview and match chances per target specialty, with 80% intervals and ERAS costs.

    Counts the applicant's own program signals (the profile's `signals`, or a Signal column in
    the program table) and checks them against the season's rules.
    """
    plan_date = _parse_as_of(as_of)
    from analysis.data.applicants import load_applicant
    from analysis.data.programs import load_programs
    from analysis.model.probability import match_chances
    from analysis.planners.levers import levers as levers_for
    from analysis.planners.plan import lever_records
    from analysis.planners.signals import signal_plan

    profile = load_applicant(applicant)
    table_ = load_programs(programs)
    # the applicant's own signals (profile or the table's Signal column), checked and counted
    mine = signal_plan(profile, table_, as_of=plan_date, baselines=("random",), draws=100)
    own = mine.own_map or None
    result = match_chances(profile, table_, as_of=plan_date, signals=own)
    levers = levers_for(profile, table_, as_of=plan_date, on_past="explain", signals=own,
                        signal_plan=mine)  # fmt: skip
    if as_json:
        doc = result.to_dict()
        doc["levers"] = [
            {k: r[k] for k in ("lever", "p_match_any_after", "available", "reason")}
            for r in lever_records(levers)
        ]
        doc.update(mine.own_dict())
        typer.echo(json_text(doc))
        return
    _print_chances(profile, result)
    for line in mine.own_lines():
        say(line)
    say("Levers still open at the plan date", style="bold")
    _print_levers(levers)


_CHANCES_COLUMNS = ("Applications", "Eligible", "Interviews", "P(match) [80% interval]",
                    "P(match here)", "Recommended", "ERAS cost")  # fmt: skip


def _print_chances(profile: Any, result: Any) -> None:
    grid = table(
        ("#", "right"),
        "Specialty",
        *((column, "right") for column in _CHANCES_COLUMNS),
    )
    for r in result.specialties.iter_rows(named=True):
        rec = r["recommended_applications"]
        add_row(
            grid,
            str(r["preference"]),
            r["specialty"] + ("" if r["calibrated"] else " *"),
            str(r["applications"]),
            str(r["eligible_programs"]),
            f"{r['expected_interviews']:.1f}",
            f"{r['p_match']:.0%} [{r['p_match_low']:.0%}-{r['p_match_high']:.0%}]",
            f"{r['p_match_in']:.0%}",
            str(rec) if rec else "not reached",
            f"${r['eras_cost_usd']:,.0f}",
        )
    show(grid, f"Match chances: {profile.name} ({profile.applicant_id})")
    say(
        "P(match anywhere): ",
        (f"{result.p_match_any:.0%}", "bold"),
        f" [{result.p_match_any_low:.0%}-{result.p_match_any_high:.0%}]; total application "
        f"cost about ${result.total_cost_usd:,.0f} (ERAS, transcript, NRMP).",
    )
    say(
        "Recommended = fewest best-fit programs reaching an 80% chance in that specialty. "
        "Probabilities assume you rank every interview; NRMP's rates count only applicants who "
        "certified a rank list.",
        style="dim",
    )
    if not result.specialties["calibrated"].all():
        say("* no reference interview rates for this specialty: a stand-in is used.", style="dim")


@command()
@handles_bad_input
def plan(
    applicant: Path = typer.Option(..., "--applicant", help="Applicant profile (YAML or JSON)."),
    programs: Path = typer.Option(..., "--programs", help="Program table (CSV, XLSX, Parquet)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a readable plan."),
    budget: float | None = typer.Option(
        None,
        "--budget",
        help="Rotation budget in USD, 0 to 1,000,000 (default: the profile's budget_usd).",
    ),
    target: float = typer.Option(
        0.85, "--target", help="P(match anywhere) the backup plan aims for (0-1)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Planning date (YYYY-MM-DD; default today)."
    ),
) -> None:
    """Away rotations, backup specialties, program signals and a dated timeline, each explained."""
    if not 0 < target < 1:
        raise refuse("Invalid --target:", f"{target}; expected a number between 0 and 1.")
    budget = _checked_budget(budget)
    plan_date = _parse_as_of(as_of)
    from analysis.data.applicants import load_applicant
    from analysis.data.programs import load_programs
    from analysis.planners.plan import make_plan
    from analysis.planners.season import SeasonOverError

    profile = load_applicant(applicant)
    table_ = load_programs(programs)
    try:
        result = make_plan(profile, table_, target=target, budget_usd=budget, as_of=plan_date)
    except SeasonOverError as error:
        reason = error.problems[0].expected if error.problems else str(error)
        raise refuse(f"Cannot plan for {profile.applicant_id}:", f"{reason}.") from None
    if as_json:
        typer.echo(json_text(result.to_dict()))
        return
    _print_plan(result)


def _print_plan(result: Any) -> None:
    a = result.applicant
    say(f"Plan for {a.name} ({a.applicant_id}), {a.match_year} Match", style="bold")
    say(result.headline())
    if result.season_note:
        say(result.season_note)
    _print_rotations(result.rotations)
    _print_backup(result.backup)
    if result.signals is not None:
        console.line()
        say("Program signals", style="bold")
        for line in result.signals.lines(result.signals_used):
            say(line)
    if result.levers is not None:
        console.line()
        say("Levers still open at the plan date", style="bold")
        _print_levers(result.levers)
    _print_timeline(result.timeline)
    console.line()
    say(
        "Probabilities are model estimates calibrated to public NRMP figures, for an "
        "applicant who ranks every interview; see the README, 'What the numbers mean'.",
        style="dim",
    )


def _print_rotations(rot: Any) -> None:
    from analysis.planners.enrollment import KIND_LABELS
    from analysis.planners.wording import signed_points

    console.line()

    say("Away rotations and options for graduates", style="bold")
    if rot.rotations.height:
        columns = ("#", "Month", "Kind", "Hands-on", "Where", "Spec.", "Role", "Cost", "Gain")
        grid = table(*columns, box=None, pad_edge=False)
        for i, r in enumerate(rot.rotations.iter_rows(named=True), start=1):
            where = f"{r['program_name']}, {r['state']}" if r["state"] else r["program_name"]
            add_row(
                grid,
                str(i),
                r["start"].strftime("%b %Y"),
                KIND_LABELS[r["kind"]].split(" for ")[0],
                "yes" if r["hands_on"] else "no",
                where,
                r["specialty"],
                r["role"] or "",
                f"${r['cost_usd']:,.0f}",
                signed_points(r["gain"]),
            )
        console.print(grid)
        for i, r in enumerate(rot.rotations.iter_rows(named=True), start=1):
            say(f"  {i}. {r['reason']}")
        budget = f" of ${rot.budget_usd:,.0f}" if rot.budget_usd is not None else ""
        say(f"  Total ${rot.total_cost_usd:,.0f}{budget}.")
    else:
        say("  None planned.")
    for note in rot.notes:
        say(f"  - {note}")


def _print_backup(plan: Any) -> None:
    from analysis.planners.wording import signed_points

    console.line()

    say("Rank list: your specialties and backups, in order", style="bold")
    columns = ("#", "Spec.", "In plan", "P alone", "Adds", "P anywhere", "Programs", "ERAS",
               "Visa sponsors")  # fmt: skip
    backup = table(*columns, box=None, pad_edge=False)
    for r in plan.table.iter_rows(named=True):
        add_row(
            backup,
            str(r["order"]),
            r["specialty"],
            "yes" if r["included"] else "no",
            f"{r['p_match']:.0%}",
            signed_points(r["adds"]),
            f"{r['p_match_any_cumulative']:.0%}" if r["included"] else "",
            str(r["applications"]),
            f"${r['eras_cost_usd']:,.0f}",
            f"{r['share_sponsoring_visa']:.0%}",
        )
    console.print(backup)
    for r in plan.table.iter_rows(named=True):
        path = "" if r["order"] == 1 else f" Path back: {r['path_back']}."
        say(f"  {r['specialty']}: {r['note']}{path}")
    for note in plan.notes:
        say(f"  - {note}")


def _print_levers(levers: Any) -> None:
    from analysis.planners.wording import signed_points

    for r in levers.iter_rows(named=True):
        if r["available"]:
            say(f"  {r['label']}: {signed_points(r['delta'])} ({r['reason']})")
        else:
            say(f"  {r['label']}: left out ({r['reason']})")


def _print_timeline(timeline: Any) -> None:
    console.line()
    say("Timeline (approximate dates; check the AAMC and NRMP calendars)", style="bold")
    shown = timeline.filter(timeline["status"] != "done")
    done = timeline.height - shown.height
    if done:
        say(f"  ({done} earlier step{'s' if done > 1 else ''} done)")
    for r in shown.iter_rows(named=True):
        until = f" to {r['end'].isoformat()}" if r["end"] else ""
        status = "" if r["status"] == "upcoming" else f" [{r['status']}]"
        say(f"  {r['start'].isoformat()}{until}: {r['event']}{status}")


@command()
@handles_bad_input
def calibrate(
    programs: Path = typer.Option(
        None, "--programs", help="Program table (default: the demo table)."
    ),
    cohort: int = typer.Option(
        3000,
        "--cohort",
        min=100,
        max=100_000,
        help="Size of the synthetic calibration cohort (measured: about 38 MB of memory and "
        "0.6 s per 1,000 more).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """The model against NRMP: interview rates, match rates of both IMG groups, difficulty order."""
    from analysis.config import demo_programs_path
    from analysis.data.programs import load_programs
    from analysis.model import calibration

    table_ = load_programs(programs or demo_programs_path())
    result = calibration.calibration_summary(table_, size=cohort)
    if as_json:
        typer.echo(json_text(result))
        return
    _print_calibration(result)


_CALIBRATION_COLUMNS = ("Model mean", "Ref mean", "Ratio", "Facts only ratio", "Model closed",
                        "Ref at 0")  # fmt: skip


def _print_calibration(result: dict[str, Any]) -> None:
    groups = (("non_us_img", "non-US IMGs"), ("us_img", "US IMGs"))
    for group, label in groups:
        grid = table(
            "Specialty",
            *((column, "right") for column in _CALIBRATION_COLUMNS),
        )
        for r in result["interview_rates"][group]:
            add_row(
                grid,
                r["specialty"] + ("" if r["calibrated"] else " *"),
                f"{r['model_mean']:.3f}",
                f"{r['ref_mean']:.3f}",
                f"{r['ratio']:.2f}",
                f"{r['facts_only_ratio']:.2f}",
                f"{r['model_share_closed']:.0%}",
                f"{r['ref_share_zero']:.0%}",
            )
        show(grid, f"Population-average interview rate per program vs the reference ({label})")
    for group, label in groups:
        m = result["match_rate"][group]
        say(
            f"Match rate of {m['applicants']:.0f} synthetic {label}: "
            f"{m['match_rate_certified']:.1%} of those with at least one interview (NRMP's "
            f"denominator: applicants who certified a rank list; NRMP {m['nrmp_2025']:.1%} in "
            f"2025, {m['nrmp_2026']:.1%} in 2026); {m['p_match_all_applicants']:.1%} of "
            "everyone who applied."
        )
    ranked = ", ".join(
        f"{r['specialty']} {r['match_rate_certified']:.0%}"
        + (f" [{r['reference_group']}]" if r["reference_group"] else "")
        for r in result["difficulty_order"]
        if r["calibrated"]
    )
    consistent = result["difficulty_consistent_with_reference"]
    say(
        f"Difficulty, hardest first: {ranked}. "
        f"{'Consistent' if consistent else 'Not consistent'} with the reference groups."
    )
    say(
        "* no reference interview rates: a stand-in specialty's are used. "
        "Facts only: the table's observed interview rates hidden.",
        style="dim",
    )


@command(
    help="Check the model against observed interview rates on your own data: join a table of "
    "per-program rates (Program, City, State and a column per group: MD, DO, US IMG, Non US "
    "IMG; values 0-1, a percent, '-' or empty for unknown) to a program table, then print how "
    "well the IMG-friendliness score, the reference applicant's P(interview) and every single "
    "input rank the programs (Spearman) and the calibration ratio (predicted / observed). "
    "Rows that do not join are written to UNJOINED (default: next to RATES)."
)
@handles_bad_input
def evaluate(
    programs: Path = typer.Option(..., "--programs", help="Program table (CSV, XLSX, Parquet)."),
    observed: Path = typer.Option(..., "--observed", help="Per-program interview rates table."),
    group: str = typer.Option(
        "non_us_img", "--group", help="Applicant group whose rates to check: non_us_img or us_img."
    ),
    specialty: str | None = typer.Option(
        None,
        "--specialty",
        help="Specialty the rates are for (needed when the program table "
        "has several and the rates file has no Specialty column).",
    ),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX sheet of the program table."),
    unjoined_out: Path | None = typer.Option(
        None,
        "--unjoined",
        help="CSV of the rates rows that did not join (default: <RATES>.unjoined.csv).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """The model against observed per-program interview rates (Spearman, calibration ratio)."""
    from analysis.data.observed_rates import write_unjoined_csv
    from analysis.data.programs import load_programs
    from analysis.model.evaluation import evaluate as run_evaluate

    if group not in ("non_us_img", "us_img"):
        raise refuse("Invalid --group:", f"{group!r}; expected non_us_img or us_img.")
    target = unjoined_out or observed.with_name(observed.stem + ".unjoined.csv")
    _check_output_file(target, "--unjoined")
    table_ = load_programs(programs, sheet=sheet, on_unknown_specialty="skip")
    result = run_evaluate(table_, observed, group=group, specialty=specialty)
    write_unjoined_csv(result.unjoined, target)
    if as_json:
        typer.echo(json_text(result.to_dict()))
        return
    _print_evaluation(result.to_dict(), target, result.notes)


def _print_evaluation(doc: dict[str, Any], unjoined: Path, notes: Sequence[str]) -> None:
    say(
        f"Joined {doc['joined']} programs; {doc['unjoined']} rows of the rates table did not "
        f"join (listed in {unjoined})."
    )
    grid = table(
        "Input", ("Spearman", "right"), ("Programs", "right"),
    )  # fmt: skip
    for name, rho in sorted(doc["spearman"].items(), key=lambda kv: -(kv[1] or -2)):
        n = doc.get("spearman_n", {}).get(name, "")
        add_row(grid, name, "n/a" if rho is None else f"{rho:.3f}", str(n))
    show(grid, "Spearman correlation with the observed rate")
    ratio = doc["calibration_ratio"]
    say(
        "Calibration ratio (sum of predicted over sum of observed rates): "
        + ("n/a" if ratio is None else f"{ratio:.2f}")
    )
    for note in notes:
        say(f"note: {note}")


@command(
    help="Fill the observed interview rates of a program table from a per-program rates table "
    "(never overwriting a known value) and write the enriched table to OUT (CSV, XLSX or "
    "Parquet)."
)
@handles_bad_input
def enrich(
    programs: Path = typer.Option(..., "--programs", help="Program table (CSV, XLSX, Parquet)."),
    observed: Path = typer.Option(..., "--observed", help="Per-program interview rates table."),
    out: Path = typer.Option(..., "--out", help="Enriched table: .csv, .xlsx or .parquet."),
    specialty: str | None = typer.Option(None, "--specialty", help="Specialty the rates are for."),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX sheet of the program table."),
) -> None:
    """Fill non_us_img_interview_rate (and the US IMG rate) from observed rates."""
    from analysis.data.files import save_programs
    from analysis.data.programs import load_programs
    from analysis.model.evaluation import enrich as run_enrich

    if out.suffix.lower() not in (".csv", ".xlsx", ".parquet"):
        raise refuse("Invalid --out:", f"{out}; use a .csv, .xlsx or .parquet file name.")
    _check_output_file(out)
    table_ = load_programs(programs, sheet=sheet, on_unknown_specialty="skip")
    result = run_enrich(table_, observed, specialty=specialty)
    save_programs(result.table, out)
    say(
        f"Filled the non-US IMG interview rate of {result.filled} programs "
        f"({result.kept} already had one, {result.differing} of them differ from the file by "
        f"more than 0.005) and the US IMG rate of {result.filled_us_img}; "
        f"{result.unjoined.height} rows of the rates table did not join; wrote {out}"
    )


# --------------------------------------------------------------------------- report

_REPORT_HELP = (
    "Write one self-contained HTML report per applicant, plus index.html (the cohort table) "
    "and errors.json.\n\n"
    "APPLICANTS are profile files (YAML/JSON), folders of them, or CSV files with one "
    "applicant per row. Reports whose inputs (profile, program table, template, imgmatch "
    "version, plan date) are unchanged since the last run are skipped; a failing applicant "
    "never stops the batch.\n\n"
    "Exit code: 0 every report written; 1 some applicants failed (see errors.json); 2 invalid "
    "program table, template, output folder or arguments (nothing written); 130 interrupted "
    "(finished reports are kept: run the same command again to finish)."
)
_SCHEDULER_HELP = (
    "Dask scheduler address (e.g. tcp://127.0.0.1:8786): render on that cluster, started with "
    "`dask scheduler` and `dask worker ADDRESS` (needs the imgmatch\\[dask] extra)."
)


# The report command's arguments and options (typer reads them from the annotations).
ReportApplicants = Annotated[
    list[Path],
    typer.Argument(
        metavar="APPLICANT",
        help="Applicant profiles (YAML/JSON), folders of them, or CSV files with one "
        "applicant per row.",
        show_default=False,
    ),
]
ReportPrograms = Annotated[
    Path, typer.Option("--programs", metavar="FILE", help="Program table (CSV, XLSX, Parquet).")
]
ReportOut = Annotated[
    Path,
    typer.Option(
        "--out",
        metavar="DIR",
        help="Output folder: one report each, index.html, cohort.csv, errors.json.",
    ),
]
ReportWorkers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        metavar="N",
        help="Reports rendered at once on this machine, one warm kernel each (default: the "
        "number of cores; ignored with --scheduler).",
        show_default=False,
    ),
]
ReportScheduler = Annotated[
    str | None, typer.Option("--scheduler", metavar="ADDRESS", help=_SCHEDULER_HELP)
]
ReportForce = Annotated[
    bool, typer.Option("--force", help="Redo every report, even those whose inputs are unchanged.")
]
ReportTimeout = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=1,
        metavar="SECONDS",
        help="Seconds one report may take; then its kernel is interrupted and replaced.",
    ),
]
ReportAsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="Plan date passed to the template (default: the first day of the current month).",
        show_default=False,
    ),
]
ReportTemplate = Annotated[
    Path | None,
    typer.Option(
        "--template",
        metavar="NOTEBOOK",
        help="Report notebook (default: notebooks/applicant_report.ipynb).",
        show_default=False,
    ),
]
ReportPdf = Annotated[
    bool,
    typer.Option(
        "--pdf",
        help="Also print each report to DIR/<applicant_id>.pdf with headless Chromium "
        "(needs Chromium and the playwright package: pip install 'imgmatch[pdf]').",
    ),
]


@command(
    short_help="Write one HTML report per applicant, plus index.html, cohort.csv and errors.json.",
    help=_REPORT_HELP,
)
@handles_bad_input
def report(
    applicants: ReportApplicants,
    programs: ReportPrograms,
    out: ReportOut,
    workers: ReportWorkers = None,
    scheduler: ReportScheduler = None,
    force: ReportForce = False,
    timeout: ReportTimeout = 120.0,
    as_of: ReportAsOf = None,
    template: ReportTemplate = None,
    pdf: ReportPdf = False,
) -> None:
    """Write one HTML report per applicant, plus index.html, cohort.csv and errors.json."""
    from analysis.report.runner import ReportOptions

    if not math.isfinite(timeout):
        raise refuse("Invalid --timeout:", f"{timeout}; expected a number of seconds.")
    options = ReportOptions(
        programs=programs,
        out_dir=out,
        sources=tuple(applicants),
        workers=workers,
        scheduler=scheduler,
        force=force,
        timeout=timeout,
        as_of=_parse_as_of(as_of),
        template=template,
        pdf=pdf,
    )
    result = _run_report_batch(options)
    _print_report_summary(result)
    raise typer.Exit(result.exit_code)


def _run_report_batch(options: Any) -> Any:
    """`run_reports` with a progress bar on a terminal; Ctrl-C exits 130 with what was kept."""
    from analysis.report.runner import (
        NullProgress,
        OutputFolderError,
        ReportsInterrupted,
        RichProgress,
        run_reports,
    )

    progress = RichProgress(err_console) if err_console.is_terminal else NullProgress()
    try:
        return run_reports(options, progress)
    except OutputFolderError as error:
        raise refuse("Cannot write reports:", str(error)) from None
    except ReportsInterrupted as stop:
        say(
            ("Interrupted.", "bold yellow"),
            f" {_count(stop.written, 'report')} written and kept; run the same command again "
            f"to finish the {stop.remaining} left.",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:  # before any report was started: nothing written
        say(("Interrupted.", "bold yellow"), " No report was written.", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _count(number: int, noun: str) -> str:
    """'1 applicant', '2 applicants'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _print_report_summary(result: Any) -> None:
    """The end-of-batch summary: counts, time per report, throughput, where things are."""
    for warning in result.warnings:
        say(("warning:", "yellow"), f" {warning}", err=True, one_line=True)
    say(
        (_count(len(result.records), "applicant"), "bold"),
        ": ",
        (f"{len(result.rendered)} written", "green"),
        ", ",
        (f"{len(result.skipped)} unchanged (skipped)", "cyan"),
        ", ",
        (f"{len(result.failed)} failed", "red"),
        f" in {result.wall_seconds:.1f} s",
        one_line=True,
    )
    timing = result.timing()
    if timing["mean"] is not None:
        where = (
            f"{_count(result.workers, 'local worker')}"
            if result.backend == "local"
            else f"{result.backend}, {_count(result.workers, 'worker thread')}"
        )
        say(
            f"  per report: mean {timing['mean']:.2f} s, median {timing['median']:.2f} s, "
            f"max {timing['max']:.2f} s; {timing['throughput']:.2f} reports/s with {where}",
            one_line=True,
        )
    say(
        f"  index: {result.out_dir / 'index.html'}   errors: {result.out_dir / 'errors.json'}"
        f"   plan as of {result.as_of}",
        one_line=True,
    )
    if result.pdf is not None:  # --pdf: what was printed, or the browser that is missing
        for line in result.pdf.lines():
            say("  ", (line, "" if result.pdf.ok else "red"), one_line=True)
    for record in result.failed:
        lines = (record.message or "").strip().splitlines()
        say(
            "  ",
            ("failed", "red"),
            f" {record.label} ({record.stage or '?'}): {lines[0] if lines else ''}",
            one_line=True,
        )


# --------------------------------------------------------------------------- simulate

MAX_INSERTED = 200
"""Applicants one simulation inserts at most: each joins every replication's market."""


_SIMULATE_HELP = (
    "Simulate the whole Match many times: a national market of US MD and DO seniors, US "
    "IMGs and non-US IMGs in NRMP's numbers applies, interviews and ranks, and deferred "
    "acceptance matches them (as the NRMP does; couples and SOAP left out).\n\n"
    "Prints the match rate of each applicant type (NRMP's denominator), each specialty's fill "
    "rate and the share of its positions filled by each type, next to NRMP 2025; and, for "
    "each --applicant (inserted into every replication), the simulated P(match) per "
    "specialty and anywhere with a Monte Carlo interval, next to the heuristic's figure.\n\n"
    "Scenarios (--scenario, repeat to combine; or a YAML file): "
    "applicants:TYPE:SPECIALTY:+N, positions:SPECIALTY:+N, interview-capacity:SPECIALTY:xF, "
    "applications:+N or applications:SPECIALTY:N, rank-limit:K. With a scenario every "
    "replication runs the baseline and the changed market on the same seed.\n\n"
    "Replication i always uses seed (S, i): the results do not depend on --workers or the "
    "cluster. A cluster is started separately: `dask scheduler`, then `dask worker ADDRESS` "
    "on each machine (needs the imgmatch\\[dask] extra)."
)


@command(
    short_help="Simulate the whole Match: match rates by type, fills, your P(match).",
    help=_SIMULATE_HELP,
)
@handles_bad_input
def simulate(
    programs: Path = typer.Option(
        ..., "--programs", metavar="FILE", help="Program table (CSV, XLSX, Parquet)."
    ),
    applicants: list[str] | None = typer.Option(
        None,
        "--applicant",
        metavar="FILE",
        help="Applicant profile(s) to insert into every replication: YAML/JSON files, folders "
        "of them or CSV files. Repeat the option for several.",
    ),
    runs: int = typer.Option(
        20, "--runs", min=1, max=10_000, metavar="N", help="Replications (1-10000)."
    ),
    seed: int = typer.Option(
        2025, "--seed", min=0, max=2**32 - 1, metavar="S", help="Random seed (0-4294967295)."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        max=512,
        metavar="N",
        help="Local worker processes (default: the number of cores; 1 runs in this process).",
        show_default=False,
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", metavar="ADDRESS", help="Dask scheduler address (tcp://host:8786)."
    ),
    scenario: list[str] | None = typer.Option(
        None, "--scenario", metavar="CHANGE", help="A change or a scenario YAML file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    out: Path | None = typer.Option(
        None, "--out", metavar="DIR", help="Also write simulation.json and CSV tables here."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Date for staleness (YYYY-MM-DD)."),
) -> None:
    """Simulate the whole Match (see --help)."""
    if workers is not None and scheduler:
        raise refuse("Invalid options:", "give --workers or --scheduler, not both.")
    if out is not None and out.exists() and not out.is_dir():
        raise refuse("Invalid --out:", f"{out} is a file; give a folder.")
    plan_date = _parse_as_of(as_of) or dt.date.today()
    from analysis.data.programs import load_programs
    from analysis.model.market import MarketSetup
    from analysis.model.montecarlo import default_workers, text_tables, write_outputs
    from analysis.model.montecarlo import simulate as run_simulation
    from analysis.model.scenarios import parse_scenarios

    changes = parse_scenarios(scenario or [])
    profiles = _simulation_applicants(applicants or [])
    setup = MarketSetup(load_programs(programs), plan_date, applicants=tuple(profiles))
    sim = _run_simulation(
        run_simulation,
        setup,
        runs=runs,
        seed=seed,
        scenario=None if changes.empty else changes,
        workers=workers or default_workers(),
        scheduler=scheduler,
    )
    if out is not None:
        written = write_outputs(sim, out)
        say(f"Wrote {len(written)} files to {out}", err=True, one_line=True)
    if as_json:
        typer.echo(json_text(sim.to_dict()))
        return
    _print_simulation(sim, text_tables(sim))


def _run_simulation(run: Callable[..., Any], setup: Any, **options: Any) -> Any:
    """`run(setup, **options)` with a progress display; Ctrl-C exits 130, nothing written."""
    progress = _simulation_progress(options["runs"])
    try:
        sim = run(setup, progress=progress.update, **options)
    except KeyboardInterrupt:
        progress.stop()
        say(("Interrupted.", "bold yellow"), " Nothing was written.", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    progress.stop()
    return sim


def _print_simulation(sim: Any, tables: Any) -> None:
    """The simulation's tables, its scenario and how it ran."""
    for title, columns, rows in tables:
        grid = table(columns[0], *((c, "right") for c in columns[1:]))
        for row in rows:
            add_row(grid, *row)
        show(grid, title)
    if sim.scenario_changes:
        say("Scenario: " + "; ".join(sim.scenario_changes))
    left = sim.market["specialties_left_out"]
    say(
        f"{sim.runs} replications, seed {sim.seed}, on {sim.backend} "
        f"({_count(sim.workers, 'worker')}) in {sim.seconds:.1f} s."
        + (f" Left out (no NRMP figures): {', '.join(left)}." if left else ""),
        style="dim",
    )


def _simulation_applicants(sources: Sequence[str]) -> list[Any]:
    """The profiles to insert; a bad one is reported and left out, the others go on."""
    from analysis.data.applicants import iter_applicants

    good, bad = [], 0
    for _, item in iter_applicants(*sources):
        if isinstance(item, DataValidationError):
            print_problems(item)
            bad += 1
        else:
            good.append(item)
    if bad and not good:
        raise refuse("No applicant to insert:", f"all {_count(bad, 'profile')} had problems.")
    if bad:
        say(f"Left out {_count(bad, 'applicant')} with problems (listed above).", err=True)
    if len(good) > MAX_INSERTED:
        raise refuse(
            "Too many applicants:",
            f"{len(good)}; insert at most {MAX_INSERTED} (each joins every market).",
        )
    return good


class _SimulationProgress:
    """A progress bar on a terminal; in a pipe or a log, a plain line every tenth of the runs."""

    def __init__(self, total: int) -> None:
        import time

        self.total, self.start, self.shown = total, time.perf_counter(), 0
        self.bar: Any = None
        if err_console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("replications"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                console=err_console,
            )  # fmt: skip
            self.task = self.bar.add_task("replications", total=total)
            self.bar.start()

    def update(self, done: int, total: int) -> None:
        """One more replication finished."""
        import time

        if self.bar is not None:
            self.bar.update(self.task, completed=done)
            return
        step = max(1, total // 10)
        if done == total or done - self.shown >= step:
            self.shown = done
            elapsed = time.perf_counter() - self.start
            say(f"replications {done}/{total} ({elapsed:.0f} s)", err=True, one_line=True)

    def stop(self) -> None:
        """Leave the finished bar on screen."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _simulation_progress(total: int) -> _SimulationProgress:
    return _SimulationProgress(total)


if __name__ == "__main__":  # pragma: no cover
    app()
