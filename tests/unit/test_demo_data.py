"""Tests of the synthetic demo data generator (`analysis.data.demo`) and `imgmatch demo-data`.

Calibration tolerances (the same as in `data/demo/README.md`; `calibration_table` carries
them per row): programs and positions per specialty exact; non-US IMG interview rate per
specialty: share of programs with a known rate +-0.03, share at zero +-0.05 (+-0.12 for the
three specialties compared with a stand-in's row), median within 0.01 or 25%, p90 within
0.01 or 25%, mean within 0.005 or 30%; position-weighted IMG share of residents +-5 points
of NRMP's; IM: visa shares by program type and unknown-visa share +-4 points, quartiles and
type medians of `pct_img_residents` +-6 points; DR: ESIR share 0.5 +-0.1.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from analysis.cli import app
from analysis.config import demo_applicants_dir, demo_programs_path, reference_table
from analysis.data import demo as demo_data
from analysis.data import demo_checks, demo_specialties, schemas
from analysis.data.schemas import ApplicantProfile, polars_schema, program_columns

SEED = demo_data.DEFAULT_SEED


@pytest.fixture(scope="module")
def programs() -> pl.DataFrame:
    return demo_data.generate_programs(SEED)


@pytest.fixture(scope="module")
def calibration(programs: pl.DataFrame) -> pl.DataFrame:
    return demo_checks.calibration_table(programs)


def _outside(calibration: pl.DataFrame) -> str:
    bad = calibration.filter(~pl.col("within_tolerance"))
    return "\n".join(
        f"{r['specialty']} {r['metric']}: generated {r['generated']}, reference "
        f"{r['reference']} (abs_tol {r['abs_tol']}, rel_tol {r['rel_tol']})"
        for r in bad.iter_rows(named=True)
    )


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_table(programs: pl.DataFrame) -> None:
    again = demo_data.generate_programs(SEED)
    assert again.equals(programs)


def test_different_seed_gives_different_table(programs: pl.DataFrame) -> None:
    other = demo_data.generate_programs(SEED + 1)
    assert not other.equals(programs)
    assert other.height == programs.height  # counts are fixed by NRMP, not by the seed
    assert (other["program_name"] != programs["program_name"]).any()
    assert (other["state"] != programs["state"]).any()


def test_negative_seed_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        demo_data.generate_programs(-1)


# --------------------------------------------------------------------------- contract


def test_columns_and_dtypes_are_canonical(programs: pl.DataFrame) -> None:
    assert programs.columns == [spec.name for spec in program_columns()]
    assert dict(programs.schema) == polars_schema()


@pytest.mark.filterwarnings("ignore:unique_column_names:UserWarning")
def test_passes_the_program_table_schema(programs: pl.DataFrame) -> None:
    validated = schemas.program_table_schema().validate(programs, lazy=True)  # raises if not
    assert validated.shape == programs.shape


def test_counts_and_positions_match_nrmp_exactly(programs: pl.DataFrame) -> None:
    nrmp = reference_table("nrmp_2025_specialties").select("specialty", "programs", "positions")
    got = programs.group_by("specialty").agg(n=pl.len(), positions=pl.col("pgy1_positions").sum())
    joined = nrmp.join(got, on="specialty", how="full", coalesce=True)
    assert joined.height == nrmp.height, "a specialty is missing or extra"
    assert joined["n"].to_list() == joined["programs"].to_list()
    assert joined["positions"].to_list() == joined["positions_right"].to_list()
    assert programs["pgy1_positions"].min() >= 1


def test_program_sizes_are_skewed(programs: pl.DataFrame) -> None:
    im = programs.filter(pl.col("specialty") == "IM")["pgy1_positions"]
    assert im.mean() > im.median(), "sizes should be right-skewed (a few large programs)"
    assert im.max() >= 3 * im.median()


# --------------------------------------------------------------------------- labelling


def test_every_row_is_labelled_synthetic(programs: pl.DataFrame) -> None:
    assert programs["program_name"].str.ends_with("(synthetic)").all()
    assert programs["notes"].str.starts_with("SYNTHETIC").all()
    assert (programs["source"] == f"synthetic demo data (imgmatch demo_data, seed {SEED})").all()
    assert programs["program_id"].str.contains(r"^DEMO-[A-Z-]+-\d{4}$").all()
    assert programs["program_id"].n_unique() == programs.height
    first = programs.filter(pl.col("specialty") == "IM-PRELIM")["program_id"][0]
    assert first == "DEMO-IM-PRELIM-0001"


def test_names_are_unique_within_a_specialty(programs: pl.DataFrame) -> None:
    assert programs.select(["specialty", "program_name"]).is_unique().all()


def test_places_are_real_cities_weighted_to_big_states(programs: pl.DataFrame) -> None:
    known = demo_data.cities().select("city", "state")
    assert programs.join(known, on=["city", "state"], how="anti").height == 0
    top = programs["state"].value_counts().sort("count", descending=True)["state"].head(5)
    assert set(top) <= {"NY", "CA", "TX", "PA", "FL", "IL", "OH", "MI", "MA"}
    assert demo_data.cities().height >= 200


def test_stand_in_specialties_say_so(programs: pl.DataFrame) -> None:
    for code, ref in demo_specialties.INTERVIEW_STAND_IN.items():
        notes = programs.filter(pl.col("specialty") == code)["notes"]
        assert notes.str.contains(f"modelled on {ref}").all()


# --------------------------------------------------------------------------- calibration


def test_calibration_within_tolerance(calibration: pl.DataFrame) -> None:
    assert calibration["within_tolerance"].all(), _outside(calibration)


def test_calibration_covers_every_specialty_and_metric(calibration: pl.DataFrame) -> None:
    nrmp_codes = set(reference_table("nrmp_2025_specialties")["specialty"])
    per_spec = {"programs", "pgy1_positions", "img_share_of_positions_pct",
                "interview_rate_known_share", "interview_rate_share_zero",
                "interview_rate_median", "interview_rate_p90", "interview_rate_mean"}  # fmt: skip
    for code in nrmp_codes:
        metrics = set(calibration.filter(pl.col("specialty") == code)["metric"])
        assert per_spec <= metrics, code
    im = set(calibration.filter(pl.col("specialty") == "IM")["metric"])
    assert {"j1_share_pct_university", "h1b_share_pct_community", "visa_unknown_share_pct",
            "pct_img_q25", "pct_img_q50", "pct_img_q75"} <= im  # fmt: skip
    assert calibration.filter(pl.col("specialty") == "DR")["metric"].is_in(["esir_share"]).any()


@pytest.mark.parametrize("seed", [0, 1, 42, 2026])
def test_calibration_holds_for_other_seeds(seed: int) -> None:
    calibration = demo_checks.calibration_table(demo_data.generate_programs(seed))
    assert calibration["within_tolerance"].all(), _outside(calibration)


def test_calibration_flags_a_table_that_is_off(programs: pl.DataFrame) -> None:
    shifted = programs.with_columns(
        non_us_img_interview_rate=pl.col("non_us_img_interview_rate") * 3,
        pgy1_positions=pl.col("pgy1_positions") + 1,
    )
    calibration = demo_checks.calibration_table(shifted)
    bad = set(calibration.filter(~pl.col("within_tolerance"))["metric"])
    assert {"pgy1_positions", "interview_rate_mean", "interview_rate_p90"} <= bad


def test_calibration_accepts_pandas(programs: pl.DataFrame) -> None:
    pytest.importorskip("pyarrow")
    from_pandas = demo_checks.calibration_table(programs.head(800).to_pandas())
    assert from_pandas.equals(demo_checks.calibration_table(programs.head(800)))


def test_lognormal_fit_reproduces_its_quantiles() -> None:
    mu, sigma = demo_specialties._fit_lognormal(0.2, {0.5: 0.02, 0.75: 0.03, 0.9: 0.05}, 0.0216)
    z = demo_data._norm_ppf(np.array([(0.5 - 0.2) / 0.8, (0.9 - 0.2) / 0.8]))
    median, p90 = np.exp(mu + sigma * z)
    assert median == pytest.approx(0.02, rel=0.15)
    assert p90 == pytest.approx(0.05, rel=0.15)


# --------------------------------------------------------------------------- joint structure


def test_visa_facts_are_consistent(programs: pl.DataFrame) -> None:
    j1, h1b = pl.col("sponsors_j1"), pl.col("sponsors_h1b")
    assert programs.filter(j1.is_null() != h1b.is_null()).height == 0, "unknown together"
    assert programs.filter(h1b & ~j1).height == 0, "H-1B sponsors also take J-1 here"
    military = programs.filter(pl.col("program_type") == "military")
    assert not military["sponsors_j1"].drop_nulls().any()


def test_closed_programs_interview_no_non_us_img(programs: pl.DataFrame) -> None:
    rate = pl.col("non_us_img_interview_rate")
    closed = (pl.col("program_type") == "military") | (
        (pl.col("sponsors_j1") == False) & (pl.col("sponsors_h1b") == False)  # noqa: E712
    )
    assert (programs.filter(closed & rate.is_not_null())[
        "non_us_img_interview_rate"] == 0).all()  # fmt: skip


def test_interview_rate_follows_program_facts(programs: pl.DataFrame) -> None:
    im = programs.filter(pl.col("specialty") == "IM", pl.col("non_us_img_interview_rate") > 0)
    mean_by = dict(
        im.group_by("program_type").agg(pl.col("non_us_img_interview_rate").mean()).iter_rows()
    )
    assert mean_by["community"] > mean_by["university"]
    rho = programs.select(
        pl.corr("pct_img_residents", "non_us_img_interview_rate", method="spearman")
    ).item()
    assert rho > 0.3
    h1b = im.group_by("sponsors_h1b").agg(pl.col("non_us_img_interview_rate").mean())
    h1b_mean = dict(h1b.drop_nulls().iter_rows())
    assert h1b_mean[True] > h1b_mean[False]


def test_img_shares_are_consistent(programs: pl.DataFrame) -> None:
    img, non_us = pl.col("pct_img_residents"), pl.col("pct_non_us_img_residents")
    assert programs.filter(non_us > img).height == 0
    assert programs.filter(img.is_null() & non_us.is_not_null()).height == 0
    known = programs.filter(img.is_not_null())
    assert (known["img_residents_present"] == (known["pct_img_residents"] > 0)).all()
    im_univ = programs.filter(pl.col("specialty") == "IM", pl.col("program_type") == "university")
    im_comm = programs.filter(pl.col("specialty") == "IM", pl.col("program_type") == "community")
    assert im_univ["pct_img_residents"].median() < im_comm["pct_img_residents"].median()


def test_esir_only_for_dr(programs: pl.DataFrame) -> None:
    others = programs.filter(pl.col("specialty") != "DR")
    assert others["esir_available"].null_count() == others.height
    dr = programs.filter(pl.col("specialty") == "DR")["esir_available"]
    assert 0.4 <= dr.drop_nulls().mean() <= 0.6


def test_screening_rules_known_for_a_minority_and_stricter_at_universities(
    programs: pl.DataFrame,
) -> None:
    for column in ("min_step2_score", "yog_cutoff_years", "usce_required_months",
                   "max_attempts"):  # fmt: skip
        share = programs[column].is_not_null().mean()
        assert 0.1 < share < 0.5, column
    by_type = programs.group_by("program_type").agg(
        step2=pl.col("min_step2_score").mean(), yog=pl.col("yog_cutoff_years").mean()
    )
    got = {r["program_type"]: r for r in by_type.iter_rows(named=True)}
    assert got["university"]["step2"] > got["community"]["step2"]
    assert got["university"]["yog"] < got["community"]["yog"]


def test_visiting_students(programs: pl.DataFrame) -> None:
    accepts = programs["accepts_img_visiting_students"]
    assert 0.1 < accepts.fill_null(False).mean() < 0.5, "a minority take IMG visiting students"
    by_type = dict(
        programs.group_by("program_type")
        .agg(pl.col("accepts_img_visiting_students").drop_nulls().mean())
        .iter_rows()
    )
    assert by_type["community"] > by_type["university"]
    assert set(programs["visiting_route"]) == {"vslo", "direct", "none", "unknown"}
    not_accepting = programs.filter(pl.col("accepts_img_visiting_students") == False)  # noqa: E712
    assert not_accepting["visiting_fee_usd"].null_count() == not_accepting.height
    assert not_accepting["application_deadline"].null_count() == not_accepting.height
    deadlines = programs["application_deadline"].drop_nulls()
    assert deadlines.min() >= dt.date(2027, 1, 1) and deadlines.max() <= dt.date(2027, 6, 30)


def test_last_verified_spread_with_some_stale(programs: pl.DataFrame) -> None:
    verified = programs["last_verified"]
    assert verified.max() <= demo_data.REFERENCE_DATE
    assert verified.min() >= demo_data.REFERENCE_DATE - dt.timedelta(days=731)
    stale = (verified < demo_data.REFERENCE_DATE - dt.timedelta(days=365)).mean()
    assert 0.15 < stale < 0.45


def test_ir_programs_sit_at_institutions_with_dr(programs: pl.DataFrame) -> None:
    ir = programs.filter(pl.col("specialty") == "IR").select("program_name", "city")
    dr = programs.filter(pl.col("specialty") == "DR").select("program_name", "city")
    assert ir.join(dr, on=["program_name", "city"], how="anti").height == 0


# --------------------------------------------------------------------------- properties


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_any_seed_gives_a_valid_exact_table(seed: int) -> None:
    table = demo_data.generate_programs(seed)
    assert dict(table.schema) == polars_schema()
    nrmp = reference_table("nrmp_2025_specialties")
    assert table.height == nrmp["programs"].sum()
    assert table["pgy1_positions"].sum() == nrmp["positions"].sum()
    assert table["program_id"].n_unique() == table.height
    rate = table["non_us_img_interview_rate"].drop_nulls()
    assert rate.min() >= 0 and rate.max() <= 1


# --------------------------------------------------------------------------- applicants


@pytest.fixture
def demo_year(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validate as of late 2026, when the demo applicants were written (match year 2028)."""
    monkeypatch.setattr(schemas, "_current_year", lambda: demo_data.REFERENCE_DATE.year)


