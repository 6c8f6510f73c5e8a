"""The `imgmatch` command line (typer). Every command has `--help`.

Commands stay thin: each calls a function of the package and prints its result. Bad input
(`DataValidationError`) is printed as a list of problems, one per line, with no traceback,
and the command exits 2; so does a file-system error (an output path that is a file, a
read-only folder...), in one sentence. Heavy imports happen inside the commands so `--help`
is instant.

What the commands print is in `analysis.report.text`, through the terminal helpers of
`analysis.report.terminal`: everything a user typed is printed as text, never as rich
markup, with its control characters shown as escapes, and nothing wraps in a pipe or a log.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import typer.rich_utils
from typer.core import TyperCommand, TyperGroup

from analysis.errors import DataValidationError
from analysis.report.terminal import err_console, say
from analysis.report.text import (
    count,
    print_applicant_summary,
    print_calibration,
    print_chances,
    print_demo_calibration,
    print_evaluation,
    print_levers,
    print_plan,
    print_program_summary,
    print_report_summary,
    print_simulation,
)

HELP_MIN_WIDTH = 100
"""`--help` is laid out at least this wide, whatever the terminal: on a narrow one rich would
cut option names to fit ("--prog…"); a wide line is wrapped by the terminal and loses nothing."""


class _Help:
    """Help that reads well anywhere: laid out at least `HELP_MIN_WIDTH` wide (error panels
    keep the window's width) and with no `<bool>` beside flags (they take no value)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params

    def format_help(self, ctx: Any, formatter: Any) -> None:
        saved = typer.rich_utils.MAX_WIDTH
        typer.rich_utils.MAX_WIDTH = max(
            shutil.get_terminal_size().columns, saved or 0, HELP_MIN_WIDTH
        )
        try:
            super().format_help(ctx, formatter)  # type: ignore[misc]
        finally:
            typer.rich_utils.MAX_WIDTH = saved


class _Group(_Help, TyperGroup):
    """The `imgmatch` group with readable help (see `_Help`)."""


class _Command(_Help, TyperCommand):
    """A typer command with readable help (see `_Help`); every command is one."""


app = typer.Typer(
    name="imgmatch",
    help="Residency planning for international medical graduates: load and validate program "
    "tables, score IMG-friendliness, estimate match chances, plan rotations and backups, and "
    "write one HTML report per applicant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Group,
)
command = functools.partial(app.command, cls=_Command)
"""`app.command` with readable help (see `_Help`); every command is declared through it."""

EXIT_BUG = 1
EXIT_INVALID_INPUT = 2
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------- bad input, JSON


def refuse(label: str, message: str) -> typer.Exit:
    """Print `label message` (one line, on stderr) and return the exit to raise (code 2)."""
    say((label, "bold red"), " ", message, err=True, one_line=True)
    return typer.Exit(EXIT_INVALID_INPUT)


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
            print_program_summary(info, summarize_programs(table_))
    if applicants:
        good, bad = [], []
        for label, result in iter_applicants(*applicants):
            (bad if isinstance(result, DataValidationError) else good).append((label, result))
        print_applicant_summary(good, len(bad))
        errors.extend(error for _, error in bad)
    if errors:
        raise DataValidationError.merge(errors)


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
    print_demo_calibration(written.calibration)


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
    print_chances(profile, result)
    for line in mine.own_lines():
        say(line)
    say("Levers still open at the plan date", style="bold")
    print_levers(levers)


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
    print_plan(result)


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
    print_calibration(result)


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
    print_evaluation(result.to_dict(), target, result.notes)


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
    print_report_summary(result)
    raise typer.Exit(result.exit_code)


def _run_report_batch(options: Any) -> Any:
    """`run_reports` with a progress bar on a terminal; Ctrl-C exits 130 with what was kept."""
    from analysis.report.outputs import OutputFolderError
    from analysis.report.runner import NullProgress, ReportsInterrupted, RichProgress, run_reports

    progress = RichProgress(err_console) if err_console.is_terminal else NullProgress()
    try:
        return run_reports(options, progress)
    except OutputFolderError as error:
        raise refuse("Cannot write reports:", str(error)) from None
    except ReportsInterrupted as stop:
        say(
            ("Interrupted.", "bold yellow"),
            f" {count(stop.written, 'report')} written and kept; run the same command again "
            f"to finish the {stop.remaining} left.",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:  # before any report was started: nothing written
        say(("Interrupted.", "bold yellow"), " No report was written.", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


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
    from analysis.model.market_setup import MarketSetup
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
    print_simulation(sim, text_tables(sim))


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
        raise refuse("No applicant to insert:", f"all {count(bad, 'profile')} had problems.")
    if bad:
        say(f"Left out {count(bad, 'applicant')} with problems (listed above).", err=True)
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
