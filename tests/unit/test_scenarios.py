"""Scenarios of the simulated Match: flags and YAML files to changes, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.errors import DataValidationError
from analysis.model.scenarios import (
    Applications,
    InterviewCapacity,
    MoreApplicants,
    MorePositions,
    Scenario,
    parse_scenarios,
)


def test_each_flag_becomes_its_change() -> None:
    scenario = parse_scenarios(
        [
            "applicants:non_us_img:IM:+2000",
            "positions:Internal Medicine:-50",
            "interview-capacity:FM:x1.5",
            "applications:+20",
            "applications:IM:150",
            "rank-limit:6",
        ]
    )
    assert scenario.applicants == (MoreApplicants("non_us_img", "IM", 2000),)
    assert scenario.positions == (MorePositions("IM", -50),)
    assert scenario.interview_capacity == (InterviewCapacity("FM", 1.5),)
    assert scenario.applications == (Applications(None, add=20), Applications("IM", count=150))
    assert scenario.rank_limit == 6
    assert not scenario.empty
    assert len(scenario.changes()) == 6
    assert Applications(None, add=20).apply(100) == 120
    assert Applications("IM", count=150).apply(100) == 150


def test_no_flag_is_the_baseline() -> None:
    assert parse_scenarios([]).empty
    assert Scenario().changes() == []


def test_every_bad_flag_is_reported_at_once() -> None:
    with pytest.raises(DataValidationError) as caught:
        parse_scenarios(
            [
                "applicants:martians:IM:+5",
                "positions:Underwater Basket Weaving:+5",
                "interview-capacity:IM:x0",
                "rank-limit:zero",
                "more-of-everything",
                "applicants:us_md:IM",
            ]
        )
    error = caught.value
    assert error.count == 6
    text = str(error)
    assert "us_md, us_do, us_img, non_us_img" in text
    assert "Underwater Basket Weaving" in text
    assert "x1.5" in text  # the expected form of a factor
    assert "applicants:TYPE:SPECIALTY:+N" in text


def test_yaml_file_with_problems_names_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "what_if.yaml"
    path.write_text(
        "name: more IMGs\n"
        "applicants:\n"
        "  - {type: non_us_img, specialty: IM, count: 2000}\n"
        "  - {type: aliens, specialty: IM, count: 5}\n"
        "interview_capacity:\n"
        "  - {specialty: IM}\n"
        "rank_limit: 6\n"
        "colour: blue\n",
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError) as caught:
        parse_scenarios([str(path)])
    problems = caught.value.problems
    assert [p.line for p in problems] == [4, 6, 8]
    assert all(p.file == "what_if.yaml" for p in problems)


def test_yaml_file_becomes_a_scenario(tmp_path: Path) -> None:
    path = tmp_path / "what_if.yml"
    path.write_text(
        "applicants:\n"
        "  - {type: non_us_img, specialty: IM, count: 2000}\n"
        "positions: [{specialty: FM, count: -100}]\n"
        "applications:\n"
        "  - {add: 20}\n"
        "rank_limit: 6\n",
        encoding="utf-8",
    )
    scenario = parse_scenarios([str(path), "interview-capacity:IM:2"])
    assert scenario.applicants == (MoreApplicants("non_us_img", "IM", 2000),)
    assert scenario.positions == (MorePositions("FM", -100),)
    assert scenario.applications == (Applications(None, add=20),)
    assert scenario.interview_capacity == (InterviewCapacity("IM", 2.0),)
    assert scenario.rank_limit == 6


@pytest.mark.parametrize(
    "content",
    ["", "- just\n- a list\n", "applicants: [unclosed\n", "\x00\x01binary"],
)
def test_odd_yaml_files_give_a_problem_or_nothing(tmp_path: Path, content: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(content, encoding="utf-8")
    try:
        scenario = parse_scenarios([str(path)])
    except DataValidationError as error:
        assert error.count >= 1
    else:
        assert scenario.empty


def test_missing_yaml_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="no such file"):
        parse_scenarios([str(tmp_path / "absent.yaml")])
