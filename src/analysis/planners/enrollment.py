"""Student or graduate on each rotation date: who may take a visiting-student elective.

Visiting-student electives (AAMC VSLO and programs' own visiting-student applications)
require current enrollment in a medical school. The applicant is enrolled until graduation:
the last day of `graduation_month` (default May) of `graduation_year`
(`ApplicantProfile.graduation_date`). So a rotation from `start` to `end` is

- a visiting elective only when it ends on or before graduation (`end <= graduation`);
- open to the options for graduates (externships where offered, observerships, research
  positions; `params/rotations.yaml` `graduate_options`) only when it starts after graduation;
- neither when it would straddle graduation.

Source: `params/rotations.yaml` `enrollment`. Known limit: the profile gives a month, not the
day of graduation; schools that graduate early in the month close the last weeks earlier.
"""

from __future__ import annotations

import datetime as dt

from analysis.data.schemas import ApplicantProfile

VISITING = "visiting_elective"
GRADUATE = "graduate"
KINDS = ("visiting_elective", "graduate_externship", "observership", "research")
HANDS_ON = {"visiting_elective": True, "graduate_externship": True, "observership": False,
            "research": False}  # fmt: skip
"""Whether each kind of rotation is hands-on clinical experience (observerships never are)."""
KIND_LABELS = {
    "visiting_elective": "visiting elective",
    "graduate_externship": "externship for graduates",
    "observership": "observership",
    "research": "research position",
}
"""How each kind of rotation is named wherever a plan is shown (command line, report)."""


def status_for(applicant: ApplicantProfile, start: dt.date, end: dt.date) -> str | None:
    """'visiting_elective' when the rotation ends by graduation, 'graduate' when it starts
    after it, None when it would straddle graduation."""
    graduation = applicant.graduation_date
    if end <= graduation:
        return VISITING
    if start > graduation:
        return GRADUATE
    return None


def split_months(
    applicant: ApplicantProfile, months: list[dt.date], rotation_days: int
) -> tuple[list[dt.date], list[dt.date]]:
    """The window's months a visiting elective can use, and those open to graduates."""
    visiting, graduate = [], []
    for month in months:
        status = status_for(applicant, month, month + dt.timedelta(days=rotation_days - 1))
        if status == VISITING:
            visiting.append(month)
        elif status == GRADUATE:
            graduate.append(month)
    return visiting, graduate


def enrollment_note(
    applicant: ApplicantProfile, visiting: list[dt.date], graduate: list[dt.date], as_of: dt.date
) -> str | None:
    """One plain sentence on what enrollment allows, when it matters (None otherwise)."""
    graduation = applicant.graduation_date
    when = f"{graduation:%B %Y}"
    rule = (
        "visiting-student electives (AAMC VSLO and programs' own visiting-student "
        "applications) need current enrollment in a medical school"
    )
    if graduation < as_of:
        return (
            f"You graduated in {when}: {rule}, so none is planned; the plan uses what graduates "
            "can do: hands-on externships where programs offer them to graduates, observerships "
            "(no patient care: not hands-on experience) and research positions."
        )
    if graduate and visiting:
        return (
            f"You graduate in {when}: {rule}, so visiting electives are planned only in months "
            "that end by graduation; later months use what graduates can do (externships where "
            "offered, observerships, research positions)."
        )
    if graduate:
        return (
            f"You graduate in {when}, before the first month left for a rotation: {rule}, so "
            "the plan uses what graduates can do (externships where offered, observerships, "
            "research positions)."
        )
    return None
