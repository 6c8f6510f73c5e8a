"""Observed interview rates: reading the RATES table, joining it, the statistics, enrich.

Fixtures (synthetic) are in tests/fixtures/observed/; see its README for what each row of
the rates table exercises. The expected join below was worked out by hand from the names.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import analysis
from analysis.data.files import escape_formulas, spreadsheet_safe
from analysis.data.observed_rates import (
    RATE_COLUMNS,
    read_observed_rates,
    write_unjoined_csv,
)
from analysis.model.calibration import population_rates
from analysis.model.evaluation import (
    INPUT_COLUMNS,
    calibration_ratio,
    enrich,
    evaluate,
    join_observed,
    normalize_program_name,
    reference_profile,
    spearman,
)
from analysis.model.probability import MatchModel

OBSERVED = Path(__file__).resolve().parents[1] / "fixtures" / "observed"
PROGRAMS_CSV = OBSERVED / "freida_programs.csv"
RATES_CSV = OBSERVED / "rates_im.csv"

# rates row -> program id, for the rates of Internal Medicine (worked out by hand)
EXPECTED_IM_JOIN = {
    3: "1409900101",  # St. Aldrics Med Ctr
    4: "1409900102",  # Brackenridge Hosp & Clinics, state written "New Jersey"
    5: "1409900103",  # Univ. of Fernhollow, Internal Medicine Residency Program
    6: "1409900104",  # Mt Caldera Hlth Sys
    7: "1409900105",  # Hospital Senora de la Paz (program: Señora)
    8: "1409900106",  # QUILLMONT COMMUNITY HOSPITAL
    9: "1409900107",  # Ravensworth Coll of Medicine Residency
    11: "1409900109",  # Greywater Gen. Hosp. (a Pediatrics program shares the name)
    12: "1409900111",  # Mercywood Hospital, St. Louis (the city picks one of two)
    17: "1409900116",  # Willowmere Dept. of Medicine
    18: "1409900117",  # St Brigid & St Kells Hospital
    19: "1409900118",  # Pebblebrook Comm. Hosp.
    22: "1409900120",  # Clinica Ibanez Regional Med Center (program: Clínica Ibáñez)
    23: "1409900122",  # Juniper Point Medical Center (rate 0)
}
EXPECTED_IM_UNJOINED = {
    10: "unknown_rate",
    13: "ambiguous",
    14: "duplicate",
    15: "duplicate",
    16: "unknown_rate",
    20: "conflict",
    21: "conflict",
    24: "no_match",
    25: "no_match",
    26: "no_state",
}
OBSERVED_SUM_IM = 0.804  # sum of the Non US IMG rates of EXPECTED_IM_JOIN's rows


@pytest.fixture(scope="module")
def programs() -> pl.DataFrame:
    return analysis.load_programs(PROGRAMS_CSV)


@pytest.fixture(scope="module")
def rates():
    return read_observed_rates(RATES_CSV)


@pytest.fixture(scope="module")
def evaluation(programs, rates):
    return evaluate(programs, rates, specialty="IM")


def rates_frame(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    """A rates table as a frame: (Program, City, State, Non US IMG) per row."""
    return pl.DataFrame(rows, schema=["Program", "City", "State", "Non US IMG"], orient="row")


# --------------------------------------------------------------------------- reading


def test_rates_fixture_is_read_with_its_row_numbers(rates):
    table = rates.table
    assert table.height == 24
    assert table["row"].to_list() == list(range(3, 27))  # title row 1, header row 2
    assert rates.groups == ("md", "do", "us_img", "non_us_img")
    assert not rates.has_specialty
    by_row = {r["row"]: r for r in table.iter_rows(named=True)}
    assert by_row[4]["state"] == "NJ"  # "New Jersey"
    assert by_row[7]["non_us_img_rate"] == pytest.approx(0.05)  # "5%"
    assert by_row[18]["non_us_img_rate"] == pytest.approx(0.11)  # "11%"
    assert by_row[10]["non_us_img_rate"] is None  # "-"
    assert by_row[16]["non_us_img_rate"] is None  # empty
    assert by_row[23]["non_us_img_rate"] == 0.0  # a known zero, not unknown
    assert by_row[26]["state"] is None  # "-"
    assert rates.notes == ("columns ignored: 'Signals', 'Notes'",)


def test_bare_numbers_above_one_make_the_column_percentages():
    rates = read_observed_rates(
        pl.DataFrame(
            {
                "Program": ["A", "B", "C", "D"],
                "State": ["NY"] * 4,
                "Non US IMG": ["12", "0.5", "7%", "-"],
                "MD": ["0.5", "0.25", "1", ""],
            }
        )
    )
    assert rates.table["non_us_img_rate"].to_list() == pytest.approx([0.12, 0.005, 0.07, None])
    assert rates.table["md_rate"].to_list() == [0.5, 0.25, 1.0, None]  # shares, untouched
    (note,) = rates.notes
    assert "'Non US IMG' was read as percentages" in note and "row 2: '12'" in note


def test_a_percent_header_makes_the_column_percentages():
    rates = read_observed_rates(
        pl.DataFrame(
            {"Program": ["A", "B"], "State": ["TX", "TX"], "Non-US IMG (%)": ["0.5", "30"]}
        )
    )
    assert rates.table["non_us_img_rate"].to_list() == pytest.approx([0.005, 0.30])
    assert "its header says so" in rates.notes[0]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ","), ("cp1252", ","), ("utf-16", ","), ("utf-8", ";"),
     ("cp1252", "\t")],
)  # fmt: skip
def test_encodings_and_delimiters_read_alike(tmp_path, encoding, delimiter):
    rows = [
        ["Program", "City", "State", "Non US IMG"],
        ["Hospital Señora de la Paz", "San Juan", "PR", "0.05"],
        ["Clínica Ibáñez Regional", "El Paso", "TX", "7%"],
    ]
    text = "\r\n".join(delimiter.join(r) for r in rows) + "\r\n"
    path = tmp_path / "rates.csv"
    path.write_bytes(text.encode(encoding))
    table = read_observed_rates(path).table
    assert table["program"].to_list() == ["Hospital Señora de la Paz", "Clínica Ibáñez Regional"]
    assert table["non_us_img_rate"].to_list() == pytest.approx([0.05, 0.07])


def test_xlsx_reads_like_the_csv_with_real_row_numbers(tmp_path, rates):
    with RATES_CSV.open(encoding="utf-8-sig", newline="") as handle:
        grid = list(csv.reader(handle))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for r, values in enumerate(grid, start=2):  # row 1 left blank
        for c, value in enumerate(values, start=1):
            if not value:
                continue
            cell = sheet.cell(row=r, column=c)
            if value.endswith("%"):
                cell.value, cell.number_format = float(value[:-1]) / 100, "0%"
            else:
                try:
                    cell.value = float(value)
                except ValueError:
                    cell.value = value
    path = tmp_path / "rates.xlsx"
    workbook.save(path)
    from_xlsx = read_observed_rates(path).table
    expected = rates.table.with_columns(pl.col("row") + 1)
    assert from_xlsx["row"].to_list() == expected["row"].to_list()
    assert from_xlsx.drop(*RATE_COLUMNS.values()).equals(expected.drop(*RATE_COLUMNS.values()))
    for column in RATE_COLUMNS.values():
        assert from_xlsx[column].to_list() == pytest.approx(expected[column].to_list())


def test_pandas_frames_and_sheets(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"Program": ["A", "B"], "State": ["NY", None], "Non US IMG": [0.1, None]})
    table = read_observed_rates(frame).table
    assert table["row"].to_list() == [2, 3]
    assert table["state"].to_list() == ["NY", None]
    assert table["non_us_img_rate"].to_list() == [0.1, None]
    workbook = openpyxl.Workbook()
    workbook.active.title = "notes"
    rates_sheet = workbook.create_sheet("rates")
    rates_sheet.append(["Program", "State", "Non US IMG"])
    rates_sheet.append(["A", "NY", "12%"])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    assert read_observed_rates(path, sheet="rates").table["non_us_img_rate"].to_list() == [0.12]
    with pytest.raises(analysis.DataValidationError, match="no sheet named 'other'"):
        read_observed_rates(path, sheet="other")


def test_bad_rates_file_lists_every_problem_with_row_and_column():
    with pytest.raises(analysis.DataValidationError) as caught:
        read_observed_rates(OBSERVED / "rates_errors.csv")
    error = caught.value
    found = {(p.row, p.column, p.value) for p in error.problems}
    assert found == {
        (3, "Program", None),
        (4, "State", "Massachusets"),
        (5, "MD", "high"),
        (6, "US IMG", "120%"),
        (7, "Non US IMG", "-0.02"),
        (8, "Non US IMG", "0,05"),
    }
    assert all(p.file == str(OBSERVED / "rates_errors.csv") for p in error.problems)
    text = str(error)
    assert text.startswith("6 problems in ")
    assert "row 5, column 'MD': 'high': a rate from 0 to 1" in text
    assert "row 4, column 'State': 'Massachusets': a USPS state code" in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"Program,State,Non US IMG\r\n", "header row but no data rows"),
        (b"Name of thing,Value\r\nx,1\r\n", "no header row of a rates table"),
        (b"Program,City,Non US IMG\r\nA,B,0.1\r\n", "missing the 'State' column"),
        (b"Program,State,Non US IMG,Non-US IMG\r\nA,NY,0.1,0.2\r\n", "two columns give"),
        (b"Program,State\x00,MD\r\n", "not a text file"),
        (b"PK\x03\x04rest", "Excel workbook"),
    ],
)
def test_bad_files_are_errors_not_tracebacks(tmp_path, content, expected):
    path = tmp_path / "rates.csv"
    path.write_bytes(content)
    with pytest.raises(analysis.DataValidationError) as caught:
        read_observed_rates(path)
    assert expected in str(caught.value)


def test_unreadable_or_unsupported_files(tmp_path):
    broken = tmp_path / "rates.xlsx"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(analysis.DataValidationError, match=r"not a valid \.xlsx workbook"):
        read_observed_rates(broken)
    old = tmp_path / "rates.xls"
    old.write_bytes(b"x")
    with pytest.raises(analysis.DataValidationError, match=r"unsupported file type '\.xls'"):
        read_observed_rates(old)
    with pytest.raises(analysis.DataValidationError, match="is a folder"):
        read_observed_rates(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_observed_rates(tmp_path / "missing.csv")


def test_a_utf8_file_with_one_windows_line_keeps_its_accents(tmp_path):
    path = tmp_path / "rates.csv"
    utf8 = "Program,City,State,Non US IMG\nClínica Bogotá Program,Bogotá,NY,0.05\n"
    windows = "Hôpital Saint Program,Albany,NY,0.02\n".encode("cp1252")
    path.write_bytes(utf8.encode("utf-8") + windows)
    with pytest.warns(analysis.errors.DataWarning, match="line 3"):
        rates = read_observed_rates(path)
    assert rates.table["program"].to_list() == ["Clínica Bogotá Program", "Hôpital Saint Program"]


def test_a_rates_table_without_the_group_column_is_an_error(programs):
    only_md = pl.DataFrame({"Program": ["Quillmont Community Hospital"], "State": ["IL"],
                            "MD": ["0.2"]})  # fmt: skip
    with pytest.raises(analysis.DataValidationError, match="no 'Non US IMG' column"):
        evaluate(programs, only_md, specialty="IM")


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "state", "program_id"),
    [
        ("Saint Aldric's Medical Center Program", "NY", "1409900101"),  # as in the export
        ("St. Aldrics Med. Ctr.", "NY", "1409900101"),  # abbreviations, punctuation
        ("ST ALDRIC'S MEDICAL CENTER", "NY", "1409900101"),  # case
        ("  Saint   Aldric's\tMedical Center  ", "NY", "1409900101"),  # whitespace
        ("Saint Aldric’s Medical Centre Residency Program", "New York", "1409900101"),
        ("Brackenridge Hospital & Clinics", "NJ", "1409900102"),  # & for and
        ("Brackenridge Hosp. and Clinics Program", "nj", "1409900102"),
        ("University of Fernhollow", "OH", "1409900103"),  # export has the specialty suffix
        ("Univ of Fernhollow Internal Med Residency", "OH", "1409900103"),
        ("Mt. Caldera Hlth. Sys.", "MI", "1409900104"),
        ("Hospital Senora de la Paz", "PR", "1409900105"),  # accent dropped
        ("HOSPITAL SEÑORA DE LA PAZ PROGRAM", "Puerto Rico", "1409900105"),
        ("Ravensworth Coll. of Med.", "TX", "1409900107"),
        ("Thistledown Inst of Hlth Sciences", "AZ", "1409900108"),
        ("Greywater Gen Hosp", "FL", "1409900109"),
        ("Willowmere Dept of Medicine", "MA", "1409900116"),
        ("St Brigid and St Kells Hosp", "NY", "1409900117"),
        ("The Pebblebrook Comm Hosp", "OH", "1409900118"),  # leading "The"
        ("Pebblebrook Community Hospital - Internal Medicine Residency Program", "OH",
         "1409900118"),
        ("Clinica Ibañez Reg. Med. Ctr.", "TX", "1409900120"),
    ],
)  # fmt: skip
def test_each_spelling_variant_joins(programs, name, state, program_id):
    result = join_observed(programs, rates_frame([(name, "", state, "0.1")]), specialty="IM")
    assert result.unjoined.height == 0, result.unjoined.to_dicts()
    assert result.joined["program_id"].to_list() == [program_id]


def test_join_counts_on_the_fixtures_are_exact(programs, rates):
    result = join_observed(programs, rates, specialty="IM", group="non_us_img")
    joined = dict(zip(result.joined["row"], result.joined["program_id"], strict=True))
    assert joined == EXPECTED_IM_JOIN
    unjoined = dict(zip(result.unjoined["row"], result.unjoined["reason"], strict=True))
    assert unjoined == EXPECTED_IM_UNJOINED
    assert result.notes == ()


def test_ambiguous_duplicate_and_conflicting_rows_are_listed(programs, rates):
    unjoined = join_observed(programs, rates, specialty="IM", group="non_us_img").unjoined
    by_row = {r["row"]: r for r in unjoined.iter_rows(named=True)}
    assert by_row[13]["candidates"] == "1409900112; 1409900113"
    assert "2 programs fit" in by_row[13]["detail"]
    assert "the city does not tell them apart" in by_row[13]["detail"]
    for row in (14, 15):
        assert "rows 14, 15" in by_row[row]["detail"]
    for row in (20, 21):
        assert by_row[row]["candidates"] == "1409900119"
        assert "rows 20, 21" in by_row[row]["detail"]
    assert by_row[10]["candidates"] == "1409900108"  # joined, but the rate is unknown
    assert by_row[24]["normalized_name"] == "nonexistent memorial hospital"


def test_long_lists_are_cut_with_a_count(programs):
    eight = rates_frame([("Quillmont Community Hospital", "Springfield", "IL", "0.1")] * 8)
    unjoined = join_observed(programs, eight, specialty="IM").unjoined
    assert unjoined["reason"].to_list() == ["duplicate"] * 8
    assert unjoined["detail"][0] == (
        "the rates table has this program on rows 2, 3, 4, 5, 6 (and 3 more): none of them is used"
    )


def test_without_a_specialty_names_shared_across_specialties_are_ambiguous(programs, rates):
    result = join_observed(programs, rates, group="non_us_img")
    reasons = dict(zip(result.unjoined["row"], result.unjoined["reason"], strict=True))
    assert reasons[3] == reasons[11] == "ambiguous"
    assert result.joined.height == len(EXPECTED_IM_JOIN) - 2
    detail = result.unjoined.filter(pl.col("row") == 3)["detail"].item()
    assert "several specialties" in detail and "1429900201" in detail
    assert any("several specialties (IM, PEDS)" in note for note in result.notes)


def test_a_specialty_column_in_the_rates_table_is_used(programs):
    table = pl.DataFrame(
        {
            "Program": ["St Aldrics Med Ctr", "St Aldrics Med Ctr"],
            "State": ["NY", "NY"],
            "Specialty": ["Internal Medicine", "Pediatrics"],
            "Non US IMG": ["0.1", "0.2"],
        }
    )
    result = join_observed(programs, table)
    assert result.joined["program_id"].to_list() == ["1409900101", "1429900201"]


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_normalization_is_idempotent(name):
    once = normalize_program_name(name)
    assert normalize_program_name(once) == once


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèñüçåÉÑÜßøł0123456789"
_WORDS = st.lists(st.text(alphabet=_LETTERS, min_size=1, max_size=10), min_size=1, max_size=6)


@given(_WORDS, st.data())
@settings(max_examples=300, deadline=None)
def test_normalization_ignores_case_spacing_and_punctuation(words, data):
    name = " ".join(words)
    reference = normalize_program_name(name)
    assert normalize_program_name(name.upper()) == reference
    assert normalize_program_name(name.lower()) == reference
    assert normalize_program_name(name.swapcase()) == reference
    spaced = "  " + "  \t ".join(words) + " \n"
    assert normalize_program_name(spaced) == reference
    separators = data.draw(
        st.lists(
            st.sampled_from([" ", ", ", " - ", "-", ". ", ".", " / ", "/", "; ", " (", ") ",
                             ": ", "'s ", " '", '" ']),
            min_size=len(words) - 1,
            max_size=len(words) - 1,
        )
    )  # fmt: skip
    punctuated = words[0] + "".join(s + w for s, w in zip(separators, words[1:], strict=True))
    punctuated = punctuated.replace("'s ", "' ")  # an apostrophe at a word's end
    assert normalize_program_name(punctuated + ".") == reference
    assert reference == reference.strip() and "  " not in reference


# --------------------------------------------------------------------------- statistics


def _average_ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def brute_spearman(xs, ys) -> tuple[float | None, int]:
    """Pearson's r of average ranks over the complete pairs, computed by hand."""
    pairs = [
        (float(x), float(y))
        for x, y in zip(xs, ys, strict=True)
        if x is not None and y is not None and not math.isnan(x) and not math.isnan(y)
    ]
    n = len(pairs)
    if n < 3:
        return None, n
    rx = _average_ranks([p[0] for p in pairs])
    ry = _average_ranks([p[1] for p in pairs])
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None, n
    return sxy / math.sqrt(sxx * syy), n


