"""`imgmatch evaluate` and `imgmatch enrich` as a user runs them (synthetic fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from analysis.cli import app
from analysis.data.programs import load_programs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "observed"
PROGRAMS = FIXTURES / "freida_programs.csv"
RATES = FIXTURES / "rates_im.csv"
RUNNER = CliRunner()


def test_evaluate_json_has_the_documented_shape_and_writes_the_unjoined_rows(tmp_path):
    unjoined = tmp_path / "left.csv"
    result = RUNNER.invoke(
        app,
        [
            "evaluate",
            "--programs",
            str(PROGRAMS),
            "--observed",
            str(RATES),
            "--specialty",
            "IM",
            "--unjoined",
            str(unjoined),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert {"joined", "unjoined", "spearman", "calibration_ratio"} <= set(doc)
    assert doc["joined"] == 14 and doc["unjoined"] == 10
    assert {"img_friendliness", "p_interview", "pct_img_residents"} <= set(doc["spearman"])
    assert doc["calibration_ratio"] > 0
    left = pl.read_csv(unjoined)
    assert left.height == 10 and "reason" in left.columns


def test_evaluate_text_and_bad_group(tmp_path):
    ok = RUNNER.invoke(
        app,
        [
            "evaluate",
            "--programs",
            str(PROGRAMS),
            "--observed",
            str(RATES),
            "--specialty",
            "IM",
            "--unjoined",
            str(tmp_path / "u.csv"),
        ],
    )
    assert ok.exit_code == 0 and "Calibration ratio" in ok.output and "Spearman" in ok.output
    bad = RUNNER.invoke(
        app, ["evaluate", "--programs", str(PROGRAMS), "--observed", str(RATES), "--group", "md"]
    )
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_enrich_fills_rates_and_the_output_reads_back(tmp_path):
    out = tmp_path / "enriched.csv"
    result = RUNNER.invoke(
        app,
        [
            "enrich",
            "--programs",
            str(PROGRAMS),
            "--observed",
            str(RATES),
            "--specialty",
            "IM",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Filled the non-US IMG interview rate of 14 programs" in " ".join(result.output.split())
    table = load_programs(out)
    assert table["non_us_img_interview_rate"].is_not_null().sum() == 14


def test_evaluation_charts_are_valid_and_say_what_they_show():
    from analysis.model.evaluation import evaluate
    from analysis.viz import evaluation_scatter, rank_correlation_chart

    result = evaluate(load_programs(PROGRAMS), RATES, specialty="IM")
    doc = result.to_dict()
    bars = rank_correlation_chart(doc).to_dict()
    best = max(
        (k for k, v in doc["spearman_all_programs"].items() if v is not None),
        key=lambda k: doc["spearman_all_programs"][k],
    )
    assert best in bars["title"]["text"]
    assert bars["encoding"]["color"]["scale"]["domain"][0] == "where known"
    for predicted in ("predicted_rate", "p_interview"):
        spec = evaluation_scatter(result.pairs, rho=0.5, predicted=predicted).to_dict()
        assert "14 programs" in spec["title"]["text"] and "0.50" in spec["title"]["subtitle"]
        assert spec["layer"][1]["encoding"]["y"]["field"] == predicted
