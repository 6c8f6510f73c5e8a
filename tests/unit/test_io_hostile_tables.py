"""Program tables from the wild and from attackers: refused early or repaired out loud.

Each test is a case that broke: a 6 MB workbook that unpacked to 2 GB (92 s, 11 GB of RSS),
a public FREIDA export refused for one identical repeated row, a UTF-8 file with one
Windows line decoded into mojibake, 200,000 bad cells printed for minutes, spreadsheet
formulas written back live, a cell larger than the csv module's field limit.
"""

from __future__ import annotations

import struct
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data import files, tables
from analysis.data import programs as imgio
from analysis.errors import DataValidationError, DataWarning, Problem

HEADER = "program_id,program_name,specialty,city\n"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "programs"


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def problems_of(source) -> list[Problem]:
    with pytest.raises(DataValidationError) as info:
        imgio.load_programs(source)
    return info.value.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return problems[0]


@pytest.fixture(autouse=True)
def _fresh_cache():
    imgio.clear_cache()
    yield
    imgio.clear_cache()


# --------------------------------------------------------------------------- item 10: zip bombs

_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://'
    b'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" '
    b't="inlineStr"><is><t>program_id</t></is></c></row>'
)
_SHEET_ROWS = b'<row><c t="inlineStr"><is><t>lol</t></is></c></row>' * 1000


