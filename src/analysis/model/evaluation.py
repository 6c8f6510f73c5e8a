"""The model against observed per-program interview rates, on the user's own data.

A user who has a program table (a FREIDA-style export, a tracker, the canonical table) and a
table of observed interview rates per program (see `analysis.data.observed_rates`) can ask
two things of them:

- `evaluate`: how well do the IMG-friendliness score, the interview probability of a
  reference applicant, and each single input column rank the programs by their observed
  interview rate for a group of applicants (non-US IMGs or US IMGs); and is the model's
  level right (the calibration ratio).
- `enrich`: fill the program table's `non_us_img_interview_rate` from the rates table where
  the program table has no value (a known value is never overwritten).

**Joining.** The two tables rarely spell program names alike, so names are compared in a
normalized form (`normalize_program_name`) plus the state:

1. case folded; accents removed (NFKD, combining marks dropped; "ß" -> "ss");
2. apostrophes dropped ("St. Luke's" -> "st lukes"); "&" -> "and"; every other run of
   punctuation or spacing -> one space;
3. abbreviations expanded word by word (`NAME_ABBREVIATIONS`: "Med"/"Medicine" ->
   "medical", "Ctr"/"Centre" -> "center", "Hosp" -> "hospital", "Univ" -> "university",
   "St" -> "saint", "Mt" -> "mount", "Sch", "Coll", "Inst", "Dept", "Hlth", "Sys", "Reg",
   "Comm", "Natl", "Gen", "Mem", "Cnty", "Ft"...); "the" dropped; "health care" ->
   "healthcare";
4. trailing "Program", "Programme", "Residency", "Training" and trailing specialty names
   ("... Internal Medicine Residency Program") removed, never the first word. Specialty
   names are those of `specialties()` (names and aliases) of two words or more,
   or one distinctive word ("Pediatrics", "Psychiatry"; not "Medicine" or "Surgery",
   which end institution names).

A rates row is joined to the program with the same normalized name and state (and the same
specialty when the rates table has a Specialty column, or when the caller says which
specialty the rates are for). When that finds several programs, the city (steps 1-3)
breaks the tie if it leaves exactly one. Rows that are not joined are listed with
a reason: `duplicate` (the rates table has the same program twice: neither is used),
`no_state`, `no_match`, `ambiguous` (several programs fit), `conflict` (two rows of the
rates table fit the same program: neither is used), `unknown_rate` (joined, but the
group's rate is unknown).

**Statistics** (`evaluate`), over the joined programs with a known rate:

- Spearman's rank correlation (ties get their average rank; pairs with a missing value are
  dropped, so each correlation has its own n; null when n < 3 or a side is constant) of
  the observed rate with: `img_friendliness` (`analysis.score_programs` for the group's
  visa need: the reference profile's for non-US IMGs, none for US IMGs), `p_interview`
  (`analysis.interview_chances` for the reference profile of `params/reference_profile.yaml`,
  whose US letters count for the specialty evaluated, or for the profile given) and every
  numeric input column of `INPUT_COLUMNS` (yes/no facts as 1/0, `program_type` as the
  ordinal of `PROGRAM_TYPE_ORDER`).
- the same correlations over every joined program with unknown values at the column's
  median (`spearman_all`): each input's own n above favours inputs that are unknown where
  programs are hard to rank; this is the like-for-like comparison.
- `predicted_rate`: the population's average P(interview) at the program
  (`analysis.model.calibration.population_rates`): what a published rate measures, the
  expected chance of an applicant of the group drawn at random.
- calibration ratio = sum of predicted rates / sum of observed rates: 1 means the model
  predicts as many interviews as the group got; below 1, fewer.
  `calibration_ratio_reference` is the same with the reference applicant's P(interview):
  one person (standing about 0, but screened out where a published rule excludes them), so
  it sits below the population's.

The program table's own observed rates feed the score and P(interview); they are set aside
for the predictions (`hold_out=True`, the default), so that the model is judged on the
other facts and a table enriched from the same rates file is not checked against itself.

Limits: name matching is exact after normalization (no fuzzy matching: a misspelt name is
listed as `no_match`, never guessed); "University of X" and "X University" differ; the
reference profile is one applicant, so the calibration ratio mixes the model's level with
how typical that applicant is; Spearman's rho measures ranking only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from analysis.data.observed_rates import (
    RATE_COLUMNS,
    RATE_GROUPS,
    read_observed_rates,
    specialty_code,
)
from analysis.data.schemas import canonical_programs
from analysis.data.vocabulary import specialties
from analysis.model.calibration import population_rates
from analysis.model.friendliness import score_programs
from analysis.model.population import reference_profile
from analysis.model.probability import MatchModel, interview_chances

__all__ = [
    "EVALUATED_GROUPS",
    "INPUT_COLUMNS",
    "NAME_ABBREVIATIONS",
    "PROGRAM_TYPE_ORDER",
    "Correlation",
    "Enrichment",
    "Evaluation",
    "RateJoin",
    "calibration_ratio",
    "enrich",
    "evaluate",
    "join_observed",
    "normalize_program_name",
    "normalized_name_expr",
    "reference_profile",
    "spearman",
]

EVALUATED_GROUPS = ("non_us_img", "us_img")
"""Applicant groups the model predicts for (its interview probability is for IMGs)."""

NAME_ABBREVIATIONS: dict[str, str] = {
    "med": "medical", "medicine": "medical", "mdcl": "medical",
    "ctr": "center", "cntr": "center", "cent": "center", "centre": "center",
    "ctrs": "centers", "centres": "centers",
    "hosp": "hospital", "hsp": "hospital", "hosps": "hospitals",
    "univ": "university", "univer": "university",
    "st": "saint", "ste": "sainte", "sts": "saints",
    "mt": "mount", "ft": "fort",
    "sch": "school", "schl": "school",
    "coll": "college",
    "inst": "institute", "instit": "institute",
    "dept": "department", "dpt": "department",
    "hlth": "health", "hlthcare": "healthcare",
    "sys": "system", "syst": "system",
    "reg": "regional", "regl": "regional", "rgnl": "regional",
    "comm": "community", "cmty": "community", "cmnty": "community", "commun": "community",
    "natl": "national", "gen": "general", "genl": "general",
    "mem": "memorial", "meml": "memorial",
    "cnty": "county", "fdn": "foundation", "fndn": "foundation",
    "svcs": "services", "svc": "service",
    "the": "",
}  # fmt: skip
"""Word -> the word it is read as in a normalized program name ('' drops the word)."""

_PHRASES = {"health care": "healthcare"}
_SUFFIX_WORDS = ("program", "programme", "residency", "training")
_GENERIC_SINGLE_WORDS = frozenset({"medical", "surgery", "surgical", "transitional"})

PROGRAM_TYPE_ORDER: dict[str, int] = {
    "military": 0,
    "university": 1,
    "other": 2,
    "community": 3,
    "community_university_affiliated": 4,
}
"""`program_type` as a number for rank correlations: the order of the IMG-friendliness
score's program-type component, least to most open to IMGs."""

