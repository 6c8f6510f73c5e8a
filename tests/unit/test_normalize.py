"""Free-text normalizers: the documented vocabulary, the error contract, and properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.data import normalize as nz
from analysis.data.vocabulary import PROGRAM_TYPES, TRACKS, US_STATES, specialties
from analysis.errors import NormalizationError

# --------------------------------------------------------------------------- visas


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("J-1", (True, False)),
        ("j1", (True, False)),
        ("J1 only", (True, False)),
        ("Yes - J-1 & H-1B", (True, True)),
        ("J-1 and H1B", (True, True)),
        ("J1/H1B", (True, True)),
        ("H-1B only", (False, True)),
        ("none", (False, False)),
        ("No", (False, False)),
        ("No visa sponsorship", (False, False)),
        ("US citizens and green card holders only", (False, False)),
        ("J-1 through ECFMG", (True, False)),
        ("F-1", (False, False)),
        ("", (None, None)),
        ("unknown", (None, None)),
        ("?", (None, None)),
        ("TBD", (None, None)),
        ("n/a", (None, None)),
        ("Yes", (True, None)),
        ("sponsors visas", (True, None)),
        ("Both", (True, True)),
        ("J-1, H-1B case by case", (True, None)),
        ("J-1 and H-1B case by case", (None, None)),
        ("J-1 & H-1B (case by case)", (None, None)),
        ("J-1 (possibly H-1B)", (True, None)),
        ("J-1 only, no H-1B", (True, False)),
        ("J-1 yes, H-1B no", (True, False)),
        ("no H-1B", (None, False)),
        ("H-1B?", (None, None)),
        ("  j 1  visa ", (True, False)),
    ],
)
def test_normalize_visa(text: str, expected: tuple[bool | None, bool | None]) -> None:
    assert nz.normalize_visa(text) == expected


@pytest.mark.parametrize("text", ["J-1, no J-1", "blah", "yes and no", "O-1"])
def test_normalize_visa_rejects_what_it_cannot_read(text: str) -> None:
    with pytest.raises(NormalizationError) as info:
        nz.normalize_visa(text)
    assert info.value.value == text
    assert "J-1" in info.value.expected  # the message shows what is allowed


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], (None, None)),  # an empty FREIDA list means unknown, never "no"
        (["J-1 through ECFMG", "H-1B"], (True, True)),
        (["J-1 through ECFMG", "F-1"], (True, False)),
        (["F-1"], (False, False)),
        (["H-1B"], (False, True)),
        (["J-1", "unknown"], (True, None)),
    ],
)
def test_normalize_visa_list(items: list[str], expected: tuple[bool | None, bool | None]) -> None:
    assert nz.normalize_visa_list(items) == expected


# --------------------------------------------------------------------------- booleans and codes


@pytest.mark.parametrize("text", ["Y", "yes", "TRUE", "1", "1.0", "x", "X", "✓", "✔"])
def test_normalize_bool_true(text: str) -> None:
    assert nz.normalize_bool(text) is True


@pytest.mark.parametrize("text", ["N", "no", "False", "0", "none"])
def test_normalize_bool_false(text: str) -> None:
    assert nz.normalize_bool(text) is False


@pytest.mark.parametrize("text", ["", "  ", "unknown", "?", "n/a", "N/A", "tbd", None])
def test_normalize_bool_unknown(text: str | None) -> None:
    assert nz.normalize_bool(text) is None


@pytest.mark.parametrize("text", ["maybe", "2", "yes please"])
def test_normalize_bool_rejects(text: str) -> None:
    with pytest.raises(NormalizationError):
        nz.normalize_bool(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("University-based", "university"),
        ("Community-based university affiliated", "community_university_affiliated"),
        ("Community-based", "community"),
        ("Military-based", "military"),
        ("Other", "other"),
        ("academic", "university"),
        ("University affiliated community", "community_university_affiliated"),
        ("community_university_affiliated", "community_university_affiliated"),
        ("", None),
    ],
)
def test_normalize_program_type(text: str, expected: str | None) -> None:
    assert nz.normalize_program_type(text) == expected


def test_program_type_codes_map_to_themselves() -> None:
    assert all(nz.normalize_program_type(code) == code for code in PROGRAM_TYPES)


def test_tracks_map_to_themselves() -> None:
    assert all(nz.normalize_track(track) == track for track in TRACKS)
    assert nz.normalize_track("Prelim") == "preliminary"
    assert nz.normalize_track("") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("NY", "NY"), ("ny", "NY"), ("N.Y.", "NY"), ("New York", "NY"), ("Puerto Rico", "PR")],
)
def test_normalize_state(text: str, expected: str) -> None:
    assert nz.normalize_state(text) == expected


def test_every_state_code_and_name_is_known() -> None:
    for code, name in US_STATES.items():
        assert nz.normalize_state(code) == code
        assert nz.normalize_state(name) == code


def test_unknown_state_is_an_error() -> None:
    with pytest.raises(NormalizationError, match="USPS"):
        nz.normalize_state("XX")


# --------------------------------------------------------------------------- specialties


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Internal Medicine", "IM"),
        ("internal medicine", "IM"),
        ("Radiology-Diagnostic", "DR"),
        ("Interventional Radiology (Integrated)", "IR"),
        ("PM&R", "PMR"),
        ("Physical Medicine & Rehabilitation", "PMR"),
        ("Obstetrics & Gynecology", "OBGYN"),
        ("Medicine-Preliminary", "IM-PRELIM"),
    ],
)
def test_normalize_specialty(text: str, expected: str) -> None:
    assert nz.normalize_specialty(text) == expected


def test_every_code_name_and_alias_maps_to_its_code() -> None:
    for code, spec in specialties().items():
        for label in (code, spec.name, *spec.aliases):
            assert nz.normalize_specialty(label) == code, label


def test_unknown_specialty_suggests_close_names() -> None:
    with pytest.raises(NormalizationError) as info:
        nz.normalize_specialty("Internal Medicin")
    assert "did you mean 'Internal Medicine'" in info.value.expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IR", ("IR", "integrated", None)),
        ("IR/DR", ("IR", "integrated", None)),
        ("DR", ("DR", "advanced", None)),
        ("DR/ESIR", ("DR", "advanced", True)),
        ("DR with ESIR", ("DR", "advanced", True)),
        ("DR w/ ESIR", ("DR", "advanced", True)),
        ("DR without ESIR", ("DR", "advanced", False)),
        ("Interventional Radiology - Independent", ("IR", "independent", None)),
        ("Independent IR", ("IR", "independent", None)),
        ("Medicine-Preliminary", ("IM-PRELIM", "preliminary", None)),
        ("Internal Medicine - Prelim", ("IM-PRELIM", "preliminary", None)),
        ("Surgery (Categorical)", ("GS", "categorical", None)),
        ("Anesthesiology - Advanced", ("ANES", "advanced", None)),
    ],
)
def test_normalize_specialty_track(text: str, expected: tuple[str, str, bool | None]) -> None:
    assert nz.normalize_specialty_track(text) == expected


def test_esir_outside_radiology_is_an_error() -> None:
    with pytest.raises(NormalizationError, match="ESIR"):
        nz.normalize_specialty_track("IM with ESIR")


# --------------------------------------------------------------------------- visiting students


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VSLO", "vslo"),
        ("VSAS", "vslo"),
        ("direct", "direct"),
        ("Direct application", "direct"),
        ("email coordinator", "direct"),
        ("VSLO or direct", "direct"),
        ("not on VSLO; email coordinator", "direct"),
        ("none", "none"),
        ("not offered", "none"),
        ("", "unknown"),
        ("?", "unknown"),
    ],
)
def test_normalize_visiting_route(text: str, expected: str) -> None:
    assert nz.normalize_visiting_route(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Accepts IMGs", True),
        ("International students welcome", True),
        ("Non-US students welcome", True),
        ("yes", True),
        ("US students only", False),
        ("No IMGs", False),
        ("LCME schools only", False),
        ("Does not accept international students", False),
        ("no", False),
        ("VSLO only", None),  # how to apply, not whether IMGs may: unknown
        ("case by case", None),
        ("", None),
    ],
)
def test_normalize_visiting_policy(text: str, expected: bool | None) -> None:
    assert nz.normalize_visiting_policy(text) is expected


def test_visiting_policy_rejects_prose() -> None:
    with pytest.raises(NormalizationError, match="could not read"):
        nz.normalize_visiting_policy("ask the coordinator's cat")


# --------------------------------------------------------------------------- dates and numbers


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01",
        "2026-03-01T09:30:00Z",
        "2026-03-01 00:00:00",
        "3/1/2026",
        "03/01/26",
        "March 1, 2026",
        "Mar 1 2026",
        "Mar. 1, 2026",
        "1 Mar 2026",
        "1st March 2026",
        "Sunday, March 1, 2026",
    ],
)
def test_parse_date(text: str) -> None:
    assert nz.parse_date(text) == dt.date(2026, 3, 1)


def test_parse_date_excel_serial_only_from_workbooks() -> None:
    assert nz.parse_date("46082", excel_serial=True) == dt.date(2026, 3, 1)
    with pytest.raises(NormalizationError):
        nz.parse_date("46082")


@pytest.mark.parametrize("text", ["", "rolling", "none", "TBD"])
def test_parse_date_no_fixed_date(text: str) -> None:
    assert nz.parse_date(text) is None


@pytest.mark.parametrize("text", ["13/1/2026", "March 2026", "soon", "2026-02-30", "1/1/1850"])
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(NormalizationError, match="month/day/year"):
        nz.parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$1,200", 1200.0),
        ("USD 150", 150.0),
        ("US$150", 150.0),
        ("150 USD", 150.0),
        ("150", 150.0),
        ("$99.50", 99.5),
        ("free", 0.0),
        ("none", 0.0),
        ("waived", 0.0),
        ("", None),
    ],
)
def test_parse_money(text: str, expected: float | None) -> None:
    assert nz.parse_money(text) == expected


@pytest.mark.parametrize("text", ["€100", "$100-200", "a lot"])
def test_parse_money_rejects(text: str) -> None:
    with pytest.raises(NormalizationError, match="US dollars"):
        nz.parse_money(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("40%", 40.0), ("40", 40.0), ("40.5", 40.5), ("40 %", 40.0), ("0.4", 0.4), ("", None)],
)
def test_parse_percent(text: str, expected: float | None) -> None:
    assert nz.parse_percent(text) == expected


def test_parse_share_accepts_fractions_and_percents() -> None:
    assert nz.parse_share("0.35") == pytest.approx(0.35)
    assert nz.parse_share("35%") == pytest.approx(0.35)


@pytest.mark.parametrize(("text", "expected"), [("12", 12), ("12.0", 12), ("1,200", 1200)])
def test_parse_int(text: str, expected: int) -> None:
    assert nz.parse_int(text) == expected


@pytest.mark.parametrize("text", ["twelve", "12.5", "inf", "1e400", "12 programs"])
def test_parse_int_rejects(text: str) -> None:
    with pytest.raises(NormalizationError, match="whole number"):
        nz.parse_int(text)


def test_none_means_depends_on_the_column() -> None:
    assert nz.parse_int("no minimum", none_means="unknown") is None
    assert nz.parse_float("none", none_means="zero") == 0.0
    with pytest.raises(NormalizationError):
        nz.parse_int("none")


def test_parse_float() -> None:
    assert nz.parse_float("12.5") == 12.5
    with pytest.raises(NormalizationError):
        nz.parse_float("twelve")


# --------------------------------------------------------------------------- list cells


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("['J-1 through ECFMG', 'H-1B']", ["J-1 through ECFMG", "H-1B"]),
        ('["J-1 through ECFMG", "H-1B"]', ["J-1 through ECFMG", "H-1B"]),
        ("[{'value': 'H-1B'}]", ["H-1B"]),
        ('[{"value": "J-1 through ECFMG"}, {"value": "F-1"}]', ["J-1 through ECFMG", "F-1"]),
        ("J-1; H-1B", ["J-1", "H-1B"]),
        ("J-1, H-1B", ["J-1", "H-1B"]),
        ("[]", []),
        ("", []),
        ("['']", []),
    ],
)
def test_parse_list_cell(text: str, expected: list[str]) -> None:
    assert nz.parse_list_cell(text) == expected


def test_parse_list_cell_never_evaluates_code(tmp_path) -> None:
    marker = tmp_path / "evaluated"
    text = f"[__import__('pathlib').Path({str(marker)!r}).touch()]"
    with pytest.raises(NormalizationError):
        nz.parse_list_cell(text)
    assert not marker.exists()


@pytest.mark.parametrize("text", ["[1, 2]", "[unclosed", "{'other': 1}", "[[[[[[" * 200])
def test_parse_list_cell_rejects(text: str) -> None:
    with pytest.raises(NormalizationError):
        nz.parse_list_cell(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("gold", "gold"), ("Gold signal", "gold"), ("SILVER", "silver"), ("yes", "single"),
     ("x", "single"), ("✓", "single"), ("single", "single"), ("signaled", "single"),
     ("", None), ("no", None), ("none", None), ("?", None)],
)  # fmt: skip
def test_normalize_signal(text: str, expected: str | None) -> None:
    assert nz.normalize_signal(text) == expected


@pytest.mark.parametrize("text", ["gold silver", "maybe", "2"])
def test_normalize_signal_rejects(text: str) -> None:
    with pytest.raises(NormalizationError, match="program signal"):
        nz.normalize_signal(text)


# --------------------------------------------------------------------------- properties

NORMALIZERS = [
    nz.normalize_visa,
    nz.normalize_bool,
    nz.normalize_program_type,
    nz.normalize_track,
    nz.normalize_state,
    nz.normalize_specialty,
    nz.normalize_specialty_track,
    nz.normalize_visiting_route,
    nz.normalize_visiting_policy,
    nz.normalize_signal,
    nz.parse_date,
    lambda text: nz.parse_date(text, excel_serial=True),
    nz.parse_money,
    nz.parse_percent,
    nz.parse_share,
    nz.parse_int,
    nz.parse_float,
    nz.parse_list_cell,
    lambda text: nz.normalize_visa_list([text]),
    nz.normalize_visa_need,
]

# Text that looks like the cells normalizers see, plus arbitrary Unicode.
VOCABULARY = st.sampled_from(
    ["J-1", "H1B", "yes", "no", "none", "?", "n/a", "case by case", "VSLO", "direct", "IMGs",
     "only", "not", "US", "$", "%", "1", "2026", "/", "-", ",", ";", "(", ")", "[", "]", "'",
     '"', "{", "}", ":", "value", "ESIR", "DR", "IR", "Medicine", "Preliminary", "1e5", "."]
)  # fmt: skip
CELL_TEXT = st.one_of(
    st.text(),
    st.lists(VOCABULARY, max_size=8).map(" ".join),
    st.lists(VOCABULARY, max_size=8).map("".join),
)


@pytest.mark.parametrize("normalizer", NORMALIZERS)
@settings(max_examples=150, deadline=None)
@given(text=CELL_TEXT)
def test_normalizers_return_or_raise_normalization_error_only(normalizer, text: str) -> None:
    try:
        normalizer(text)
    except NormalizationError as error:
        assert error.expected  # every refusal says what is allowed


@settings(max_examples=200, deadline=None)
@given(text=CELL_TEXT)
def test_matching_ignores_case_and_surrounding_space(text: str) -> None:
    def outcome(value: str):
        try:
            return nz.normalize_visa(value)
        except NormalizationError:
            return "error"

    assert outcome(text.strip()) == outcome(f"  {text.strip().upper()}  ") or (
        text.strip().upper().casefold() != text.strip().casefold()  # e.g. 'ß' -> 'SS'
    )


@settings(max_examples=100, deadline=None)
@given(value=st.integers(min_value=0, max_value=10**9))
def test_parse_int_reads_what_str_writes(value: int) -> None:
    assert nz.parse_int(str(value)) == value
    assert nz.parse_int(f"{value:,}") == value


@settings(max_examples=100, deadline=None)
@given(day=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_parse_date_reads_iso_and_us_forms(day: dt.date) -> None:
    assert nz.parse_date(day.isoformat()) == day
    assert nz.parse_date(f"{day.month}/{day.day}/{day.year}") == day
    assert nz.parse_date(day.strftime("%B %d, %Y")) == day
