"""Fuzzing both loaders: whatever the input, a loaded table or profile, or DataValidationError.

The inputs are arbitrary bytes, arbitrary YAML and JSON documents (including the hostile
constructs: anchors, aliases, tags, merge keys, duplicate keys, deep nesting, huge numbers)
and arbitrary CSV cells under each header format. Every example must end in one of the two
allowed outcomes, and never through the loaders' last-resort net ("could not be read
(SomeError: ...)"), which would mean an input no check foresaw. Memory is bounded per
example (tracemalloc peak); a hang is caught by the test timeout (a guard, not a timing).

The examples are derandomized, so `make test` runs the same ones every time, in seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc
import uuid
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data import applicants, programs
from analysis.data.schemas import ApplicantProfile, program_columns
from analysis.errors import DataValidationError, DataWarning

pytestmark = pytest.mark.timeout(120)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PEAK_BYTES = 64 << 20
MATCH_YEAR = dt.date.today().year + 1


def outcome(call, path: Path, kinds: tuple[type, ...]):
    """Run a loader within a memory bound; only `kinds` or DataValidationError may come out."""
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            result = call(path)
    except DataValidationError as error:
        result = error
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{peak:,} bytes for a {path.stat().st_size:,}-byte input"
    if isinstance(result, DataValidationError):
        assert result.count >= 1
        unforeseen = [p for p in result.problems if p.expected.startswith("could not be read (")]
        assert not unforeseen, unforeseen
        str(result)  # printable
    else:
        assert isinstance(result, kinds), type(result)
    return result


def write(folder: Path, suffix: str, data: bytes | str) -> Path:
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return path


def load_table(path: Path):
    programs.clear_cache()
    return programs.load_programs(path)


# --------------------------------------------------------------------------- profiles

FIELDS = list(ApplicantProfile.model_fields)
VALID = {
    "applicant_id": "fz1",
    "name": "Fuzz",
    "visa_needed": "j1",
    "graduation_year": 2020,
    "step2_score": 244,
    "target_specialties": ["IM"],
    "match_year": MATCH_YEAR,
}

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**90, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["IM", "IR", "ir", "Interventional Radiology", "J-1", "H-1B", "none",
                     "2026-02-30", "2026-09-01", "yes", "~", "1e999", "0x1F"]),
)  # fmt: skip
KEYS = st.one_of(st.sampled_from([*FIELDS, "publications", "IR", "step1"]), st.text(max_size=12))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


@st.composite
def profile_mappings(draw) -> dict:
    """A profile: the valid one with fields replaced, dropped or added at random."""
    data = dict(VALID)
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        data.pop(key, None)
    data.update(draw(st.dictionaries(KEYS, JSON_VALUES, max_size=4)))
    return data


YAML_TOKENS = st.sampled_from(
    ["&a ", "*a", "&b [*a, *a]", "!!python/object/apply:os.system ['true']", "!!binary aGk=",
     "!!set {x}", "<<: {a: 1}", "? [k]\n: v", "[", "]", "{", "}", ": ", "- ", "\n", "\n  ",
     "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n", "\t", "9" * 120, "2026-02-30",
     "step2_score: 180\n", "us_letters: {IR: 1, ir: 2}\n", "\x00", "\ufeff", "|\n  x"]
)  # fmt: skip


@st.composite
def yaml_texts(draw) -> str:
    """Valid profile YAML, with hostile tokens spliced in anywhere."""
    text = "".join(
        f"{key}: {json.dumps(value)}\n" for key, value in draw(profile_mappings()).items()
    )
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(YAML_TOKENS | st.text(max_size=5)) + text[at:]
    return text


@st.composite
def json_texts(draw) -> str:
    """JSON profiles: dumped, then edited at the text level (duplicates, nesting, cuts)."""
    text = json.dumps(draw(profile_mappings()), indent=draw(st.sampled_from([None, 1])))
    edit = draw(st.sampled_from(["none", "duplicate", "nest", "cut", "splice"]))
    if edit == "duplicate":
        text = text[:-1] + ', "step2_score": 180}'
    elif edit == "nest":
        depth = draw(st.integers(1, 3000))
        text = text[:-1] + ', "notes": ' + "[" * depth + "]" * depth + "}"
    elif edit == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif edit == "splice":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(['"', "{", "[", ",", "NaN", "1" * 200])) + text[at:]
    return text


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@FUZZ
@given(data=st.binary(max_size=400))
def test_profile_from_arbitrary_bytes(tmp_path, suffix: str, data: bytes) -> None:
    outcome(applicants.load_applicant, write(tmp_path, suffix, data), (ApplicantProfile,))


@FUZZ
@given(text=yaml_texts())
def test_profile_from_arbitrary_yaml(tmp_path, text: str) -> None:
    outcome(applicants.load_applicant, write(tmp_path, ".yaml", text), (ApplicantProfile,))


@FUZZ
@given(text=json_texts())
def test_profile_from_arbitrary_json(tmp_path, text: str) -> None:
    outcome(applicants.load_applicant, write(tmp_path, ".json", text), (ApplicantProfile,))


@FUZZ
@given(value=JSON_VALUES)
def test_profile_from_any_json_value(tmp_path, value) -> None:
    text = json.dumps(value, allow_nan=True)
    outcome(applicants.load_applicant, write(tmp_path, ".json", text), (ApplicantProfile,))


# --------------------------------------------------------------------------- CSV cells

CELL = st.one_of(
    st.text(max_size=25),
    st.sampled_from(["", "?", "n/a", "J-1", "yes", "40%", "=1+1", "'=x", "@SUM(A1)", "-5",
                     "1,200", "9" * 400, "[" * 300, "['J-1 through ECFMG']", "[{'value': 1}]",
                     "2026-02-30", "46082", '"', "\r\n", ";", "\t", "IR/DR", "DR/ESIR"]),
)  # fmt: skip
CANONICAL = [spec.name for spec in program_columns()]
TRACKER = ["Program", "IR/DR", "Visa for residents", "IMGs present", "Visiting student policy",
           "Application route (VSLO/direct)", "Deadlines", "Fees", "State", "Notes"]  # fmt: skip
FREIDA = [
    "program_id", "program_name_suffix", "city", "state", "specialty_title",
    "first_year_positions", "pct_img", "visa_statuses_accepted", "data_last_updated",
]  # fmt: skip


def csv_text(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    def quote(cell: str) -> str:
        return '"' + cell.replace('"', '""') + '"'

    lines = [delimiter.join(header)] + [delimiter.join(quote(c) for c in row) for row in rows]
    return "\n".join(lines) + "\n"


@settings(FUZZ, max_examples=40)
@given(
    header=st.sampled_from([CANONICAL, TRACKER, FREIDA]),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=12), min_size=1, max_size=6),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_program_table_from_arbitrary_cells(tmp_path, header, rows, delimiter) -> None:
    text = csv_text(header, [row[: len(header) + 1] for row in rows], delimiter)
    outcome(load_table, write(tmp_path, ".csv", text), (programs.pl.DataFrame,))


@FUZZ
@given(data=st.binary(max_size=600))
def test_program_table_from_arbitrary_bytes(tmp_path, data: bytes) -> None:
    prefix = CANONICAL[0] + "," + CANONICAL[1] + "," + CANONICAL[2] + "\n"
    for body in (data, prefix.encode() + data):
        outcome(load_table, write(tmp_path, ".csv", body), (programs.pl.DataFrame,))


@settings(FUZZ, max_examples=25)
@given(data=st.binary(max_size=600))
def test_workbook_from_arbitrary_bytes(tmp_path, data: bytes) -> None:
    for body in (data, b"PK\x03\x04" + data):
        outcome(load_table, write(tmp_path, ".xlsx", body), (programs.pl.DataFrame,))


@FUZZ
@given(rows=st.lists(st.lists(CELL, min_size=8, max_size=8), min_size=1, max_size=4))
def test_applicants_csv_from_arbitrary_cells(tmp_path, rows) -> None:
    header = ["applicant_id", "name", "visa_needed", "graduation_year", "step2_score",
              "target_specialties", "match_year", "us_letters"]  # fmt: skip
    path = write(tmp_path, ".csv", csv_text(header, rows, ","))

    def every(source: Path) -> list:
        return [result for _, result in applicants.iter_applicants(source)]

    for result in outcome(every, path, (list,)):
        assert isinstance(result, ApplicantProfile | DataValidationError)
        if isinstance(result, DataValidationError):
            assert not [p for p in result.problems if p.expected.startswith("could not be read")]
