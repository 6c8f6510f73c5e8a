"""Where things are, and the one way to read reference tables and model parameters.

Reference tables (public NRMP/AAMC figures, each row with its source and grade) live in
`data/reference/`; model parameters (weights, priors, effect sizes, dates), each documented
in place, live in `src/analysis/params/*.yaml`. Both are read through this module and cached,
so the rest of the package never builds a path by hand.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]
PARAMS_DIR = PACKAGE_DIR / "params"


def reference_dir() -> Path:
    """The folder of reference CSVs: `$IMGMATCH_REFERENCE_DIR`, the repository, or the wheel."""
    override = os.environ.get("IMGMATCH_REFERENCE_DIR")
    if override:
        return Path(override)
    in_repo = REPO_ROOT / "data" / "reference"
    if in_repo.is_dir():
        return in_repo
    return PACKAGE_DIR / "_reference"


def data_dir() -> Path:
    """The repository's `data/` folder (demo data, private data)."""
    return REPO_ROOT / "data"


def demo_programs_path() -> Path:
    """The committed synthetic national program table."""
    return data_dir() / "demo" / "programs.csv"


def demo_applicants_dir() -> Path:
    """The committed demo applicant profiles."""
    return data_dir() / "demo" / "applicants"


def notebooks_dir() -> Path:
    """The repository's notebooks (the report template lives there)."""
    return REPO_ROOT / "notebooks"


def report_template_path() -> Path:
    """The papermill template run once per applicant."""
    in_repo = notebooks_dir() / "applicant_report.ipynb"
    if in_repo.is_file():
        return in_repo
    return PACKAGE_DIR / "_templates" / "applicant_report.ipynb"


@functools.cache
def reference_table(name: str):  # -> polars.DataFrame (import kept lazy for start-up time)
    """Read `data/reference/<name>.csv` as a polars frame (cached; do not mutate).

    Every reference table carries `source` and `source_grade` columns per row (grade A:
    official source seen directly; B: secondary page quoting official data; C: third-party,
    rounded or derived; project: a project-authored mapping).
    """
    import polars as pl

    path = reference_dir() / f"{name}.csv"
    if not path.is_file():
        available = sorted(p.stem for p in reference_dir().glob("*.csv"))
        raise FileNotFoundError(
            f"no reference table {name!r} in {reference_dir()}; have {available}"
        )
    return pl.read_csv(path, infer_schema_length=None)


@functools.cache
def load_params(name: str) -> dict[str, Any]:
    """Read the documented parameter file `src/analysis/params/<name>.yaml` (cached)."""
    import yaml

    path = PARAMS_DIR / f"{name}.yaml"
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)
