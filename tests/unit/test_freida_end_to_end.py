"""The engine on a national FREIDA-style export, where many facts are unknown."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.programs import load_programs
from analysis.data.vocabulary import specialties
from analysis.model.friendliness import score_programs

RUNNER = CliRunner()
TYPE_LABELS = {
    "university": "University-based",
    "community_university_affiliated": "Community-based university affiliated",
    "community": "Community-based",
    "military": "Military-based",
    "other": "Other",
}


@pytest.fixture(scope="module")
def freida_csv(tmp_path_factory):
    """The demo table rewritten as a public scraper would export FREIDA (national scale)."""
    demo = load_programs(demo_programs_path())
    names = {code: spec.name for code, spec in specialties().items()}
    visa = (
        pl.when(pl.col("sponsors_j1").is_null() & pl.col("sponsors_h1b").is_null())
        .then(pl.lit("[]"))
        .when(pl.col("sponsors_j1").fill_null(False) & pl.col("sponsors_h1b").fill_null(False))
        .then(pl.lit("['J-1 through ECFMG', 'H-1B']"))
        .when(pl.col("sponsors_j1").fill_null(False))
        .then(pl.lit('[{"value": "J-1 through ECFMG"}]'))
        .when(pl.col("sponsors_h1b").fill_null(False))
        .then(pl.lit("H-1B"))
        .otherwise(pl.lit("F-1"))
    )
    export = demo.select(
        program_id=pl.col("program_id"),
        program_name_suffix=pl.col("program_name"),
        city=pl.col("city"),
        state=pl.col("state"),
        specialty_title=pl.col("specialty").replace_strict(names),
        first_year_positions=pl.col("pgy1_positions"),
        interviews_conducted_last_year=pl.col("interviews_last_year"),
        pct_img=pl.col("pct_img_residents"),
        pct_usmd=pl.lit(None, dtype=pl.Float64),
        pct_do=pl.lit(None, dtype=pl.Float64),
        program_best_described_as=pl.col("program_type").replace_strict(TYPE_LABELS, default=None),
        visa_statuses_accepted=visa,
        data_last_updated=pl.col("last_verified").cast(pl.String) + "T12:00:00Z",
        field_unused=pl.lit("ignored"),
    )
    path = tmp_path_factory.mktemp("freida") / "freida_export.csv"
    export.write_csv(path)
    return path, demo


def test_freida_export_loads_with_empty_visa_lists_as_unknown(freida_csv):
    path, demo = freida_csv
    table = load_programs(path)
    assert table.height == demo.height
    unknown_ids = demo.filter(pl.col("sponsors_j1").is_null() & pl.col("sponsors_h1b").is_null())
    loaded = table.filter(pl.col("program_id").is_in(unknown_ids["program_id"].to_list()))
    assert loaded.height == unknown_ids.height > 0
    assert loaded["sponsors_j1"].is_null().all() and loaded["sponsors_h1b"].is_null().all()
    # FREIDA has no visiting-student, screening or interview-rate fields: all unknown
    assert table["accepts_img_visiting_students"].is_null().all()
    assert table["non_us_img_interview_rate"].is_null().all()


def test_scores_on_freida_are_valid_and_less_confident(freida_csv):
    path, demo = freida_csv
    freida = score_programs(load_programs(path), "j1")
    full = score_programs(demo, "j1")
    assert freida["img_friendliness"].is_between(0, 100).all()
    assert freida["confidence"].mean() < full["confidence"].mean()
    # unknown visas never close a program; known non-sponsors do
    closed = freida.filter(pl.col("tier") == "closed")
    assert closed["sponsors_j1"].eq(False).all()


def test_score_and_chances_commands_work_on_a_freida_export(freida_csv, tmp_path):
    path, _ = freida_csv
    out = tmp_path / "scored.parquet"
    result = RUNNER.invoke(
        app, ["score", "--programs", str(path), "--visa", "j1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).height > 5000
    amira = str(demo_applicants_dir() / "amira_ir.yaml")
    result = RUNNER.invoke(
        app, ["chances", "--applicant", amira, "--programs", str(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [s["specialty"] for s in doc["specialties"]] == ["IR", "DR", "IM"]
    for s in doc["specialties"]:
        assert 0 <= s["p_match_low"] <= s["p_match"] <= s["p_match_high"] <= 1
        assert s["eligible_programs"] > 0
