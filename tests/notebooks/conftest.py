"""Notebook tests: the nbval cells are marked slow.

nbval (configured in pyproject.toml: `--nbval` on `notebooks/`) turns every code cell of the
four notebooks into a test item. Together they take 20-30 s (four kernels, the calibration
cohorts), so they carry the `slow` mark: `make test-fast` (`-m "not slow"`) skips them and
`make test` runs them.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the nbval cell items (from any notebook) as slow."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
