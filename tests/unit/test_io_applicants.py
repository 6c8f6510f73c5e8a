"""Applicant profiles: YAML, JSON, folders and CSV rows; every kind of error, located."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.data import applicants as imgio
from analysis.data.schemas import ApplicantProfile
from analysis.errors import DataValidationError, Problem


def problems_of(call, *args) -> list[Problem]:
    with pytest.raises(DataValidationError) as info:
        call(*args)
    return info.value.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return problems[0]


def test_valid_yaml(applicant_fixture) -> None:
    profile = imgio.load_applicant(applicant_fixture("valid_ir.yaml"))
    assert isinstance(profile, ApplicantProfile)
    assert profile.applicant_id == "syn_ir_01"
    assert profile.target_specialties == ["IR", "DR"]
    assert profile.preferred_states == ["NY", "TX"]
    assert profile.research.publications == 3


def test_valid_json_with_specialty_names(applicant_fixture) -> None:
    profile = imgio.load_applicant(applicant_fixture("valid_im.json"))
    assert profile.target_specialties == ["IM", "FM"]


def test_step2_out_of_range_names_line_and_field(applicant_fixture) -> None:
    path = applicant_fixture("step2_320.yaml")
    problem = only(problems_of(imgio.load_applicant, path))
    assert (problem.file, problem.line, problem.column, problem.value) == (
        str(path), 5, "step2_score", 320,
    )  # fmt: skip
    assert problem.row is None  # a YAML file has lines, not rows
    assert f"{path}, line 5, field 'step2_score': 320:" in str(problem)
    assert "300" in problem.expected


def test_graduation_after_the_match_year(applicant_fixture) -> None:
    problem = only(problems_of(imgio.load_applicant, applicant_fixture("future_graduation.yaml")))
    assert problem.column == "graduation_year"
    assert problem.line == 4
    assert "graduation_year" in problem.expected


def test_unknown_specialty_key_and_nested_field(applicant_fixture) -> None:
    problems = problems_of(imgio.load_applicant, applicant_fixture("unknown_specialty.yaml"))
    by_column = {p.column: p for p in problems}
    assert set(by_column) == {"us_letters.XYZ", "research.publications"}
    letters = by_column["us_letters.XYZ"]
    assert (letters.line, letters.value) == (8, "XYZ")
    assert "specialty" in letters.expected
    publications = by_column["research.publications"]
    assert (publications.line, publications.value) == (10, -1)


def test_unknown_field_is_an_error(tmp_path, applicant_fixture) -> None:
    path = applicant_fixture("valid_ir.yaml")
    path.write_text(path.read_text(encoding="utf-8") + "step2_scroe: 250\n", encoding="utf-8")
    problem = only(problems_of(imgio.load_applicant, path))
    assert problem.column == "step2_scroe"
    assert "unknown field" in problem.expected and "step2_score" in problem.expected
    assert problem.line == 20


def test_broken_yaml_names_the_line(applicant_fixture) -> None:
    path = applicant_fixture("broken.yaml")
    problem = only(problems_of(imgio.load_applicant, path))
    assert problem.file == str(path)
    assert problem.line is not None and problem.line >= 3
    assert "not valid YAML" in problem.expected


def test_broken_json_names_the_line(tmp_path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"applicant_id": "x",\n  "name": }\n', encoding="utf-8")
    problem = only(problems_of(imgio.load_applicant, path))
    assert problem.line == 2
    assert "not valid JSON" in problem.expected


def test_python_tags_are_refused_not_constructed(applicant_fixture, capsys) -> None:
    problem = only(problems_of(imgio.load_applicant, applicant_fixture("python_tag.yaml")))
    assert problem.line == 1
    assert "!!python" in problem.expected
    assert "constructed" not in capsys.readouterr().out  # the tag's print never ran


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "empty"), ("- a\n- b\n", "mapping"), ("just text\n", "mapping")],
)
def test_not_a_profile(tmp_path, content: str, message: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(content, encoding="utf-8")
    assert message in only(problems_of(imgio.load_applicant, path)).expected


def test_wrong_extension_and_missing_file(tmp_path) -> None:
    path = tmp_path / "profile.txt"
    path.write_text("applicant_id: a\n", encoding="utf-8")
    assert ".yaml" in only(problems_of(imgio.load_applicant, path)).expected
    with pytest.raises(FileNotFoundError):
        imgio.load_applicant(tmp_path / "missing.yaml")


def test_folder_is_read_in_name_order(tmp_path, applicant_fixture) -> None:
    folder = tmp_path / "cohort"
    applicant_fixture("valid_im.json", folder, "b_im.json")
    applicant_fixture("valid_ir.yaml", folder, "a_ir.yaml")
    (folder / "README.md").write_text("not a profile", encoding="utf-8")
    profiles = imgio.load_applicants(folder)
    assert [p.applicant_id for p in profiles] == ["syn_ir_01", "syn_im_02"]


def test_empty_folder_is_an_error(tmp_path) -> None:
    problem = only(problems_of(imgio.load_applicants, tmp_path))
    assert "no applicant files" in problem.expected


def test_csv_of_applicants(applicant_fixture) -> None:
    profiles = imgio.load_applicants(applicant_fixture("applicants.csv"))
    first, second = profiles
    assert first.target_specialties == ["IM", "FM"]
    assert first.preferred_states == ["NY", "NJ"]
    assert first.us_letters == {"IM": 2, "FM": 1}
    assert (first.research.publications, first.research.first_author) == (2, 1)
    assert second.target_specialties == ["PSYCH", "NEURO"]
    assert second.research.publications == 0  # empty cells mean "not given"


def test_csv_errors_name_the_row_and_column(tmp_path, applicant_fixture) -> None:
    path = applicant_fixture("applicants.csv")
    text = path.read_text(encoding="utf-8").replace(",245,", ",320,").replace("IM:2", "IM=2")
    path.write_text(text + "syn_csv_03,Row Three,j1,2020,240,IM,,,1,5,2099\n", encoding="utf-8")
    results = dict(imgio.iter_applicants(path))
    assert len(results) == 3
    row2 = results[f"{path} row 2"]
    assert isinstance(row2, DataValidationError)
    assert only(row2.problems).column == "us_letters"
    assert isinstance(results[f"{path} row 3"], ApplicantProfile)
    row4 = {p.column: p for p in results[f"{path} row 4"].problems}
    assert set(row4) == {"research_first_author", "match_year"}
    assert all(p.row == 4 for p in row4.values())


def test_csv_step2_out_of_range(tmp_path, applicant_fixture) -> None:
    path = applicant_fixture("applicants.csv")
    path.write_text(path.read_text(encoding="utf-8").replace(",245,", ",320,"), encoding="utf-8")
    problem = only(problems_of(imgio.load_applicants, path))
    assert (problem.row, problem.column, problem.value) == (2, "step2_score", "320")


def test_csv_needs_applicant_ids(tmp_path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,step2_score\nA,240\n", encoding="utf-8")
    assert "applicant_id" in only(problems_of(imgio.load_applicants, path)).expected


def test_duplicate_ids_are_an_error_for_the_second(tmp_path, applicant_fixture) -> None:
    first = applicant_fixture("valid_ir.yaml")
    second = applicant_fixture("valid_ir.yaml", tmp_path / "other")
    results = list(imgio.iter_applicants(first, second))
    assert isinstance(results[0][1], ApplicantProfile)
    problem = only(results[1][1].problems)
    assert problem.column == "applicant_id"
    assert str(first) in problem.expected


def test_one_bad_applicant_does_not_stop_the_batch(tmp_path, applicant_fixture) -> None:
    bad = applicant_fixture("step2_320.yaml")
    good = applicant_fixture("valid_ir.yaml")
    missing = tmp_path / "nobody.yaml"
    results = list(imgio.iter_applicants(bad, missing, good))
    kinds = [type(result).__name__ for _, result in results]
    assert kinds == ["DataValidationError", "DataValidationError", "ApplicantProfile"]


def test_load_applicants_reports_every_input(applicant_fixture) -> None:
    paths = [applicant_fixture(n) for n in ("step2_320.yaml", "broken.yaml", "valid_ir.yaml")]
    problems = problems_of(imgio.load_applicants, *paths)
    assert {Path(p.file).name for p in problems} == {"step2_320.yaml", "broken.yaml"}