_VALUES = st.lists(
    st.tuples(st.one_of(st.none(), st.integers(0, 6)), st.one_of(st.none(), st.integers(-3, 3))),
    max_size=40,
)


@given(_VALUES)
@settings(max_examples=300, deadline=None)
def test_spearman_equals_average_rank_pearson(pairs):
    xs = [p[0] for p in pairs]
    ys = [p[1] for p in pairs]
    expected, n = brute_spearman(xs, ys)
    result = spearman(xs, ys)
    assert result.n == n
    if expected is None:
        assert result.rho is None
    else:
        assert result.rho == pytest.approx(expected, abs=1e-12)


def test_spearman_with_ties_by_hand():
    # ranks x: 1, 2.5, 2.5, 4; y: 1, 2, 3, 4 -> r = 4.5 / sqrt(4.5 * 5)
    result = spearman([1, 2, 2, 3], [10, 20, 30, 40])
    assert result.rho == pytest.approx(4.5 / math.sqrt(4.5 * 5.0), abs=1e-15)
    assert result.n == 4
    assert spearman([1, 2], [1, 2]).rho is None  # n < 3
    assert spearman([1, 1, 1], [1, 2, 3]).rho is None  # constant


def test_evaluation_correlations_match_brute_force(evaluation):
    pairs = evaluation.pairs
    # the group's own observed rate is the answer, not an input
    expected_names = {"img_friendliness", "predicted_rate", "p_interview", *INPUT_COLUMNS}
    assert set(evaluation.spearman) == expected_names - {"non_us_img_interview_rate"}
    for name, result in evaluation.spearman.items():
        expected, n = brute_spearman(pairs[name].to_list(), pairs["observed_rate"].to_list())
        assert result.n == n, name
        if expected is None:
            assert result.rho is None, name
        else:
            assert result.rho == pytest.approx(expected, abs=1e-12), name
    # the columns the fixture carries are computed on every joined program
    assert evaluation.spearman["pct_img_residents"].n == len(EXPECTED_IM_JOIN)
    assert evaluation.spearman["sponsors_j1"].n == len(EXPECTED_IM_JOIN) - 3  # 3 unknown visas


