"""Re-execute the notebooks from their jupytext scripts and store the outputs nbval compares.

Usage (from the repository root):

    .venv/bin/python tests/notebooks/refresh.py            # every notebook
    .venv/bin/python tests/notebooks/refresh.py 02 03      # names starting with 02 or 03

For each `notebooks/<name>.py` (jupytext percent format, the file to edit), this writes
`notebooks/<name>.ipynb` with the same cells, executes it in `notebooks/` with the current
Python environment (so `analysis` is this checkout), and saves the outputs. The saved
notebook carries no execution timings and no widget state (widget model ids are random and
live panels need a kernel anyway), so re-running it on an unchanged checkout rewrites the same
bytes. nbval (`make test`) then re-executes the notebooks and compares their outputs with
these. Run this after changing a notebook or the code its outputs come from, look at the
diff, and commit both files of each pair.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "python3"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def refresh(script: Path) -> Path:
    """Write and execute the notebook paired with a jupytext script; return its path."""
    target = script.with_suffix(".ipynb")
    nb = jupytext.read(script)
    _stable_ids(nb, target)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": KERNEL,
    }
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    nb.metadata["jupytext"].pop("notebook_metadata_filter", None)  # keep the header
    jupytext.write(nb, script, fmt="py:percent")  # the script in canonical form, paired
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        record_timing=False,
        store_widget_state=False,
    )
    client.execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if data.pop(WIDGET_VIEW, None) is not None:  # its model id is random
                data["text/plain"] = "(interactive panel: run the notebook in JupyterLab)"
    nb.metadata.get("language_info", {}).pop("version", None)
    nbformat.validate(nb)
    jupytext.write(nb, target, fmt="ipynb")
    return target


def _stable_ids(nb: nbformat.NotebookNode, previous: Path) -> None:
    """Cell ids that do not change between refreshes: the previous notebook's id of a cell
    with the same type and source, else one derived from them (jupytext draws random ones)."""
    known: dict[tuple[str, str], str] = {}
    if previous.exists():
        for cell in nbformat.read(previous, as_version=4).cells:
            known.setdefault((cell.cell_type, cell.source), cell.get("id", ""))
    used: set[str] = set()
    for cell in nb.cells:
        key = (cell.cell_type, cell.source)
        cell_id = known.get(key) or hashlib.sha1("\0".join(key).encode()).hexdigest()[:8]
        while cell_id in used:
            cell_id = hashlib.sha1(cell_id.encode()).hexdigest()[:8]
        used.add(cell_id)
        cell["id"] = cell_id


def main(prefixes: list[str]) -> None:
    scripts = sorted(p for p in NOTEBOOKS.glob("*.py") if p.with_suffix(".ipynb").exists()
                     or prefixes)  # fmt: skip
    if prefixes:
        scripts = [p for p in scripts if any(p.stem.startswith(x) for x in prefixes)]
    for script in scripts:
        started = time.perf_counter()
        path = refresh(script)
        print(f"{path.relative_to(ROOT)}: executed in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
