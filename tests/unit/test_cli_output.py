"""What the command line prints: never wrapped in a pipe, never markup, one sentence per refusal.

The commands run in-process (typer's CliRunner: the output is not a terminal, as in a pipe or
a log) from a deeply nested folder and with COLUMNS set small or unset, so nothing here
depends on the width of the terminal, the length of the path or the current directory.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from rich.table import Table
from typer.testing import CliRunner

from analysis import cli
from analysis.cli import app
from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.report import terminal
from analysis.report.terminal import printable
from analysis.report.text import CHANCES_COLUMNS, count, print_report_summary
from tests.unit import test_cli_plan, test_report_state

RUNNER = CliRunner()
PROGRAMS = str(demo_programs_path())
AMIRA = demo_applicants_dir() / "amira_ir.yaml"
REPORT_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "report"
ESC = "\x1b"


@pytest.fixture(params=["20", None], ids=["COLUMNS=20", "COLUMNS unset"])
def deep(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder about 450 characters deep, with COLUMNS small or unset."""
    if request.param is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", request.param)
    folder = tmp_path.joinpath(*[f"a_rather_long_folder_name_number_{i:02d}" for i in range(12)])
    folder.mkdir(parents=True)
    return folder


def invoke(*args: str | Path):
    result = RUNNER.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def profile(folder: Path, name: str | None = None, **replace: str) -> Path:
    """The demo applicant Amira, with another name (YAML double-quoted) or other lines."""
    text = AMIRA.read_text(encoding="utf-8")
    if name is not None:
        text = text.replace("name: Amira Haddad", f'name: "{name}"')
    for old, new in replace.items():
        text = text.replace(old, new)
    path = folder / "applicant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- 1. no wrapping


def test_the_two_tests_that_wrapped_pass_from_a_deep_folder(deep: Path) -> None:
    test_cli_plan.test_bad_options_and_inputs_exit_2_without_traceback(deep)
    test_report_state.test_cli_refuses_missing_sources_and_bad_dates(deep)


def test_every_problem_is_one_line_with_its_whole_path(deep: Path) -> None:
    broken = deep / "broken.csv"
    rows = "".join(f"P{i},Program {i},NOPE{i}\n" for i in range(3))
    broken.write_text("program_id,program_name,specialty\n" + rows, encoding="utf-8")
    result = invoke("score", "--programs", broken, "--out", deep / "out.csv")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    for row in (2, 3, 4):
        assert any(str(broken) in line and f"row {row}," in line for line in lines), lines
    assert not (deep / "out.csv").exists()


def test_tables_keep_their_full_width_in_a_pipe(deep: Path) -> None:
    result = invoke("chances", "--applicant", AMIRA, "--programs", PROGRAMS, "--as-of",
                    "2026-12-01")  # fmt: skip
    assert result.exit_code == 0
    assert "…" not in result.output
    header = next(line for line in result.output.splitlines() if "Specialty" in line)
    for column in CHANCES_COLUMNS:
        assert column in header
    assert "P(match anywhere)" in result.output and "not reached" in result.output
    lever_lines = [line for line in result.output.splitlines() if line.startswith("  Step 2 CK")]
    assert lever_lines and all(line.rstrip().endswith(")") for line in lever_lines)


def test_plan_validate_calibrate_print_whole_lines_in_a_pipe(deep: Path) -> None:
    plan = invoke("plan", "--applicant", AMIRA, "--programs", PROGRAMS, "--as-of", "2026-12-01")
    assert plan.exit_code == 0 and "…" not in plan.output and "\\n" not in plan.output
    assert any(
        line.startswith("Plan for Amira Haddad (amira_ir)") for line in plan.output.splitlines()
    )
    validate = invoke("validate", "--programs", PROGRAMS, "--applicants", AMIRA)
    assert validate.exit_code == 0 and "…" not in validate.output
    assert f"Program table: {PROGRAMS}" in validate.output
    calibrate = invoke("calibrate", "--cohort", "300")
    assert calibrate.exit_code == 0 and "…" not in calibrate.output
    assert "Facts only ratio" in calibrate.output