def _profiles() -> dict[str, ApplicantProfile]:
    return {
        name: ApplicantProfile.model_validate(yaml.safe_load(text))
        for name, text in demo_data.DEMO_APPLICANTS.items()
    }


def test_six_valid_applicants_for_the_2028_match(demo_year: None) -> None:
    profiles = _profiles()
    assert len(profiles) == 6
    for file_name, profile in profiles.items():
        assert profile.applicant_id == Path(file_name).stem
        assert profile.match_year == 2028
    assert all(
        text.lstrip().startswith("# SYNTHETIC") for text in demo_data.DEMO_APPLICANTS.values()
    )


def test_applicants_cover_the_guides_scenarios(demo_year: None) -> None:
    p = _profiles()
    amira = p["amira_ir.yaml"]
    assert amira.target_specialties == ["IR", "DR", "IM"]
    assert amira.visa_needed == "j1" and 240 <= amira.step2_score <= 249
    assert amira.observership_months >= 1 and amira.letters_in("IR") == 1
    kenji = p["kenji_ir_h1b.yaml"]
    assert kenji.visa_needed == "h1b" and kenji.step3_passed and kenji.step2_score >= 255
    assert kenji.research.publications > 0 and kenji.usce_months >= 3
    lucia = p["lucia_anes.yaml"]
    assert lucia.target_specialties[0] == "ANES" and lucia.usce_months == 0
    assert lucia.budget_usd is not None and lucia.budget_usd <= 3000
    samuel = p["samuel_im.yaml"]
    assert samuel.target_specialties[0] == "IM" and samuel.step2_score <= 228
    assert samuel.max_attempts == 2 and samuel.years_since_graduation() >= 6
    daniel = p["daniel_fm_us_img.yaml"]
    assert daniel.visa_needed == "none" and daniel.citizenship == "United States"
    zoe = p["zoe_psych.yaml"]
    assert zoe.visa_needed == "either" and zoe.name == "Zoë O'Brien-Núñez"


