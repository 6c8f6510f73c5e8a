"""Hostile and ambiguous applicant profiles: refused early, precisely, within bounded memory.

Each test is a case a user (or an attacker) hit: a 400-byte "billion laughs" YAML that hung
every command, numbers and nesting that raised ValueError/RecursionError through the batch,
duplicate keys that silently kept the last value, specialty keys that silently merged.
"""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc
from pathlib import Path

import pytest

from analysis.data import applicants as imgio
from analysis.data.documents import MAX_BYTES, MAX_DEPTH, read_document
from analysis.data.schemas import ApplicantProfile
from analysis.errors import DataValidationError, Problem

MATCH_YEAR = dt.date.today().year + 1
BASE = f"""applicant_id: a1
name: Test Applicant
visa_needed: j1
graduation_year: 2020
step2_score: 244
target_specialties: [IM]
match_year: {MATCH_YEAR}
"""


def write(tmp_path: Path, text: str, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(DataValidationError) as info:
        imgio.load_applicant(path)
    return info.value.problems


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th line containing `needle`."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return found[occurrence - 1]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return problems[0]


def billion_laughs(levels: int = 10) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + f"\nnotes: *{chr(ord('a') + levels - 1)}\n"


# --------------------------------------------------------------------------- item 2: aliases


def test_billion_laughs_is_refused_before_anything_walks_it(tmp_path) -> None:
    path = write(tmp_path, billion_laughs())
    assert path.stat().st_size < 500
    tracemalloc.start()
    try:
        problem = only(problems_of(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # refused while composing: nothing was expanded
    assert (problem.line, problem.column) == (1, "a")
    assert "anchors (&name) are not allowed" in problem.expected


def test_an_alias_is_refused_with_its_line(tmp_path) -> None:
    problem = only(problems_of(write(tmp_path, BASE + "notes: *somewhere\n")))
    assert (problem.line, problem.column) == (8, "notes")
    assert "aliases (*name) are not allowed" in problem.expected


def test_yaml_errors_say_line_not_row(tmp_path) -> None:
    path = write(tmp_path, BASE + "notes: [unclosed\n")
    problem = only(problems_of(path))
    assert problem.row is None and problem.line is not None
    assert f"{path}, line " in str(problem) and "row" not in str(problem)


# ------------------------------------------------------------------ item 3: numbers, nesting


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_5000_digit_number_is_a_problem_of_its_field(tmp_path, suffix: str) -> None:
    digits = "9" * 5000
    if suffix == ".yaml":
        text = BASE.replace("step2_score: 244", f"step2_score: {digits}")
    else:
        data = ApplicantProfile.model_validate_json(json.dumps(_base_dict())).model_dump(
            mode="json", exclude_defaults=True
        )
        text = json.dumps(data, indent=1).replace('"step2_score": 244', f'"step2_score": {digits}')
    problem = only(problems_of(write(tmp_path, text, "p" + suffix)))
    assert problem.column == "step2_score"
    assert problem.line is not None and problem.line > 1
    assert "5,000 characters" in problem.expected and "244" in problem.expected


def _base_dict() -> dict:
    return {
        "applicant_id": "a1",
        "name": "Test Applicant",
        "visa_needed": "j1",
        "graduation_year": 2020,
        "step2_score": 244,
        "target_specialties": ["IM"],
        "match_year": MATCH_YEAR,
    }


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_2000_nested_brackets_in_notes(tmp_path, suffix: str) -> None:
    nested = "[" * 2000 + "]" * 2000
    if suffix == ".yaml":
        text = BASE + f"notes: {nested}\n"
    else:
        text = json.dumps(_base_dict(), indent=1)[:-2] + f',\n "notes": {nested}\n}}'
    problem = only(problems_of(write(tmp_path, text, "p" + suffix)))
    assert problem.column == "notes"
    assert problem.line == line_of(text, "notes")
    assert f"nested deeper than {MAX_DEPTH} levels" in problem.expected


def test_quoted_brackets_are_text(tmp_path) -> None:
    profile = imgio.load_applicant(write(tmp_path, BASE + 'notes: "' + "[" * 2000 + '"\n'))
    assert profile.notes == "[" * 2000


def test_impossible_date_and_binary_tag(tmp_path) -> None:
    text = BASE.replace("step2_score: 244", "step2_expected: 244\nstep2_exam_date: 2026-02-30")
    problem = only(problems_of(write(tmp_path, text)))
    assert (problem.line, problem.column) == (6, "step2_exam_date")
    assert "a date (YYYY-MM-DD)" in problem.expected
    tagged = only(problems_of(write(tmp_path, BASE + "notes: !!binary aGVsbG8=\n")))
    assert tagged.line == 8 and "tags such as" in tagged.expected


def test_oversized_profile_is_refused_without_reading_it(tmp_path) -> None:
    path = write(tmp_path, BASE + "notes: " + "x" * MAX_BYTES + "\n")
    problem = only(problems_of(path))
    assert "a profile is at most" in problem.expected


def test_every_exception_of_one_applicant_stays_with_it(tmp_path, monkeypatch) -> None:
    good = write(tmp_path, BASE, "b_good.yaml")
    bad = write(tmp_path, BASE.replace("a1", "a2"), "a_bad.yaml")

    real = imgio.load_applicant

    def flaky(path):
        if Path(path).name == "a_bad.yaml":
            raise RuntimeError("something no check foresaw")
        return real(path)

    monkeypatch.setattr(imgio, "load_applicant", flaky)
    results = list(imgio.iter_applicants(tmp_path))
    assert [Path(label).name for label, _ in results] == ["a_bad.yaml", "b_good.yaml"]
    error = results[0][1]
    assert isinstance(error, DataValidationError)
    assert "RuntimeError: something no check foresaw" in only(error.problems).expected
    assert isinstance(results[1][1], ApplicantProfile)
    assert good.exists() and bad.exists()


def test_hostile_profiles_in_a_batch_are_recorded_while_others_load(tmp_path) -> None:
    folder = tmp_path / "cohort"
    folder.mkdir()
    write(folder, billion_laughs(), "1_laughs.yaml")
    write(folder, BASE.replace("244", "9" * 5000).replace("a1", "n1"), "2_number.yaml")
    write(folder, BASE.replace("a1", "n2") + "notes: " + "[" * 2000 + "]" * 2000, "3_deep.yaml")
    write(folder, BASE.replace("a1", "ok"), "4_ok.yaml")
    results = dict(imgio.iter_applicants(folder))
    kinds = {Path(k).name: type(v).__name__ for k, v in results.items()}
    assert kinds == {
        "1_laughs.yaml": "DataValidationError",
        "2_number.yaml": "DataValidationError",
        "3_deep.yaml": "DataValidationError",
        "4_ok.yaml": "ApplicantProfile",
    }


# --------------------------------------------------------------------------- item 6: ambiguity


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_duplicate_key_is_an_error_naming_both_lines(tmp_path, suffix: str) -> None:
    if suffix == ".yaml":
        text = BASE + "step2_score: 180\n"
    else:
        text = json.dumps(_base_dict(), indent=1)[:-2] + ',\n "step2_score": 180\n}'
    problem = only(problems_of(write(tmp_path, text, "p" + suffix)))
    assert problem.column == "step2_score"
    assert problem.line == line_of(text, "step2_score", 2)
    assert f"given twice (also on line {line_of(text, 'step2_score')})" in problem.expected


def test_nested_duplicate_key(tmp_path) -> None:
    text = BASE + "research:\n  publications: 2\n  publications: 3\n"
    problem = only(problems_of(write(tmp_path, text)))
    assert (problem.line, problem.column) == (10, "research.publications")


def test_letters_keys_that_name_one_specialty_are_an_error(tmp_path) -> None:
    text = BASE + "us_letters:\n  IR: 3\n  ir: 0\n  Interventional Radiology: 1\n"
    problems = problems_of(write(tmp_path, text))
    by_column = {p.column: p for p in problems}
    assert set(by_column) == {"us_letters.ir", "us_letters.Interventional Radiology"}
    assert by_column["us_letters.ir"].line == 10
    assert by_column["us_letters.Interventional Radiology"].line == 11
    assert "the same specialty as 'IR' (IR)" in by_column["us_letters.ir"].expected


def test_letters_keys_that_name_one_specialty_in_a_csv_row(tmp_path) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text(
        "applicant_id,name,visa_needed,graduation_year,step2_score,target_specialties,"
        f"match_year,us_letters\na1,A,j1,2020,240,IM,{MATCH_YEAR},IR:1; ir:2\n",
        encoding="utf-8",
    )
    problem = only(next(iter(imgio.iter_applicants(path)))[1].problems)
    assert (problem.row, problem.column, problem.value) == (2, "us_letters", "ir")
    assert "the same specialty as 'IR'" in problem.expected


# --------------------------------------------------------------------------- item 12: profiles


@pytest.mark.parametrize(
    ("written", "code"),
    [("J-1", "j1"), ("J1 visa", "j1"), ("H-1B", "h1b"), ("H1B", "h1b"), ("J-1 or H-1B", "either"),
     ("either", "either"), ("none", "none"), ("US citizen", "none"), ("green card", "none")],
)  # fmt: skip
def test_visa_needed_reads_the_spellings_program_tables_accept(tmp_path, written, code) -> None:
    profile = imgio.load_applicant(write(tmp_path, BASE.replace("j1", f'"{written}"')))
    assert profile.visa_needed == code


def test_visa_needed_refuses_a_student_visa(tmp_path) -> None:
    problem = only(problems_of(write(tmp_path, BASE.replace("j1", "F-1"))))
    assert problem.column == "visa_needed" and "F-1 is a student visa" in problem.expected


@pytest.mark.parametrize(
    ("line", "suggestion"),
    [("step1: pass", "step1_passed"), ("step2: 250", "step2_score"), ("visa: j1", "visa_needed"),
     ("Graduation Year: 2020", "graduation_year"), ("targets: [IM]", "target_specialties")],
)  # fmt: skip
def test_unknown_fields_get_a_did_you_mean(tmp_path, line: str, suggestion: str) -> None:
    problems = problems_of(write(tmp_path, BASE + line + "\n"))
    unknown = [p for p in problems if "unknown field" in p.expected]
    assert len(unknown) == 1
    assert unknown[0].line == 8
    assert f"did you mean {suggestion!r}?" in unknown[0].expected


def test_thousands_of_problems_are_summed_up_after_50(tmp_path) -> None:
    text = BASE + "".join(f"extra_field_{i}: 1\n" for i in range(5000))
    with pytest.raises(DataValidationError) as info:
        imgio.load_applicant(write(tmp_path, text))
    error = info.value
    assert error.count == 5000
    printed = str(error).splitlines()
    assert printed[0].startswith("5,000 problems")
    listed = [line for line in printed if line.startswith("  - ") and "more like" not in line]
    assert len(listed) == 50
    assert "  - and 4,950 more like this:" in printed
    assert any("4,950 x" in line and "unknown field" in line for line in printed)
    assert len(printed) < 60


def test_too_many_values_is_refused(tmp_path) -> None:
    text = BASE + "notes: [" + ", ".join(["1"] * 30_000) + "]\n"
    problem = only(problems_of(write(tmp_path, text)))
    assert "this is not a profile" in problem.expected


def test_read_document_keeps_lines_of_list_items() -> None:
    document = read_document("a:\n  - 1\n  - x: 2\n", "t.yaml", "yaml")
    assert document.data == {"a": [1, {"x": 2}]}
    assert document.lines[("a", "1", "x")] == 3
    assert document.line_of(("a", "1", "x", "deeper")) == 3


def test_the_report_batch_records_hostile_profiles_and_prepares_the_others(tmp_path) -> None:
    """The batch's input stage (before any kernel): one record per bad applicant, no abort."""
    from analysis.report import runner

    folder = tmp_path / "cohort"
    folder.mkdir()
    write(folder, billion_laughs(), "1_laughs.yaml")
    write(folder, BASE.replace("244", "9" * 5000).replace("a1", "n1"), "2_number.yaml")
    write(folder, BASE.replace("a1", "n2") + "notes: " + "[" * 2000 + "]" * 2000, "3_deep.yaml")
    write(folder, BASE.replace("a1", "ok"), "4_ok.yaml")
    programs = Path(__file__).resolve().parents[1] / "fixtures" / "programs" / "canonical_small.csv"
    options = runner.ReportOptions(programs=programs, out_dir=tmp_path / "out", sources=(folder,))
    inputs = runner._checked_inputs(options)
    records: dict[int, runner.ReportRecord] = {}
    jobs = runner._jobs(tmp_path / "out", inputs, "2026-01-01", False, records)
    assert [job.applicant_id for _, job in jobs] == ["ok"]
    assert sorted(records) == [0, 1, 2]
    assert all(record.status == "failed" for record in records.values())
    assert "anchors (&name) are not allowed" in records[0].message
    assert "5,000 characters" in records[1].message
    assert "nested deeper than 20 levels" in records[2].message
