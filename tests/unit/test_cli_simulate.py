"""`imgmatch simulate`: JSON shape, readable output in a pipe, bad input, files, a real cluster.

Runs on a 5% sample of the demo table so each command takes seconds; the cluster test starts
`dask scheduler` and `dask worker ADDRESS` as separate processes, as the README tells users.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.programs import load_programs
from analysis.model.market_setup import scaled_programs
from tests.unit.test_report_cluster import IMGMATCH, cluster  # noqa: F401 (fixture)

RUNNER = CliRunner()
ESC = "\x1b"


@pytest.fixture(scope="module")
def small_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("market") / "programs.csv"
    scaled_programs(load_programs(demo_programs_path()), 0.05, seed=1).write_csv(path)
    return path


def invoke(*args: str | Path):
    result = RUNNER.invoke(app, ["simulate", *(str(a) for a in args)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_json_is_the_documented_document(small_table: Path) -> None:
    zoe = demo_applicants_dir() / "zoe_psych.yaml"
    result = invoke("--programs", small_table, "--applicant", zoe, "--runs", "2",
                    "--workers", "1", "--seed", "9", "--json", "--as-of", "2026-11-01")  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == ["runs", "seed", "match_rate_by_type", "specialties", "applicants"]
    assert (doc["runs"], doc["seed"]) == (2, 9)
    [applicant] = doc["applicants"]
    assert applicant["applicant_id"] == "zoe_psych"
    assert [s["specialty"] for s in applicant["specialties"]] == ["PSYCH", "NEURO"]
    assert 0 < applicant["heuristic_p_match_any"] < 1


def test_tables_and_progress_are_plain_text_in_a_pipe(small_table: Path) -> None:
    result = invoke("--programs", small_table, "--runs", "3", "--workers", "1",
                    "--scenario", "applicants:non_us_img:IM:+200")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert ESC not in result.output
    assert "replications 3/3" in result.output
    assert "Match rate by applicant type over 3 replications" in result.output
    assert "Scenario: +200 non_us_img applicants to IM" in result.output
    assert "non-US IMGs" in result.output and "NRMP 2025" in result.output


def test_every_bad_scenario_is_listed_and_nothing_runs(small_table: Path) -> None:
    result = invoke("--programs", small_table, "--scenario", "applicants:aliens:IM:+5",
                    "--scenario", "rank-limit:0", "--scenario", "warp:9")  # fmt: skip
    assert result.exit_code == 2
    assert "3 problems" in result.output
    assert "replications" not in result.output


def test_workers_and_a_scheduler_are_refused_together(small_table: Path) -> None:
    result = invoke("--programs", small_table, "--workers", "2", "--scheduler", "tcp://x:1")
    assert result.exit_code == 2
    assert "--workers or --scheduler, not both" in result.output


def test_a_bad_applicant_is_left_out_and_the_others_go_on(small_table: Path, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("applicant_id: bad\nstep2_score: banana\n", encoding="utf-8")
    good = demo_applicants_dir() / "samuel_im.yaml"
    result = invoke("--programs", small_table, "--applicant", bad, "--applicant", good,
                    "--runs", "1", "--workers", "1", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "bad.yaml" in result.stderr and "Left out 1 applicant" in result.stderr
    assert [a["applicant_id"] for a in json.loads(result.stdout)["applicants"]] == ["samuel_im"]
    only_bad = invoke("--programs", small_table, "--applicant", bad, "--runs", "1")
    assert only_bad.exit_code == 2


def test_out_folder_holds_the_json_and_the_tables(small_table: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    samuel = demo_applicants_dir() / "samuel_im.yaml"
    result = invoke("--programs", small_table, "--applicant", samuel, "--runs", "2",
                    "--workers", "1", "--json", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["applicants.csv", "match_rates.csv", "simulation.json", "specialties.csv"]
    assert json.loads((out / "simulation.json").read_text(encoding="utf-8")) == json.loads(
        result.stdout
    )
    taken = invoke("--programs", small_table, "--runs", "1", "--out", out / "simulation.json")
    assert taken.exit_code == 2 and "is a file" in taken.output


@pytest.mark.slow
def test_simulate_on_a_separately_started_cluster(small_table: Path, cluster: str) -> None:  # noqa: F811
    common = ["simulate", "--programs", str(small_table), "--runs", "4", "--seed", "3",
              "--as-of", "2026-11-01", "--json"]  # fmt: skip
    done = subprocess.run(
        [*IMGMATCH, *common, "--scheduler", cluster],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert "Traceback" not in done.stderr and "No clients found" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    here = invoke(*common[1:], "--workers", "1")
    assert json.loads(done.stdout) == json.loads(here.stdout)  # same seeds, same market


def test_a_table_without_nrmp_specialties_is_refused(tmp_path: Path) -> None:
    import polars as pl

    derm = tmp_path / "derm.csv"
    table = load_programs(demo_programs_path()).filter(pl.col("specialty") == "IM").head(5)
    table.with_columns(specialty=pl.lit("DERM")).write_csv(derm)
    result = invoke("--programs", derm, "--runs", "1", "--workers", "1")
    assert result.exit_code == 2
    assert "NRMP 2025 figures cover" in result.output and "DERM" in result.output
