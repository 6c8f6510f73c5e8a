"""Program tables: every format, encoding and container, every kind of error, round trips."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import openpyxl
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data import files, program_headers
from analysis.data import programs as imgio
from analysis.data.schemas import polars_schema, program_columns
from analysis.data.vocabulary import (
    PROGRAM_TYPES,
    TRACKS,
    US_STATES,
    VISITING_ROUTES,
    specialty_codes,
)
from analysis.errors import DataValidationError, Problem

CANONICAL_HEADER = ",".join(spec.name for spec in program_columns())


def problems_of(source, **kwargs) -> list[Problem]:
    with pytest.raises(DataValidationError) as info:
        imgio.load_programs(source, **kwargs)
    return info.value.problems


def find(problems: list[Problem], *, row: int | None, column: str | None) -> Problem:
    for problem in problems:
        if problem.row == row and problem.column == column:
            return problem
    shown = "\n".join(str(p) for p in problems)
    raise AssertionError(f"no problem at row {row}, column {column!r} in:\n{shown}")


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode(encoding))
    return path


# --------------------------------------------------------------------------- canonical


def test_canonical_csv_has_the_exact_schema(program_fixture) -> None:
    frame = imgio.load_programs(program_fixture("canonical_small.csv"))
    assert frame.schema == pl.Schema(polars_schema())
    assert frame.height == 3
    first = frame.row(0, named=True)
    assert first["program_id"] == "syn-im-001"
    assert first["sponsors_j1"] is True and first["sponsors_h1b"] is False
    assert first["application_deadline"] == dt.date(2026, 3, 1)
    assert first["pct_img_residents"] == 65.5
    third = frame.row(2, named=True)
    assert third["sponsors_j1"] is None  # empty cell: unknown, never "no"
    assert third["source"] == "synthetic fixture"


def test_canonical_missing_optional_columns_become_unknown(tmp_path) -> None:
    path = write(tmp_path, "min.csv", "program_id,program_name,specialty\na,Alpha,IM\nb,Beta,DR\n")
    frame, info = imgio.inspect_programs(path)
    assert info.format == "canonical"
    assert frame["sponsors_j1"].null_count() == 2
    assert frame["visiting_route"].to_list() == ["unknown", "unknown"]
    assert frame["track"].to_list() == ["categorical", "advanced"]  # specialty defaults
    assert frame["source"].to_list() == ["table (min.csv)"] * 2


def test_canonical_extra_columns_are_ignored_and_reported(tmp_path) -> None:
    path = write(tmp_path, "x.csv", "program_id,program_name,specialty,my_rank\na,Alpha,IM,1\n")
    frame, info = imgio.inspect_programs(path)
    assert "my_rank" not in frame.columns
    assert info.ignored_columns == ("my_rank",)


def test_headers_ignore_case_spacing_and_punctuation(tmp_path) -> None:
    path = write(tmp_path, "h.csv", "Program ID,Program Name, SPECIALTY ,Sponsors J1\na,A,IM,Y\n")
    frame = imgio.load_programs(path)
    assert frame["sponsors_j1"].to_list() == [True]


def test_specialty_names_are_normalized_in_canonical_tables(tmp_path) -> None:
    path = write(
        tmp_path, "s.csv", "program_id,program_name,specialty\na,A,Internal Medicine\nb,B,PM&R\n"
    )
    assert imgio.load_programs(path)["specialty"].to_list() == ["IM", "PMR"]


# --------------------------------------------------------------------------- encodings


TEXT = (
    "program_id,program_name,specialty,city,state\nsyn-1,Hôpital São José – Centro,IM,Bayamón,PR\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_encodings(tmp_path, encoding: str) -> None:
    path = write(tmp_path, f"{encoding}.csv", TEXT, encoding=encoding)
    frame, info = imgio.inspect_programs(path)
    assert frame["program_name"].to_list() == ["Hôpital São José – Centro"]
    assert frame["city"].to_list() == ["Bayamón"]
    shown = {"utf-8": "utf-8", "utf-8-sig": "utf-8 (with BOM)"}.get(encoding, encoding)
    assert info.encoding == shown


def test_latin1_bytes_that_cp1252_cannot_decode(tmp_path) -> None:
    data = "program_id,program_name,specialty\nsyn-1,Caf\xe9\x81,IM\n".encode("latin-1")
    frame, info = imgio.inspect_programs(write(tmp_path, "latin1.csv", data))
    assert info.encoding == "latin-1"
    assert frame["program_name"].to_list() == ["Café\x81"]


def test_crlf_line_ends_and_quoted_newlines(tmp_path) -> None:
    data = 'program_id,program_name,specialty,notes\r\na,Alpha,IM,"two\r\nlines"\r\nb,Beta,IM,\r\n'
    frame = imgio.load_programs(write(tmp_path, "crlf.csv", data))
    assert frame["program_id"].to_list() == ["a", "b"]
    assert frame["notes"][0].splitlines() == ["two", "lines"]


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semi.csv"), ("\t", "tab.tsv")])
def test_sniffed_delimiters(tmp_path, delimiter: str, name: str) -> None:
    data = delimiter.join(["program_id", "program_name", "specialty", "pct_img_residents"])
    data += "\n" + delimiter.join(["a", "Alpha, Inc", "IM", "40,5" if delimiter == ";" else "40"])
    if delimiter == ";":
        data = data.replace("40,5", "40")
    frame, info = imgio.inspect_programs(write(tmp_path, name, data + "\n"))
    assert info.delimiter == delimiter
    assert frame["program_name"].to_list() == ["Alpha, Inc"]


def test_blank_and_title_rows_keep_spreadsheet_row_numbers(tmp_path) -> None:
    data = (
        "My programs,,\n"  # row 1: a title
        ",,\n"  # row 2: blank
        "program_id,program_name,specialty\n"  # row 3: the header
        "a,Alpha,IM\n"  # row 4
        ",,\n"  # row 5: blank
        "b,Beta,Cardiology\n"  # row 6
    )
    problems = problems_of(write(tmp_path, "rows.csv", data))
    assert find(problems, row=6, column="specialty").value == "Cardiology"


def test_rows_longer_than_the_header_are_read(tmp_path) -> None:
    data = "My tracker\nprogram_id,program_name,specialty\na,Alpha,IM,stray\n"
    frame, info = imgio.inspect_programs(write(tmp_path, "ragged.csv", data))
    assert frame.height == 1
    assert info.ignored_columns == ("column D (no header)",)


# --------------------------------------------------------------------------- file-level errors


def test_empty_file(tmp_path) -> None:
    problems = problems_of(write(tmp_path, "empty.csv", b""))
    assert problems[0].file.endswith("empty.csv")
    assert "empty" in problems[0].expected


def test_header_only_file(tmp_path) -> None:
    problems = problems_of(write(tmp_path, "header.csv", "program_id,program_name,specialty\n"))
    assert "no data rows" in problems[0].expected


def test_binary_file_is_not_text(tmp_path) -> None:
    problems = problems_of(write(tmp_path, "binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR"))
    assert "not a text file" in problems[0].expected


def test_workbook_saved_as_csv(tmp_path) -> None:
    problems = problems_of(write(tmp_path, "book.csv", b"PK\x03\x04rest-of-a-zip"))
    assert ".xlsx" in problems[0].expected


def test_unsupported_extension(tmp_path) -> None:
    problems = problems_of(write(tmp_path, "programs.json", "[]"))
    assert ".csv" in problems[0].expected and ".parquet" in problems[0].expected


def test_missing_file_raises_file_not_found(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        imgio.load_programs(tmp_path / "nope.csv")


def test_missing_required_column(tmp_path) -> None:
    problems = problems_of(write(tmp_path, "m.csv", "program_id,program_name,state\na,A,NY\n"))
    problem = find(problems, row=None, column="specialty")
    assert "missing required column 'specialty'" in problem.expected


def test_unrecognised_headers_explain_each_format(tmp_path) -> None:
    problems = problems_of(write(tmp_path, "u.csv", "foo,bar\n1,2\n"))
    message = problems[0].expected
    for needed in ("program_id, program_name and specialty", "'Program'", "specialty_title"):
        assert needed in message
    assert "'foo'" in message


# --------------------------------------------------------------------------- value errors


def test_every_problem_of_the_file_at_once(program_fixture) -> None:
    problems = problems_of(program_fixture("canonical_errors.csv"))
    assert find(problems, row=2, column="pct_img_residents").value == "140"
    assert "0 to 100" in find(problems, row=2, column="pct_img_residents").expected
    assert find(problems, row=3, column="pgy1_positions").value == "-3"
    assert find(problems, row=3, column="sponsors_j1").value == "maybe"
    duplicate = find(problems, row=4, column="program_id")
    assert "also on row 2" in duplicate.expected
    assert "also on row 4" in find(problems, row=2, column="program_id").expected
    assert find(problems, row=4, column="specialty").value == "Cardiology"
    assert find(problems, row=4, column="state").value == "XX"
    assert len(problems) == 7


def test_error_text_names_file_row_and_column(program_fixture) -> None:
    with pytest.raises(DataValidationError) as info:
        imgio.load_programs(program_fixture("canonical_errors.csv"))
    text = str(info.value)
    assert "canonical_errors.csv, row 2, column 'pct_img_residents': '140'" in text
    assert "Traceback" not in text and "polars" not in text.lower()


def test_required_values_and_cross_column_rule(tmp_path) -> None:
    data = (
        "program_id,program_name,specialty,pct_img_residents,pct_non_us_img_residents\n"
        ",Alpha,IM,10,5\n"
        "b,,IM,10,20\n"
        "c,Gamma,,10,5\n"
    )
    problems = problems_of(write(tmp_path, "req.csv", data))
    assert "required" in find(problems, row=2, column="program_id").expected
    assert "required" in find(problems, row=3, column="program_name").expected
    assert "cannot exceed" in find(problems, row=3, column="pct_non_us_img_residents").expected
    assert "required" in find(problems, row=4, column="specialty").expected


def test_duplicate_columns_for_one_fact(tmp_path) -> None:
    data = "Program,Specialty,Visa,Visa for residents\nA,IM,J-1,J-1\n"
    problems = problems_of(write(tmp_path, "dup.csv", data))
    assert "same information" in find(problems, row=None, column="Visa for residents").expected


# --------------------------------------------------------------------------- tracker


def test_tracker_format(program_fixture) -> None:
    frame, info = imgio.inspect_programs(program_fixture("tracker_ir.csv"))
    assert info.format == "tracker"
    assert frame.height == 5
    rows = {r["program_id"]: r for r in frame.iter_rows(named=True)}
    assert set(rows) == {
        "synthetic-lakeside-hospital-ir",
        "synthetic-lakeside-hospital-dr",
        "synthetic-community-radiology",
        "synthetic-metro-medical-ir",
        "synthetic-metro-medical-im-prelim",
    }
    ir = rows["synthetic-lakeside-hospital-ir"]
    assert (ir["specialty"], ir["track"], ir["sponsors_j1"], ir["sponsors_h1b"]) == (
        "IR", "integrated", True, False,
    )  # fmt: skip
    assert ir["img_residents_present"] is True and ir["pct_img_residents"] is None
    assert ir["notes"] == "emailed coordinator; IR structure: Integrated IR with ESIR"
    assert ir["visiting_route"] == "vslo" and ir["visiting_fee_usd"] == 150
    assert ir["application_deadline"] == dt.date(2026, 3, 1)
    assert ir["source"] == "tracker (tracker_ir.csv)"
    dr = rows["synthetic-lakeside-hospital-dr"]
    assert (dr["specialty"], dr["esir_available"], dr["sponsors_h1b"]) == ("DR", True, True)
    assert dr["pct_img_residents"] == 35 and dr["visiting_fee_usd"] == 1200
    community = rows["synthetic-community-radiology"]
    assert community["img_residents_present"] is False and community["pct_img_residents"] == 0
    assert community["accepts_img_visiting_students"] is False
    assert community["visiting_route"] == "none" and community["visiting_fee_usd"] == 0
    metro = rows["synthetic-metro-medical-ir"]
    assert metro["track"] == "independent" and metro["state"] == "NY"
    assert metro["img_residents_present"] is None  # "?" is unknown
    assert metro["accepts_img_visiting_students"] is None  # "VSLO only"
    prelim = rows["synthetic-metro-medical-im-prelim"]
    assert (prelim["specialty"], prelim["track"], prelim["sponsors_j1"]) == (
        "IM-PRELIM", "preliminary", None,
    )  # fmt: skip


def test_tracker_duplicate_program_is_an_error_naming_both_rows(tmp_path) -> None:
    data = "Program,IR/DR,Visa for residents\nLake Hospital,IR,J-1\nLake Hospital,IR,none\n"
    problems = problems_of(write(tmp_path, "dup.csv", data))
    assert "also on row 3" in find(problems, row=2, column="Program").expected
    assert "also on row 2" in find(problems, row=3, column="Program").expected


def test_tracker_cells_that_cannot_be_read(tmp_path) -> None:
    data = (
        "Program,IR/DR,Visa for residents,IMGs present,Deadlines,Fees\n"
        "A,IR,J-1 maybe not,lots,next spring,€100\n"
        "B,Cardiology,J-1,yes,3/1/2026,$10\n"
    )
    problems = problems_of(write(tmp_path, "bad.csv", data))
    assert find(problems, row=2, column="IMGs present").value == "lots"
    assert find(problems, row=2, column="Deadlines").value == "next spring"
    assert find(problems, row=2, column="Fees").value == "€100"
    assert find(problems, row=3, column="IR/DR").value == "Cardiology"


def test_tracker_needs_a_specialty_column(tmp_path) -> None:
    data = "Program,Visa for residents\nA,J-1\n"
    problems = problems_of(write(tmp_path, "nospec.csv", data))
    assert "specialty column" in problems[0].expected


def test_tracker_reads_graduate_rotations_signals_and_resident_shares(tmp_path) -> None:
    data = (
        "Program,IR/DR,Graduates accepted,Signal,% US MD,% DO\n"
        "Lake Hospital,IR,yes,gold,70,10\n"
        "River Hospital,DR,no,yes,,\n"
        "Hill Hospital,DR,,,55%,5%\n"
    )
    frame, info = imgio.inspect_programs(write(tmp_path, "tracker.csv", data))
    assert info.format == "tracker" and not info.ignored_columns
    rows = {r["program_name"]: r for r in frame.iter_rows(named=True)}
    assert rows["Lake Hospital"]["accepts_graduates_for_rotations"] is True
    assert rows["River Hospital"]["accepts_graduates_for_rotations"] is False
    assert rows["Hill Hospital"]["accepts_graduates_for_rotations"] is None  # unknown
    assert [rows[n]["signal"] for n in ("Lake Hospital", "River Hospital", "Hill Hospital")] == [
        "gold", "single", None
    ]  # fmt: skip
    assert (
        rows["Lake Hospital"]["pct_us_md_residents"],
        rows["Hill Hospital"]["pct_do_residents"],
    ) == (70, 5)
    bad = "Program,IR/DR,Graduates accepted,Signal\nLake Hospital,IR,perhaps,platinum\n"
    problems = problems_of(write(tmp_path, "bad.csv", bad))
    assert find(problems, row=2, column="Graduates accepted").value == "perhaps"
    assert "program signal" in find(problems, row=2, column="Signal").expected


def test_tracker_header_aliases_are_documented() -> None:
    aliases = program_headers.tracker_header_aliases()
    assert "Visa for residents" in aliases["visa"]
    assert "Application route (VSLO/direct)" in aliases["visiting_route"]


# --------------------------------------------------------------------------- FREIDA


def test_freida_export(program_fixture) -> None:
    frame, info = imgio.inspect_programs(program_fixture("freida_export.csv"))
    assert info.format == "freida"
    assert set(info.ignored_columns) == {"field_extra"}
    assert info.columns["pct_usmd"] == "pct_us_md_residents"
    assert info.columns["pct_do"] == "pct_do_residents"
    rows = {r["program_id"]: r for r in frame.iter_rows(named=True)}
    university = rows["1409900001"]
    assert (university["sponsors_j1"], university["sponsors_h1b"]) == (True, True)
    assert university["program_type"] == "university"
    assert university["pct_img_residents"] == 8 and university["pgy1_positions"] == 50
    assert (university["pct_us_md_residents"], university["pct_do_residents"]) == (80, 12)
    assert university["last_verified"] == dt.date(2025, 6, 1)
    assert university["source"] == "FREIDA export (freida_export.csv)"
    affiliated = rows["1409900003"]
    assert (affiliated["sponsors_j1"], affiliated["sponsors_h1b"]) == (True, False)
    assert affiliated["program_type"] == "community_university_affiliated"
    radiology = rows["1429900004"]
    assert (radiology["specialty"], radiology["sponsors_j1"]) == ("DR", False)


def test_freida_empty_visa_list_means_unknown(program_fixture) -> None:
    frame = imgio.load_programs(program_fixture("freida_export.csv"))
    community = frame.filter(pl.col("program_id") == "1409900002").row(0, named=True)
    assert community["sponsors_j1"] is None
    assert community["sponsors_h1b"] is None


def test_freida_unknown_specialties_fail_or_are_skipped(program_fixture) -> None:
    path = program_fixture("freida_with_fellowship.csv")
    problems = problems_of(path)
    problem = find(problems, row=3, column="specialty_title")
    assert problem.value == "Cardiovascular Disease"
    assert "skip" in problem.expected
    frame, info = imgio.inspect_programs(path, on_unknown_specialty="skip")
    assert frame["program_id"].to_list() == ["1409900011"]
    assert info.skipped_rows == 2
    assert info.skipped_specialties == {"Cardiovascular Disease": 1, "Gastroenterology": 1}


def test_freida_parquet_with_list_valued_visas(tmp_path) -> None:
    frame = pl.DataFrame(
        {
            "program_id": ["1409900021", "1409900022", "1409900023"],
            "program_name_suffix": ["Synthetic A", "Synthetic B", "Synthetic C"],
            "specialty_title": ["Internal Medicine"] * 3,
            "visa_statuses_accepted": [["J-1 through ECFMG", "H-1B"], [], ["F-1"]],
            "data_last_updated": [dt.datetime(2025, 6, 1, 10, 0)] * 3,
        }
    )
    frame.write_parquet(tmp_path / "freida.parquet")
    loaded = imgio.load_programs(tmp_path / "freida.parquet")
    assert loaded.select("sponsors_j1", "sponsors_h1b").rows() == [
        (True, True),
        (None, None),  # empty list: unknown
        (False, False),
    ]
    assert loaded["last_verified"].to_list() == [dt.date(2025, 6, 1)] * 3


# --------------------------------------------------------------------------- XLSX, Parquet, frames


def _workbook(path: Path, rows: list[list], *, title: str = "Tracker", start: str = "A1"):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    start_col = ord(start[0]) - 64
    start_row = int(start[1:])
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            sheet.cell(row=start_row + r, column=start_col + c, value=value)
    workbook.create_sheet("Notes")["A1"] = "free notes"
    workbook.save(path)
    return workbook


def test_xlsx_tracker_with_offset_dates_and_percent_cells(tmp_path) -> None:
    path = tmp_path / "tracker.xlsx"
    workbook = _workbook(
        path,
        [
            ["Program", "IR/DR", "% IMG", "Deadlines", "Fees"],
            ["A Hospital", "IR", 0.4, dt.date(2026, 3, 1), 150],
            ["B Hospital", "DR", 15, 46082, "$200"],
        ],
        start="B3",
    )
    workbook["Tracker"]["D4"].number_format = "0%"
    workbook.save(path)
    frame, info = imgio.inspect_programs(path)
    assert info.sheet == "Tracker"
    assert frame["pct_img_residents"].to_list() == [40.0, 15.0]
    assert frame["application_deadline"].to_list() == [dt.date(2026, 3, 1)] * 2
    assert frame["visiting_fee_usd"].to_list() == [150.0, 200.0]


def test_xlsx_errors_use_the_real_row_numbers(tmp_path) -> None:
    path = tmp_path / "bad.xlsx"
    _workbook(path, [["Program", "IR/DR", "% IMG"], ["A", "IR", 10], ["B", "IR", 140]], start="B3")
    problem = find(problems_of(path), row=5, column="% IMG")
    assert problem.value == "140"


def test_xlsx_sheet_selection(tmp_path) -> None:
    path = tmp_path / "book.xlsx"
    _workbook(path, [["program_id", "program_name", "specialty"], ["a", "A", "IM"]])
    assert imgio.load_programs(path, sheet="Tracker").height == 1
    problems = problems_of(path, sheet="Programs")
    assert "'Tracker', 'Notes'" in problems[0].expected
    assert "no known program-table format" in problems_of(path, sheet="Notes")[0].expected


def test_sheet_option_on_a_csv_is_an_error(program_fixture) -> None:
    problems = problems_of(program_fixture("canonical_small.csv"), sheet="x")
    assert "workbooks" in problems[0].expected


def test_corrupt_workbook(tmp_path) -> None:
    problems = problems_of(write(tmp_path, "broken.xlsx", b"not a zip at all"))
    assert problems[0].expected.startswith("not a valid .xlsx workbook (not a ZIP archive")


def test_parquet_is_typed_and_validated(tmp_path, program_fixture) -> None:
    frame = imgio.load_programs(program_fixture("canonical_small.csv"))
    path = tmp_path / "programs.parquet"
    frame.write_parquet(path)
    assert imgio.load_programs(path).equals(frame)
    broken = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(140.0).otherwise(pl.col("pct_img_residents"))
        .alias("pct_img_residents")
    )  # fmt: skip
    broken.write_parquet(tmp_path / "broken.parquet")
    problem = find(problems_of(tmp_path / "broken.parquet"), row=3, column="pct_img_residents")
    assert str(problem.value) == "140.0"


def test_pandas_and_polars_frames(program_fixture) -> None:
    canonical = imgio.load_programs(program_fixture("canonical_small.csv"))
    assert imgio.ensure_programs(canonical) is canonical  # trusted as is
    from_pandas = imgio.ensure_programs(canonical.to_pandas())
    assert from_pandas.equals(canonical)
    loose = pd.DataFrame(
        {
            "program_id": ["a", "b"],
            "program_name": ["Alpha", "Beta"],
            "specialty": ["Internal Medicine", "DR"],
            "pgy1_positions": [12.0, float("nan")],
            "sponsors_j1": ["yes", None],
        }
    )
    frame = imgio.load_programs(loose)
    assert frame["specialty"].to_list() == ["IM", "DR"]
    assert frame["pgy1_positions"].to_list() == [12, None]
    assert frame["sponsors_j1"].to_list() == [True, None]
    assert frame["source"].to_list() == ["data frame", "data frame"]


def test_frame_errors_count_records_from_row_2() -> None:
    frame = pl.DataFrame({"program_id": ["a", "b"], "program_name": ["A", "B"],
                          "specialty": ["IM", "Cardiology"]})  # fmt: skip
    problem = find(problems_of(frame), row=3, column="specialty")
    assert problem.file is None


# --------------------------------------------------------------------------- cache


def test_unchanged_file_is_loaded_once(tmp_path, monkeypatch) -> None:
    path = write(tmp_path, "c.csv", "program_id,program_name,specialty\na,A,IM\n")
    calls = []
    original = imgio._build

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(imgio, "_build", counting)
    first = imgio.load_programs(path)
    second = imgio.load_programs(path)
    assert len(calls) == 1 and first.equals(second)
    path.write_text("program_id,program_name,specialty\na,A,IM\nb,B,DR\n", encoding="utf-8")
    assert imgio.load_programs(path).height == 2
    assert len(calls) == 2


# --------------------------------------------------------------------------- saving


def test_save_csv_writes_plain_values(tmp_path, program_fixture) -> None:
    frame = imgio.load_programs(program_fixture("canonical_small.csv"))
    path = files.save_programs(frame, tmp_path / "out" / "programs.csv")
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == CANONICAL_HEADER
    assert ",true,true,false," in lines[1]
    assert "2026-03-01" in lines[1]
    assert ",,,,," in lines[-1]  # unknown is an empty cell
    assert not list(path.parent.glob(".*tmp*"))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_save_and_load_round_trip(tmp_path, program_fixture, suffix: str) -> None:
    frame = imgio.load_programs(program_fixture("tracker_ir.csv"))
    path = files.save_programs(frame, tmp_path / f"programs{suffix}")
    assert imgio.load_programs(path).equals(frame)


def test_save_refuses_unknown_extension_and_leaves_nothing(tmp_path, program_fixture) -> None:
    frame = imgio.load_programs(program_fixture("canonical_small.csv"))
    with pytest.raises(DataValidationError, match=r"\.csv, \.parquet or \.xlsx"):
        files.save_programs(frame, tmp_path / "programs.txt")
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_keeps_the_old_file_on_error(tmp_path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), files.atomic_output(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    with files.atomic_output(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".html"
        tmp.write_text("new", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new"


# --------------------------------------------------------------------------- summary


def test_summarize_programs(program_fixture) -> None:
    summary = imgio.summarize_programs(imgio.load_programs(program_fixture("canonical_small.csv")))
    assert summary["rows"] == 3
    assert summary["specialties"] == {"IM": 1, "DR": 1, "IR": 1}
    shares = summary["unknown_share"]
    assert "program_id" not in shares
    assert shares["sponsors_j1"] == pytest.approx(1 / 3)
    assert shares["state"] == 0


# --------------------------------------------------------------------------- round-trip property

_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn")), min_size=1, max_size=20
).filter(lambda s: s == s.strip() and s != "")
_OPT_TEXT = st.none() | _TEXT


def _maybe(strategy):
    return st.none() | strategy


@st.composite
def _program_row(draw, index: int) -> dict:
    pct_img = draw(_maybe(st.floats(0, 100, allow_nan=False, allow_subnormal=False)))
    pct_non_us = draw(
        _maybe(st.floats(0, pct_img if pct_img is not None else 100, allow_nan=False,
                         allow_subnormal=False))
    )  # fmt: skip
    present = (pct_img > 0) if pct_img is not None else draw(_maybe(st.booleans()))
    dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
    return {
        "program_id": f"id-{index}-{draw(_TEXT)}",
        "program_name": draw(_TEXT),
        "specialty": draw(st.sampled_from(specialty_codes())),
        "track": draw(st.sampled_from(TRACKS)),
        "esir_available": draw(_maybe(st.booleans())),
        "city": draw(_OPT_TEXT),
        "state": draw(_maybe(st.sampled_from(tuple(US_STATES)))),
        "program_type": draw(_maybe(st.sampled_from(PROGRAM_TYPES))),
        "pgy1_positions": draw(_maybe(st.integers(0, 500))),
        "interviews_last_year": draw(_maybe(st.integers(0, 10_000))),
        "pct_img_residents": pct_img,
        "pct_non_us_img_residents": pct_non_us,
        "img_residents_present": present,
        "sponsors_j1": draw(_maybe(st.booleans())),
        "sponsors_h1b": draw(_maybe(st.booleans())),
        "min_step2_score": draw(_maybe(st.integers(180, 300))),
        "yog_cutoff_years": draw(_maybe(st.integers(0, 50))),
        "usce_required_months": draw(_maybe(st.floats(0, 36, allow_nan=False))),
        "max_attempts": draw(_maybe(st.integers(1, 6))),
        "accepts_img_visiting_students": draw(_maybe(st.booleans())),
        "visiting_route": draw(st.sampled_from(VISITING_ROUTES)),
        "visiting_fee_usd": draw(_maybe(st.floats(0, 10_000, allow_nan=False))),
        "application_deadline": draw(_maybe(dates)),
        "non_us_img_interview_rate": draw(_maybe(st.floats(0, 1, allow_nan=False))),
        "source": draw(_TEXT),
        "last_verified": draw(_maybe(dates)),
        "notes": draw(_OPT_TEXT),
    }


@st.composite
def canonical_tables(draw) -> pl.DataFrame:
    count = draw(st.integers(1, 5))
    rows = [draw(_program_row(index)) for index in range(count)]
    return pl.DataFrame(rows, schema=polars_schema())


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=canonical_tables())
def test_canonical_table_round_trips_unchanged(tmp_path, suffix: str, table: pl.DataFrame) -> None:
    path = files.save_programs(table, tmp_path / f"{uuid.uuid4().hex}{suffix}")
    back = imgio.load_programs(path)
    assert back.schema == table.schema
    assert back.equals(table), _first_difference(table, back)


def _first_difference(expected: pl.DataFrame, actual: pl.DataFrame) -> str:
    for column in expected.columns:
        if not expected[column].equals(actual[column]):
            return f"{column}: {expected[column].to_list()} != {actual[column].to_list()}"
    return "frames differ"


# --------------------------------------------------------------------------- the demo table


DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "programs.csv"


@pytest.mark.skipif(not DEMO.is_file(), reason="data/demo/programs.csv not generated yet")
def test_demo_programs_load() -> None:
    frame, info = imgio.inspect_programs(DEMO)
    assert info.format == "canonical"
    assert frame.height > 0


def test_tracker_track_column_alone_or_with_a_specialty(tmp_path) -> None:
    alone = write(tmp_path, "t1.csv", "Program,Track\nA,DR/ESIR\nB,IR\n")
    frame = imgio.load_programs(alone)
    assert frame.select("specialty", "track", "esir_available").rows() == [
        ("DR", "advanced", True),
        ("IR", "integrated", None),
    ]
    both = write(tmp_path, "t2.csv", "Program,Specialty,Track\nA,Anesthesiology,Advanced\nB,IM,\n")
    frame, info = imgio.inspect_programs(both)
    expected = [("ANES", "advanced"), ("IM", "categorical")]
    assert frame.select("specialty", "track").rows() == expected
    assert info.columns["Specialty"] == "specialty + track + esir_available"
    assert info.columns["Track"] == "track"


def test_empty_first_sheet_names_the_others(tmp_path) -> None:
    path = tmp_path / "book.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "Cover"
    workbook.create_sheet("Programs")["A1"] = "program_id"
    workbook.save(path)
    assert "'Programs'" in problems_of(path)[0].expected


def test_explicit_columns_win_over_combined_cells(tmp_path) -> None:
    data = (
        "Program,IR/DR,Sponsors H1B,Visa for residents\nA,IR,no,J-1 and H-1B\nB,IR,,J-1 and H-1B\n"
    )
    frame = imgio.load_programs(write(tmp_path, "both.csv", data))
    assert frame.select("sponsors_j1", "sponsors_h1b").rows() == [(True, False), (True, True)]
