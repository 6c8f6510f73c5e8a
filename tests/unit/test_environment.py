"""environment.yml (conda users) describes the same environment as pyproject.toml."""

from __future__ import annotations

import tomllib

import yaml

from analysis.config import REPO_ROOT


def _pip_section() -> list[str]:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text(encoding="utf-8"))
    for item in env["dependencies"]:
        if isinstance(item, dict) and "pip" in item:
            return item["pip"]
    raise AssertionError("environment.yml has no pip section")


def test_environment_yml_lists_exactly_the_pyproject_dependencies():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = set(project["dependencies"])
    for deps in project["optional-dependencies"].values():
        wanted |= {d for d in deps if not d.startswith("imgmatch")}
    listed = set(_pip_section()) - {"-e ."}
    assert listed == wanted, (
        f"only in pyproject: {sorted(wanted - listed)}; only in environment.yml: "
        f"{sorted(listed - wanted)}"
    )


def test_environment_yml_pins_the_same_python_and_installs_the_package():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text(encoding="utf-8"))
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert f"python{project['requires-python']}" in env["dependencies"]
    assert "-e ." in _pip_section()