def test_calibration_ratio_by_hand():
    assert calibration_ratio([0.1, 0.2, None, 0.3], [0.2, 0.2, 0.5, None]) == (
        pytest.approx(0.75, abs=1e-15),
        2,
    )
    assert calibration_ratio([0.1, 0.1], [0.0, 0.0]) == (None, 2)
    assert calibration_ratio([], []) == (None, 0)


def test_calibration_ratio_on_the_fixtures(programs, evaluation):
    held_out = programs.with_columns(
        pl.lit(None, dtype=pl.Float64).alias(c)
        for c in ("non_us_img_interview_rate", "us_img_interview_rate")
    )
    chances = analysis.interview_chances(reference_profile(), held_out, specialties=["IM"])
    p = dict(zip(chances["program_id"], chances["p_interview"], strict=True))
    predicted = sum(p[pid] for pid in EXPECTED_IM_JOIN.values())
    assert evaluation.joined == len(EXPECTED_IM_JOIN)
    assert evaluation.calibration_n == len(EXPECTED_IM_JOIN)
    # the reference applicant's ratio is exactly its P(interview) summed over the programs
    assert evaluation.calibration_ratio_reference == pytest.approx(
        predicted / OBSERVED_SUM_IM, rel=1e-12
    )
    # the headline ratio uses the population's average chance (what a published rate measures)
    model = MatchModel(held_out)
    population = population_rates(model, "IM").filter(
        pl.col("program_id").is_in(list(EXPECTED_IM_JOIN.values()))
    )
    assert evaluation.calibration_ratio == pytest.approx(
        population["predicted_rate"].sum() / OBSERVED_SUM_IM, rel=1e-9
    )