# --------------------------------------------------------------------------- 5. text, not markup


@pytest.mark.parametrize(
    "value, shown",
    [
        ("Dr [/] Who", "Dr [/] Who"),
        ("[bold red]x[/]", "[bold red]x[/]"),
        (f"{ESC}[31mred{ESC}[0m", "\\x1b[31mred\\x1b[0m"),
        ("a\nb\tc\r", "a\\nb\\tc\\r"),
        ("left\u202eright", "left\\u202eright"),
        ("caf\udce9", "caf\\udce9"),
        ("Bogotá, 東京", "Bogotá, 東京"),
    ],
)
def test_printable_shows_control_characters_as_escapes(value: str, shown: str) -> None:
    assert printable(value) == shown


def test_a_name_with_markup_is_printed_as_text(tmp_path: Path) -> None:
    path = profile(tmp_path, "Dr [/] Who [bold]")
    validate = invoke("validate", "--applicants", path)
    assert validate.exit_code == 0 and "Dr [/] Who [bold]" in validate.output
    chances = invoke("chances", "--applicant", path, "--programs", PROGRAMS)
    assert (
        chances.exit_code == 0 and "Match chances: Dr [/] Who [bold] (amira_ir)" in chances.output
    )
    plan = invoke("plan", "--applicant", path, "--programs", PROGRAMS, "--as-of", "2026-12-01")
    assert plan.exit_code == 0 and "Plan for Dr [/] Who [bold] (amira_ir)" in plan.output


def test_escape_sequences_in_a_name_never_reach_the_terminal(tmp_path: Path) -> None:
    path = profile(tmp_path, "Eve \\e[2J\\e]0;owned\\a \\e[31mRed")
    for args in (("validate", "--applicants", path),
                 ("chances", "--applicant", path, "--programs", PROGRAMS)):  # fmt: skip
        result = invoke(*args)
        assert result.exit_code in (0, 2)  # shown as text, or refused as a bad name
        assert ESC not in result.output and "\a" not in result.output


def test_a_folder_named_like_markup_is_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "a[/b]" / "[red]"
    out = folder / "scored.csv"
    result = invoke("score", "--programs", PROGRAMS, "--out", out)
    assert result.exit_code == 0 and out.is_file()
    assert f"wrote {out}" in result.output
    missing = invoke("plan", "--applicant", folder / "[/]nobody.yaml", "--programs", PROGRAMS)
    assert missing.exit_code == 2 and "[/]nobody.yaml" in missing.stderr


# --------------------------------------------------------------------------- 7. file system


