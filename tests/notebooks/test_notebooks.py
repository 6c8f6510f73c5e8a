"""The notebooks: jupytext pairs in sync, conventions, clean saved outputs, the report
template's contract, escaping of hostile applicant data, and every chart rendering offline.

nbval (pyproject.toml) re-executes the notebooks and compares their outputs with the saved
ones; these tests check what nbval does not: how the notebooks are written and what their
saved outputs may contain. Refresh the saved outputs with `tests/notebooks/refresh.py`.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import struct
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_NAMES = (
    "01_program_explorer",
    "02_img_friendliness",
    "03_match_model",
    "04_validation",
    "05_market",
    "applicant_report",
)
ARTIFACTS = ROOT / "tests" / "artifacts" / "notebooks"
SUMMARY_MIMETYPE = "application/vnd.imgmatch.summary+json"
VEGALITE = re.compile(r"^application/vnd\.vegalite\.v\d+\+json$")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_NOTE = '" onmouseover="x'
HOSTILE_CITIZENSHIP = "<img src=x onerror=alert(2)>"


def _notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _code_cells(nb: nbformat.NotebookNode) -> list[Any]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _output_texts(nb: nbformat.NotebookNode) -> list[str]:
    """Every output as text (JSON for structured data)."""
    texts = []
    for cell in _code_cells(nb):
        for output in cell.get("outputs", []):
            if "text" in output:
                texts.append(str(output["text"]))
            for value in output.get("data", {}).values():
                texts.append(value if isinstance(value, str) else json.dumps(value))
    return texts


# --------------------------------------------------------------------------- pairs


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_and_its_jupytext_script_have_the_same_cells(name: str) -> None:
    script = NOTEBOOKS / f"{name}.py"
    assert script.is_file(), f"{name}.ipynb has no jupytext pair {script.name}"
    nb = _notebook(name)
    paired = jupytext.read(script)
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    assert paired.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"

    def shape(notebook: Any) -> list[tuple[str, str, list[str]]]:
        return [(c.cell_type, c.source.strip(), _tags(c)) for c in notebook.cells]

    ours, theirs = shape(nb), shape(paired)
    assert len(ours) == len(theirs), f"{name}: {len(ours)} cells in .ipynb, {len(theirs)} in .py"
    for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == b, f"{name}: cell {index} differs between the .ipynb and the .py"


def test_every_notebook_in_the_folder_is_tested() -> None:
    found = {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    assert found == set(NOTEBOOK_NAMES)


# --------------------------------------------------------------------------- conventions


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_opens_with_purpose_inputs_and_outputs(name: str) -> None:
    first = _notebook(name).cells[0]
    assert first.cell_type == "markdown"
    for word in ("Purpose", "Inputs", "Outputs"):
        assert f"**{word}" in first.source, f"{name}: the first cell does not state {word}"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_code_is_thin(name: str) -> None:
    for index, cell in enumerate(_notebook(name).cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defined = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ]
        assert not defined, f"{name} cell {index}: defines {defined[0].name}: move it to analysis/"
        lines = [line for line in cell.source.splitlines() if line.strip()]
        assert len(lines) <= 16, f"{name} cell {index}: {len(lines)} lines; keep cells short"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_every_chart_and_table_is_introduced_by_markdown(name: str) -> None:
    cells = _notebook(name).cells
    for index, cell in enumerate(cells):
        shows = cell.cell_type == "code" and any(
            "text/html" in o.get("data", {}) or any(VEGALITE.match(k) for k in o.get("data", {}))
            for o in cell.get("outputs", [])
        )
        if shows:
            before = cells[max(0, index - 3) : index]
            assert any(c.cell_type == "markdown" for c in before), (
                f"{name} cell {index} shows a table or chart with no markdown saying what it means"
            )


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_saved_outputs_are_clean_and_in_order(name: str) -> None:
    nb = _notebook(name)
    assert "widgets" not in nb.metadata, "widget state (random ids) saved in the notebook"
    counts = []
    for index, cell in enumerate(_code_cells(nb)):
        assert "execution" not in cell.metadata, f"{name}: timings saved in cell {index}"
        counts.append(cell.execution_count)
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{name}: code cell {index} saved an error"
            assert WIDGET_VIEW not in output.get("data", {}), f"{name}: widget view saved"
            if output.output_type == "stream":
                assert output.name != "stderr", f"{name}: code cell {index} wrote to stderr"
    assert counts == list(range(1, len(counts) + 1)), f"{name}: not run top to bottom once"
    text = "\n".join(_output_texts(nb))
    for absolute in (str(ROOT), "/home/", "/tmp/", "/Users/"):
        assert absolute not in text, f"{name}: an output holds an absolute path ({absolute})"
    today = dt.date.today().isoformat()
    # dates in chart data are embedded as local midnight (charts._json_ready): not timestamps
    stamp = re.search(r"\d{4}-\d{2}-\d{2}[T ](?!00:00:00)\d{2}:\d{2}", text)
    assert not stamp, f"{name}: timestamp saved: {stamp.group() if stamp else ''}"
    if today != "2026-11-01":  # the notebooks' fixed plan date
        assert today not in text, f"{name}: today's date in an output (pass as_of instead)"
    assert "altair-viz-" not in text, f"{name}: Altair's random-id HTML output (use the renderer)"


def test_widgets_stay_out_of_the_report_template() -> None:
    code = "\n".join(cell.source for cell in _code_cells(_notebook("applicant_report")))
    assert "ipywidgets" not in code and "program_explorer" not in code


# --------------------------------------------------------------------------- report contract


def test_report_parameters_are_annotated_literals_with_comments() -> None:
    cells = [c for c in _code_cells(_notebook("applicant_report")) if "parameters" in _tags(c)]
    assert len(cells) == 1
    source = cells[0].source
    tree = ast.parse(source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), "parameters cell: only `name: type = literal`"
        assert isinstance(node.value, ast.Constant), f"{ast.unparse(node)}: not a literal"
        assert ast.unparse(node.annotation) == "str"
        names.append(node.target.id)  # type: ignore[union-attr]
    assert names == ["applicant_file", "programs_file", "as_of"]
    for line in source.splitlines():
        assert re.search(r"\S\s+#\s+\S", line), f"parameter without a comment: {line}"


def test_papermill_lists_the_report_parameters_with_types() -> None:
    import papermill

    inferred = papermill.inspect_notebook(str(NOTEBOOKS / "applicant_report.ipynb"))
    assert list(inferred) == ["applicant_file", "programs_file", "as_of"]
    for name, info in inferred.items():
        assert info["inferred_type_name"] == "str", name
        assert info["help"], f"{name} has no help text"


def test_report_summary_is_the_last_code_cell_and_keeps_the_index_contract() -> None:
    from analysis.report.outputs import ReportSummary
    from analysis.report.runner import PARAMETERS, load_template

    path = NOTEBOOKS / "applicant_report.ipynb"
    template, warnings = load_template(path)
    assert warnings == [] and template.declared >= set(PARAMETERS)
    last = _code_cells(_notebook("applicant_report"))[-1]
    assert "summary" in _tags(last)
    outputs = [o for o in last.outputs if SUMMARY_MIMETYPE in o.get("data", {})]
    assert len(outputs) == 1
    summary = outputs[0]["data"][SUMMARY_MIMETYPE]
    parsed = ReportSummary.model_validate(summary)
    assert parsed.applicant_id == "amira_ir" and not parsed.placeholder
    assert set(parsed.p_match) == set(parsed.target_specialties) == {"IR", "DR", "IM"}
    assert 0 < parsed.p_match_any < 1 and parsed.rotations is not None
    for row in summary["data_sources"]:
        assert {"source", "programs", "oldest_verified", "newest_verified"} <= set(row)


# --------------------------------------------------------------------------- report runs


def _hostile_profile(tmp_path: Path, variant: str) -> Path:
    import yaml

    year = dt.date.today().year + 1
    profile: dict[str, Any] = {
        "applicant_id": f"hostile_{variant}",
        "name": HOSTILE_NAME,
        "citizenship": HOSTILE_CITIZENSHIP,
        "graduation_year": year - 3,
        "step2_score": 238,
        "usce_months": 2,
        "match_year": year,
        "notes": HOSTILE_NOTE,
    }
    if variant == "j1":
        profile |= {"visa_needed": "j1", "target_specialties": ["IR", "DR", "IM"],
                    "us_letters": {"IR": 1}, "budget_usd": 5000}  # fmt: skip
    else:  # a US IMG, no budget, one completed rotation at a known program
        profile |= {
            "visa_needed": "none",
            "target_specialties": ["FM", "PSYCH"],
            "completed_rotations": [{"specialty": "FM", "program_id": "DEMO-FM-0001"}],
        }
    path = tmp_path / f"{variant}.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["j1", "us_img"])
def test_report_runs_and_escapes_hostile_applicant_data(tmp_path: Path, variant: str) -> None:
    import papermill

    from analysis.report.html import Footer, export_report, prepare_notebook

    profile = _hostile_profile(tmp_path, variant)
    executed = papermill.execute_notebook(
        str(NOTEBOOKS / "applicant_report.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters={
            "applicant_file": str(profile),
            "programs_file": str(ROOT / "data" / "demo" / "programs.csv"),
            "as_of": "2026-11-01",
        },
        cwd=str(NOTEBOOKS),
        progress_bar=False,
        log_output=False,
        kernel_name="python3",
    )
    html_outputs = [
        output["data"]["text/html"]
        for cell in _code_cells(executed)
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {})
    ]
    joined = "\n".join(html_outputs)
    for raw in (HOSTILE_NAME, HOSTILE_NOTE, HOSTILE_CITIZENSHIP):
        assert raw not in joined, f"unescaped user data in an HTML output: {raw}"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in joined  # shown, as text
    assert "&quot; onmouseover=&quot;x" in joined
    shown, summary = prepare_notebook(executed)
    assert summary is not None and summary["name"] == HOSTILE_NAME  # data, not markup
    assert summary["applicant_id"] == f"hostile_{variant}"
    page = export_report(
        shown,
        title="test",
        footer=Footer(dt.datetime(2026, 11, 1), "0", "2026-11-01", "programs.csv", "x", "t"),
    )
    for raw in (HOSTILE_NAME, HOSTILE_CITIZENSHIP, 'onmouseover="x'):
        at = page.find(raw)
        assert at < 0, f"unescaped {raw!r} in the exported report: ...{page[at - 300 : at + 80]}"
    assert WIDGET_VIEW not in json.dumps(executed)


# --------------------------------------------------------------------------- charts


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_every_saved_chart_renders_offline(name: str) -> None:
    """Render each chart output to tests/artifacts/notebooks/<name>/ (look at them)."""
    import vl_convert

    out = ARTIFACTS / name
    out.mkdir(parents=True, exist_ok=True)
    rendered = 0
    for index, cell in enumerate(_notebook(name).cells):
        for output in cell.get("outputs", []):
            for mimetype, spec in output.get("data", {}).items():
                if not VEGALITE.match(mimetype):
                    continue
                png = vl_convert.vegalite_to_png(spec, scale=1.5, allowed_base_urls=[])
                width, height = _png_size(png)
                assert width >= 400 and height >= 150, f"{name} cell {index}: {width}x{height}"
                (out / f"cell{index:02d}.png").write_bytes(png)
                rendered += 1
    assert rendered >= 3, f"{name}: only {rendered} charts"
