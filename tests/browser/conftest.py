"""Shared by the browser tests: Debian's Chromium (as the README installs it), one per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium with the PDF export's flags (nothing fetched in the background)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from analysis.report.pdf import BROWSER_ARGS

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(BROWSER_ARGS)
        )
        yield chromium
        chromium.close()
