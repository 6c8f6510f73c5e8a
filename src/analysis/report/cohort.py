"""The advisor's view of a cohort: one record per applicant, the risk flag, `cohort.csv`.

Method. Each applicant's record is read from the summary their report displayed
(`analysis.report.present.report_summary`, kept in the batch's state), so the index and
`cohort.csv` show the numbers the report shows, computed once by the plan: P(match anywhere)
today and with the plan with its 80% interval, the visa need, Step 2 CK ("expected" when
not yet taken), the first choice, months of hands-on US clinical experience, the rotations
planned and their cost, and the plan's application fees. Nothing is recomputed here.

Risk flag (judgement: where an advisor should look first). An applicant is at risk when the
plan's P(match anywhere) is under `RISK_THRESHOLD` (50%: more likely than not to go
unmatched even after following the plan), or when no program of the first-choice specialty
can consider them (every one is closed to them by a published screen: visa, Step 2 CK
minimum, graduation cutoff, USCE, attempts). Unknown when the report gave neither number
(a custom template, placeholders, a failed report).

`cohort.csv` has one row per applicant, failed ones included (with their error), in the
order of the run. Numbers are numbers (probabilities 0-1, dollars, months); text cells that
a spreadsheet would run as a formula are escaped (`analysis.data.files.escape_formulas`), and
the file is written atomically.

Inputs: the index rows (`analysis.report.html.IndexRow`, each with its summary).
Outputs: records, a polars frame, the CSV, the summary line.
Limits: a report written by an older version keeps the summary it had: the columns it did
not carry stay empty until the report is rendered again (`--force`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from analysis.data.files import atomic_output, escape_formulas
from analysis.viz.markup import prob

__all__ = [
    "COLUMNS",
    "RISK_THRESHOLD",
    "cohort_frame",
    "cohort_record",
    "risk_line",
    "write_cohort_csv",
]

RISK_THRESHOLD = 0.5
"""P(match anywhere) with the plan under which an applicant is at risk (judgement)."""

COLUMNS: dict[str, type[pl.DataType] | pl.DataType] = {
    "applicant_id": pl.String,
    "name": pl.String,
    "status": pl.String,
    "first_choice": pl.String,
    "target_specialties": pl.String,
    "visa_needed": pl.String,
    "step2_ck": pl.Int64,
    "step2_ck_status": pl.String,
    "usce_months": pl.Float64,
    "p_match_any_now": pl.Float64,
    "p_match_any_with_plan": pl.Float64,
    "p_match_any_with_plan_low": pl.Float64,
    "p_match_any_with_plan_high": pl.Float64,
    "first_choice_eligible_programs": pl.Int64,
    "rotations": pl.Int64,
    "rotation_cost_usd": pl.Int64,
    "application_fees_usd": pl.Int64,
    "at_risk": pl.Boolean,
    "risk_reason": pl.String,
    "report": pl.String,
    "error": pl.String,
}
"""The columns of `cohort.csv` (and of `cohort_frame`), in order, with their types."""

_PROBABILITIES = (
    "p_match_any_now",
    "p_match_any_with_plan",
    "p_match_any_with_plan_low",
    "p_match_any_with_plan_high",
)


def _number(value: Any) -> float | None:
    """A finite number, or None (a summary is JSON from a notebook: trust nothing)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _whole(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def risk(summary: Mapping[str, Any]) -> tuple[bool | None, str | None]:
    """(at risk?, why) from one summary; (None, None) when neither fact is known."""
    p_plan = _number(summary.get("p_match_any_with_plan"))
    eligible = _whole(summary.get("first_choice_eligible_programs"))
    first = _text(summary.get("first_choice")) or "the first choice"
    reasons = []
    if p_plan is not None and p_plan < RISK_THRESHOLD:
        reasons.append(f"{prob(p_plan)} with the plan, under {prob(RISK_THRESHOLD)}")
    if eligible == 0:
        reasons.append(f"no eligible program in {first}")
    if reasons:
        return True, "; ".join(reasons)
    if p_plan is None and eligible is None:
        return None, None
    return False, None


def _summary_fields(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The record's fields that come from the report's summary (None when absent)."""
    targets = summary.get("target_specialties") or []
    first = _text(summary.get("first_choice")) or next(
        (t for t in targets if isinstance(t, str)), None
    )
    status = summary.get("step2_ck_status")
    fields: dict[str, Any] = {
        "first_choice": first,
        "target_specialties": "; ".join(t for t in targets if isinstance(t, str)) or None,
        "visa_needed": _text(summary.get("visa_needed")),
        "step2_ck": _whole(summary.get("step2_ck")),
        "step2_ck_status": status if status in ("taken", "expected") else None,
        "usce_months": _number(summary.get("usce_months")),
        "p_match_any_now": _number(summary.get("p_match_any")),
        "first_choice_eligible_programs": _whole(summary.get("first_choice_eligible_programs")),
        "rotations": _whole(summary.get("rotations")),
        "rotation_cost_usd": _whole(summary.get("rotation_cost_usd")),
        "application_fees_usd": _whole(summary.get("application_fees_usd")),
    }
    for key in _PROBABILITIES[1:]:
        fields[key] = _number(summary.get(key))
    if summary.get("placeholder"):  # a template whose engine has not run: no numbers yet
        fields.update(dict.fromkeys((*_PROBABILITIES, "rotations"), None))
    return fields


def _summary(row: Any) -> dict[str, Any]:
    """The row's summary; the fields an index row carries itself fill in what it lacks."""
    own = {
        "target_specialties": list(getattr(row, "targets", ()) or ()),
        "p_match": dict(getattr(row, "p_match", None) or {}),
        "p_match_any": getattr(row, "p_match_any", None),
        "rotations": getattr(row, "rotations", None),
        "placeholder": getattr(row, "placeholder", False),
    }
    return own | dict(getattr(row, "summary", None) or {})


def cohort_record(row: Any) -> dict[str, Any]:
    """One applicant's record, keyed by `COLUMNS`, from an index row and its summary."""
    summary = _summary(row)
    failed = row.status == "failed"
    record: dict[str, Any] = dict.fromkeys(COLUMNS)
    record.update(
        applicant_id=row.applicant_id,
        name=row.name or row.label,
        status=row.status,
        report=None if failed else row.href,
        error=row.message if failed else None,
    )
    if not failed:
        record.update(_summary_fields(summary))
        placeholder = bool(summary.get("placeholder"))
        record["at_risk"], record["risk_reason"] = (None, None) if placeholder else risk(summary)
    return record


def cohort_frame(rows: Sequence[Any]) -> pl.DataFrame:
    """One row per applicant (`COLUMNS`), in the order of the run."""
    return pl.DataFrame([cohort_record(row) for row in rows], schema=COLUMNS, orient="row")


def write_cohort_csv(path: str | os.PathLike[str], rows: Sequence[Any]) -> Path:
    """Write `cohort.csv` atomically: numbers numeric, formula-like text escaped.

    Probabilities are rounded to 4 decimals (the index shows whole percents); unknown
    values are empty cells.
    """
    frame = cohort_frame(rows).with_columns(pl.col(_PROBABILITIES).round(4))
    target = Path(path)
    with atomic_output(target) as tmp:
        escape_formulas(frame).write_csv(tmp, null_value="")
    return target


def risk_line(frame: pl.DataFrame) -> str:
    """'2 of 6 applicants at risk' (failed reports and unknown risk named apart)."""
    reported = frame.filter(pl.col("status") != "failed")
    at_risk = int(reported["at_risk"].fill_null(False).sum())
    unknown = int(reported["at_risk"].is_null().sum())
    noun = "applicant" if frame.height == 1 else "applicants"
    line = f"{at_risk} of {frame.height} {noun} at risk"
    extra = []
    if frame.height - reported.height:
        extra.append(f"{frame.height - reported.height} without a report")
    if unknown:
        extra.append(f"{unknown} not assessed")
    return line + (f" ({', '.join(extra)})" if extra else "")


# --------------------------------------------------------------------------- the index page

VISA_LABELS = {"none": "none", "j1": "J-1", "h1b": "H-1B", "either": "J-1 or H-1B"}


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"{prob(low).rstrip('%')}\u2013{prob(high)}"


def _step2_text(score: int | None, status: str | None) -> str:
    return "" if score is None else f"{score}" + (" expected" if status == "expected" else "")


def _today_title(summary: Mapping[str, Any]) -> str:
    """The hover text of "P today": its 80% interval and P(match) per target specialty."""
    low, high = _number(summary.get("p_match_any_low")), _number(summary.get("p_match_any_high"))
    per_specialty = summary.get("p_match") if isinstance(summary.get("p_match"), dict) else {}
    parts = [f"80% interval {_interval(low, high) or 'unknown'}"]
    parts += [f"{code} {prob(_number(p), na='n/a')}" for code, p in per_specialty.items()]
    return " · ".join(parts)


def _cell_texts(record: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, str]:
    """What the dashboard writes in each cell of one applicant (plain text: Jinja escapes)."""
    from analysis.viz.markup import num, usd

    visa, targets, usce = record["visa_needed"], record["target_specialties"], record["usce_months"]
    return {
        "visa": VISA_LABELS.get(visa, visa) if visa else "",
        "step2": _step2_text(record["step2_ck"], record["step2_ck_status"]),
        "usce": "" if usce is None else num(usce, 1).removesuffix(".0"),
        "now": prob(record["p_match_any_now"], na=""),
        "now_title": _today_title(summary),
        "plan": prob(record["p_match_any_with_plan"], na=""),
        "interval": _interval(
            record["p_match_any_with_plan_low"], record["p_match_any_with_plan_high"]
        ),
        "rotation_cost": usd(record["rotation_cost_usd"], na="") if record["rotations"] else "",
        "fees": usd(record["application_fees_usd"], na=""),
        "others": ", ".join(targets.split("; ")[1:]) if targets else "",
    }


def dashboard_context(rows: Sequence[Any]) -> dict[str, Any]:
    """What the index template needs besides the rows: records, cell texts, filters, chart.

    Returns:
        entries (row, record, texts) per applicant, the frame, the risk line, the filter
        options (specialties with their names, visa needs) and the chart's vega-lite spec
        (None when no applicant has both numbers).
    """
    from analysis.data.vocabulary import specialty_name
    from analysis.viz.cohort import cohort_chart

    frame = cohort_frame(rows)
    entries = []
    for row, record in zip(rows, frame.iter_rows(named=True), strict=True):
        entries.append((row, record, _cell_texts(record, _summary(row))))
    codes: dict[str, None] = {}
    for record in frame.iter_rows(named=True):
        for code in (record["target_specialties"] or "").split("; "):
            if code:
                codes.setdefault(code, None)
    drawable = frame.filter(pl.col("p_match_any_now").is_not_null())
    spec = (
        cohort_chart(drawable, risk_threshold=RISK_THRESHOLD).to_dict()
        if drawable.filter(pl.col("p_match_any_with_plan").is_not_null()).height
        else None
    )
    return {
        "entries": entries,
        "risk_line": risk_line(frame),
        "specialty_options": [(code, specialty_name(code)) for code in sorted(codes)],
        "visa_options": [
            (visa, VISA_LABELS.get(visa, visa))
            for visa in sorted(set(frame["visa_needed"].drop_nulls().to_list()))
        ],
        "chart_spec": spec,
    }