OBSERVED_RATE_COLUMNS = ("non_us_img_interview_rate", "us_img_interview_rate")
"""The program table's observed rates: set aside for the predictions when `hold_out`."""

INPUT_COLUMNS: tuple[str, ...] = (
    "pct_img_residents",
    "pct_non_us_img_residents",
    "pct_us_md_residents",
    "pct_do_residents",
    "img_residents_present",
    "pgy1_positions",
    "interviews_last_year",
    "sponsors_j1",
    "sponsors_h1b",
    "program_type",
    "min_step2_score",
    "yog_cutoff_years",
    "usce_required_months",
    "max_attempts",
    "accepts_img_visiting_students",
    "visiting_fee_usd",
    "non_us_img_interview_rate",
    "us_img_interview_rate",
)
"""Program-table columns correlated one by one with the observed rate."""

_MIN_N = 3
_LISTED = 5  # row numbers or programs named per unjoined row (memory stays linear)
_ANY_SPECIALTY = "*"  # key of "any specialty" when the rates do not say which
_REASONS = ("duplicate", "no_state", "no_match", "ambiguous", "conflict", "unknown_rate")

# --------------------------------------------------------------------------- names


def _base_expr(expr: pl.Expr) -> pl.Expr:
    """Steps 1-3 of the normalization (everything but removing trailing words)."""
    text = (
        expr.cast(pl.String)
        .str.to_lowercase()
        .str.replace_all("ß", "ss", literal=True)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}+", "")
        .str.to_lowercase()
        .str.replace_all(r"['’‘`´ʼ]", "")
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )
    words = (
        text.str.split(" ")
        .list.eval(pl.element().replace(NAME_ABBREVIATIONS))
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    text = words.list.join(" ")
    for phrase, replacement in _PHRASES.items():
        text = text.str.replace_all(rf"\b{phrase}\b", replacement)
    return text


@functools.cache
def _suffix_pattern() -> str:
    """Regex of the trailing words removed from a name (never the first word)."""
    labels: set[str] = set()
    for code, spec in specialties().items():
        labels.update((spec.name, *spec.aliases, spec.interview_ref or "", code))
    frame = pl.DataFrame({"label": sorted(label for label in labels if label)})
    normalized = frame.select(_base_expr(pl.col("label")).alias("n"))["n"].unique().to_list()
    phrases = set(_SUFFIX_WORDS)
    for phrase in normalized:
        words = phrase.split()
        if len(words) >= 2 or (
            len(words) == 1 and len(phrase) >= 6 and phrase not in _GENERIC_SINGLE_WORDS
        ):
            phrases.add(phrase)
    assert all(re.fullmatch(r"[\w ]+", p) for p in phrases), "phrases are words and spaces"
    ordered = sorted(phrases, key=lambda p: (-len(p), p))
    return r"(?: (?:" + "|".join(ordered) + r"))+$"


def normalized_name_expr(expr: pl.Expr | str, *, strip_suffixes: bool = True) -> pl.Expr:
    """The normalized form of program names, as a polars expression (see the module docstring).

    Args:
        expr: a column name or an expression of text.
        strip_suffixes: remove trailing "Program", "Residency"... and specialty names (city
            names are normalized without this step).
    """
    column = pl.col(expr) if isinstance(expr, str) else expr
    text = _base_expr(column)
    if strip_suffixes:
        text = text.str.replace(_suffix_pattern(), "")
    return text


def normalize_program_name(name: str) -> str:
    """One name in normalized form: 'St. Luke's Med. Ctr. Residency Program' -> 'saint lukes
    medical center'. Idempotent; insensitive to case, spacing and punctuation."""
    return pl.select(normalized_name_expr(pl.lit(name, dtype=pl.String))).item()


# --------------------------------------------------------------------------- joining


@dataclass(frozen=True)
class RateJoin:
    """Rows of a rates table joined to a program table, and those that were not.

    Attributes:
        joined: one row per joined rates row: `row` (in the rates file), `program` (as
            written there), `program_id`, `program_name`, `specialty`, `state` and the
            `<group>_rate` columns of the rates table.
        unjoined: `row`, `program`, `city`, `state`, `specialty` (as read), `reason` (one of
            duplicate, no_state, no_match, ambiguous, conflict, unknown_rate), `detail` (a
            sentence), `candidates` (program ids that fit, '; '-separated, the first five
            then a count) and
            `normalized_name`; sorted by row.
        notes: what a user should know about the join.
    """

    joined: pl.DataFrame
    unjoined: pl.DataFrame
    notes: tuple[str, ...] = ()
    filled_us_img: int = 0


def _resolve_specialty(specialty: str | None) -> str | None:
    return None if specialty is None else specialty_code(specialty)


def _city_key(column: str) -> pl.Expr:
    """A city normalized like a name (without removing words); null when empty."""
    key = normalized_name_expr(column, strip_suffixes=False)
    return pl.when(key != "").then(key).otherwise(None)


def _listed(items: pl.Expr, count: pl.Expr, sep: str = ", ") -> pl.Expr:
    """'a, b, c' from a list of at most _LISTED items, plus '(and 4 more)' past them."""
    text = items.list.eval(pl.element().cast(pl.String)).list.join(sep)
    extra = count.cast(pl.Int64) - items.list.len().cast(pl.Int64)
    return pl.when(extra > 0).then(pl.format("{} (and {} more)", text, extra)).otherwise(text)


def join_observed(
    programs: Any,
    observed: Any,
    *,
    specialty: str | None = None,
    group: str | None = None,
) -> RateJoin:
    """Join a rates table to a program table on normalized name + state (+ specialty).

    Args:
        programs: a program table (a polars or pandas frame or a path; see
            `analysis.load_programs`).
        observed: a rates table (`ObservedRates`, a path or a polars frame; see
            `analysis.data.observed_rates.read_observed_rates`).
        specialty: the specialty the rates are for (a code or name), when the rates table
            has no Specialty column: only programs of that specialty are candidates.
        group: when given ("non_us_img", "us_img", "md", "do"), joined rows whose rate for
            the group is unknown are moved to `unjoined` with reason `unknown_rate`.

    Returns:
        A `RateJoin`.
    """
    table = canonical_programs(programs)
    rates = read_observed_rates(observed)
    spec = _resolve_specialty(specialty)
    rate_column = rates.require_group(group) if group is not None else None
    notes: list[str] = []
    candidates = _candidates(table, spec, notes)
    frame = _keyed_rates(rates, spec)
    frame = _match(frame, *_program_keys(candidates))
    frame = frame.with_columns(reason=_reason(rate_column))
    frame = frame.with_columns(detail=_detail(group))
    unjoined, joined = _split(frame, table)
    if table["specialty"].n_unique() > 1 and spec is None and not rates.has_specialty:
        codes = ", ".join(sorted(table["specialty"].unique().to_list()))
        notes.append(
            f"the program table has several specialties ({codes}) and the rates table names "
            "none: a program name shared across specialties is ambiguous; say which specialty "
            "the rates are for"
        )
    return RateJoin(joined=joined, unjoined=unjoined, notes=tuple(notes))


def _candidates(table: pl.DataFrame, spec: str | None, notes: list[str]) -> pl.DataFrame:
    """The programs a rates row may join, with their name and city keys."""
    candidates = table.select("program_id", "program_name", "specialty", "state", "city")
    if spec is not None:
        candidates = candidates.filter(pl.col("specialty") == spec)
        if candidates.height == 0:
            notes.append(f"the program table has no {spec} programs")
    candidates = candidates.with_columns(
        name_key=normalized_name_expr("program_name"),
        city_key=_city_key("city"),
    ).filter(pl.col("name_key") != "")
    return candidates


def _keyed_rates(rates: Any, spec: str | None) -> pl.DataFrame:
    """The rates rows with their keys, duplicates (the same program twice) flagged."""
    frame = rates.table.with_columns(
        name_key=normalized_name_expr("program"),
        city_key=_city_key("city"),
        want_specialty=pl.col("specialty").fill_null(pl.lit(spec, dtype=pl.String)),
    ).with_columns(spec_key=pl.col("want_specialty").fill_null(_ANY_SPECIALTY))

    # duplicates: the same program twice in the rates table (city and specialty included);
    # windows keep memory linear (at most _LISTED row numbers per row)
    dup_keys = ["name_key", "state", "city_key", "spec_key"]
    frame = frame.with_columns(
        dup_n=pl.len().over(dup_keys),
        dup_rows=pl.col("row")
        .sort()
        .head(_LISTED)
        .implode()
        .over(dup_keys, mapping_strategy="join"),
    ).with_columns(duplicate=(pl.col("dup_n") > 1) & (pl.col("name_key") != ""))

    return frame


def _program_keys(candidates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Programs per (name, state, specialty) key, and per key and city (the tie-break)."""
    # programs per key: any specialty ("*") or one; then per key and city (the tie-break)
    keyed = pl.concat(
        [
            candidates.with_columns(spec_key=pl.lit(_ANY_SPECIALTY)),
            candidates.with_columns(spec_key=pl.col("specialty")),
        ]
    )
    by_name = keyed.group_by("name_key", "state", "spec_key").agg(
        n=pl.len(),
        n_specialties=pl.col("specialty").n_unique(),
        ids=pl.col("program_id").sort().head(_LISTED),
        described=pl.format(
            "{} {} ({}, {})",
            pl.col("program_id"),
            pl.col("program_name"),
            pl.col("specialty"),
            pl.col("city").fill_null("city unknown"),
        )
        .sort()
        .head(_LISTED),
    )
    by_city = (
        keyed.filter(pl.col("city_key").is_not_null())
        .group_by("name_key", "state", "spec_key", "city_key")
        .agg(n_city=pl.len(), city_id=pl.col("program_id").min())
    )
    return by_name, by_city


def _match(frame: pl.DataFrame, by_name: pl.DataFrame, by_city: pl.DataFrame) -> pl.DataFrame:
    """Each usable rates row's program (one by name, else one by name and city), conflicts."""
    usable = ~pl.col("duplicate") & pl.col("state").is_not_null() & (pl.col("name_key") != "")
    return (
        frame.join(by_name, on=["name_key", "state", "spec_key"], how="left")
        .join(by_city, on=["name_key", "state", "spec_key", "city_key"], how="left")
        .with_columns(
            n=pl.when(usable).then(pl.col("n")),
            program_id=pl.when(usable & (pl.col("n") == 1))
            .then(pl.col("ids").list.first())
            .when(usable & (pl.col("n_city") == 1))
            .then(pl.col("city_id"))
            .otherwise(None),
        )
        .with_columns(
            conflict_n=pl.when(pl.col("program_id").is_not_null()).then(
                pl.len().over("program_id")
            ),
            conflict_rows=pl.col("row")
            .sort()
            .head(_LISTED)
            .implode()
            .over("program_id", mapping_strategy="join"),
        )
    )


def _reason(rate_column: str | None) -> pl.Expr:
    """Why a rates row is not used (null when it joins)."""
    reason = (
        pl.when(pl.col("duplicate"))
        .then(pl.lit("duplicate"))
        .when(pl.col("state").is_null())
        .then(pl.lit("no_state"))
        .when(pl.col("n").is_null())
        .then(pl.lit("no_match"))
        .when(pl.col("program_id").is_null())
        .then(pl.lit("ambiguous"))
        .when(pl.col("conflict_n") > 1)
        .then(pl.lit("conflict"))
    )
    if rate_column is not None:
        reason = reason.when(pl.col(rate_column).is_null()).then(pl.lit("unknown_rate"))
    return reason.otherwise(None)


def _detail(group: str | None) -> pl.Expr:
    """The reason in words, with the rows or programs it concerns."""
    state_label = pl.col("state").fill_null("")
    spec_label = pl.col("want_specialty")
    rows_text = _listed(pl.col("dup_rows"), pl.col("dup_n"))
    conflict_text = _listed(pl.col("conflict_rows"), pl.col("conflict_n"))
    several_specialties = pl.col("n_specialties") > 1
    group_label = RATE_GROUPS.get(group or "", "")
    detail = (
        pl.when(pl.col("reason") == "duplicate")
        .then(
            pl.format(
                "the rates table has this program on rows {}: none of them is used", rows_text
            )
        )
        .when(pl.col("reason") == "no_state")
        .then(pl.lit("no state given: programs are joined on name and state"))
        .when(pl.col("reason") == "no_match")
        .then(
            pl.format(
                "no program of the table is named like this in {}{}",
                state_label,
                pl.when(spec_label.is_not_null())
                .then(pl.format(" ({})", spec_label))
                .otherwise(pl.lit("")),
            )
        )
        .when(pl.col("reason") == "ambiguous")
        .then(
            pl.format(
                "{} programs fit ({}); {}",
                pl.col("n"),
                _listed(pl.col("described"), pl.col("n"), sep="; "),
                pl.when(several_specialties)
                .then(
                    pl.lit("they are of several specialties: say which specialty the rates are for")
                )
                .otherwise(pl.lit("the city does not tell them apart")),
            )
        )
        .when(pl.col("reason") == "conflict")
        .then(
            pl.format(
                "rows {} of the rates table fit the same program {}: none of them is used",
                conflict_text,
                pl.col("program_id"),
            )
        )
        .when(pl.col("reason") == "unknown_rate")
        .then(
            pl.format(
                "fits program {}, but its {} rate is unknown",
                pl.col("program_id"),
                pl.lit(group_label),
            )
        )
        .otherwise(None)
    )
    return detail


def _split(frame: pl.DataFrame, table: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(unjoined rows with their reason, joined rows with the program's name and specialty)."""
    unjoined = (
        frame.filter(pl.col("reason").is_not_null())
        .select(
            "row",
            "program",
            "city",
            "state",
            "specialty",
            "reason",
            "detail",
            candidates=pl.when(pl.col("reason").is_in(["ambiguous", "conflict", "unknown_rate"]))
            .then(
                pl.when(pl.col("reason") == "ambiguous")
                .then(_listed(pl.col("ids"), pl.col("n"), sep="; "))
                .otherwise(pl.col("program_id"))
            )
            .otherwise(None),
            normalized_name=pl.col("name_key"),
        )
        .sort("row")
    )
    joined = (
        frame.filter(pl.col("reason").is_null())
        .select("row", "program", "program_id", *RATE_COLUMNS.values())
        .join(
            table.select("program_id", "program_name", "specialty", "state"),
            on="program_id",
            how="left",
        )
        .select(
            "row",
            "program",
            "program_id",
            "program_name",
            "specialty",
            "state",
            *RATE_COLUMNS.values(),
        )
        .sort("row")
    )

    return unjoined, joined


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Correlation:
    """A rank correlation and the number of pairs it was computed on."""

    rho: float | None
    n: int


def spearman(x: Iterable[Any], y: Iterable[Any]) -> Correlation:
    """Spearman's rho of two equal-length sequences, over the pairs where both are known.

    Ties get their average rank (Pearson's r of the average ranks). None (null, NaN) drops
    the pair. rho is None when fewer than 3 pairs remain or one side is constant.
    """
    frame = pl.DataFrame(
        {
            "x": pl.Series(list(x), dtype=pl.Float64, strict=False),
            "y": pl.Series(list(y), dtype=pl.Float64, strict=False),
        }
    )
    return _spearman_frame(frame)


def _spearman_frame(frame: pl.DataFrame) -> Correlation:
    complete = frame.fill_nan(None).drop_nulls()
    n = complete.height
    if n < _MIN_N or complete["x"].n_unique() < 2 or complete["y"].n_unique() < 2:
        return Correlation(None, n)
    rho = complete.select(pl.corr("x", "y", method="spearman")).item()
    return Correlation(None if rho is None or rho != rho else float(rho), n)


def calibration_ratio(
    predicted: Iterable[Any], observed: Iterable[Any]
) -> tuple[float | None, int]:
    """(sum of predicted / sum of observed, n) over the pairs where both are known.

    None when no pair is complete or the observed rates sum to 0.
    """
    frame = (
        pl.DataFrame(
            {
                "p": pl.Series(list(predicted), dtype=pl.Float64, strict=False),
                "o": pl.Series(list(observed), dtype=pl.Float64, strict=False),
            }
        )
        .fill_nan(None)
        .drop_nulls()
    )
    total = float(frame["o"].sum()) if frame.height else 0.0
    if total <= 0:
        return None, frame.height
    return float(frame["p"].sum()) / total, frame.height


def _numeric_inputs() -> list[pl.Expr]:
    exprs = []
    for name in INPUT_COLUMNS:
        if name == "program_type":
            exprs.append(
                pl.col(name)
                .replace_strict(PROGRAM_TYPE_ORDER, default=None, return_dtype=pl.Float64)
                .alias(name)
            )
        else:
            exprs.append(pl.col(name).cast(pl.Float64).alias(name))
    return exprs


# --------------------------------------------------------------------------- reference profile


def _profile_for(profile: Any, specialty: str, visa_needed: str, *, move_letters: bool) -> Any:
    update: dict[str, Any] = {"target_specialties": [specialty], "visa_needed": visa_needed}
    if move_letters:
        letters = sum(int(n) for n in profile.us_letters.values())
        update["us_letters"] = {specialty: letters} if letters else {}
        update["applications"] = {}
    return profile.model_copy(update=update)


# --------------------------------------------------------------------------- evaluate


@dataclass(frozen=True)
class Evaluation:
    """What `evaluate` found (see the module docstring for the method).

    Attributes:
        group: the applicant group whose observed rates were used.
        specialty: the specialty the rates are for, when given.
        joined: programs joined with a known rate for the group.
        unjoined: rows of the rates table not used, with the reason (see `RateJoin`).
        pairs: one row per joined program: `row`, `program` (as in the rates file),
            `program_id`, `program_name`, `specialty`, `state`, `observed_rate`,
            `img_friendliness`, `predicted_rate`, `p_interview` and the `INPUT_COLUMNS` as
            numbers.
        spearman: name -> `Correlation` of the observed rate with `img_friendliness`,
            `predicted_rate`, `p_interview` and each input column (the group's own observed
            rate column is the answer, so it is not among them).
        calibration_ratio: sum of the population's predicted rates / sum of observed rates
            (None if the latter is 0 or nothing joined).
        calibration_ratio_reference: the same with the reference applicant's P(interview).
        spearman_all: the same correlations over every joined program, an unknown value
            counted at the column's median (rank-neutral): the fair comparison of inputs that
            are unknown for different programs.
        calibration_n: programs in the calibration ratio.
        profile: the applicant P(interview) was computed for.
        notes: how the data were read and joined.
    """

    group: str
    specialty: str | None
    joined: int
    unjoined: pl.DataFrame
    pairs: pl.DataFrame
    spearman: dict[str, Correlation]
    calibration_ratio: float | None
    calibration_n: int
    profile: Any
    notes: tuple[str, ...] = field(default=())
    calibration_ratio_reference: float | None = None
    spearman_all: dict[str, float | None] = field(default_factory=dict)

    def unjoined_by_reason(self) -> dict[str, int]:
        """Count of unjoined rows per reason (every reason listed, zeros included)."""
        counts = dict.fromkeys(_REASONS, 0)
        for reason, count in self.unjoined["reason"].value_counts().iter_rows():
            counts[reason] = int(count)
        return counts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: `{joined, unjoined, spearman: {name: rho or null}, calibration_ratio}`,
        plus `calibration_ratio_reference`, `spearman_n`, `unjoined_by_reason`,
        `calibration_n`, `group` and `specialty`."""
        return {
            "joined": int(self.joined),
            "unjoined": int(self.unjoined.height),
            "spearman": {k: c.rho for k, c in self.spearman.items()},
            "calibration_ratio": self.calibration_ratio,
            "calibration_ratio_reference": self.calibration_ratio_reference,
            "spearman_all_programs": self.spearman_all,
            "spearman_n": {k: int(c.n) for k, c in self.spearman.items()},
            "unjoined_by_reason": self.unjoined_by_reason(),
            "calibration_n": int(self.calibration_n),
            "group": self.group,
            "specialty": self.specialty,
        }


def _predictions(
    table: pl.DataFrame,
    specialties: Sequence[str],
    profile: Any,
    visa_needed: str,
    *,
    move_letters: bool,
    as_of: Any,
) -> pl.DataFrame:
    """img_friendliness and p_interview per program of the given specialties."""
    scored = score_programs(table, visa_needed=visa_needed, as_of=as_of).select(
        "program_id", "img_friendliness"
    )
    frames = []
    for code in specialties:
        applicant = _profile_for(profile, code, visa_needed, move_letters=move_letters)
        chances = interview_chances(applicant, table, specialties=[code], as_of=as_of)
        if chances.height:
            frames.append(chances.select("program_id", "p_interview"))
    p = (
        pl.concat(frames)
        if frames
        else pl.DataFrame(schema={"program_id": pl.String, "p_interview": pl.Float64})
    )
    return scored.join(p, on="program_id", how="left")


def evaluate(
    programs: Any,
    observed: Any,
    group: str = "non_us_img",
    profile: Any = None,
    *,
    specialty: str | None = None,
    hold_out: bool = True,
    as_of: Any = None,
) -> Evaluation:
    """Check the model's rankings and level against observed per-program interview rates.

    Args:
        programs: a program table (frame or path).
        observed: a rates table (`ObservedRates`, path or frame).
        group: "non_us_img" or "us_img": whose observed rates to use.
        profile: the applicant for P(interview) (default: `reference_profile()`, whose
            letters then count for the evaluated specialty). For "us_img" the profile is
            taken as needing no visa.
        specialty: the specialty the rates are for, if the rates table has no Specialty
            column and the program table has several.
        hold_out: set the program table's own `non_us_img_interview_rate` aside for the
            predictions (default), so the model is not judged on the answer.
        as_of: the date staleness is judged against (default today).

    Returns:
        An `Evaluation`; `.to_dict()` is JSON-ready.

    Raises:
        DataValidationError: a bad program or rates table, or no rate column for the group.
    """
    if group not in EVALUATED_GROUPS:
        raise ValueError(f"group must be one of {', '.join(EVALUATED_GROUPS)}; got {group!r}")
    table = canonical_programs(programs)
    rates = read_observed_rates(observed)
    rate_column = rates.require_group(group)
    join = join_observed(table, rates, specialty=specialty, group=group)
    spec = _resolve_specialty(specialty)
    move_letters = profile is None
    applicant = reference_profile() if profile is None else profile
    visa_needed = "none" if group == "us_img" else applicant.visa_needed
    notes = list(rates.notes) + list(join.notes)

    model_table = _held_out(table, notes) if hold_out else table

    joined = join.joined.rename({rate_column: "observed_rate"}).select(
        "row", "program", "program_id", "program_name", "specialty", "state", "observed_rate"
    )
    codes = sorted(joined["specialty"].unique().to_list())
    predicted = _predictions(
        model_table, codes, applicant, visa_needed, move_letters=move_letters, as_of=as_of
    )
    model = MatchModel(model_table, as_of=as_of)
    population_predicted = pl.concat(
        [population_rates(model, code, group) for code in codes]
        or [pl.DataFrame(schema={"program_id": pl.String, "predicted_rate": pl.Float64})]
    )
    pairs = (
        joined.join(predicted, on="program_id", how="left")
        .join(population_predicted, on="program_id", how="left")
        .join(table.select("program_id", *_numeric_inputs()), on="program_id", how="left")
    )
    correlations, neutral = _correlations(pairs, group)
    ratio, ratio_n = calibration_ratio(pairs["predicted_rate"], pairs["observed_rate"])
    reference_ratio, _ = calibration_ratio(pairs["p_interview"], pairs["observed_rate"])
    return Evaluation(
        group=group,
        specialty=spec,
        joined=joined.height,
        unjoined=join.unjoined,
        pairs=pairs,
        spearman=correlations,
        calibration_ratio=ratio,
        calibration_n=ratio_n,
        calibration_ratio_reference=reference_ratio,
        spearman_all=neutral,
        profile=applicant,
        notes=tuple(notes),
    )


def _held_out(table: pl.DataFrame, notes: list[str]) -> pl.DataFrame:
    """The table with its own observed rates set aside (noted), for the predictions."""
    for column in OBSERVED_RATE_COLUMNS:
        held = table[column].is_not_null().sum()
        if held:
            notes.append(
                f"the program table's own {column} ({held} programs) was set aside for the "
                "predictions, so the model is judged on the other facts"
            )
    return table.with_columns(
        pl.lit(None, dtype=pl.Float64).alias(c) for c in OBSERVED_RATE_COLUMNS
    )


def _correlations(
    pairs: pl.DataFrame, group: str
) -> tuple[dict[str, Correlation], dict[str, float | None]]:
    """Spearman with the observed rate: where each input is known, and over all programs with
    unknowns at the input's median. The group's own observed rate is the answer, not an input."""
    own_rate = f"{group}_interview_rate"
    names = [
        n
        for n in ("img_friendliness", "predicted_rate", "p_interview", *INPUT_COLUMNS)
        if n != own_rate
    ]
    known = {
        n: _spearman_frame(pairs.select(x=pl.col(n).cast(pl.Float64), y=pl.col("observed_rate")))
        for n in names
    }
    neutral = {
        n: _spearman_frame(
            pairs.select(
                x=pl.col(n)
                .cast(pl.Float64)
                .fill_nan(None)
                .fill_null(pl.col(n).cast(pl.Float64).median()),
                y=pl.col("observed_rate"),
            )
        ).rho
        for n in names
    }
    return known, neutral


# --------------------------------------------------------------------------- enrich


@dataclass(frozen=True)
class Enrichment:
    """What `enrich` did.

    Attributes:
        table: the program table with the observed rates filled where they were empty.
        filled: programs whose rate was filled.
        kept: joined programs that already had a rate (left as they were).
        differing: of those, how many differ from the rates table by more than 0.005.
        unjoined: rows of the rates table not used (see `RateJoin`).
        notes: how the data were read and joined.
        filled_us_img: programs whose US IMG rate was filled (when the rates table has one).
    """

    table: pl.DataFrame
    filled: int
    kept: int
    differing: int
    unjoined: pl.DataFrame
    notes: tuple[str, ...] = ()
    filled_us_img: int = 0


def enrich(programs: Any, observed: Any, *, specialty: str | None = None) -> Enrichment:
    """Fill the observed interview rates from a rates table where the program table has none.

    `non_us_img_interview_rate` from the Non US IMG column (required) and
    `us_img_interview_rate` from the US IMG column when the rates table has one. A known value
    is never overwritten.

    Args:
        programs: a program table loaded by `analysis.load_programs`.
        observed: a rates table (`ObservedRates`, path or frame) with a Non US IMG column.
        specialty: the specialty the rates are for (see `join_observed`).

    Returns:
        An `Enrichment` (the table keeps the canonical columns and order of rows); its counts
        are for the non-US IMG rate, `filled_us_img` for the US IMG rate.
    """
    table = canonical_programs(programs)
    rates = read_observed_rates(observed)
    rates.require_group("non_us_img")
    enriched, counts, unjoined, notes = table, {}, None, tuple(rates.notes)
    for group in ("non_us_img", "us_img"):
        if group not in rates.groups:
            continue
        join = join_observed(table, rates, specialty=specialty, group=group)
        enriched, counts[group] = _fill_rates(enriched, join, rates.require_group(group), group)
        if group == "non_us_img":
            unjoined, notes = join.unjoined, notes + join.notes
    non_us = counts["non_us_img"]
    return Enrichment(
        table=enriched.select(table.columns),
        filled=non_us["filled"],
        kept=non_us["kept"],
        differing=non_us["differing"],
        unjoined=unjoined,
        notes=notes,
        filled_us_img=counts.get("us_img", {}).get("filled", 0),
    )


def _fill_rates(
    table: pl.DataFrame, join: Any, rate_column: str, group: str
) -> tuple[pl.DataFrame, dict[str, int]]:
    """The table with the group's rate filled where empty, and (filled, kept, differing)."""
    found = join.joined.select("program_id", pl.col(rate_column).alias("__observed"))
    merged = table.join(found, on="program_id", how="left", maintain_order="left")
    current = pl.col(f"{group}_interview_rate")
    has_observed = pl.col("__observed").is_not_null()
    counts = merged.select(
        filled=(current.is_null() & has_observed).sum(),
        kept=(current.is_not_null() & has_observed).sum(),
        differing=(
            current.is_not_null() & has_observed & ((current - pl.col("__observed")).abs() > 0.005)
        ).sum(),
    ).row(0, named=True)
    filled = merged.with_columns(current.fill_null(pl.col("__observed"))).drop("__observed")
    return filled, {k: int(v) for k, v in counts.items()}
