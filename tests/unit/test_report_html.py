"""Offline, safe HTML: script-safe JSON, chart conversion, summary extraction, escaping.

No kernels here: notebooks are built with nbformat and exported in-process.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.report.html import (
    CHART_MIMETYPE,
    SUMMARY_MIMETYPE,
    Footer,
    IndexPage,
    IndexRow,
    escape_inline_script,
    export_report,
    extract_summary,
    prepare_notebook,
    render_index,
    script_json,
)

SCRIPT_NAME = "<script>alert(1)</script>"
ATTRIBUTE_BREAKER = '" onmouseover="x'
EVIL = f"{SCRIPT_NAME} {ATTRIBUTE_BREAKER} </script><!-- \u2028 &amp;"


class _Collector(HTMLParser):
    """Every tag's attributes and every script's text, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes: list[tuple[str, str, str | None]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes.extend((tag, name, value) for name, value in attrs)
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def assert_no_injection(html: str) -> _Collector:
    """The payloads appear only escaped: no injected script, no injected attribute."""
    assert SCRIPT_NAME not in html
    parsed = parse(html)
    assert not [a for a in parsed.attributes if a[1].startswith("on")], "event handler injected"
    assert not any("alert(1)" in s and "\\u003c" not in s for s in parsed.scripts)
    return parsed


# --------------------------------------------------------------------------- script_json


@given(st.text())
def test_script_json_round_trips_and_has_no_markup_characters(text: str) -> None:
    encoded = script_json({"value": text, "list": [text]})
    assert not set(encoded) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(encoded) == {"value": text, "list": [text]}


def test_script_json_cannot_close_a_script_or_open_a_comment() -> None:
    encoded = script_json(["</script>", "<!--", "]]>"])
    assert "</" not in encoded and "<!--" not in encoded and "]]>" not in encoded
    assert json.loads(encoded) == ["</script>", "<!--", "]]>"]


def test_script_json_writes_non_finite_numbers_as_null() -> None:
    assert json.loads(script_json([float("nan"), float("inf"), 1.5])) == [None, None, 1.5]


def test_escape_inline_script_neutralises_closing_tags_and_comments() -> None:
    code = 'var a = "</script>"; var b = "</SCRIPT >"; var c = "<!--";'
    escaped = escape_inline_script(code)
    assert re.search(r"</script", escaped, re.IGNORECASE) is None
    assert "<!--" not in escaped


# --------------------------------------------------------------------------- notebooks


def make_notebook(summary: dict | None, *, chart_data: str = "x") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": [{"label": chart_data, "n": 1}]},
        "mark": "bar",
        "encoding": {"x": {"field": "n", "type": "quantitative"}},
    }
    params = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell("x = 2", metadata={"tags": ["injected-parameters"]})
    silent = nbformat.v4.new_code_cell("y = 3")
    chart = nbformat.v4.new_code_cell("chart")
    chart.outputs = [
        nbformat.v4.new_output(
            "display_data", data={CHART_MIMETYPE: spec, "text/plain": "<chart>"}
        ),
        nbformat.v4.new_output("stream", name="stdout", text=f"printed {chart_data}\n"),
    ]
    last = nbformat.v4.new_code_cell("summary", metadata={"tags": ["summary"]})
    if summary is not None:
        last.outputs = [
            nbformat.v4.new_output(
                "display_data", data={SUMMARY_MIMETYPE: summary, "text/plain": "summary"}
            )
        ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Report"), params, injected, silent, chart, last]
    return nb


SUMMARY = {
    "applicant_id": "a1",
    "name": EVIL,
    "target_specialties": ["IR", "DR"],
    "p_match": {"IR": 0.1, "DR": 0.4},
    "p_match_any": 0.45,
    "rotations": 2,
}


def test_extract_summary_prefers_the_tagged_cell() -> None:
    nb = make_notebook(SUMMARY)
    stray = nbformat.v4.new_code_cell("other")
    stray.outputs = [
        nbformat.v4.new_output("display_data", data={SUMMARY_MIMETYPE: {"applicant_id": "x"}})
    ]
    nb.cells.insert(3, stray)
    assert extract_summary(nb) == SUMMARY
    assert extract_summary(make_notebook(None)) is None


def test_extract_summary_accepts_json_text() -> None:
    nb = make_notebook(None)
    nb.cells[-1].outputs = [
        {"output_type": "display_data", "data": {SUMMARY_MIMETYPE: json.dumps(SUMMARY)}}
    ]
    assert extract_summary(nb) == SUMMARY


def test_prepare_notebook_strips_summary_parameters_and_empty_cells() -> None:
    nb = make_notebook(SUMMARY)
    shown, summary = prepare_notebook(nb)
    assert summary == SUMMARY
    sources = [cell.source for cell in shown.cells]
    assert sources == ["# Report", "chart"]
    text = json.dumps(shown)
    assert SUMMARY_MIMETYPE not in text
    assert CHART_MIMETYPE not in text  # became an offline chart
    assert nb.cells[-1].outputs, "the input notebook is not modified"


@pytest.mark.parametrize(
    "mimetype",
    [
        "application/vnd.vegalite.v5+json",
        "application/vnd.vegalite.v6+json",
        "application/vnd.vegalite.v6.json",
        "application/vnd.vega.v5+json",
    ],
)
def test_every_vega_mimetype_becomes_an_embedded_chart(mimetype: str) -> None:
    nb = make_notebook(None)
    output = nb.cells[4].outputs[0]
    output["data"] = {mimetype: output["data"][CHART_MIMETYPE]}
    shown, _ = prepare_notebook(nb)
    html = shown.cells[1].outputs[0]["data"]["text/html"]
    assert 'class="imgmatch-chart"' in html and "vegaEmbed(el," in html
    mode = '"mode":"vega"' if ".vega." in mimetype else '"mode":"vega-lite"'
    assert mode in html
    assert '"editor":false' in html  # no button that sends the spec to the online editor


def test_chart_data_cannot_break_out_of_its_script() -> None:
    nb = make_notebook(None, chart_data=EVIL)
    shown, _ = prepare_notebook(nb)
    html = shown.cells[1].outputs[0]["data"]["text/html"]
    body = html.split("<script>", 1)[1].rsplit("</script>", 1)[0]
    assert "</script" not in body.lower() and "<!--" not in body and "\u2028" not in body
    spec_json = body.split("vegaEmbed(el,", 1)[1].rsplit(",{", 1)[0]
    assert json.loads(spec_json)["data"]["values"][0]["label"] == EVIL


FOOTER = Footer(
    generated_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
    version="9.9.9",
    as_of="2026-11-01",
    programs_file=f"programs {SCRIPT_NAME}.csv",
    programs_sha256="ab" * 32,
    template="applicant_report.ipynb",
)


@pytest.fixture(scope="module")
def exported() -> str:
    shown, _ = prepare_notebook(make_notebook(SUMMARY, chart_data=EVIL))
    return export_report(shown, title=f"{EVIL} · imgmatch report", footer=FOOTER)


def test_exported_report_is_offline(exported: str) -> None:
    parsed = parse(exported)
    external = [
        (tag, name, value)
        for tag, name, value in parsed.attributes
        if name in ("src", "href") and value and not value.startswith("#")
    ]
    assert external == [], "nothing may be loaded from a file or the network"
    for marker in ("require.min.js", "MathJax", "mermaid", "cdn.jsdelivr", "unpkg.com"):
        assert marker not in exported
    assert exported.count("window.vegaEmbed=") == 1, "the chart bundle is inlined exactly once"
    assert "VEGA_DEBUG" in exported


def test_exported_report_escapes_user_data(exported: str) -> None:
    parsed = assert_no_injection(exported)
    text = "".join(parsed.text)
    assert f"printed {EVIL}" in text  # stream output, shown as text
    assert "programs <script>alert(1)</script>.csv" in text  # footer, shown as text


def test_exported_report_hides_code_and_states_its_footer(exported: str) -> None:
    assert 'class="jp-CodeMirrorEditor' not in exported
    assert 'tabindex="0" class="jp-RenderedText' in exported  # outputs are focusable
    assert "y = 3" not in exported and "x = 2" not in exported
    assert "Generated 2026-11-02 09:30 UTC by imgmatch 9.9.9" in exported
    assert "Plan as of 2026-11-01" in exported
    assert "abababababab" in exported


# --------------------------------------------------------------------------- index


PAGE = IndexPage(
    generated_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
    version="9.9.9",
    as_of="2026-11-01",
    programs_file="programs.csv",
    programs_sha256="cd" * 32,
    template="applicant_report.ipynb",
)


def index_rows() -> list[IndexRow]:
    return [
        IndexRow(
            label="a.yaml",
            applicant_id="a1",
            status="written",
            name=SCRIPT_NAME,
            targets=("IR", "DR"),
            p_match={"IR": 0.1, "DR": 0.4},
            p_match_any=0.45,
            rotations=2,
            href="a1.html",
            seconds=0.3,
        ),
        IndexRow(
            label="b.yaml",
            applicant_id="b2",
            status="unchanged",
            name=ATTRIBUTE_BREAKER,
            targets=("IM",),
            p_match={"IM": 0.8},
            p_match_any=0.8,
            rotations=1,
            href="b2.html",
        ),
        IndexRow(
            label=f"bad {SCRIPT_NAME}.yaml",
            applicant_id=None,
            status="failed",
            stage="validate",
            message=f"name {ATTRIBUTE_BREAKER}: {SCRIPT_NAME}",
        ),
    ]


def test_index_escapes_every_user_string() -> None:
    html = render_index(index_rows(), PAGE)
    parsed = assert_no_injection(html)
    text = "".join(parsed.text)
    assert SCRIPT_NAME in text and ATTRIBUTE_BREAKER in text
    assert all(SCRIPT_NAME not in script for script in parsed.scripts)


def test_index_lists_the_cohort_columns_sort_keys_links_and_failures() -> None:
    html = render_index(index_rows(), PAGE)
    parsed = parse(html)
    headers = re.findall(r"<button type=\"button\"[^>]*>([^<]+)</button>", html)
    assert headers == [
        "Applicant", "First choice", "Visa", "Step 2 CK", "USCE (months)", "P today",
        "With the plan", "80% interval", "Rotations", "Fees", "Risk", "Status", "Report",
    ]  # fmt: skip
    links = [value for _, name, value in parsed.attributes if name == "href"]
    assert links == ["a1.html", "b2.html", "#failure-3", "cohort.csv", "errors.json"]
    sort_keys = [value for _, name, value in parsed.attributes if name == "data-sort"]
    assert "0.45" in sort_keys and "0.8" in sort_keys
    assert 'id="failure-3"' in html and "validate" in html
    assert re.search(r'class="n">3</span> applicants', html)
    assert "0 of 3 applicants at risk (1 without a report, 2 not assessed)" in html


def test_index_marks_placeholder_probabilities() -> None:
    row = IndexRow(
        label="p.yaml",
        applicant_id="p",
        status="written",
        name="P",
        targets=("IM",),
        p_match={"IM": 0.0},
        p_match_any=0.0,
        rotations=0,
        placeholder=True,
        href="p.html",
    )
    html = render_index([row], PAGE)
    assert html.count(">n/a</td>") == 4  # today, with the plan, interval, rotations
    assert "placeholders" in html
    assert ">0%<" not in html
