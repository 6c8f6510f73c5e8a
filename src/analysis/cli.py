"""The `imgmatch` command line (typer). Every command has `--help`.

Commands stay thin: each calls a function of the package and prints its result. Bad input
(`DataValidationError`) is printed as a readable list of problems, with no traceback, and
the command exits 2. Heavy imports happen inside the commands so `--help` is instant.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
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
EXIT_INTERRUPTED = 130

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


# ---------------------------------------------------------------------------- validate

_FORMAT_NAMES = {
    "canonical": "canonical program table",
    "tracker": "applicant's tracker spreadsheet",
    "freida": "FREIDA-style export",
}


@app.command(
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
        err_console.print(
            "[bold red]Nothing to validate:[/] give --programs FILE and/or --applicants "
            "FILE_OR_DIR (see imgmatch validate --help)."
        )
        raise typer.Exit(EXIT_INVALID_INPUT)
    errors: list[DataValidationError] = []
    if programs is not None:
        try:
            table, info = inspect_programs(
                programs,
                sheet=sheet,
                on_unknown_specialty="skip" if skip_unknown_specialties else "error",
            )
        except DataValidationError as error:
            errors.append(error)
        except FileNotFoundError:
            errors.append(DataValidationError([file_problem(programs, "no such file")]))
        else:
            _print_program_summary(table, info, summarize_programs(table))
    if applicants:
        good, bad = [], []
        for label, result in iter_applicants(*applicants):
            (bad if isinstance(result, DataValidationError) else good).append((label, result))
        _print_applicant_summary(good, len(bad))
        errors.extend(error for _, error in bad)
    if errors:
        raise DataValidationError.merge(errors)


def _print_program_summary(table: Any, info: Any, summary: dict[str, Any]) -> None:
    from rich.table import Table

    from analysis.data.vocabulary import specialty_name

    overview = Table(title=f"Program table: {info.file}", show_header=False, title_justify="left")
    overview.add_column("what", style="bold")
    overview.add_column("value")
    overview.add_row("format", _FORMAT_NAMES.get(info.format, info.format))
    if info.sheet:
        overview.add_row("sheet", info.sheet)
    if info.encoding:
        delimiter = {"\t": "tab", ",": "comma", ";": "semicolon"}.get(info.delimiter or "", "")
        overview.add_row("encoding", f"{info.encoding}, {delimiter}-separated")
    overview.add_row("rows", str(summary["rows"]))
    if info.skipped_rows:
        skipped = ", ".join(f"{name} ({count})" for name, count in info.skipped_specialties.items())
        overview.add_row("skipped rows", f"{info.skipped_rows} of unknown specialties: {skipped}")
    if info.format != "canonical":
        used = "; ".join(f"{header} → {role}" for header, role in info.columns.items())
        overview.add_row("columns read", used)
    overview.add_row(
        "ignored columns", ", ".join(info.ignored_columns) if info.ignored_columns else "none"
    )
    console.print(overview)

    by_specialty = Table(title="Programs per specialty", title_justify="left")
    by_specialty.add_column("code")
    by_specialty.add_column("specialty")
    by_specialty.add_column("programs", justify="right")
    for code, count in summary["specialties"].items():
        by_specialty.add_row(code, specialty_name(code), str(count))
    console.print(by_specialty)

    unknown = Table(title="Unknown values per column", title_justify="left")
    unknown.add_column("column")
    unknown.add_column("unknown", justify="right")
    known = []
    for column, share in sorted(summary["unknown_share"].items(), key=lambda kv: -kv[1]):
        if share > 0:
            unknown.add_row(column, f"{share:.0%}")
        else:
            known.append(column)
    console.print(unknown)
    if known:
        console.print(f"Fully known: {', '.join(known)}", style="dim")
    console.print(f"[green]OK[/]: {summary['rows']} programs in {info.file}")


def _print_applicant_summary(good: list[tuple[str, Any]], bad_count: int) -> None:
    from rich.table import Table

    if good:
        table = Table(title="Applicants", title_justify="left")
        for column in ("applicant_id", "name", "visa", "targets", "match year", "from"):
            table.add_column(column)
        for label, profile in good:
            table.add_row(
                profile.applicant_id,
                profile.name,
                profile.visa_needed,
                ", ".join(profile.target_specialties),
                str(profile.match_year),
                label.replace("\\", "/").rsplit("/", 1)[-1],
            )
        console.print(table)
    noun = "applicant" if len(good) == 1 else "applicants"
    invalid = f", {bad_count} invalid" if bad_count else ""
    style = "green" if not bad_count else "yellow"
    console.print(f"[{style}]{len(good)} valid {noun}[/]{invalid}")


# --------------------------------------------------------------------------- demo data


@app.command(
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
    import polars as pl
    from rich import box
    from rich.table import Table

    from analysis.data.demo import INTERVIEW_STAND_IN, calibration_summary, write_demo_data

    try:
        written = write_demo_data(out, seed=seed)
    except NotADirectoryError as error:
        err_console.print(f"[bold red]Cannot write demo data:[/] {error}")
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    except OSError as error:
        err_console.print(f"[bold red]Cannot write to {out}:[/] {error.strerror or error}")
        raise typer.Exit(1) from None

    programs = written.programs
    console.print(f"Wrote [bold]SYNTHETIC[/] demo data (seed {seed}) to {out}:", highlight=False)
    console.print(
        f"  {written.programs_path.name}: {programs.height:,} fictional programs, "
        f"{int(programs['pgy1_positions'].sum()):,} first-year positions, "
        f"{programs['specialty'].n_unique()} specialties",
        highlight=False,
    )
    names = ", ".join(path.name for path in written.applicant_paths)
    console.print(f"  applicants/: {names}", highlight=False)

    summary = calibration_summary(written.calibration)
    exact = summary.filter(
        (pl.col("programs") == pl.col("programs_ref"))
        & (pl.col("pgy1_positions") == pl.col("pgy1_positions_ref"))
    ).height
    console.print(
        f"  programs and positions equal NRMP 2025's for {exact} of {summary.height} specialties",
        highlight=False,
    )
    table = Table(
        title="Non-US IMG interview rate per program, generated/reference",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("specialty", "share at 0", "median", "p90", "mean", "ok"):
        table.add_column(column, justify="left" if column == "specialty" else "right")
    for row in summary.iter_rows(named=True):
        table.add_row(
            row["specialty"] + ("*" if row["stand_in"] else ""),
            f"{row['share_zero']:.2f}/{row['share_zero_ref']:.2f}",
            f"{row['median']:.3f}/{row['median_ref']:.3f}",
            f"{row['p90']:.3f}/{row['p90_ref']:.3f}",
            f"{row['mean']:.3f}/{row['mean_ref']:.3f}",
            "[green]yes[/]" if row["ok"] else "[red]no[/]",
        )
    console.print(table)
    if summary["stand_in"].any():
        stand_ins = ", ".join(f"{code} -> {ref}" for code, ref in INTERVIEW_STAND_IN.items())
        console.print(
            f"  * no reference row of its own: compared with a stand-in's ({stand_ins}), "
            "with a wider tolerance at zero",
            highlight=False,
        )
    checks = written.calibration
    passed = int(checks["within_tolerance"].sum())
    style = "green" if passed == checks.height else "yellow"
    console.print(
        f"[{style}]{passed} of {checks.height} calibration checks within tolerance[/] "
        "(analysis.data.demo.calibration_table lists them all, with their tolerances)."
    )
    for row in checks.filter(~checks["within_tolerance"]).iter_rows(named=True):
        console.print(
            f"  [yellow]outside tolerance:[/] {row['specialty']} {row['metric']}: "
            f"{row['generated']} vs {row['reference']}",
            highlight=False,
        )


# --------------------------------------------------------------------------- engine commands

VISA_CHOICES = ("j1", "h1b", "either", "none")


def _parse_as_of(as_of: str | None):
    import datetime as dt

    if not as_of:
        return None
    try:
        return dt.date.fromisoformat(as_of)
    except ValueError:
        err_console.print(f"[bold red]Invalid --as-of:[/] {as_of!r}; expected YYYY-MM-DD")
        raise typer.Exit(EXIT_INVALID_INPUT) from None


@app.command()
@handles_bad_input
def score(
    programs: Path = typer.Option(..., "--programs", help="Program table (CSV, XLSX, Parquet)."),
    out: Path = typer.Option(..., "--out", help="Output file: .csv or .parquet."),
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
        err_console.print(
            f"[bold red]Invalid --visa:[/] {visa!r}; expected one of {', '.join(VISA_CHOICES)}"
        )
        raise typer.Exit(EXIT_INVALID_INPUT)
    if out.suffix.lower() not in (".csv", ".parquet"):
        err_console.print(f"[bold red]Invalid --out:[/] {out}; use a .csv or .parquet file name")
        raise typer.Exit(EXIT_INVALID_INPUT)
    from analysis.data.files import atomic_output
    from analysis.data.programs import load_programs
    from analysis.model.friendliness import score_programs

    table = load_programs(programs, sheet=sheet)
    scored = score_programs(table, visa_needed=visa, as_of=_parse_as_of(as_of))
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as tmp:
        if out.suffix.lower() == ".csv":
            scored.write_csv(tmp)
        else:
            scored.write_parquet(tmp)
    tiers = scored.group_by("tier").len().sort("len", descending=True)
    console.print(
        f"Scored {scored.height} programs for visa need "
        f"[bold]{visa or 'generic IMG'}[/]; wrote {out}"
    )
    console.print("  " + ", ".join(f"{r['tier']}: {r['len']}" for r in tiers.iter_rows(named=True)))


@app.command()
@handles_bad_input
def chances(
    applicant: Path = typer.Option(..., "--applicant", help="Applicant profile (YAML or JSON)."),
    programs: Path = typer.Option(..., "--programs", help="Program table (CSV, XLSX, Parquet)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    as_of: str | None = typer.Option(None, "--as-of", help="Date for staleness (YYYY-MM-DD)."),
) -> None:
    """Interview and match chances per target specialty, with 80% intervals and ERAS costs."""
    import json

    from analysis.data.applicants import load_applicant
    from analysis.data.programs import load_programs
    from analysis.model.probability import match_chances
    from analysis.planners.levers import levers as levers_for
    from analysis.planners.plan import lever_records

    profile = load_applicant(applicant)
    table = load_programs(programs)
    plan_date = _parse_as_of(as_of)
    result = match_chances(profile, table, as_of=plan_date)
    levers = levers_for(profile, table, as_of=plan_date, on_past="explain")
    if as_json:
        doc = result.to_dict()
        doc["levers"] = [
            {k: r[k] for k in ("lever", "p_match_any_after", "available", "reason")}
            for r in lever_records(levers)
        ]
        typer.echo(json.dumps(doc, indent=2))
        return
    from rich.table import Table

    grid = Table(
        title=f"Match chances: {profile.name} ({profile.applicant_id})", title_justify="left"
    )
    headers = ("#", "Specialty", "Applications", "Eligible", "Interviews",
               "P(match) [80% interval]", "P(match here)", "Recommended", "ERAS cost")  # fmt: skip
    for column in headers:
        grid.add_column(column, justify="left" if column == "Specialty" else "right")
    for r in result.specialties.iter_rows(named=True):
        rec = r["recommended_applications"]
        grid.add_row(
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
    console.print(grid)
    console.print(
        f"P(match anywhere): [bold]{result.p_match_any:.0%}[/] "
        f"[{result.p_match_any_low:.0%}-{result.p_match_any_high:.0%}]; "
        f"total application cost about ${result.total_cost_usd:,.0f} (ERAS, transcript, NRMP)."
    )
    console.print(
        "Recommended = fewest best-fit programs reaching an 80% chance in that specialty. "
        "Probabilities assume you rank every interview; NRMP's rates count only applicants who "
        "certified a rank list.",
        style="dim",
    )
    if not result.specialties["calibrated"].all():
        console.print(
            "* no reference interview rates for this specialty: a stand-in is used.", style="dim"
        )
    console.print("Levers still open at the plan date", style="bold")
    _print_levers(levers)


# --------------------------------------------------------------------------- report


@app.command()
@handles_bad_input
def plan(
    applicant: Path = typer.Option(..., "--applicant", help="Applicant profile (YAML or JSON)."),
    programs: Path = typer.Option(..., "--programs", help="Program table (CSV, XLSX, Parquet)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a readable plan."),
    budget: float | None = typer.Option(
        None, "--budget", help="Rotation budget in USD (default: the profile's budget_usd)."
    ),
    target: float = typer.Option(
        0.85, "--target", help="P(match anywhere) the backup plan aims for (0-1)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Planning date (YYYY-MM-DD; default today)."
    ),
) -> None:
    """Away rotations, backup specialties and a dated timeline, each explained."""
    import json

    from analysis.data.applicants import load_applicant
    from analysis.data.programs import load_programs
    from analysis.planners.plan import make_plan

    if not 0 < target < 1:
        err_console.print(f"[bold red]Invalid --target:[/] {target}; expected a number in (0, 1)")
        raise typer.Exit(EXIT_INVALID_INPUT)
    profile = load_applicant(applicant)
    table = load_programs(programs)
    result = make_plan(profile, table, target=target, budget_usd=budget, as_of=_parse_as_of(as_of))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    _print_plan(result)


def _print_plan(result: Any) -> None:
    a = result.applicant
    console.print(f"Plan for {a.name} ({a.applicant_id}), {a.match_year} Match",
                  style="bold", markup=False, highlight=False)  # fmt: skip
    console.print(result.headline(), markup=False, highlight=False)
    if result.season_note:
        console.print(result.season_note, markup=False, highlight=False)
    _print_rotations(result.rotations)
    _print_backup(result.backup)
    if result.levers is not None:
        console.print("\nLevers still open at the plan date", style="bold")
        _print_levers(result.levers)
    _print_timeline(result.timeline)
    console.print(
        "\nProbabilities are model estimates calibrated to public NRMP figures, for an "
        "applicant who ranks every interview; see the README, 'What the numbers mean'.",
        style="dim",
    )


def _print_rotations(rot: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from analysis.planners.enrollment import KIND_LABELS
    from analysis.planners.wording import signed_points

    console.print("\nAway rotations and options for graduates", style="bold")
    if rot.rotations.height:
        grid = Table(show_header=True, box=None, pad_edge=False)
        for column in ("#", "Month", "Kind", "Hands-on", "Where", "Spec.", "Role", "Cost",
                       "Gain"):  # fmt: skip
            grid.add_column(column, overflow="fold")
        for i, r in enumerate(rot.rotations.iter_rows(named=True), start=1):
            where = f"{r['program_name']}, {r['state']}" if r["state"] else r["program_name"]
            grid.add_row(
                str(i),
                r["start"].strftime("%b %Y"),
                KIND_LABELS[r["kind"]].split(" for ")[0],
                "yes" if r["hands_on"] else "no",
                escape(where),
                r["specialty"],
                r["role"] or "",
                f"${r['cost_usd']:,.0f}",
                signed_points(r["gain"]),
            )
        console.print(grid)
        for i, r in enumerate(rot.rotations.iter_rows(named=True), start=1):
            console.print(f"  {i}. {r['reason']}", markup=False, highlight=False)
        budget = f" of ${rot.budget_usd:,.0f}" if rot.budget_usd is not None else ""
        console.print(f"  Total ${rot.total_cost_usd:,.0f}{budget}.", markup=False)
    else:
        console.print("  None planned.")
    for note in rot.notes:
        console.print(f"  - {note}", highlight=False, markup=False)


def _print_backup(plan: Any) -> None:
    from rich.table import Table

    from analysis.planners.wording import signed_points

    console.print("\nRank list: your specialties and backups, in order", style="bold")
    backup = Table(show_header=True, box=None, pad_edge=False)
    for column in ("#", "Spec.", "In plan", "P alone", "Adds", "P anywhere", "Programs", "ERAS",
                   "Visa sponsors"):  # fmt: skip
        backup.add_column(column)
    for r in plan.table.iter_rows(named=True):
        backup.add_row(
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
        console.print(f"  {r['specialty']}: {r['note']}{path}", markup=False, highlight=False)
    for note in plan.notes:
        console.print(f"  - {note}", highlight=False, markup=False)


def _print_levers(levers: Any) -> None:
    from analysis.planners.wording import signed_points

    for r in levers.iter_rows(named=True):
        if r["available"]:
            text = f"  {r['label']}: {signed_points(r['delta'])} ({r['reason']})"
        else:
            text = f"  {r['label']}: left out ({r['reason']})"
        console.print(text, markup=False, highlight=False)


def _print_timeline(timeline: Any) -> None:
    console.print("\nTimeline (approximate dates; check the AAMC and NRMP calendars)", style="bold")
    shown = timeline.filter(timeline["status"] != "done")
    done = timeline.height - shown.height
    if done:
        console.print(f"  ({done} earlier step{'s' if done > 1 else ''} done)", markup=False)
    for r in shown.iter_rows(named=True):
        until = f" to {r['end'].isoformat()}" if r["end"] else ""
        status = "" if r["status"] == "upcoming" else f" [{r['status']}]"
        console.print(f"  {r['start'].isoformat()}{until}: {r['event']}{status}", markup=False,
                      highlight=False)  # fmt: skip


@app.command()
@handles_bad_input
def calibrate(
    programs: Path = typer.Option(
        None, "--programs", help="Program table (default: the demo table)."
    ),
    cohort: int = typer.Option(3000, "--cohort", help="Size of the synthetic calibration cohort."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """The model against NRMP: interview rates, match rates of both IMG groups, difficulty order."""
    import json

    from rich.table import Table

    from analysis.config import demo_programs_path
    from analysis.data.programs import load_programs
    from analysis.model import calibration

    table = load_programs(programs or demo_programs_path())
    result = calibration.calibration_summary(table, size=cohort)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for group, label in (("non_us_img", "non-US IMGs"), ("us_img", "US IMGs")):
        grid = Table(
            title=f"Population-average interview rate per program vs the reference ({label})",
            title_justify="left",
        )
        for column in ("Specialty", "Model mean", "Ref mean", "Ratio", "Facts only ratio",
                       "Model closed", "Ref at 0"):  # fmt: skip
            grid.add_column(column, justify="left" if column == "Specialty" else "right")
        for r in result["interview_rates"][group]:
            grid.add_row(
                r["specialty"] + ("" if r["calibrated"] else " *"),
                f"{r['model_mean']:.3f}",
                f"{r['ref_mean']:.3f}",
                f"{r['ratio']:.2f}",
                f"{r['facts_only_ratio']:.2f}",
                f"{r['model_share_closed']:.0%}",
                f"{r['ref_share_zero']:.0%}",
            )
        console.print(grid)
    for group, label in (("non_us_img", "non-US IMGs"), ("us_img", "US IMGs")):
        m = result["match_rate"][group]
        console.print(
            f"Match rate of {m['applicants']:.0f} synthetic {label}: "
            f"{m['match_rate_certified']:.1%} of those with at least one interview (NRMP's "
            f"denominator: applicants who certified a rank list; NRMP {m['nrmp_2025']:.1%} in "
            f"2025, {m['nrmp_2026']:.1%} in 2026); {m['p_match_all_applicants']:.1%} of "
            "everyone who applied.",
            highlight=False,
            markup=False,
        )
    ranked = ", ".join(
        f"{r['specialty']} {r['match_rate_certified']:.0%}"
        + (f" [{r['reference_group']}]" if r["reference_group"] else "")
        for r in result["difficulty_order"]
        if r["calibrated"]
    )
    consistent = result["difficulty_consistent_with_reference"]
    console.print(
        f"Difficulty, hardest first: {ranked}. "
        f"{'Consistent' if consistent else 'Not consistent'} with the reference groups.",
        highlight=False,
        markup=False,
    )
    console.print(
        "* no reference interview rates: a stand-in specialty's are used. "
        "Facts only: the table's observed interview rates hidden.",
        style="dim",
        markup=False,
    )


@app.command(
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
    import json

    from analysis.data.observed_rates import write_unjoined_csv
    from analysis.data.programs import load_programs
    from analysis.model.evaluation import evaluate as run_evaluate

    if group not in ("non_us_img", "us_img"):
        err_console.print(
            f"Invalid --group: {group!r}; expected non_us_img or us_img", markup=False
        )
        raise typer.Exit(EXIT_INVALID_INPUT)
    table = load_programs(programs, sheet=sheet, on_unknown_specialty="skip")
    result = run_evaluate(table, observed, group=group, specialty=specialty)
    target = unjoined_out or observed.with_name(observed.stem + ".unjoined.csv")
    write_unjoined_csv(result.unjoined, target)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    _print_evaluation(result.to_dict(), target, result.notes)


def _print_evaluation(doc: dict[str, Any], unjoined: Path, notes: Sequence[str]) -> None:
    from rich.table import Table

    console.print(
        f"Joined {doc['joined']} programs; {doc['unjoined']} rows of the rates table did not "
        f"join (listed in {unjoined}).",
        markup=False,
        highlight=False,
    )
    grid = Table(title="Spearman correlation with the observed rate", title_justify="left")
    for column in ("Input", "Spearman", "Programs"):
        grid.add_column(column, justify="left" if column == "Input" else "right")
    for name, rho in sorted(doc["spearman"].items(), key=lambda kv: -(kv[1] or -2)):
        n = doc.get("spearman_n", {}).get(name, "")
        grid.add_row(name, "n/a" if rho is None else f"{rho:.3f}", str(n))
    console.print(grid)
    ratio = doc["calibration_ratio"]
    console.print(
        "Calibration ratio (sum of predicted over sum of observed rates): "
        + ("n/a" if ratio is None else f"{ratio:.2f}"),
        markup=False,
        highlight=False,
    )
    for note in notes:
        console.print(f"note: {note}", markup=False, highlight=False)


@app.command(
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
        err_console.print(
            f"Invalid --out: {out}; use a .csv, .xlsx or .parquet file name", markup=False
        )
        raise typer.Exit(EXIT_INVALID_INPUT)
    table = load_programs(programs, sheet=sheet, on_unknown_specialty="skip")
    result = run_enrich(table, observed, specialty=specialty)
    save_programs(result.table, out)
    console.print(
        f"Filled the non-US IMG interview rate of {result.filled} programs "
        f"({result.kept} already had one, {result.differing} of them differ from the file by "
        f"more than 0.005) and the US IMG rate of {result.filled_us_img}; "
        f"{result.unjoined.height} rows of the rates table did not join; wrote {out}",
        markup=False,
        highlight=False,
    )


@app.command(
    short_help="Write one HTML report per applicant, plus index.html and errors.json.",
    help="Write one self-contained HTML report per applicant, plus index.html (the cohort "
    "table) and errors.json.\n\n"
    "APPLICANTS are profile files (YAML/JSON), folders of them, or CSV files with one "
    "applicant per row. Reports whose inputs (profile, program table, template, imgmatch "
    "version, plan date) are unchanged since the last run are skipped; a failing applicant "
    "never stops the batch.\n\n"
    "Exit code: 0 every report written; 1 some applicants failed (see errors.json); 2 invalid "
    "program table, template or arguments (nothing written); 130 interrupted (finished "
    "reports are kept: run the same command again to finish).",
)
@handles_bad_input
def report(
    applicants: list[Path] = typer.Argument(
        ...,
        metavar="APPLICANT",
        help="Applicant profiles (YAML/JSON), folders of them, or CSV files with one "
        "applicant per row.",
        show_default=False,
    ),
    programs: Path = typer.Option(
        ..., "--programs", metavar="FILE", help="Program table (CSV, XLSX, Parquet)."
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        metavar="DIR",
        help="Output folder: <applicant_id>.html each, index.html, errors.json.",
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        metavar="N",
        help="Reports rendered at once on this machine, one warm kernel each (default: the "
        "number of cores; ignored with --scheduler).",
        show_default=False,
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address (e.g. tcp://10.0.0.5:8786): render on that cluster "
        "(needs the imgmatch\\[dask] extra).",
    ),
    force: bool = typer.Option(
        False, "--force", help="Redo every report, even those whose inputs are unchanged."
    ),
    timeout: float = typer.Option(
        120.0,
        "--timeout",
        min=1,
        metavar="SECONDS",
        help="Seconds one report may take; then its kernel is interrupted and replaced.",
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        metavar="YYYY-MM-DD",
        help="Plan date passed to the template (default: the first day of the current month).",
        show_default=False,
    ),
    template: Path | None = typer.Option(
        None,
        "--template",
        metavar="NOTEBOOK",
        help="Report notebook (default: notebooks/applicant_report.ipynb).",
        show_default=False,
    ),
) -> None:
    """Write one HTML report per applicant, plus index.html and errors.json."""
    from analysis.report.runner import ReportOptions

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
    )
    result = _run_report_batch(options)
    _print_report_summary(result)
    raise typer.Exit(result.exit_code)


def _run_report_batch(options: Any) -> Any:
    """`run_reports` with a progress bar on a terminal; Ctrl-C exits 130 with what was kept."""
    from analysis.report.runner import NullProgress, ReportsInterrupted, RichProgress, run_reports

    progress = RichProgress(err_console) if err_console.is_terminal else NullProgress()
    try:
        return run_reports(options, progress)
    except ReportsInterrupted as stop:
        err_console.print(
            f"[bold yellow]Interrupted.[/] {stop.written} reports written and kept; run the "
            f"same command again to finish the {stop.remaining} left."
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:  # before any report was started: nothing written
        err_console.print("[bold yellow]Interrupted.[/] No report was written.")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _print_report_summary(result: Any) -> None:
    """The end-of-batch summary: counts, time per report, throughput, where things are."""
    from rich.markup import escape

    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    console.print(
        f"[bold]{len(result.records)} applicants[/]: [green]{len(result.rendered)} written[/], "
        f"[cyan]{len(result.skipped)} unchanged (skipped)[/], "
        f"[red]{len(result.failed)} failed[/] in {result.wall_seconds:.1f} s",
        highlight=False,
        soft_wrap=True,
    )
    timing = result.timing()
    if timing["mean"] is not None:
        where = (
            f"{result.workers} local worker{'s' if result.workers != 1 else ''}"
            if result.backend == "local"
            else f"{result.backend}, {result.workers} worker threads"
        )
        console.print(
            f"  per report: mean {timing['mean']:.2f} s, median {timing['median']:.2f} s, "
            f"max {timing['max']:.2f} s; {timing['throughput']:.2f} reports/s with "
            f"{escape(where)}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"  index: {escape(str(result.out_dir / 'index.html'))}   "
        f"errors: {escape(str(result.out_dir / 'errors.json'))}   plan as of {result.as_of}",
        highlight=False,
        soft_wrap=True,
    )
    for record in result.failed:
        lines = (record.message or "").strip().splitlines()
        console.print(
            f"  [red]failed[/] {escape(record.label)} ({escape(record.stage or '?')}): "
            f"{escape(lines[0] if lines else '')}",
            highlight=False,
            soft_wrap=True,
        )


if __name__ == "__main__":  # pragma: no cover
    app()
