"""`imgmatch plan` and `imgmatch chances` with program signals: JSON keys, text, own signals."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from analysis.cli import app
from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.applicants import load_applicant
from analysis.data.programs import load_programs
from analysis.model.probability import interview_chances

RUNNER = CliRunner()
SAMUEL = demo_applicants_dir() / "samuel_im.yaml"
PROGRAMS = str(demo_programs_path())
AS_OF = ["--as-of", "2026-11-01"]


def _ids(specialty: str = "IM") -> tuple[list[str], str]:
    """Eligible program ids of samuel_im in a specialty, and one that screens him out."""
    table = interview_chances(
        load_applicant(SAMUEL), load_programs(PROGRAMS), specialties=[specialty]
    )
    eligible = table.filter(pl.col("eligible"))["program_id"].to_list()
    return eligible, table.filter(~pl.col("eligible"))["program_id"][0]


def test_plan_json_gives_each_signal_and_the_chance_without_them():
    result = RUNNER.invoke(app, ["plan", "--applicant", str(SAMUEL), "--programs", PROGRAMS,
                                 "--json", *AS_OF])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["signals"] and doc["signals_used"] == "optimized"
    for s in doc["signals"]:
        assert set(s) >= {"program_id", "specialty", "tier", "p_interview_without",
                          "p_interview_with", "reason"}  # fmt: skip
        assert s["tier"] in ("gold", "silver", "single")
        assert s["p_interview_with"] > s["p_interview_without"] > 0
    assert doc["p_match_any_without_signals"] < doc["p_match_any"]
    assert doc["p_match_any"] == round(doc["p_match_any_with_signals"], 3)
    assert "before signals" in doc["headline"]
    assert any("2027-2028" in note for note in doc["signal_notes"])  # the fallback is said
    base = doc["signal_baselines"]
    assert doc["p_match_any_with_signals"] >= base["most_friendly_first"]
    assert doc["p_match_any_with_signals"] >= base["random"]


def test_plan_text_shows_the_signals_with_reasons():
    result = RUNNER.invoke(app, ["plan", "--applicant", str(SAMUEL), "--programs", PROGRAMS,
                                 *AS_OF])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Program signals" in text and "without signals" in text
    assert "with a gold signal" in text
    assert "The same signals at random would give" in text


def test_chances_uses_and_checks_the_applicants_own_signals(tmp_path):
    eligible, shut = _ids()
    profile = tmp_path / "samuel.yaml"
    text = SAMUEL.read_text(encoding="utf-8")
    text += f"signals:\n  {eligible[0]}: gold\n  {eligible[3]}: single\n  {shut}: silver\n"
    profile.write_text(text, encoding="utf-8")
    plain = json.loads(RUNNER.invoke(app, ["chances", "--applicant", str(SAMUEL), "--programs",
                                           PROGRAMS, "--json", *AS_OF]).output)  # fmt: skip
    result = RUNNER.invoke(app, ["chances", "--applicant", str(profile), "--programs", PROGRAMS,
                                 "--json", *AS_OF])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert plain["signals"] == [] and plain["p_match_any"] == round(
        plain["p_match_any_without_signals"], 3
    )
    assert doc["p_match_any"] > plain["p_match_any"]  # the own signals count
    assert round(doc["p_match_any_without_signals"], 3) == plain["p_match_any"]
    assert {s["program_id"] for s in doc["signals"]} == {eligible[0], eligible[3], shut}
    codes = {f["code"] for f in doc["signal_flags"]}
    assert {"wrong_tier", "screened_out"} <= codes
    assert doc["p_match_any_with_optimized_signals"] >= doc["p_match_any"]
    shown = RUNNER.invoke(app, ["chances", "--applicant", str(profile), "--programs", PROGRAMS,
                                *AS_OF])  # fmt: skip
    words = " ".join(shown.output.split())
    assert "Your signals (1 gold, 2 silver)" in words and "screens you out" in words


def test_chances_reads_the_signal_column_of_a_tracker(tmp_path):
    eligible, _ = _ids("FM")
    table = load_programs(PROGRAMS).with_columns(
        signal=pl.when(pl.col("program_id").is_in(eligible[:2])).then(pl.lit("yes"))
    )
    path = tmp_path / "mine.csv"
    table.write_csv(path)
    result = RUNNER.invoke(app, ["chances", "--applicant", str(SAMUEL), "--programs", str(path),
                                 "--json", *AS_OF])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert sorted(s["program_id"] for s in doc["signals"]) == sorted(eligible[:2])
    assert all(s["tier"] == "single" for s in doc["signals"])  # FM has one kind of signal
    assert doc["p_match_any"] > doc["p_match_any_without_signals"]