def test_json_record(evaluation):
    record = evaluation.to_dict()
    text = json.dumps(record, allow_nan=False)
    assert json.loads(text) == record
    assert record["joined"] == 14 and record["unjoined"] == 10
    assert isinstance(record["joined"], int) and isinstance(record["unjoined"], int)
    names = {"img_friendliness", "predicted_rate", "p_interview", *INPUT_COLUMNS}
    assert set(record["spearman"]) == names - {"non_us_img_interview_rate"}
    assert set(record["spearman_all_programs"]) == set(record["spearman"])
    assert record["spearman"]["min_step2_score"] is None  # n = 0 on a FREIDA export
    assert record["spearman_n"]["min_step2_score"] == 0
    assert isinstance(record["spearman"]["pct_img_residents"], float)
    assert isinstance(record["calibration_ratio"], float)
    assert record["unjoined_by_reason"] == {
        "duplicate": 2,
        "no_state": 1,
        "no_match": 2,
        "ambiguous": 1,
        "conflict": 2,
        "unknown_rate": 2,
    }


def test_group_us_img_scores_without_a_visa(programs, rates):
    non_us = evaluate(programs, rates, specialty="IM")
    us = evaluate(programs, rates, group="us_img", specialty="IM")
    h1b_only = "1409900107"  # known not to take J-1: closed to the J-1 reference applicant
    score = {
        name: result.pairs.filter(pl.col("program_id") == h1b_only)["img_friendliness"].item()
        for name, result in (("non_us", non_us), ("us", us))
    }
    assert score["non_us"] == 0.0 and score["us"] > 0.0
    assert us.joined == 16  # rows 10 and 16 have US IMG rates
    assert us.unjoined_by_reason()["unknown_rate"] == 0


