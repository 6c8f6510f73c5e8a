"""Self-contained, offline, safe HTML: one applicant's executed notebook, and the cohort index.

Method:
- Charts. In the kernel, `enable_chart_renderer` makes Altair emit plain vega-lite JSON
  (mimetype `application/vnd.vegalite.v5+json`, which JupyterLab renders natively and nbval
  compares deterministically; Altair 6's own `mimetype` renderer emits
  `application/vnd.vegalite.v6.json`, which nbformat rejects). At export, every vega or
  vega-lite output (any of the v*+json / v*.json mimetypes) becomes a `<div>` plus a
  `vegaEmbed` call whose spec is embedded as script-safe JSON (`<`, `>`, `&`, U+2028 and
  U+2029 escaped, so no `</script>` or `<!--` in user data can break out).
- Libraries. vega, vega-lite and vega-embed (`vl_convert.javascript_bundle()`, 0.9 MB) are
  inlined once per page, wrapped in a function so their top-level names cannot clash, with
  `</script` and `<!--` escaped. Nothing is fetched from the network: the nbconvert template
  (`templates/nbconvert/imgmatch_report`, extending `lab`) empties the require.js, MathJax,
  Mermaid and widget blocks, and the chart actions that open the online Vega editor are off.
- Summary. The template's last code cell (tagged `summary`) displays one output of mimetype
  `application/vnd.imgmatch.summary+json`; `prepare_notebook` reads it for the index and removes
  it, together with the parameters cells and code cells left without output, before export.
- Code is hidden (`exclude_input`), prompts too; a footer states the generation date, the
  package version, the plan date and the program table.

Escaping: every string from user data is escaped where it lands. In this module: the page
title and footer (Jinja `e`), chart specs (script-safe JSON), the whole index page (Jinja
autoescape on; sorting reads the DOM, no data in scripts). Text outputs, streams and
tracebacks are escaped by nbconvert (`ansi2html`). HTML and Markdown outputs produced by the
template's cells are inserted as produced: the package functions that produce them (polars
and pandas HTML reprs escape cell values) must escape, and a template must not put user data
into Markdown unescaped.

Inputs: executed notebooks (nbformat nodes); index rows. Outputs: HTML strings.
Limits: each report carries the 0.9 MB chart bundle and the JupyterLab CSS (about 1.2 MB per
file); widgets are not supported in reports (their manager would load from a CDN).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
NBCONVERT_TEMPLATE = "imgmatch_report"
INDEX_TEMPLATE = "index.html.j2"

SUMMARY_MIMETYPE = "application/vnd.imgmatch.summary+json"
SUMMARY_TAG = "summary"
CHART_MIMETYPE = "application/vnd.vegalite.v5+json"
"""What `enable_chart_renderer` emits: the vega-lite mimetype JupyterLab 4 renders natively."""

_VEGA_MIMETYPE = re.compile(
    r"^application/vnd\.vega(?P<lite>lite)?\.v(?P<major>\d+)(?:\+json|\.json)$"
)
_DROPPED_TAGS = frozenset({"parameters", "injected-parameters", "remove-cell"})
_SCRIPT_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SCRIPT_JSON_PATTERN = re.compile("[<>&\u2028\u2029]")
_EMBED_OPTIONS = {
    "renderer": "svg",
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}


# --------------------------------------------------------------------------- escaping


def script_json(value: Any) -> str:
    """JSON that is safe inside a `<script>` element (and valid JSON and JavaScript).

    `<`, `>` and `&` become `\\u003c`, `\\u003e`, `\\u0026`, so no `</script>`, `<!--` or
    `]]>` in the data can end the script; U+2028/U+2029 are escaped for old JavaScript parsers.
    Non-finite floats are written as `null` would be by a browser's `JSON.stringify`.
    """
    text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))
    return _SCRIPT_JSON_PATTERN.sub(lambda match: _SCRIPT_JSON_ESCAPES[match.group()], text)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def escape_inline_script(code: str) -> str:
    """Make JavaScript source safe to inline in `<script>`: escape `</script` and `<!--`."""
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\!--")


_BUNDLE_LOCK = threading.Lock()
_BUNDLE: list[str] = []
_BUNDLE_MARKER = f"/*imgmatch-vega-bundle-{secrets.token_hex(8)}*/"


def vega_bundle() -> str:
    """vega + vega-lite + vega-embed from vl-convert, ready to inline once per page (cached).

    Wrapped in a function so the bundle's top-level `const`s stay private; it publishes
    `window.vega`, `window.vegaLite` and `window.vegaEmbed` itself. The first call in a
    process costs about 2.5 s (vl-convert builds the bundle; the batch runner starts it in
    the background while kernels start), later calls nothing. Thread-safe.
    """
    with _BUNDLE_LOCK:
        if not _BUNDLE:
            import vl_convert

            code = vl_convert.javascript_bundle()
            _BUNDLE.append("(function(){\n" + escape_inline_script(code) + "\n})();")
        return _BUNDLE[0]


@functools.cache
def vega_versions() -> dict[str, str]:
    """The vega/vega-lite/vega-embed versions Altair expects (for `VEGA_DEBUG`).

    Defining `VEGA_DEBUG` with these makes Altair's own `html` renderer output (if a
    template enables it) use the inlined libraries instead of loading them from a CDN.
    """
    from altair.vegalite.v6 import display

    return {
        "vega_version": display.VEGA_VERSION,
        "vegalite_version": display.VEGALITE_VERSION,
        "vegaembed_version": display.VEGAEMBED_VERSION,
    }


# --------------------------------------------------------------------------- Altair renderer


def _chart_bundle(spec: dict[str, Any], **_metadata: Any) -> dict[str, Any]:
    return {CHART_MIMETYPE: spec, "text/plain": "<Altair chart (vega-lite)>"}


def enable_chart_renderer() -> None:
    """Make Altair display charts as plain vega-lite JSON (the `imgmatch` renderer).

    Call it once in a notebook (the report runner calls it in every report's kernel). The
    output is deterministic (no random element ids), JupyterLab draws it natively, nbval can
    compare it, and `prepare_notebook` turns it into an offline interactive chart.
    """
    import altair as alt

    if "imgmatch" not in alt.renderers.names():
        alt.renderers.register("imgmatch", _chart_bundle)
    for registry, name in (
        (alt.renderers, "imgmatch"),
        (alt.data_transformers, "default"),
        (alt.theme, "default"),
    ):
        if registry.active != name or registry.options:
            registry.enable(name)


# --------------------------------------------------------------------------- notebook to HTML


def _summary_in(output: Mapping[str, Any]) -> Any:
    data = (
        output.get("data")
        if output.get("output_type") in ("display_data", "execute_result")
        else None
    )
    if not data or SUMMARY_MIMETYPE not in data:
        return None
    value = data[SUMMARY_MIMETYPE]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def extract_summary(nb: Any) -> dict[str, Any] | None:
    """The summary dict the template displayed (mimetype `SUMMARY_MIMETYPE`), or None.

    The output of the cell tagged `summary` wins; otherwise the last such output anywhere.
    """
    found: dict[str, Any] | None = None
    tagged: dict[str, Any] | None = None
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        is_tagged = SUMMARY_TAG in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            value = _summary_in(output)
            if isinstance(value, dict):
                found = value
                if is_tagged:
                    tagged = value
    return tagged if tagged is not None else found


def _chart_html(spec: Any, element_id: str, mode: str) -> str:
    options = dict(_EMBED_OPTIONS, mode=mode)
    return (
        f'<div class="imgmatch-chart" id="{element_id}"></div>\n'
        "<script>(function(){"
        f'var el=document.getElementById("{element_id}");'
        "if(typeof vegaEmbed!=='function'){el.textContent='Chart library missing.';"
        "console.error('imgmatch: vegaEmbed is not loaded');return;}"
        f"vegaEmbed(el,{script_json(spec)},{script_json(options)})"
        ".catch(function(err){el.textContent='This chart could not be drawn: '+err.message;"
        "el.className+=' imgmatch-chart-error';console.error(err);});"
        "})();</script>"
    )


def _convert_charts(output: Any, element_id: str) -> None:
    data = output.get("data")
    if not data:
        return
    for mimetype in list(data):
        match = _VEGA_MIMETYPE.match(mimetype)
        if match is None:
            continue
        spec = data[mimetype]
        if isinstance(spec, str):
            spec = json.loads(spec)
        mode = "vega-lite" if match.group("lite") else "vega"
        output["data"] = {"text/html": _chart_html(spec, element_id, mode)}
        output["metadata"] = {}
        return


def prepare_notebook(nb: Any) -> tuple[Any, dict[str, Any] | None]:
    """Copy an executed notebook into what the report shows, and read its summary.

    On the copy: the summary output is removed (it feeds the index), vega/vega-lite outputs
    become offline `vegaEmbed` charts, and cells a reader should not see are dropped (the
    parameters and injected-parameters cells, cells tagged `remove-cell`, code cells with no
    output left). Widget state is dropped (widgets would load from a CDN).

    Returns:
        (the notebook to export, the summary dict or None).
    """
    summary = extract_summary(nb)
    shown = copy.deepcopy(nb)
    shown.get("metadata", {}).pop("widgets", None)
    cells = []
    for index, cell in enumerate(shown.get("cells", [])):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & _DROPPED_TAGS:
            continue
        if cell.get("cell_type") == "code":
            outputs = [o for o in cell.get("outputs", []) if _summary_in(o) is None]
            for position, output in enumerate(outputs):
                _convert_charts(output, f"imgmatch-chart-{index}-{position}")
            cell["outputs"] = outputs
            if not outputs:
                continue
        cells.append(cell)
    shown["cells"] = cells
    return shown, summary


@dataclass(frozen=True)
class Footer:
    """What the runner states at the bottom of every report."""

    generated_at: dt.datetime
    version: str
    as_of: str
    programs_file: str
    programs_sha256: str
    template: str


_OUTPUT_DIV = re.compile(r'<div class="([^"]*\bjp-OutputArea-output\b[^"]*)"')
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")


def _accessibility(body: str) -> str:
    """What nbconvert's BeautifulSoup pass adds: focusable outputs, a default image alt."""
    body = _OUTPUT_DIV.sub(r'<div tabindex="0" class="\1"', body)
    return _IMG_WITHOUT_ALT.sub('<img alt="No description has been provided for this image"', body)


@functools.cache
def _exporter_class() -> type:
    """nbconvert's HTMLExporter without its BeautifulSoup pass, when nbconvert allows it.

    `HTMLExporter.from_notebook_node` re-parses the whole page with BeautifulSoup only to
    add `tabindex` to outputs and `alt` to images: 0.1-0.15 s of a 0.2 s export. This
    subclass registers the same two filters, renders with the template exporter, and adds
    those attributes with two regular expressions; it also skips the re-validation of the
    notebook after each preprocessor. If nbconvert's internals move, the stock exporter is
    used (slower, same page).
    """
    from nbconvert import HTMLExporter

    try:
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
    except ImportError:  # pragma: no cover - depends on the nbconvert version
        return HTMLExporter
    if not hasattr(HTMLExporter, "_init_resources"):  # pragma: no cover
        return HTMLExporter

    class ReportHTMLExporter(HTMLExporter):
        def _validate_preprocessor(self, nbc: Any, preprocessor: Any) -> None:
            # nbconvert re-validates the whole notebook (every chart spec) against the
            # nbformat schema after each preprocessor; the notebook comes straight from our
            # own kernel run, so that is pure cost for the batch runner's process.
            return None

        def from_notebook_node(  # type: ignore[override]
            self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
        ) -> tuple[str, dict[str, Any]]:
            language = nb.metadata.get("language_info", {})
            lexer = language.get("pygments_lexer", language.get("name", None))
            highlight = self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
            )
            resources = self._init_resources(resources)
            data_types = WidgetsDataTypeFilter(
                notebook_metadata=getattr(self, "_nb_metadata", {}),
                parent=self,
                resources=resources,
            )
            self.register_filter("highlight_code", highlight)
            self.register_filter("filter_data_type", data_types)
            body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _accessibility(body), resources

    return ReportHTMLExporter


