"""`imgmatch validate`: summaries and exit 0, or every problem and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.cli import app

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "programs.csv"


def run(*args: str):
    result = CliRunner().invoke(app, ["validate", *map(str, args)])
    flat_out = " ".join(result.stdout.split())
    flat_err = " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result, flat_out, flat_err


def test_help_describes_both_inputs() -> None:
    result = CliRunner().invoke(app, ["validate", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for option in ("--programs", "--applicants", "--sheet", "--skip-unknown-specialties"):
        assert option in text
    assert "exits 2" in text


def test_valid_tracker_prints_a_summary(program_fixture) -> None:
    result, out, _ = run("--programs", program_fixture("tracker_ir.csv"))
    assert result.exit_code == 0
    assert "applicant's tracker spreadsheet" in out
    assert "Interventional Radiology" in out and "Diagnostic Radiology" in out
    assert "Unknown values per column" in out
    assert "OK: 5 programs" in out


def test_ignored_and_skipped_are_reported(program_fixture) -> None:
    result, out, _ = run("--programs", program_fixture("freida_export.csv"))
    assert result.exit_code == 0
    assert "FREIDA-style export" in out and "field_extra" in out
    result, out, _ = run(
        "--programs", program_fixture("freida_with_fellowship.csv"), "--skip-unknown-specialties"
    )
    assert result.exit_code == 0
    assert "2 of unknown specialties" in out and "Cardiovascular Disease (1)" in out


def test_invalid_table_lists_every_problem_and_exits_2(program_fixture) -> None:
    result, _, err = run("--programs", program_fixture("canonical_errors.csv"))
    assert result.exit_code == 2
    assert "Invalid input: 7 problems" in err
    assert "row 2, column 'pct_img_residents': '140'" in err
    assert "row 4, column 'state': 'XX'" in err


def test_unknown_specialty_without_skip_fails(program_fixture) -> None:
    result, _, err = run("--programs", program_fixture("freida_with_fellowship.csv"))
    assert result.exit_code == 2
    assert "--skip-unknown-specialties" in err


def test_missing_file_exits_2(tmp_path) -> None:
    result, _, err = run("--programs", tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert "nope.csv" in err and "no such file" in err


def test_workbook_sheet_option(tmp_path) -> None:
    import openpyxl

    path = tmp_path / "book.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "Cover"
    sheet = workbook.create_sheet("Programs")
    sheet.append(["program_id", "program_name", "specialty"])
    sheet.append(["a", "Alpha", "IM"])
    workbook.save(path)
    result, out, _ = run("--programs", path, "--sheet", "Programs")
    assert result.exit_code == 0 and "Programs" in out
    result, _, err = run("--programs", path, "--sheet", "Nope")
    assert result.exit_code == 2 and "'Cover', 'Programs'" in err


def test_valid_applicants(tmp_path, applicant_fixture) -> None:
    folder = tmp_path / "cohort"
    applicant_fixture("valid_ir.yaml", folder)
    applicant_fixture("valid_im.json", folder)
    csv_path = applicant_fixture("applicants.csv")
    result, out, _ = run("--applicants", folder, "--applicants", csv_path)
    assert result.exit_code == 0
    assert "syn_ir_01" in out and "syn_csv_02" in out
    assert "4 valid applicants" in out


def test_invalid_applicants_exit_2(applicant_fixture) -> None:
    bad = applicant_fixture("step2_320.yaml")
    tag = applicant_fixture("python_tag.yaml")
    good = applicant_fixture("valid_ir.yaml")
    result, out, err = run("--applicants", bad, "--applicants", tag, "--applicants", good)
    assert result.exit_code == 2
    assert "1 valid applicant, 2 invalid" in out
    assert "line 5, field 'step2_score': 320" in err  # a YAML file has lines, not rows
    assert "!!python" in err


def test_both_inputs_are_checked_together(program_fixture, applicant_fixture) -> None:
    result, _out, err = run(
        "--programs",
        program_fixture("canonical_errors.csv"),
        "--applicants",
        applicant_fixture("step2_320.yaml"),
    )
    assert result.exit_code == 2
    assert "Invalid input: 8 problems" in err
    assert "canonical_errors.csv" in err and "step2_320.yaml" in err


def test_nothing_to_validate_exits_2() -> None:
    result, _, err = run()
    assert result.exit_code == 2
    assert "--programs" in err and "--applicants" in err


@pytest.mark.skipif(not DEMO.is_file(), reason="data/demo/programs.csv not generated yet")
def test_demo_programs_validate() -> None:
    result, out, _ = run("--programs", DEMO)
    assert result.exit_code == 0, result.stderr
    assert "canonical program table" in out