def test_the_programs_own_rates_are_held_out(programs, rates, evaluation):
    enriched = enrich(programs, rates, specialty="IM").table
    held = evaluate(enriched, rates, specialty="IM")
    assert held.pairs["p_interview"].to_list() == evaluation.pairs["p_interview"].to_list()
    assert "non_us_img_interview_rate" not in held.spearman  # the answer is not an input
    leaked = evaluate(enriched, rates, specialty="IM", hold_out=False)
    assert leaked.pairs["p_interview"].to_list() != evaluation.pairs["p_interview"].to_list()


def test_reference_profile_is_a_typical_j1_applicant():
    profile = reference_profile()
    assert isinstance(profile, analysis.ApplicantProfile)
    assert profile.visa_needed == "j1"
    assert analysis.ApplicantProfile.model_validate(profile.model_dump()) == profile


# --------------------------------------------------------------------------- enrich


def test_enrich_fills_only_unknown_rates(programs, rates):
    known = {"1409900101": 0.5, "1409900102": 0.07}
    before = programs.with_columns(
        pl.col("program_id")
        .replace_strict(known, default=None, return_dtype=pl.Float64)
        .alias("non_us_img_interview_rate")
    )
    result = enrich(before, rates, specialty="IM")
    after = result.table
    assert after.columns == before.columns and after["program_id"].equals(before["program_id"])
    rates_columns = ["non_us_img_interview_rate", "us_img_interview_rate"]
    assert after.drop(rates_columns).equals(before.drop(rates_columns))
    # the rates file's US IMG column fills the US IMG rate the same way
    assert result.filled_us_img == after["us_img_interview_rate"].is_not_null().sum() > 0
    rate = dict(zip(after["program_id"], after["non_us_img_interview_rate"], strict=True))
    assert rate["1409900101"] == 0.5  # known: kept although the rates file says 0.09
    assert rate["1409900102"] == 0.07
    assert rate["1409900103"] == pytest.approx(0.01)  # filled
    assert rate["1409900122"] == 0.0  # a known zero is filled as zero
    assert rate["1409900108"] is None  # the rates file does not know it either
    assert rate["1409900119"] is None  # two rows of the rates file fit it: not used
    assert (result.filled, result.kept, result.differing) == (len(EXPECTED_IM_JOIN) - 2, 2, 1)
    for pid, value in known.items():  # never overwritten
        assert rate[pid] == value
    assert analysis.ensure_programs(after) is after  # still a canonical table