class ReportExporter:
    """nbconvert's HTML exporter with the offline `imgmatch_report` template (one per thread).

    The first export in a process costs about 0.3 s (templates compile) plus about 2 s for the
    chart bundle; later exports about 10-20 ms.
    """

    def __init__(self) -> None:
        self._exporter = _exporter_class()(
            template_name=NBCONVERT_TEMPLATE,
            extra_template_basedirs=[str(TEMPLATES_DIR / "nbconvert")],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )

    def export(self, nb: Any, *, title: str, footer: Footer) -> str:
        """HTML of an already prepared notebook (see `prepare_notebook`)."""
        resources = {
            "metadata": {"name": title},
            "imgmatch": {
                "title": title,
                "vega_bundle": _BUNDLE_MARKER,
                "vega_debug": script_json(vega_versions()),
                "footer": footer,
                "generated_at": footer.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip(),
            },
        }
        body, _ = self._exporter.from_notebook_node(nb, resources=resources)
        # The 0.9 MB bundle goes in after nbconvert's BeautifulSoup pass (which would spend
        # 0.2 s parsing it). The marker is in <head>, before any user content, and carries a
        # per-process nonce, so the first occurrence is always ours.
        if _BUNDLE_MARKER not in body:  # pragma: no cover - guards the template
            raise RuntimeError("the report template lost the chart-bundle marker")
        return body.replace(_BUNDLE_MARKER, vega_bundle(), 1)