def workbook_bomb(path: Path, unpacked: int) -> Path:
    """A valid workbook whose sheet unpacks to about `unpacked` bytes (streamed, not held)."""
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "program_id"
    workbook.save(path.with_suffix(".base.xlsx"))
    with (
        zipfile.ZipFile(path.with_suffix(".base.xlsx")) as base,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out,
    ):
        for info in base.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info.filename, base.read(info.filename))
        with out.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_SHEET_HEAD)
            for _ in range(unpacked // len(_SHEET_ROWS) + 1):
                sheet.write(_SHEET_ROWS)
            sheet.write(b"</sheetData></worksheet>")
    return path


def test_zip_bomb_is_refused_before_parsing(tmp_path) -> None:
    path = workbook_bomb(tmp_path / "bomb.xlsx", 40 << 20)  # 40 MB in about 100 KB
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        problem = only(problems_of(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "is compressed" in problem.expected and "to 1" in problem.expected
    assert "refused before reading it" in problem.expected
    assert peak < 20 << 20  # nothing was unpacked into memory


def test_workbook_over_the_size_limit(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tables, "_WORKBOOK_LIMIT", 4 << 20)
    path = workbook_bomb(tmp_path / "big.xlsx", 6 << 20)
    problem = only(problems_of(path))
    assert "unpacks to 6 MB (more than 4 MB)" in problem.expected


def test_workbook_whose_table_of_contents_lies(tmp_path, monkeypatch) -> None:
    """Declared sizes rewritten to 1 KB: the streamed count still finds the real size."""
    monkeypatch.setattr(tables, "_WORKBOOK_LIMIT", 2 << 20)
    path = tmp_path / "liar.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("xl/worksheets/sheet1.xml", _SHEET_HEAD + _SHEET_ROWS * 80)  # ~4 MB
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = struct.pack("<I", 1024)
    path.write_bytes(bytes(data))
    assert zipfile.ZipFile(path).infolist()[0].file_size == 1024
    problem = only(problems_of(path))
    assert "unpacks to more than 2 MB" in problem.expected


@pytest.mark.parametrize(
    "content", [b"this is not a workbook", b"PK\x03\x04 truncated", b"", b"\x00" * 100]
)
def test_a_file_that_is_not_a_workbook_is_refused_cleanly(tmp_path, content: bytes) -> None:
    problem = only(problems_of(write(tmp_path, "table.xlsx", content)))
    assert problem.expected.startswith("not a valid .xlsx workbook")


def test_a_real_workbook_still_loads(tmp_path) -> None:
    table = imgio.load_programs(FIXTURES / "canonical_small.csv")
    path = files.save_programs(table, tmp_path / "ok.xlsx")
    assert imgio.load_programs(path).equals(table)


# --------------------------------------------------------------------------- item 11: real exports


def test_identical_duplicate_rows_are_dropped_with_a_warning(tmp_path) -> None:
    lines = (FIXTURES / "freida_export.csv").read_text(encoding="utf-8").splitlines()
    text = "\n".join([*lines, lines[1], lines[2], lines[1]]) + "\n"
    path = write(tmp_path, "freida_im.csv", text)
    frame, info = imgio.inspect_programs(path)
    assert frame.height == len(lines) - 1
    assert info.dropped_duplicate_rows == 3
    (message,) = info.warnings
    assert "dropped 3 rows identical to earlier rows" in message
    assert f"row {len(lines) + 1} = row 2" in message
    with pytest.warns(DataWarning, match="dropped 3 rows"):
        imgio.load_programs(path)


def test_duplicates_that_disagree_remain_an_error_naming_both_rows(tmp_path) -> None:
    path = write(tmp_path, "t.csv", HEADER + "a,Alpha,IM,Boston\na,Alpha,IM,Bostn\n")
    problems = problems_of(path)
    assert {(p.row, p.expected) for p in problems} == {
        (2, "duplicate program id: also on row 3 (ids must be unique)"),
        (3, "duplicate program id: also on row 2 (ids must be unique)"),
    }


def test_utf8_file_with_one_cp1252_line(tmp_path) -> None:
    data = (
        HEADER.encode()
        + "a,Hospital San José,IM,Bogotá\n".encode()
        + "b,Clínica Norte,FM,Medellín\n".encode("cp1252")
        + "c,Hôpital,IM,Montréal\n".encode()
    )
    frame, info = imgio.inspect_programs(write(tmp_path, "mixed.csv", data))
    assert frame["city"].to_list() == ["Bogotá", "Medellín", "Montréal"]
    assert frame["program_name"].to_list() == ["Hospital San José", "Clínica Norte", "Hôpital"]
    assert info.encoding == "utf-8 (1 cp1252 line)"
    (message,) = info.warnings
    assert message.endswith(
        "mixed.csv: 1 line is not UTF-8 and was read as Windows-1252 (cp1252): line 3; check "
        "its accents, or save the file as UTF-8"
    )


def test_a_line_mixing_utf8_and_cp1252_stops_with_its_number(tmp_path) -> None:
    data = HEADER.encode() + "a,Bogotá,IM,".encode() + "Medellín\n".encode("cp1252")
    problem = only(problems_of(write(tmp_path, "worse.csv", data)))
    assert problem.line == 2
    assert "line 2 mixes UTF-8 and another encoding" in problem.expected


def test_a_plain_cp1252_file_reads_without_warning(tmp_path) -> None:
    data = (HEADER + "a,Clínica,IM,Bogotá\n").encode("cp1252")
    frame, info = imgio.inspect_programs(write(tmp_path, "win.csv", data))
    assert frame["city"].to_list() == ["Bogotá"]
    assert (info.encoding, info.warnings) == ("cp1252", ())


# --------------------------------------------------------------------------- items 3 and 12


def test_a_cell_larger_than_the_csv_field_limit(tmp_path) -> None:
    data = HEADER + "a,Alpha,IM,Boston,extra\nb," + "x" * 200_000 + ",IM,Boston\n"
    frame = imgio.load_programs(write(tmp_path, "huge.csv", data))
    assert frame["program_name"].str.len_chars().to_list() == [5, 200_000]


def test_an_unforeseen_exception_becomes_the_tables_error(tmp_path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(imgio, "_assign_roles", broken)
    problem = only(problems_of(write(tmp_path, "t.csv", HEADER + "a,Alpha,IM,Boston\n")))
    assert (
        problem.expected == "could not be read (RecursionError: maximum recursion depth exceeded)"
    )


def test_200000_bad_cells_are_counted_not_listed(tmp_path) -> None:
    rows = 200_000
    frame = pl.DataFrame(
        {
            "program_id": [f"p{i}" for i in range(rows)],
            "program_name": ["X"] * rows,
            "specialty": ["IM"] * rows,
            "pct_img_residents": ["abc"] * rows,
            "state": ["XX"] * rows,
        }
    )
    path = tmp_path / "bad.csv"
    frame.write_csv(path)
    with pytest.raises(DataValidationError) as info:
        imgio.load_programs(path)
    error = info.value
    assert error.count == 2 * rows
    assert len(error.problems) <= 2 * 50  # memory: at most 50 kept per kind
    printed = str(error).splitlines()
    assert printed[0] == f"400,000 problems in {path}:"
    assert "  - and 399,950 more like these:" in printed
    assert any(line.startswith("    199,975 x") and "column 'state'" in line for line in printed)
    assert len(printed) < 60
    first = [p.row for p in error.problems[:4]]
    assert first == [2, 2, 3, 3]  # the first rows of the file come first


# --------------------------------------------------------------------------- item 9: formulas

FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3",
            "\t=1+1", "'=already quoted", "''@x", "Mount Sinai", "it's fine", "'plain"]  # fmt: skip


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_formula_cells_are_escaped_and_read_back_unchanged(tmp_path, suffix: str) -> None:
    names = [f.strip() for f in FORMULAS]
    table = imgio.load_programs(
        pl.DataFrame(
            {
                "program_id": [f"p{i}" for i in range(len(names))],
                "program_name": names,
                "specialty": ["IM"] * len(names),
            }
        )
    )
    path = files.save_programs(table, tmp_path / f"out{suffix}")
    if suffix == ".csv":
        written = pl.read_csv(path, infer_schema=False)["program_name"].to_list()
    else:
        sheet = openpyxl.load_workbook(path).active
        cells = [row[1] for row in sheet.iter_rows(min_row=2)]
        assert all(cell.data_type == "s" for cell in cells)  # text, never a formula
        written = [cell.value for cell in cells]
    dangerous = [w for w in written if w[0] in "=+-@\t\r"]
    assert not dangerous, dangerous
    assert written[0] == "'" + names[0] and written[7] == "Mount Sinai"
    back = imgio.load_programs(path)
    assert back["program_name"].to_list() == names


def test_write_table_escapes_every_text_column(tmp_path) -> None:
    frame = pl.DataFrame({"name": ["=1+1", "ok"], "score": [-3.5, 2.0], "tags": [["@a"], []]})
    path = files.write_table(frame, tmp_path / "scores.csv")
    text = path.read_text(encoding="utf-8").splitlines()
    assert text[1].startswith("'=1+1,-3.5,")
    assert text[2].startswith("ok,2.0,")


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("=+-@'\tab ;,\"x1"), min_size=1, max_size=8)
        .map(str.strip)
        .filter(bool),
        min_size=1,
        max_size=6,
    )
)
def test_escape_round_trip_property(tmp_path, names: list[str]) -> None:
    table = imgio.load_programs(
        pl.DataFrame(
            {
                "program_id": [f"p{i}" for i in range(len(names))],
                "program_name": names,
                "specialty": ["IM"] * len(names),
            }
        )
    )
    for suffix in (".csv", ".xlsx"):
        path = files.save_programs(table, tmp_path / f"prop{suffix}")
        imgio.clear_cache()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            back = imgio.load_programs(path)
        assert back["program_name"].to_list() == table["program_name"].to_list()
        for name in names:
            assert files.spreadsheet_safe(name)[0] not in "=+-@\t\r"
