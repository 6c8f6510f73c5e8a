"""`imgmatch score`, `chances` and `plan`: outputs, JSON shapes, bad input."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from analysis.cli import app
from analysis.config import demo_applicants_dir, demo_programs_path

RUNNER = CliRunner()
AMIRA = str(demo_applicants_dir() / "amira_ir.yaml")
PROGRAMS = str(demo_programs_path())


def test_chances_json_has_the_documented_shape():
    result = RUNNER.invoke(app, ["chances", "--applicant", AMIRA, "--programs", PROGRAMS, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["applicant_id"] == "amira_ir"
    assert 0 <= doc["p_match_any"] <= 1
    first = doc["specialties"][0]
    for key in ("specialty", "applications", "expected_interviews", "p_match", "p_match_low",
                "p_match_high", "recommended_applications", "eras_cost_usd"):  # fmt: skip
        assert key in first


def test_chances_json_lists_the_levers_with_availability_and_reason():
    result = RUNNER.invoke(app, ["chances", "--applicant", AMIRA, "--programs", PROGRAMS, "--json",
                                 "--as-of", "2026-12-01"])  # fmt: skip
    assert result.exit_code == 0, result.output
    levers = json.loads(result.output)["levers"]
    assert levers and all(set(lever) == {"lever", "p_match_any_after", "available", "reason"}
                          for lever in levers)  # fmt: skip
    step2 = next(lever for lever in levers if lever["lever"] == "step2_plus_10")
    assert step2["available"] is False and "taken" in step2["reason"]  # Amira took Step 2 CK
    assert step2["p_match_any_after"] is None
    assert any(lever["available"] and lever["p_match_any_after"] for lever in levers)


def test_past_season_plan_exits_2_with_a_reason_and_chances_still_show(tmp_path):
    profile = tmp_path / "past.yaml"
    text = (demo_applicants_dir() / "amira_ir.yaml").read_text(encoding="utf-8")
    profile.write_text(text.replace("match_year: 2028", "match_year: 2026"), encoding="utf-8")
    result = RUNNER.invoke(app, ["plan", "--applicant", str(profile), "--programs", PROGRAMS,
                                 "--as-of", "2026-12-01"])  # fmt: skip
    assert result.exit_code == 2 and "Traceback" not in result.output
    shown = " ".join(result.output.split())
    assert "Match is over" in shown and "match_year" in shown
    chances = RUNNER.invoke(app, ["chances", "--applicant", str(profile), "--programs",
                                  PROGRAMS, "--json", "--as-of", "2026-12-01"])  # fmt: skip
    assert chances.exit_code == 0, chances.output
    levers = json.loads(chances.output)["levers"]
    assert not any(lever["available"] for lever in levers)
    assert all("Match is over" in lever["reason"] for lever in levers)


def test_chances_table_is_readable():
    result = RUNNER.invoke(app, ["chances", "--applicant", AMIRA, "--programs", PROGRAMS])
    assert result.exit_code == 0, result.output
    assert "P(match anywhere)" in result.output and "IR" in result.output


def test_plan_json_has_the_documented_shape():
    args = ["plan", "--applicant", AMIRA, "--programs", PROGRAMS, "--json", "--as-of", "2026-11-23"]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["applicant_id"] == "amira_ir"
    assert 0 <= doc["p_match_any"] <= 1
    for r in doc["rotations"]:
        assert set(r) >= {"program_id", "specialty", "role", "start", "end", "cost_usd"}
    assert doc["rotation_total_cost_usd"] == sum(r["cost_usd"] for r in doc["rotations"])
    assert [b["specialty"] for b in doc["backup"]][:2] == ["DR", "IM"]
    for b in doc["backup"]:
        assert set(b) >= {"specialty", "p_match", "applications", "eras_cost_usd"}
    assert any(t["event"].startswith("ERAS opens to programs") for t in doc["timeline"])
    assert all(set(t) >= {"date", "event", "status"} for t in doc["timeline"])
    assert {t["status"] for t in doc["timeline"]} <= {"done", "overdue", "due", "upcoming"}
    kinds = {"visiting_elective", "graduate_externship", "observership", "research"}
    for r in doc["rotations"]:
        assert r["kind"] in kinds and isinstance(r["hands_on"], bool)
        assert r["kind"] != "visiting_elective"  # Amira graduated in 2025
    assert doc["headline"].startswith("P(match anywhere)")


def test_plan_readable_output_explains_the_plan():
    args = ["plan", "--applicant", AMIRA, "--programs", PROGRAMS, "--as-of", "2026-11-23"]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 0, result.output
    for needle in ("Away rotations", "Rank list", "Timeline", "Match Day", "Kind",
                   "Hands-on", "Levers still open", "need current enrollment"):  # fmt: skip
        assert needle in " ".join(result.output.split()), needle  # whatever the line width


def test_score_writes_csv_and_parquet(tmp_path):
    for name in ("scores.csv", "scores.parquet"):
        out = tmp_path / name
        result = RUNNER.invoke(
            app, ["score", "--programs", PROGRAMS, "--visa", "j1", "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        table = pl.read_csv(out) if name.endswith(".csv") else pl.read_parquet(out)
        assert {"program_id", "img_friendliness", "tier"} <= set(table.columns)
        assert table.height > 5000


def test_bad_options_and_inputs_exit_2_without_traceback(tmp_path):
    bad_visa = RUNNER.invoke(app, ["score", "--programs", PROGRAMS, "--visa", "f1", "--out",
                                   str(tmp_path / "x.csv")])  # fmt: skip
    assert bad_visa.exit_code == 2 and "Traceback" not in bad_visa.output
    assert not (tmp_path / "x.csv").exists()
    bad_out = RUNNER.invoke(
        app, ["score", "--programs", PROGRAMS, "--out", str(tmp_path / "x.txt")]
    )
    assert bad_out.exit_code == 2
    broken = tmp_path / "broken.csv"
    broken.write_text("program_id,program_name,specialty\nA,Alpha,NOPE\n", encoding="utf-8")
    out = tmp_path / "never.csv"
    result = RUNNER.invoke(app, ["score", "--programs", str(broken), "--out", str(out)])
    assert result.exit_code == 2
    assert "row 2" in result.output and "specialty" in result.output
    assert not out.exists()  # nothing written for invalid input
    missing = RUNNER.invoke(app, ["plan", "--applicant", str(tmp_path / "nobody.yaml"),
                                  "--programs", PROGRAMS])  # fmt: skip
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_calibrate_reports_the_three_checks():
    result = RUNNER.invoke(app, ["calibrate", "--cohort", "600", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    for group in ("non_us_img", "us_img"):
        assert {r["specialty"] for r in doc["interview_rates"][group]} >= {"IM", "IR", "DR", "FM"}
        assert 0 < doc["match_rate"][group]["match_rate_certified"] <= 1
    assert doc["match_rate"]["non_us_img"]["nrmp_2025"] == 0.58
    assert doc["match_rate"]["non_us_img"]["nrmp_2026"] == 0.564
    assert isinstance(doc["difficulty_consistent_with_reference"], bool)
    text = RUNNER.invoke(app, ["calibrate", "--cohort", "300"])
    assert text.exit_code == 0 and "[hardest]" in text.output