_EXPORTERS = threading.local()


def export_report(nb: Any, *, title: str, footer: Footer) -> str:
    """Export a prepared notebook with this thread's `ReportExporter`."""
    exporter = getattr(_EXPORTERS, "exporter", None)
    if exporter is None:
        exporter = _EXPORTERS.exporter = ReportExporter()
    return exporter.export(nb, title=title, footer=footer)


# --------------------------------------------------------------------------- cohort index


@dataclass(frozen=True)
class IndexRow:
    """One applicant in the cohort table."""

    label: str
    applicant_id: str | None
    status: str  # "written", "unchanged", "failed"
    name: str | None = None
    targets: Sequence[str] = ()
    p_match: Mapping[str, float | None] = field(default_factory=dict)
    p_match_any: float | None = None
    rotations: int | None = None
    placeholder: bool = False
    href: str | None = None
    stage: str | None = None
    message: str | None = None
    seconds: float | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)  # the report's, for the dashboard


@dataclass(frozen=True)
class IndexPage:
    """Everything the index page shows besides the rows."""

    generated_at: dt.datetime
    version: str
    as_of: str
    programs_file: str
    programs_sha256: str
    template: str
    title: str = "imgmatch reports"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f}%"


def _specialty_columns(rows: Sequence[IndexRow]) -> list[str]:
    counts: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    for row in rows:
        for code in list(row.targets) + list(row.p_match):
            counts[code] = counts.get(code, 0) + 1
            first_seen.setdefault(code, len(first_seen))
    return sorted(counts, key=lambda code: (-counts[code], first_seen[code]))


