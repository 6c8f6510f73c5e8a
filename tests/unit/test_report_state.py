"""Hashing, skip decisions, state files, errors.json, template checks, the up-front validation.

No kernels here: results are stored through the same functions the runner uses.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from analysis.cli import app
from analysis.data.schemas import ApplicantProfile
from analysis.errors import DataValidationError
from analysis.report.outputs import (
    RenderJob,
    RenderResult,
    ReportRecord,
    canonical_profile_json,
    inputs_hash,
    is_up_to_date,
    read_state,
    remove_stale_temp_files,
    report_path,
    safe_json_text,
    state_path,
    store_result,
    write_errors,
)
from analysis.report.runner import ReportOptions, default_as_of, load_template, run_reports

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "report"
PARTS = ("profile", "programs-sha", "template-sha", "0.1.0", "2026-11-01")


def profile(**changes: object) -> ApplicantProfile:
    data = {
        "applicant_id": "amira",
        "name": "Amira Haddad",
        "visa_needed": "j1",
        "graduation_year": 2022,
        "step2_score": 244,
        "target_specialties": ["IR", "DR"],
        "match_year": dt.date.today().year + 1,
        "us_letters": {"IR": 1, "DR": 0},
    }
    data.update(changes)
    return ApplicantProfile.model_validate(data)


# --------------------------------------------------------------------------- hashing


def test_inputs_hash_is_stable() -> None:
    assert inputs_hash(*PARTS) == inputs_hash(*PARTS)
    assert len(inputs_hash(*PARTS)) == 64


@given(st.integers(min_value=0, max_value=4), st.text(min_size=1))
def test_inputs_hash_changes_when_any_input_changes(index: int, suffix: str) -> None:
    changed = list(PARTS)
    changed[index] += suffix
    assert inputs_hash(*changed) != inputs_hash(*PARTS)


def test_inputs_hash_is_not_fooled_by_moving_text_between_parts() -> None:
    assert inputs_hash("ab", "c", *PARTS[2:]) != inputs_hash("a", "bc", *PARTS[2:])


def test_canonical_profile_json_ignores_key_order_and_sees_every_change() -> None:
    first = profile(us_letters={"IR": 1, "DR": 0})
    second = profile(us_letters={"DR": 0, "IR": 1})
    assert canonical_profile_json(first) == canonical_profile_json(second)
    assert canonical_profile_json(profile(step2_score=245)) != canonical_profile_json(first)


def test_default_as_of_is_the_first_day_of_the_month() -> None:
    assert default_as_of(dt.date(2026, 11, 23)) == dt.date(2026, 11, 1)
    assert default_as_of(dt.date(2027, 1, 1)) == dt.date(2027, 1, 1)


# --------------------------------------------------------------------------- state and skipping

SUMMARY = {"applicant_id": "amira", "name": "Amira", "p_match": {"IR": 0.2}, "rotations": 1}


def job(digest: str = "h1") -> RenderJob:
    return RenderJob("amira", "amira.yaml", "Amira", "{}", digest, "/tmp/amira.json")


def ok_result(html: str = "<html>report</html>") -> RenderResult:
    return RenderResult("amira", True, 0.25, html=html, summary=SUMMARY)


def failed_result() -> RenderResult:
    return RenderResult("amira", False, 0.1, stage="execute", message="ValueError: boom")


def test_a_stored_report_is_skipped_only_when_everything_matches(tmp_path: Path) -> None:
    record = store_result(tmp_path, job("h1"), ok_result(), "2026-11-01", "0.1.0")
    assert record.status == "written" and record.summary == SUMMARY
    assert report_path(tmp_path, "amira").read_text() == "<html>report</html>"
    state = read_state(tmp_path, "amira")
    assert state is not None and state["status"] == "ok" and state["inputs_hash"] == "h1"
    assert is_up_to_date(tmp_path, "amira", "h1") is not None
    assert is_up_to_date(tmp_path, "amira", "h2") is None, "changed inputs are redone"
    report_path(tmp_path, "amira").unlink()
    assert is_up_to_date(tmp_path, "amira", "h1") is None, "a deleted report is redone"


def test_a_corrupt_or_failed_state_is_redone(tmp_path: Path) -> None:
    store_result(tmp_path, job("h1"), ok_result(), "2026-11-01", "0.1.0")
    state_path(tmp_path, "amira").write_text("{not json")
    assert read_state(tmp_path, "amira") is None
    assert is_up_to_date(tmp_path, "amira", "h1") is None
    store_result(tmp_path, job("h1"), failed_result(), "2026-11-01", "0.1.0")
    assert read_state(tmp_path, "amira")["status"] == "failed"
    assert is_up_to_date(tmp_path, "amira", "h1") is None


def test_a_failure_with_new_inputs_removes_the_outdated_report(tmp_path: Path) -> None:
    store_result(tmp_path, job("h1"), ok_result(), "2026-11-01", "0.1.0")
    record = store_result(tmp_path, job("h2"), failed_result(), "2026-11-01", "0.1.0")
    assert record.status == "failed" and record.stage == "execute"
    assert not report_path(tmp_path, "amira").exists()
    assert read_state(tmp_path, "amira")["message"] == "ValueError: boom"


def test_a_forced_rerun_that_fails_keeps_the_still_valid_report(tmp_path: Path) -> None:
    store_result(tmp_path, job("h1"), ok_result(), "2026-11-01", "0.1.0")
    store_result(tmp_path, job("h1"), failed_result(), "2026-11-01", "0.1.0")
    assert report_path(tmp_path, "amira").exists()
    assert is_up_to_date(tmp_path, "amira", "h1") is not None


def test_no_temporary_file_is_left_and_stale_ones_are_removed(tmp_path: Path) -> None:
    store_result(tmp_path, job(), ok_result(), "2026-11-01", "0.1.0")
    leftovers = [p.name for p in tmp_path.rglob("*") if ".tmp" in p.name]
    assert leftovers == []
    stale = tmp_path / ".amira.html.1a2b3c4d.tmp.html"
    stale.write_text("<html>half")
    keep = tmp_path / "notes.tmp.txt"
    keep.write_text("not ours")
    assert remove_stale_temp_files(tmp_path) == 1
    assert not stale.exists() and keep.exists()


# --------------------------------------------------------------------------- errors.json


def test_errors_json_has_one_escaped_record_per_failure(tmp_path: Path) -> None:
    records = [
        ReportRecord("a.yaml", "a", "written", summary=SUMMARY),
        ReportRecord("b.yaml", "b", "failed", stage="timeout", message="took longer than 5 s"),
        ReportRecord(
            "c.csv row 3",
            None,
            "failed",
            stage="validate",
            message='name "<script>alert(1)</script>"',
            problems=[{"file": "c.csv", "row": 3}],
        ),
    ]
    path = write_errors(tmp_path, records)
    text = path.read_text(encoding="utf-8")
    assert "<script>" not in text
    errors = json.loads(text)
    assert [e["label"] for e in errors] == ["b.yaml", "c.csv row 3"]
    assert errors[0] == {
        "label": "b.yaml",
        "applicant_id": "b",
        "stage": "timeout",
        "message": "took longer than 5 s",
    }
    assert errors[1]["applicant_id"] is None
    assert errors[1]["message"] == 'name "<script>alert(1)</script>"'
    assert errors[1]["problems"] == [{"file": "c.csv", "row": 3}]


def test_errors_json_is_an_empty_list_when_nothing_failed(tmp_path: Path) -> None:
    assert json.loads(write_errors(tmp_path, []).read_text()) == []


@given(st.text())
def test_safe_json_text_round_trips(text: str) -> None:
    encoded = safe_json_text({"message": text})
    assert not set(encoded) & {"<", ">", "&"}
    assert json.loads(encoded) == {"message": text}


# --------------------------------------------------------------------------- template checks


def test_the_report_template_passes_the_checks() -> None:
    template, warnings = load_template(
        Path(__file__).resolve().parents[2] / "notebooks" / "applicant_report.ipynb"
    )
    assert warnings == []
    assert template.declared >= {"applicant_file", "programs_file", "as_of"}


def test_a_template_without_parameters_or_summary_is_refused(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(1)")]
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(DataValidationError) as caught:
        load_template(path)
    messages = [problem.expected for problem in caught.value.problems]
    assert any("'parameters'" in m for m in messages)
    assert any("'summary'" in m for m in messages)


def test_a_template_that_is_not_a_notebook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text("{not a notebook")
    with pytest.raises(DataValidationError, match="1 problem"):
        load_template(path)


def test_missing_parameters_are_reported_as_warnings(tmp_path: Path) -> None:
    nb = nbformat.read(FIXTURES / "behaviour.ipynb", as_version=4)
    nb.cells[1].source = 'applicant_file: str = "a.json"  # only this one'
    path = tmp_path / "partial.ipynb"
    nbformat.write(nb, path)
    _, warnings = load_template(path)
    assert len(warnings) == 2 and "'programs_file'" in warnings[0] and "'as_of'" in warnings[1]


# --------------------------------------------------------------------------- up-front checks


def test_an_invalid_program_table_stops_everything_before_writing(tmp_path: Path) -> None:
    programs = tmp_path / "programs.csv"
    programs.write_text("program_id,program_name,specialty\np1,Alpha,NOT_A_SPECIALTY\n")
    out = tmp_path / "out"
    options = ReportOptions(
        programs=programs,
        out_dir=out,
        sources=(FIXTURES / "programs.csv",),
        template=FIXTURES / "behaviour.ipynb",
    )
    with pytest.raises(DataValidationError):
        run_reports(options)
    assert not out.exists()


def test_cli_exits_2_with_the_problem_list_and_writes_nothing(tmp_path: Path) -> None:
    programs = tmp_path / "programs.csv"
    programs.write_text("program_id,program_name,specialty\np1,Alpha,NOT_A_SPECIALTY\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["report", "--programs", str(programs), "--out", str(out), str(tmp_path)],
    )
    assert result.exit_code == 2, result.output
    assert "NOT_A_SPECIALTY" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_refuses_missing_sources_and_bad_dates(tmp_path: Path) -> None:
    out = tmp_path / "out"
    missing = CliRunner().invoke(
        app,
        ["report", "--programs", str(FIXTURES / "programs.csv"), "--out", str(out),
         str(tmp_path / "nobody.yaml")],
    )  # fmt: skip
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    bad_date = CliRunner().invoke(
        app,
        ["report", "--programs", str(FIXTURES / "programs.csv"), "--out", str(out),
         "--as-of", "2026-13-01", str(tmp_path)],
    )  # fmt: skip
    assert bad_date.exit_code == 2 and "--as-of" in bad_date.output
    assert not out.exists()
