"""The header formats of program tables: canonical, an applicant's tracker, a FREIDA export.

Headers are compared without case, spacing or punctuation (`header_key`: "Application route
(VSLO/direct)" and "application_route_vslo_direct" are one header). `detect_format` tells
the three formats apart from the header row; the indexes map each accepted header to the
role it plays (a canonical column, or a combined tracker/FREIDA cell such as "IR/DR" or a
visa list). `tracker_header_aliases()` lists every tracker header accepted, for
documentation and error messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from analysis.data import normalize as nz
from analysis.data.schemas import REQUIRED_PROGRAM_COLUMNS, program_columns

Format = Literal["canonical", "tracker", "freida"]


def header_key(text: Any) -> str:
    """'Application route (VSLO/direct)' -> 'applicationroutevslodirect'; '% IMG' -> 'pctimg'."""
    raw = "" if text is None else str(text)
    raw = raw.replace("%", " pct ").replace("#", " number ")
    return nz._compact(raw)


_TRACKER_ALIASES: dict[str, tuple[str, ...]] = {
    "program_name": ("Program", "Program name", "Programme", "Institution", "Hospital",
                     "Name", "Program (name)"),
    "specialty_track": ("IR/DR", "DR/IR", "Specialty", "Speciality", "Specialty/Track",
                        "Specialty track", "Specialty and track", "Field"),
    "track": ("Track",),
    "visa": ("Visa for residents", "Visa", "Visas", "Visa sponsorship", "Visa sponsored",
             "Visas sponsored", "Visa support", "Visa status", "Visas accepted",
             "Visa policy", "Resident visa", "Visa (residents)", "Visa for residency"),
    "imgs_present": ("IMGs present", "IMG present", "IMGs", "IMG residents",
                     "IMGs in program", "IMGs in DR/IR", "IMGs in IR/DR",
                     "History of IMGs", "Current IMGs", "IMG residents present"),
    "pct_img_residents": ("% IMG", "% IMGs", "IMG %", "Percent IMG", "Percent IMGs",
                          "IMG share", "Pct IMG", "% IMG residents"),
    "pct_non_us_img_residents": ("% non-US IMG", "% non-US IMGs", "Non-US IMG %"),
    "ir_structure": ("IR structure", "IR pathway", "IR program structure"),
    "visiting_policy": ("Visiting student policy", "Visiting students", "Visiting policy",
                        "Visiting student", "IMG visiting students", "Away rotation policy",
                        "Visiting students policy", "Accepts IMG visiting students"),
    "visiting_route": ("Application route (VSLO/direct)", "Application route", "Route",
                       "How to apply", "VSLO/direct", "VSLO or direct",
                       "Application method"),
    "application_deadline": ("Deadlines", "Deadline", "Application deadline",
                             "Visiting deadline", "Rotation deadline"),
    "visiting_fee_usd": ("Fees", "Fee", "Application fee", "Visiting fee", "Fees (USD)",
                         "Fee (USD)", "Fees ($)", "Fee ($)", "Cost", "Rotation fee"),
    "city": ("City", "Location city"),
    "state": ("State", "Location state", "ST"),
    "program_type": ("Program type", "Type", "Setting", "Program best described as"),
    "notes": ("Notes", "Note", "Comments", "Comment", "Remarks"),
    "pgy1_positions": ("Positions", "PGY-1 positions", "PGY1 positions",
                       "First-year positions", "Spots", "# positions", "Number of positions"),
    "interviews_last_year": ("Interviews", "Interviews last year", "Interviews conducted"),
    "min_step2_score": ("Step 2 CK minimum", "Step 2 minimum", "Step 2 CK min",
                        "Min Step 2", "Min Step 2 CK", "Minimum Step 2 CK", "Step 2 CK cutoff",
                        "Step 2 cutoff", "Step 2 CK cut-off"),
    "yog_cutoff_years": ("YOG cutoff", "YOG cutoff (years)", "Graduation cutoff",
                         "Years since graduation", "YOG", "Year of graduation cutoff"),
    "usce_required_months": ("USCE required", "USCE required (months)", "USCE months",
                             "USCE"),
    "max_attempts": ("Max attempts", "Attempts allowed", "USMLE attempts", "Max USMLE attempts"),
    "esir_available": ("ESIR", "ESIR available"),
    "accepts_graduates_for_rotations": ("Graduates accepted", "Accepts graduates",
                                        "Externship for graduates", "Externships for graduates",
                                        "Graduate externship", "Graduate externships",
                                        "Rotations for graduates",
                                        "Hands-on rotations for graduates"),
    "signal": ("Signal", "Signals", "Program signal", "Signaled", "Signal sent"),
    "pct_us_md_residents": ("% US MD", "% USMD", "US MD %", "Percent US MD"),
    "pct_do_residents": ("% DO", "DO %", "Percent DO"),
    "source": ("Source",),
    "last_verified": ("Last verified", "Verified", "Date verified", "Date checked",
                      "Last checked"),
    "program_id": ("Program ID", "ID"),
}  # fmt: skip
"""Tracker roles and the headers accepted for each (compared without case or punctuation)."""


def tracker_header_aliases() -> dict[str, tuple[str, ...]]:
    """The tracker headers accepted for each role (for documentation and error messages)."""
    return dict(_TRACKER_ALIASES)


def _build_header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for role, aliases in _TRACKER_ALIASES.items():
        for alias in aliases:
            index.setdefault(header_key(alias), role)
    for spec in program_columns():
        index.setdefault(header_key(spec.name), spec.name)
    index[header_key("sponsors_j1")] = "sponsors_j1"
    index[header_key("sponsors_h1b")] = "sponsors_h1b"
    return index


TRACKER_INDEX = _build_header_index()
CANONICAL_INDEX = {header_key(spec.name): spec.name for spec in program_columns()}
_FREIDA_COLUMNS = {
    "program_id": "program_id",
    "program_name_suffix": "program_name",
    "city": "city",
    "state": "state",
    "specialty_title": "specialty_track",
    "first_year_positions": "pgy1_positions",
    "interviews_conducted_last_year": "interviews_last_year",
    "pct_img": "pct_img_residents",
    "pct_usmd": "pct_us_md_residents",
    "pct_do": "pct_do_residents",
    "program_best_described_as": "program_type",
    "visa_statuses_accepted": "visa_list",
    "data_last_updated": "last_verified",
}
FREIDA_INDEX = {header_key(name): role for name, role in _FREIDA_COLUMNS.items()}
FREIDA_REQUIRED = ("program_id", "program_name_suffix", "specialty_title")

FORMAT_HELP = (
    "the header row matches no known program-table format. A canonical table needs the "
    "columns program_id, program_name and specialty (see `analysis.program_columns()`); an "
    "applicant's tracker needs a 'Program' column and a specialty column ('IR/DR', "
    "'Specialty' or 'Track'), plus any of 'Visa for residents', 'IMGs present', 'Visiting "
    "student policy', 'Application route (VSLO/direct)', 'Deadlines', 'Fees'; a FREIDA "
    "export needs program_id, program_name_suffix and specialty_title"
)


def detect_format(headers: Sequence[Any]) -> Format | None:
    """'freida', 'canonical', 'tracker', or None when the headers match no format."""
    keys = {header_key(h) for h in headers if h is not None and str(h).strip()}
    if header_key("specialty_title") in keys and (
        header_key("program_name_suffix") in keys or header_key("visa_statuses_accepted") in keys
    ):
        return "freida"
    roles = {TRACKER_INDEX[k] for k in keys if k in TRACKER_INDEX}
    tracker_only = {k for k in keys if k in TRACKER_INDEX and k not in CANONICAL_INDEX}
    required = {header_key(name) for name in REQUIRED_PROGRAM_COLUMNS}
    has_name = "program_name" in roles
    has_specialty = bool(roles & {"specialty", "specialty_track", "track"})
    if required <= keys and not tracker_only:
        return "canonical"
    if tracker_only and has_name:
        return "tracker"
    if header_key("program_id") in keys and keys & required - {header_key("program_id")}:
        return "canonical"  # a canonical table missing a required column: reported as such
    if has_name and has_specialty:
        return "tracker"
    return None
