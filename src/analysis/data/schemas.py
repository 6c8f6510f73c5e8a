"""Data contracts: the program table and the applicant profile.

Validated once, at the load boundary (`analysis.data.programs`, `analysis.data.applicants`);
nothing downstream re-checks. The allowed values come from `analysis.data.vocabulary`.

Program table: one row per program track, canonical snake_case columns with units in their
names (`PROGRAM_COLUMNS` below is the single source of truth: dtype, range, allowed values,
meaning). Tri-state facts (`sponsors_j1`, `sponsors_h1b`, ...) are nullable booleans where
null means *unknown*, never "no": an empty visa cell lowers confidence, it does not close a
program. Inside the package tables are polars frames.

Applicant profile: `ApplicantProfile` (pydantic), one per applicant, from YAML, JSON or a
CSV row. Unknown keys are errors (a typo must not be silently ignored).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from analysis.data.normalize import normalize_specialty, normalize_visa_need
from analysis.data.vocabulary import (
    PROGRAM_TYPES,
    SIGNAL_TIERS,
    TRACKS,
    US_STATES,
    VISITING_ROUTES,
    VisaNeed,
    specialty_codes,
)

# --------------------------------------------------------------------------- program table


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical program-table column: type, allowed values, meaning."""

    name: str
    dtype: str  # "str", "int", "float", "bool", "date"
    description: str
    required: bool = False
    nullable: bool = True
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] | None = None
    unique: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def expected(self) -> str:
        """What a valid value looks like, in words (used in error messages)."""
        if self.allowed is not None:
            shown = (
                ", ".join(self.allowed)
                if len(self.allowed) <= 12
                else (", ".join(self.allowed[:12]) + f", ... ({len(self.allowed)} codes)")
            )
            return f"one of {shown}"
        kind = {
            "str": "text",
            "int": "a whole number",
            "float": "a number",
            "bool": "yes/no (empty = unknown)",
            "date": "a date (YYYY-MM-DD)",
        }[self.dtype]
        if self.minimum is not None and self.maximum is not None:
            return f"{kind} from {_fmt(self.minimum)} to {_fmt(self.maximum)}"
        if self.minimum is not None:
            return f"{kind} of at least {_fmt(self.minimum)}"
        return kind


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _program_columns() -> tuple[ColumnSpec, ...]:
    codes = specialty_codes()
    states = tuple(US_STATES)
    return (
        ColumnSpec("program_id", "str", "unique id (ACGME id for FREIDA data)", required=True,
                   nullable=False, unique=True),
        ColumnSpec("program_name", "str", "program name", required=True, nullable=False),
        ColumnSpec("specialty", "str", "specialty code", required=True, nullable=False,
                   allowed=codes),
        ColumnSpec("track", "str", "track; empty = the specialty's usual track", allowed=TRACKS),
        ColumnSpec("esir_available", "bool", "DR only: Early Specialization in IR offered"),
        ColumnSpec("city", "str", "city"),
        ColumnSpec("state", "str", "USPS state code", allowed=states),
        ColumnSpec("program_type", "str", "FREIDA 'program best described as'",
                   allowed=PROGRAM_TYPES),
        ColumnSpec("pgy1_positions", "int", "first-year positions", minimum=0, maximum=500),
        ColumnSpec("interviews_last_year", "int", "interviews conducted last year", minimum=0,
                   maximum=10_000),
        ColumnSpec("pct_img_residents", "float", "percent of current residents who are IMGs",
                   minimum=0, maximum=100),
        ColumnSpec("pct_non_us_img_residents", "float",
                   "percent of current residents who are non-US-citizen IMGs", minimum=0,
                   maximum=100),
        ColumnSpec("pct_us_md_residents", "float",
                   "percent of current residents who are US MD graduates (FREIDA pct_usmd)",
                   minimum=0, maximum=100),
        ColumnSpec("pct_do_residents", "float",
                   "percent of current residents who are DO graduates (FREIDA pct_do)",
                   minimum=0, maximum=100),
        ColumnSpec("img_residents_present", "bool",
                   "any IMG among current residents (filled from pct_img_residents if known)"),
        ColumnSpec("sponsors_j1", "bool", "accepts J-1 (ECFMG) residents; empty = unknown"),
        ColumnSpec("sponsors_h1b", "bool", "sponsors H-1B residents; empty = unknown"),
        ColumnSpec("min_step2_score", "int", "minimum USMLE Step 2 CK for interview",
                   minimum=180, maximum=300),
        ColumnSpec("yog_cutoff_years", "int", "most years since graduation accepted", minimum=0,
                   maximum=50),
        ColumnSpec("usce_required_months", "float", "US clinical experience required, months",
                   minimum=0, maximum=36),
        ColumnSpec("max_attempts", "int", "most USMLE attempts accepted per Step", minimum=1,
                   maximum=6),
        ColumnSpec("accepts_img_visiting_students", "bool",
                   "takes IMG visiting students (away rotations)"),
        ColumnSpec("accepts_graduates_for_rotations", "bool",
                   "offers hands-on rotations or externships to graduates (not enrolled "
                   "students); empty = unknown"),
        ColumnSpec("visiting_route", "str", "how visiting students apply", nullable=False,
                   allowed=VISITING_ROUTES),
        ColumnSpec("visiting_fee_usd", "float", "visiting-student application fee, USD",
                   minimum=0, maximum=10_000),
        ColumnSpec("application_deadline", "date", "visiting-student application deadline"),
        ColumnSpec("non_us_img_interview_rate", "float",
                   "observed share of non-US IMG applicants interviewed (0-1)", minimum=0,
                   maximum=1),
        ColumnSpec("us_img_interview_rate", "float",
                   "observed share of US IMG applicants interviewed (0-1)", minimum=0,
                   maximum=1),
        ColumnSpec("signal", "str", "the applicant's own program signal: gold, silver or "
                   "single (one tier); empty = none", allowed=SIGNAL_TIERS),
        ColumnSpec("source", "str", "where the row's facts come from"),
        ColumnSpec("last_verified", "date", "when the facts were last checked"),
        ColumnSpec("notes", "str", "free text"),
    )  # fmt: skip


