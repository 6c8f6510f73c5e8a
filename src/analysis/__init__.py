"""imgmatch: a data-driven residency planner for international medical graduates.

The public API, re-exported lazily so that `import analysis` stays fast (polars, altair and
pandera are imported only by the functions that need them):

    >>> import analysis
    >>> programs = analysis.load_programs("data/demo/programs.csv")
    >>> applicant = analysis.load_applicant("data/demo/applicants/amira_ir.yaml")
    >>> analysis.score_programs(programs, visa_needed="j1")        # where am I welcome?
    >>> analysis.match_chances(applicant, programs)                 # what are my chances?
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # errors and contracts
    "DataValidationError": "analysis.errors",
    "Problem": "analysis.errors",
    "ApplicantProfile": "analysis.schemas",
    "program_columns": "analysis.schemas",
    "specialties": "analysis.schemas",
    # loading and saving
    "load_programs": "analysis.io",
    "save_programs": "analysis.io",
    "load_applicant": "analysis.io",
    "load_applicants": "analysis.io",
    "iter_applicants": "analysis.io",
    "inspect_programs": "analysis.io",
    "ensure_programs": "analysis.io",
    "summarize_programs": "analysis.io",
    "LoadInfo": "analysis.io",
    "reference_table": "analysis.config",
    # engine
    "score_programs": "analysis.friendliness",
    "interview_chances": "analysis.probability",
    "match_chances": "analysis.probability",
    "application_curve": "analysis.probability",
    "what_if": "analysis.probability",
    # calibration and demo data
    "interview_rate_calibration": "analysis.calibration",
    "match_rate_calibration": "analysis.calibration",
    "difficulty_order": "analysis.calibration",
    "generate_programs": "analysis.demo_data",
    "write_demo_data": "analysis.demo_data",
    "calibration_table": "analysis.demo_data",
    "MatchModel": "analysis.probability",
    "chances_batch": "analysis.probability",
    "component_contributions": "analysis.friendliness",
    # planners
    "plan_rotations": "analysis.rotations",
    "plan_backup": "analysis.backup",
    "build_timeline": "analysis.timeline",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
