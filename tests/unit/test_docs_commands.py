"""The README's commands and the Makefile say what a new user needs, and match `--help`.

A new user once ran `make report` and then `imgmatch`, which is not on the PATH (it lives in
`.venv/bin/`), and the first install printed nothing for minutes. These tests read the
README and a dry run of the Makefile (`make -n` with an environment that does not exist, so
the whole first-install chain is printed) the way that user would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 3)
    return README[start : end if end > 0 else None]


@pytest.fixture(scope="module")
def first_report(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """What `make report` runs on a machine without the environment (dry run)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path_factory.mktemp("fresh") / ".venv"
    # as a user's shell runs it, also when the tests themselves run under `make test`
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "report", f"VENV={venv}"], cwd=ROOT,
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return [line.replace(str(venv), ".venv") for line in done.stdout.splitlines()]


def test_first_install_says_what_it_does_before_the_long_wait(first_report: list[str]) -> None:
    installs = [i for i, line in enumerate(first_report) if "pip install" in line and "-e" in line]
    assert installs, first_report
    for i in installs:
        assert "--quiet" not in first_report[i] and " -q" not in first_report[i]
        assert any("several minutes" in line for line in first_report[:i])


def test_make_report_says_where_imgmatch_is(first_report: list[str]) -> None:
    told = [line for line in first_report if "not on your PATH" in line]
    assert told and ".venv/bin/imgmatch" in told[-1] and "source .venv/bin/activate" in told[-1]
    assert first_report[-1] == told[-1]  # the last thing make report prints


def test_readme_says_how_to_run_imgmatch() -> None:
    text = section("Two commands")
    assert ".venv/bin/imgmatch --help" in text and "source .venv/bin/activate" in text


def test_readme_starts_a_dask_cluster_as_the_cluster_test_does() -> None:
    text = section("The command line")
    assert ".venv/bin/dask scheduler" in text
    assert ".venv/bin/dask worker tcp://127.0.0.1:8786 --nworkers 2" in text
    assert "imgmatch report --scheduler tcp://127.0.0.1:8786" in text
    test = (ROOT / "tests" / "unit" / "test_report_cluster.py").read_text(encoding="utf-8")
    assert '"scheduler"' in test and '"worker", address, "--nworkers", "2"' in test


def readme_commands() -> list[tuple[str, list[str]]]:
    block = section("The command line").split("```bash", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        words = line.split("#")[0].split()
        if words and words[0] == "imgmatch":
            commands.append(
                (words[1], [w.strip("[]") for w in words if w.startswith(("--", "[--"))])
            )
    return commands


@pytest.mark.parametrize("command, options", readme_commands())
def test_every_readme_command_and_option_is_in_help(command: str, options: list[str]) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    shown = set(re.findall(r"--[a-z][a-z-]*", result.output))
    assert set(options) <= shown, set(options) - shown