@functools.cache
def program_columns() -> tuple[ColumnSpec, ...]:
    """The canonical program-table columns, in order."""
    return _program_columns()


def program_column(name: str) -> ColumnSpec:
    """The spec of one canonical column."""
    for spec in program_columns():
        if spec.name == name:
            return spec
    raise KeyError(name)


REQUIRED_PROGRAM_COLUMNS = ("program_id", "program_name", "specialty")
STALE_AFTER_DAYS = 365
"""A fact verified more than this long ago is shown as stale wherever it is used."""


def polars_schema() -> dict[str, Any]:
    """Column name -> polars dtype of the canonical program table."""
    import polars as pl

    kinds = {"str": pl.String, "int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean,
             "date": pl.Date}  # fmt: skip
    return {spec.name: kinds[spec.dtype] for spec in program_columns()}


def is_canonical(programs: Any) -> bool:
    """True for a polars frame with exactly the canonical columns and dtypes, in order.

    Such a frame came from the loader (`analysis.data.programs.load_programs`), which
    validated it: the model and the planners trust it and check nothing else.
    """
    import polars as pl

    return isinstance(programs, pl.DataFrame) and list(programs.schema.items()) == list(
        polars_schema().items()
    )


def canonical_programs(programs: Any) -> Any:  # -> polars.DataFrame
    """`programs` itself, if it is a canonical program table; else a `TypeError` that says how.

    Validation happens once, at the boundary (the command line, the notebooks, the report
    template load the table with `analysis.load_programs`): the functions of the model and
    the planners take the loaded table and never load or re-check one themselves.

    Raises:
        TypeError: a path, a pandas frame, or a frame whose columns or dtypes are not the
            canonical ones.
    """
    if is_canonical(programs):
        return programs
    kind = type(programs)
    raise TypeError(
        "expected a program table loaded by analysis.load_programs (a polars frame with the "
        f"canonical columns and dtypes), got a {kind.__module__.split('.')[0]} "
        f"{kind.__name__} that is not one: load it with analysis.load_programs first"
    )


@functools.cache
def program_table_schema():  # -> pandera.polars.DataFrameSchema (lazy import: ~1 s)
    """The pandera contract of a canonical program table, built from `program_columns()`."""
    import pandera.polars as pa
    import polars as pl

    dtypes = polars_schema()
    columns = {}
    for spec in program_columns():
        checks = []
        if spec.minimum is not None:
            checks.append(pa.Check.ge(spec.minimum))
        if spec.maximum is not None:
            checks.append(pa.Check.le(spec.maximum))
        if spec.allowed is not None:
            checks.append(pa.Check.isin(list(spec.allowed)))
        columns[spec.name] = pa.Column(
            dtypes[spec.name],
            checks=checks,
            nullable=spec.nullable,
            unique=spec.unique,
            required=True,
        )
    return pa.DataFrameSchema(columns, strict=True, ordered=False, name="program table",
                              coerce=False, checks=[
        pa.Check(
            lambda data: data.lazyframe.select(
                (pl.col("pct_non_us_img_residents") <= pl.col("pct_img_residents") + 1e-9)
                .fill_null(True)
                .alias("ok")
            ),
            name="non_us_img_share_within_img_share",
            error="pct_non_us_img_residents must not exceed pct_img_residents",
        )
    ])  # fmt: skip


