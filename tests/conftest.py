"""Shared test fixtures: paths to the synthetic fixture files, rendered for today's date.

Applicant fixtures hold `$match_year` / `$future_year` placeholders because the profile
contract accepts match years relative to the current year; `applicant_fixture` renders a
file into `tmp_path` with next year's Match, so the tests do not rot.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES_DIR = Path(__file__).parent / "fixtures"


def fixture_years() -> dict[str, int]:
    """The values substituted into applicant fixtures."""
    year = dt.date.today().year
    return {"match_year": year + 1, "future_year": year + 4}


@pytest.fixture
def fixtures_dir() -> Path:
    """`tests/fixtures/`."""
    return FIXTURES_DIR


@pytest.fixture
def program_fixture() -> Callable[[str], Path]:
    """Path of a program-table fixture: `program_fixture("tracker_ir.csv")`."""

    def get(name: str) -> Path:
        path = FIXTURES_DIR / "programs" / name
        assert path.is_file(), f"no program fixture {name}"
        return path

    return get


@pytest.fixture
def applicant_fixture(tmp_path: Path) -> Callable[..., Path]:
    """Render an applicant fixture into `tmp_path` (or `folder`) and return its path."""

    def render(name: str, folder: Path | None = None, as_name: str | None = None) -> Path:
        source = FIXTURES_DIR / "applicants" / name
        text = string.Template(source.read_text(encoding="utf-8")).safe_substitute(fixture_years())
        target_dir = folder or tmp_path
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / (as_name or name)
        target.write_text(text, encoding="utf-8")
        return target

    return render