# --------------------------------------------------------------------------- writing


def test_write_demo_data_round_trips(tmp_path: Path, programs: pl.DataFrame) -> None:
    written = demo_data.write_demo_data(tmp_path / "demo", seed=SEED)
    assert written.programs_path == tmp_path / "demo" / "programs.csv"
    back = pl.read_csv(written.programs_path, schema=polars_schema())
    assert back.equals(programs)
    text = written.programs_path.read_text(encoding="utf-8")
    header, first = text.splitlines()[:2]
    assert header.split(",")[:3] == ["program_id", "program_name", "specialty"]
    assert ",true," in text and ",false," in text and "True" not in first
    assert ",," in first, "unknown values are empty cells"
    for path in written.applicant_paths:
        assert path.read_text(encoding="utf-8") == demo_data.DEMO_APPLICANTS[path.name]
    leftovers = [p.name for p in (tmp_path / "demo").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_write_keeps_old_files_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "demo"
    (out / "applicants").mkdir(parents=True)
    (out / "programs.csv").write_text("old", encoding="utf-8")
    (out / "applicants" / "mine.yaml").write_text("keep me", encoding="utf-8")

    last = list(demo_data.DEMO_APPLICANTS.values())[-1]
    real_writer = demo_data._text_writer

    def failing_writer(text: str):
        if text != last:
            return real_writer(text)

        def write(tmp: Path) -> None:
            tmp.write_text(text[:10], encoding="utf-8")
            raise OSError("disk full")

        return write

    monkeypatch.setattr(demo_data, "_text_writer", failing_writer)
    with pytest.raises(OSError, match="disk full"):
        demo_data.write_demo_data(out, seed=3)  # fails on the last file, after the others
    assert (out / "programs.csv").read_text(encoding="utf-8") == "old"
    assert sorted(os.listdir(out / "applicants")) == ["mine.yaml"]
    assert sorted(os.listdir(out)) == ["applicants", "programs.csv"]


def test_write_refuses_a_file_as_folder(tmp_path: Path) -> None:
    target = tmp_path / "not_a_folder"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(NotADirectoryError):
        demo_data.write_demo_data(target)


def test_committed_demo_data_is_current(programs: pl.DataFrame) -> None:
    """data/demo/ is what `make demo-data` writes; regenerate it when the generator changes."""
    committed = pl.read_csv(demo_programs_path(), schema=polars_schema())
    assert committed.equals(programs), "data/demo/programs.csv is stale: run `make demo-data`"
    for name, text in demo_data.DEMO_APPLICANTS.items():
        path = demo_applicants_dir() / name
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make demo-data`"


# --------------------------------------------------------------------------- command line


def test_cli_writes_and_reports(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo-data", "--out", str(tmp_path), "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "programs.csv").is_file()
    assert len(list((tmp_path / "applicants").glob("*.yaml"))) == 6
    assert "SYNTHETIC" in result.output and "seed 5" in result.output
    assert "calibration checks within tolerance" in result.output
    assert "IR" in result.output


def test_cli_help_and_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    help_result = runner.invoke(app, ["demo-data", "--help"])
    assert help_result.exit_code == 0 and "--seed" in help_result.output
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["demo-data", "--out", str(a_file)])
    assert result.exit_code == 2
    assert "not a folder" in result.output
    negative = runner.invoke(app, ["demo-data", "--out", str(tmp_path), "--seed", "-1"])
    assert negative.exit_code == 2