# --------------------------------------------------------------------------- applicant profile

ApplicantId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="letters, digits, '-', '_' or '.', at most 64 (used as a file name)",
    ),
]
NonNegInt = Annotated[int, Field(ge=0, le=1000)]


class Research(BaseModel):
    """Research output (counts)."""

    model_config = ConfigDict(extra="forbid")

    publications: NonNegInt = 0
    first_author: NonNegInt = 0
    posters: NonNegInt = 0

    @model_validator(mode="after")
    def _first_author_within_publications(self) -> Research:
        if self.first_author > self.publications:
            raise ValueError(
                f"first_author ({self.first_author}) cannot exceed publications "
                f"({self.publications})"
            )
        return self


class CompletedRotation(BaseModel):
    """A US rotation already done (counts toward USCE and letters already)."""

    model_config = ConfigDict(extra="forbid")

    specialty: str
    program_id: str | None = None
    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    letter: bool = False

    @field_validator("specialty")
    @classmethod
    def _known_specialty(cls, value: str) -> str:
        return _check_specialty(value)


class ProgramSignal(BaseModel):
    """One program signal the applicant sends (or plans to): a program and its tier."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    program_id: str = Field(min_length=1, max_length=200)
    tier: Literal["gold", "silver", "single"] = "single"  # SIGNAL_TIERS


def same_specialty_message(first: str, code: str) -> str:
    """The error for a key of a per-specialty count naming the specialty of an earlier key."""
    return f"the same specialty as {first!r} ({code}); give each specialty once"


def _check_specialty(value: str) -> str:
    codes = specialty_codes()
    if value in codes:
        return value
    return normalize_specialty(value)  # aliases such as "Internal Medicine"


def _current_year() -> int:
    return dt.date.today().year


class ApplicantProfile(BaseModel):
    """One applicant: exams, experience, visa need, targets, budget."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    applicant_id: ApplicantId
    name: str = Field(min_length=1, max_length=200)
    citizenship: str | None = Field(default=None, max_length=100)
    visa_needed: VisaNeed
    graduation_year: int = Field(ge=1950, description="year of medical school graduation")
    graduation_month: int | None = Field(
        default=None, ge=1, le=12, description="month of graduation (default May)"
    )
    step1_passed: bool = True
    step1_attempts: int = Field(default=1, ge=1, le=6)
    step2_score: int | None = Field(
        default=None, ge=180, le=300, description="USMLE Step 2 CK taken (scale to 300)"
    )
    step2_expected: int | None = Field(
        default=None, ge=180, le=300, description="expected Step 2 CK when not yet taken"
    )
    step2_exam_date: dt.date | None = Field(
        default=None, description="when Step 2 CK is planned (if not yet taken)"
    )
    step2_attempts: int = Field(default=1, ge=1, le=6)
    step3_passed: bool = False
    step3_exam_date: dt.date | None = Field(
        default=None, description="when Step 3 is planned (if not yet passed)"
    )
    usce_months: float = Field(default=0, ge=0, le=120, description="hands-on US clinical months")
    observership_months: float = Field(default=0, ge=0, le=120)
    us_letters: dict[str, Annotated[int, Field(ge=0, le=10)]] = Field(default_factory=dict)
    research: Research = Field(default_factory=Research)
    target_specialties: list[str] = Field(min_length=1, max_length=6)
    match_year: int = Field(description="year of the Match (March) the applicant enters")
    budget_usd: float | None = Field(
        default=None, ge=0, le=1_000_000, description="budget for away rotations, USD"
    )
    preferred_states: list[str] = Field(default_factory=list)
    completed_rotations: list[CompletedRotation] = Field(default_factory=list)
    signals: list[ProgramSignal] = Field(
        default_factory=list, description="the applicant's own program signals (optional)"
    )
    applications: dict[str, Annotated[int, Field(ge=1, le=1000)]] = Field(
        default_factory=dict,
        description="planned number of programs per specialty (optional)",
    )
    notes: str | None = Field(default=None, max_length=5000)

    @field_validator("target_specialties")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        codes = [_check_specialty(v) for v in value]
        if len(set(codes)) != len(codes):
            raise ValueError(f"target_specialties repeats a specialty: {codes}")
        return codes

    @field_validator("signals", mode="before")
    @classmethod
    def _signals_mapping(cls, value: Any) -> Any:
        """Accept {program_id: tier} as well as a list of {program_id, tier}."""
        if isinstance(value, dict):
            return [{"program_id": k, "tier": v} for k, v in value.items()]
        return value

    @field_validator("visa_needed", mode="before")
    @classmethod
    def _visa_needed(cls, value: Any) -> Any:
        """'J-1', 'H1B', 'US citizen'... read as program tables read visas (one normalizer)."""
        return normalize_visa_need(value) if isinstance(value, str) else value

    @field_validator("us_letters", "applications")
    @classmethod
    def _specialty_keys(cls, value: dict[str, int]) -> dict[str, int]:
        """Keys as specialty codes; two keys naming one specialty ('IR', 'ir') are an error."""
        codes: dict[str, int] = {}
        first: dict[str, str] = {}
        for key, count in value.items():
            code = _check_specialty(key)
            if code in first:
                raise ValueError(f"{key!r}: {same_specialty_message(first[code], code)}")
            first[code] = key
            codes[code] = count
        return codes

    @field_validator("preferred_states")
    @classmethod
    def _states(cls, value: list[str]) -> list[str]:
        out = []
        for state in value:
            code = state.strip().upper()
            if code not in US_STATES:
                raise ValueError(f"{state!r} is not a USPS state code (for example NY, TX, PR)")
            out.append(code)
        return out

    @field_validator("match_year")
    @classmethod
    def _match_year(cls, value: int) -> int:
        latest = _current_year() + 6
        if not 2000 <= value <= latest:
            raise ValueError(f"match year {value} is outside 2000-{latest}")
        return value

    @model_validator(mode="after")
    def _consistency(self) -> ApplicantProfile:
        if self.graduation_year > self.match_year:
            raise ValueError(
                f"graduation_year {self.graduation_year} is after the match year "
                f"{self.match_year}: you must graduate before residency starts"
            )
        if self.graduation_year > _current_year() + 2:
            raise ValueError(f"graduation_year {self.graduation_year} is in the future")
        if self.step2_score is None and self.step2_expected is None:
            raise ValueError(
                "give step2_score (Step 2 CK taken) or step2_expected (not yet taken, with "
                "step2_exam_date)"
            )
        if self.step2_score is not None and self.step2_expected is not None:
            raise ValueError("give step2_score (taken) or step2_expected (not yet taken), not both")
        if not self.step1_passed:
            raise ValueError(
                "step1_passed is false: ECFMG certification (needed to enter the Match) "
                "requires passing Step 1"
            )
        return self

    # ---- derived facts used by the engine

    @property
    def step2_taken(self) -> bool:
        """True when Step 2 CK has been taken (a score, not an expectation)."""
        return self.step2_score is not None

    @property
    def step2_for_model(self) -> int:
        """The Step 2 CK score the model uses: the score if taken, else the expected one."""
        return int(self.step2_score if self.step2_score is not None else self.step2_expected)

    @property
    def graduation_date(self) -> dt.date:
        """Graduation (the last day of the month; May when the month is not given)."""
        month = self.graduation_month or 5
        next_month = dt.date(self.graduation_year + month // 12, month % 12 + 1, 1)
        return next_month - dt.timedelta(days=1)

    @property
    def needs_visa(self) -> bool:
        """True for non-US citizens who need a J-1 or H-1B."""
        return self.visa_needed != "none"

    @property
    def max_attempts(self) -> int:
        """The most attempts on any Step (programs screen on this)."""
        return max(self.step1_attempts, self.step2_attempts)

    def years_since_graduation(self) -> int:
        """Years between graduation and the July residency would start."""
        return max(0, self.match_year - self.graduation_year)

    def letters_in(self, specialty: str) -> int:
        """US letters in a specialty."""
        return int(self.us_letters.get(specialty, 0))


APPLICANT_LIST_FIELDS = ("target_specialties", "preferred_states")
"""Profile fields that are lists: in a CSV row, separate items with ';' (or ',')."""

APPLICANT_MAP_FIELDS = ("us_letters", "applications")
"""Profile fields keyed by specialty: in a CSV row write 'IR:1; DR:2'."""

APPLICANT_CSV_RESEARCH = {
    "research_publications": "publications",
    "research_first_author": "first_author",
    "research_posters": "posters",
}
"""Flat CSV columns for the nested `research` block."""


def slugify(text: str, max_len: int = 64) -> str:
    """A file-name-safe id from free text ('Mount Sinai (NY)' -> 'mount-sinai-ny')."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug or "item")[:max_len].rstrip("-") or "item"