def one_sentence(result, *words: str) -> None:
    """Exit 2, one line on stderr naming the words, no traceback."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], lines[0]


def report_args(out: Path, *extra: str | Path) -> list[str | Path]:
    applicant = REPORT_FIXTURES.parent / "applicants" / "valid_ir.yaml"
    return ["report", "--programs", REPORT_FIXTURES / "programs.csv", "--out", out, *extra,
            applicant]  # fmt: skip


def test_score_out_naming_a_folder_or_under_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "out.csv"
    folder.mkdir()
    one_sentence(invoke("score", "--programs", PROGRAMS, "--out", folder), "is a folder")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    one_sentence(invoke("score", "--programs", PROGRAMS, "--out", a_file / "x.csv"), "is a file")


def test_report_out_that_is_a_file_or_under_a_file(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    one_sentence(invoke(*report_args(a_file)), "--out needs a folder")
    one_sentence(invoke(*report_args(a_file / "reports")), "is a file, not a folder")
    assert a_file.read_text() == "x"


def test_report_state_folder_that_cannot_be_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".imgmatch").write_text("not a folder")
    one_sentence(invoke(*report_args(out)), ".imgmatch is a file")
    assert sorted(p.name for p in out.iterdir()) == [".imgmatch"]


def test_report_out_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)  # a read-only mount (root ignores modes)
    one_sentence(invoke(*report_args(tmp_path / "out")), "cannot write in", "Read-only")
    assert not (tmp_path / "out" / "index.html").exists()


def test_template_that_is_a_folder(tmp_path: Path) -> None:
    result = invoke(*report_args(tmp_path / "out", "--template", tmp_path))
    one_sentence(result, "is a folder", "notebook")
    assert not (tmp_path / "out").exists()


def test_an_unforeseen_os_error_is_one_sentence(tmp_path: Path, monkeypatch) -> None:
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x.csv"))

    monkeypatch.setattr("analysis.data.files.atomic_output", denied)
    one_sentence(invoke("score", "--programs", PROGRAMS, "--out", tmp_path / "x.csv"),
                 "Permission denied", "x.csv")  # fmt: skip


# --------------------------------------------------------------------------- 8. options


def strict_json(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("budget", ["nan", "NaN", "inf", "-inf", "-100", "1e12"])
def test_plan_refuses_a_budget_that_is_not_an_amount(budget: str) -> None:
    result = invoke("plan", "--applicant", AMIRA, "--programs", PROGRAMS, "--json",
                    "--budget", budget)  # fmt: skip
    one_sentence(result, "Invalid --budget")
    assert result.stdout == ""


def test_plan_json_is_strict_json_with_a_budget() -> None:
    result = invoke("plan", "--applicant", AMIRA, "--programs", PROGRAMS, "--json",
                    "--budget", "0", "--as-of", "2026-12-01")  # fmt: skip
    assert result.exit_code == 0
    assert strict_json(result.stdout)["applicant_id"] == "amira_ir"


def test_json_text_never_writes_nan() -> None:
    doc = {"a": float("nan"), "b": [float("inf"), 1.5], "c": {"d": -float("inf")}}
    assert strict_json(cli.json_text(doc)) == {"a": None, "b": [None, 1.5], "c": {"d": None}}


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "2026-02-30", "soon"])
@pytest.mark.parametrize("command", ["plan", "chances", "score", "report"])
def test_as_of_out_of_range_is_one_sentence(as_of: str, command: str, tmp_path: Path) -> None:
    args: dict[str, list[str | Path]] = {
        "plan": ["plan", "--applicant", AMIRA, "--programs", PROGRAMS],
        "chances": ["chances", "--applicant", AMIRA, "--programs", PROGRAMS],
        "score": ["score", "--programs", PROGRAMS, "--out", tmp_path / "s.csv"],
        "report": report_args(tmp_path / "out"),
    }
    one_sentence(invoke(*args[command], "--as-of", as_of), "Invalid --as-of", "2000-01-01")
    assert list(tmp_path.iterdir()) == []


def test_a_past_match_year_is_refused_in_one_sentence(tmp_path: Path) -> None:
    path = profile(tmp_path, **{"match_year: 2028": "match_year: 2026"})
    result = invoke("plan", "--applicant", path, "--programs", PROGRAMS, "--as-of", "2026-12-01")
    one_sentence(result, "Cannot plan for amira_ir", "2026 Match is over", "match_year")


# --------------------------------------------------------------------------- 15. small things


COMMANDS = sorted(typer.main.get_command(app).commands)  # every command, new ones too


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_bool_type_for_flags(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "<bool>" not in result.output and "--help" in result.output


def test_report_summary_counts_in_singular_and_plural(capsys) -> None:
    from analysis.report.outputs import ReportRecord
    from analysis.report.runner import BatchResult

    def summary(count: int) -> str:
        records = [ReportRecord(f"a{i}", f"a{i}", "written", seconds=1.0) for i in range(count)]
        print_report_summary(BatchResult(records, Path("out"), 2.0, 1, "local", "2026-12-01"))
        return capsys.readouterr().out

    one = summary(1)
    assert one.startswith("1 applicant: 1 written") and "1 local worker;" not in one
    assert "with 1 local worker\n" in one
    assert summary(2).startswith("2 applicants: 2 written")


def test_count_reads_as_english() -> None:
    counts: Callable[[int], str] = lambda n: count(n, "applicant")  # noqa: E731
    assert [counts(n) for n in (0, 1, 2)] == ["0 applicants", "1 applicant", "2 applicants"]
    assert not re.search(r"\b1 \w+s\b", counts(1))


def test_a_bug_is_one_line_without_traceback_unless_asked(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise AttributeError("'DataFrame' object has no attribute 'nope'")

    monkeypatch.setattr("analysis.data.programs.load_programs", broken)
    result = invoke("score", "--programs", PROGRAMS, "--out", "never.csv")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Internal error: AttributeError:") and "IMGMATCH_DEBUG=1" in line
    monkeypatch.setenv("IMGMATCH_DEBUG", "1")
    debug = RUNNER.invoke(app, ["score", "--programs", PROGRAMS, "--out", "never.csv"])
    assert isinstance(debug.exception, AttributeError)


# --------------------------------------------------------------------------- 9. spreadsheets


def test_score_csv_escapes_formula_cells(tmp_path: Path) -> None:
    import polars as pl

    table = tmp_path / "programs.csv"
    names = ['=HYPERLINK("http://x","y")', "@SUM(1)", "+1+1", "-2", "Plain Program"]
    rows = "".join(f'P{i},"{n.replace(chr(34), 2 * chr(34))}",IM\n' for i, n in enumerate(names))
    table.write_text("program_id,program_name,specialty\n" + rows, encoding="utf-8")
    out = tmp_path / "scored.csv"
    result = invoke("score", "--programs", table, "--out", out)
    assert result.exit_code == 0, result.output
    written = pl.read_csv(out, infer_schema_length=0)["program_name"].to_list()
    assert sorted(written) == sorted(["'" + n for n in names[:4]] + ["Plain Program"])


# --------------------------------------------------------------------------- a narrow terminal


@pytest.mark.parametrize(
    "command",
    [[], *([name] for name in typer.main.get_command(cli.app).commands)],  # type: ignore[attr-defined]
)
def test_help_never_cuts_an_option_name_on_a_narrow_terminal(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    result = invoke(*command, "--help")
    assert result.exit_code == 0, (command, result.output)
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) == cli.HELP_MIN_WIDTH


def _terminal(width: int) -> terminal._Console:
    return terminal._Console(file=io.StringIO(), force_terminal=True, width=width,
                             color_system=None)  # fmt: skip


def _chances_table() -> tuple[Table, list[list[str]]]:
    rows = [["1", "Interventional Radiology", "34% [28%-39%]", "not reached", "$1,050"],
            ["2", "Internal Medicine", "46% [34%-59%]", "", "$3,030"]]  # fmt: skip
    grid = terminal.table("#", "Specialty", ("P(match) [80% interval]", "right"), "Recommended",
                          "ERAS cost")  # fmt: skip
    for row in rows:
        terminal.add_row(grid, *row)
    return grid, rows


def test_a_table_too_wide_for_the_window_is_printed_row_by_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    narrow = _terminal(40)
    monkeypatch.setattr(terminal, "console", narrow)
    grid, rows = _chances_table()
    terminal.show(grid, title="Match chances")
    out = narrow.file.getvalue()
    assert "…" not in out and "┃" not in out
    lines = out.splitlines()
    assert lines[0] == "Match chances"
    for row in rows:  # every value whole, on a line of its own after its column's name
        assert all(any(line.endswith(f": {cell}") for line in lines) for cell in row if cell)
    assert "Specialty: Interventional Radiology" in lines
    assert "P(match) [80% interval]: 46% [34%-59%]" in lines
    assert "Recommended: not reached" in lines
    assert sum(line.startswith("Recommended:") for line in lines) == 1  # an empty cell: no line
    assert [line for line in lines if line.startswith("#: ")] == ["#: 1", "#: 2"]
    assert all(len(line) <= 40 for line in lines)


def test_a_table_that_fits_the_window_stays_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    wide = _terminal(120)
    monkeypatch.setattr(terminal, "console", wide)
    grid, rows = _chances_table()
    terminal.show(grid)
    out = wide.file.getvalue()
    assert "…" not in out
    assert any(all(cell in line for cell in rows[0]) for line in out.splitlines())