@functools.cache
def _index_environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_index(rows: Sequence[IndexRow], page: IndexPage) -> str:
    """The cohort index: the advisor's dashboard of every applicant, then the failures.

    The columns, risk flag and chart come from `analysis.report.cohort` (each row's summary).
    Sorting and filtering are a few lines of inline JavaScript reading `data-` attributes;
    the chart is drawn by the inlined chart bundle; no network. All text is escaped by
    Jinja's autoescape, the chart's spec by `script_json`.
    """
    from markupsafe import Markup

    from analysis.report.cohort import RISK_THRESHOLD, dashboard_context

    dashboard = dashboard_context(rows)
    spec = dashboard.pop("chart_spec")
    chart = "" if spec is None else _chart_html(spec, "cohort-chart", "vega-lite")
    specialties = _specialty_columns([row for row in rows if row.status != "failed"])
    ok_rows = [row for row in rows if row.status != "failed"]
    failed_rows = [row for row in rows if row.status == "failed"]
    counts = {
        "total": len(rows),
        "written": sum(row.status == "written" for row in rows),
        "unchanged": sum(row.status == "unchanged" for row in rows),
        "failed": len(failed_rows),
    }
    template = _index_environment().get_template(INDEX_TEMPLATE)
    return template.render(
        page=page,
        rows=rows,
        ok_rows=ok_rows,
        failed_rows=failed_rows,
        specialties=specialties,
        counts=counts,
        percent=_percent,
        generated_at=page.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip(),
        any_placeholder=any(row.placeholder for row in ok_rows),
        risk_threshold=RISK_THRESHOLD,
        chart_html=Markup(chart),
        vega_bundle=Markup(vega_bundle() if chart else ""),
        **dashboard,
    )
