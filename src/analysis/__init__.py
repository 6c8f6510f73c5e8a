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
    "ApplicantProfile": "analysis.data.schemas",
    "program_columns": "analysis.data.schemas",
    "specialties": "analysis.data.vocabulary",
    # loading and saving
    "load_programs": "analysis.data.programs",
    "save_programs": "analysis.data.files",
    "load_applicant": "analysis.data.applicants",
    "load_applicants": "analysis.data.applicants",
    "iter_applicants": "analysis.data.applicants",
    "inspect_programs": "analysis.data.programs",
    "ensure_programs": "analysis.data.programs",
    "summarize_programs": "analysis.data.programs",
    "LoadInfo": "analysis.data.programs",
    "reference_table": "analysis.config",
    # engine
    "score_programs": "analysis.model.friendliness",
    "interview_chances": "analysis.model.probability",
    "match_chances": "analysis.model.probability",
    "application_curve": "analysis.model.probability",
    "levers": "analysis.planners.levers",
    # calibration and demo data
    "interview_rate_calibration": "analysis.model.calibration",
    "match_rate_calibration": "analysis.model.calibration",
    "difficulty_order": "analysis.model.calibration",
    "generate_programs": "analysis.data.demo",
    "write_demo_data": "analysis.data.demo",
    "calibration_table": "analysis.data.demo_checks",
    "MatchModel": "analysis.model.probability",
    "chances_batch": "analysis.model.engine",
    "component_contributions": "analysis.model.friendliness",
    # planners
    "plan_rotations": "analysis.planners.rotations",
    "plan_backup": "analysis.planners.backup",
    "build_timeline": "analysis.planners.timeline",
    # program signals
    "signal_rules": "analysis.data.signal_rules",
    "signal_plan": "analysis.planners.signals",
    "plan_signals": "analysis.planners.signal_optimizer",
    "evaluate_signals": "analysis.planners.signal_choice",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