# --------------------------------------------------------------------------- writing


def test_formula_cells_are_escaped():
    assert spreadsheet_safe('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    for start in "=+-@\t\r":
        assert spreadsheet_safe(start + "1") == "'" + start + "1"
    assert spreadsheet_safe("Saint Aldric") == "Saint Aldric"
    assert spreadsheet_safe("") == "" and spreadsheet_safe(None) is None
    frame = pl.DataFrame({"a": ["=1+1", "ok", None], "n": [-1, 2, 3]})
    escaped = escape_formulas(frame)
    assert escaped["a"].to_list() == ["'=1+1", "ok", None]
    assert escaped["n"].to_list() == [-1, 2, 3]  # numbers are numbers


def test_unjoined_csv_is_complete_and_formula_safe(tmp_path, programs):
    table = rates_frame(
        [('=HYPERLINK("http://x")', "", "NY", "0.1"), ("@SUM(A1)", "+1", "NY", "0.2")]
    )
    unjoined = join_observed(programs, table, specialty="IM").unjoined
    path = write_unjoined_csv(unjoined, tmp_path / "out" / "unjoined.csv")
    assert sorted(p.name for p in path.parent.iterdir()) == ["unjoined.csv"]
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["program"] for r in rows] == ['\'=HYPERLINK("http://x")', "'@SUM(A1)"]
    assert rows[1]["city"] == "'+1"
    assert [r["reason"] for r in rows] == ["no_match", "no_match"]
    assert list(rows[0]) == list(unjoined.columns)
