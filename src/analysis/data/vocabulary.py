"""The controlled vocabularies: specialties, US states, tracks, program types, visa needs.

The allowed values of the program table's coded columns and of the applicant profile
(`analysis.data.schemas` builds the contracts from them; `analysis.data.normalize` maps free
text onto them). Specialties come from `data/reference/specialties.csv`, with the names and
aliases each is known by.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from typing import Literal

from analysis.config import reference_dir

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands",
}  # fmt: skip
"""USPS codes of the states and territories that have ACGME residency programs."""

US_STATE_FIPS: dict[str, str] = {
    "AL": "01", "AK": "02", "AZ": "04", "AR": "05", "CA": "06", "CO": "08", "CT": "09",
    "DE": "10", "DC": "11", "FL": "12", "GA": "13", "HI": "15", "ID": "16", "IL": "17",
    "IN": "18", "IA": "19", "KS": "20", "KY": "21", "LA": "22", "ME": "23", "MD": "24",
    "MA": "25", "MI": "26", "MN": "27", "MS": "28", "MO": "29", "MT": "30", "NE": "31",
    "NV": "32", "NH": "33", "NJ": "34", "NM": "35", "NY": "36", "NC": "37", "ND": "38",
    "OH": "39", "OK": "40", "OR": "41", "PA": "42", "RI": "44", "SC": "45", "SD": "46",
    "TN": "47", "TX": "48", "UT": "49", "VT": "50", "VA": "51", "WA": "53", "WV": "54",
    "WI": "55", "WY": "56", "PR": "72", "GU": "66", "VI": "78",
}  # fmt: skip
"""Census FIPS codes, to join programs to the US map's state shapes."""

TRACKS = ("categorical", "preliminary", "transitional", "advanced", "integrated", "independent")
PROGRAM_TYPES = ("university", "community_university_affiliated", "community", "military", "other")
VISA_NEEDS = ("none", "j1", "h1b", "either")
VISITING_ROUTES = ("vslo", "direct", "none", "unknown")
SIGNAL_TIERS = ("gold", "silver", "single")
"""Program signal tiers: gold and silver where a specialty has two tiers, else single."""

VisaNeed = Literal["none", "j1", "h1b", "either"]


@dataclass(frozen=True)
class Specialty:
    """A residency specialty: its code, display name, the labels it is known by."""

    code: str
    name: str
    aliases: tuple[str, ...]
    default_track: str
    interview_ref: str | None
    step2_ref: str | None


@functools.cache
def specialties() -> dict[str, Specialty]:
    """All specialty codes, from `data/reference/specialties.csv` (code -> Specialty)."""
    path = reference_dir() / "specialties.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        row["code"]: Specialty(
            code=row["code"],
            name=row["name"],
            aliases=tuple(a.strip() for a in row["aliases"].split(";") if a.strip()),
            default_track=row["default_track"],
            interview_ref=row["interview_ref"] or None,
            step2_ref=row["step2_ref"] or None,
        )
        for row in rows
    }


def specialty_codes() -> tuple[str, ...]:
    """The allowed values of `specialty`."""
    return tuple(specialties())


def specialty_name(code: str) -> str:
    """'IR' -> 'Interventional Radiology' (the code itself if unknown)."""
    spec = specialties().get(code)
    return spec.name if spec else code
