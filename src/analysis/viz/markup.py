"""Escaped HTML for notebooks, the explorer and the report: blocks, tables, number formats.

Method. Every function here returns an `Html` block (an object with `_repr_html_` and a
plain-text `repr`) built from strings that are escaped where they land: cell values, column
labels, captions, list items and the values interpolated by `format_html` go through
`html.escape(..., quote=True)`, so a program or applicant name such as
`<script>alert(1)</script>` or `" onmouseover="x` shows as text and never becomes markup.
Only the fixed markup written in this module (and the *template* string a caller passes to
`format_html`) is trusted. Why not the data frames' own HTML? polars' `_repr_html_` escapes
but quotes every string and prints the dtype row; pandas' `_repr_html_` escapes `<`, `>` and
`&` (enough for element text); pandas' `Styler.to_html()` does **not** escape by default
(`escape=None`), so it must never render user data (tests/unit/test_present.py checks all
three). Markdown output is avoided for user data: nbconvert passes raw HTML inside Markdown
through, so `md_escape` escapes both HTML and Markdown syntax for the rare caller that needs it.

Formatting conventions (the notebooks and the report share them): probabilities as whole
percentages ("52%", with the interval as "52% (41-63%)"), money as "$1,050", missing values
as an en dash, and tri-state facts (`sponsors_j1`...) as "yes", "no" or "unknown": an empty
cell means *unknown*, never "no". Facts verified more than a year before the plan date are
marked "(stale)".

Inputs: polars or pandas frames, plain values. Outputs: `Html` and strings.
Output is deterministic (no generated ids, no timestamps), so nbval can compare it.

Limits: tables are static (no sorting or paging); `max_rows` cuts long tables and says how
many rows were left out.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import polars as pl

__all__ = [
    "NA",
    "Html",
    "as_polars",
    "bullet_list",
    "esc",
    "format_html",
    "is_missing",
    "iso_date",
    "key_figures",
    "md_escape",
    "num",
    "pct",
    "pct_interval",
    "prob",
    "table",
    "tri_state",
    "usd",
]

NA = "\u2013"  # en dash: "no value"
_NUMERIC_KINDS = ("pct", "prob", "pct1", "int", "num", "num1", "num2", "num3", "usd", "interval")


class Html:
    """A block of HTML that Jupyter displays as HTML, with a plain-text fallback.

    Attributes:
        html: the markup (escaped where it holds data).
        text: what plain-text front ends (and `repr`) show.
    """

    __slots__ = ("html", "text")

    def __init__(self, markup: str, text: str | None = None) -> None:
        self.html = markup
        self.text = text if text is not None else _strip_tags(markup)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.html

    def __add__(self, other: Html) -> Html:
        return Html(self.html + other.html, self.text + "\n" + other.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Html) and other.html == self.html

    def __hash__(self) -> int:
        return hash(self.html)


def _strip_tags(markup: str) -> str:
    text = re.sub(r"<(br|/p|/li|/tr|/h\d|/div|/caption)\s*/?>", "\n", markup)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"\n{3,}", "\n\n", html.unescape(text))
    return text.strip()


# --------------------------------------------------------------------------- escaping


def esc(value: Any) -> str:
    """HTML-escape any value's text (quotes too, so it is safe in attributes); None -> ''."""
    return "" if value is None else html.escape(str(value), quote=True)


def format_html(template: str, /, *args: Any, **kwargs: Any) -> Html:
    """`template.format(...)` with every argument HTML-escaped (the template is trusted).

    An argument that is already an `Html` block is inserted as is.

    >>> format_html("<b>{name}</b>", name="<i>x</i>").html
    '<b>&lt;i&gt;x&lt;/i&gt;</b>'
    """

    def clean(value: Any) -> str:
        return value.html if isinstance(value, Html) else esc(value)

    return Html(
        template.format(*(clean(a) for a in args), **{k: clean(v) for k, v in kwargs.items()})
    )


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")


def md_escape(value: Any) -> str:
    """Text safe inside Markdown: HTML-escaped, then Markdown syntax backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", esc(value))


# --------------------------------------------------------------------------- numbers


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def pct(value: float | None, digits: int = 0, *, na: str = NA) -> str:
    """A probability (0-1) as a percentage: 0.523 -> '52%'; under 1% -> '<1%'."""
    if is_missing(value):
        return na
    shown = round(100 * float(value), digits)
    if digits == 0 and 0 < value < 0.005:
        return "<1%"
    if digits == 0 and 0.995 <= value < 1:
        return ">99%"
    return f"{shown:.{digits}f}%"


def prob(value: float | None, *, na: str = NA) -> str:
    """A model probability as a percentage that never claims certainty: like `pct`, but
    0.995 and above (1.0 included, e.g. after float rounding) show as '>99%'."""
    if is_missing(value):
        return na
    return ">99%" if value >= 0.995 else pct(value)


def pct_interval(
    value: float | None, low: float | None, high: float | None, *, na: str = NA
) -> str:
    """'52% (41-63%)': a probability with its interval (en dash between the ends)."""
    if is_missing(value):
        return na
    if is_missing(low) or is_missing(high):
        return prob(value)
    return f"{prob(value)} ({prob(low).rstrip('%')}\u2013{prob(high)})"


def usd(value: float | None, *, na: str = NA) -> str:
    """Dollars, no cents: 1050 -> '$1,050'."""
    if is_missing(value):
        return na
    return f"${float(value):,.0f}"


def num(value: float | None, digits: int = 1, *, na: str = NA) -> str:
    """A number with `digits` decimals and thousands separators."""
    if is_missing(value):
        return na
    return f"{float(value):,.{digits}f}"


def tri_state(value: bool | None) -> str:
    """A tri-state fact: True -> 'yes', False -> 'no', None -> 'unknown' (never 'no')."""
    if value is None:
        return "unknown"
    return "yes" if value else "no"


def iso_date(value: Any) -> str:
    if is_missing(value):
        return NA
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "pct": pct,
    "prob": prob,
    "pct1": lambda v: pct(v, 1),
    "int": lambda v: NA if is_missing(v) else f"{int(v):,}",
    "num": lambda v: num(v, 1),
    "num1": lambda v: num(v, 1),
    "num2": lambda v: num(v, 2),
    "num3": lambda v: num(v, 3),
    "usd": usd,
    "bool": tri_state,
    "date": iso_date,
    "text": lambda v: NA if is_missing(v) else str(v),
}


def _formatter(spec: str | Callable[[Any], str] | None, dtype: Any) -> Callable[[Any], str]:
    if callable(spec):
        return lambda v: NA if is_missing(v) else str(spec(v))
    if spec is not None:
        if spec not in _FORMATTERS:
            raise ValueError(f"unknown format {spec!r}; use one of {sorted(_FORMATTERS)}")
        return _FORMATTERS[spec]
    if dtype == pl.Boolean:
        return tri_state
    if dtype.is_integer():
        return _FORMATTERS["int"]
    if dtype.is_float():
        return _FORMATTERS["num2"]
    if dtype in (pl.Date, pl.Datetime):
        return iso_date
    return _FORMATTERS["text"]


def _is_numeric(spec: Any, dtype: Any) -> bool:
    if isinstance(spec, str):
        return spec in _NUMERIC_KINDS
    return spec is None and (dtype.is_numeric())


def as_polars(frame: Any) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    return pl.from_pandas(frame)


# --------------------------------------------------------------------------- blocks


def table(
    frame: Any,
    columns: Mapping[str, str] | Sequence[str] | None = None,
    *,
    formats: Mapping[str, str | Callable[[Any], str]] | None = None,
    caption: str | None = None,
    max_rows: int | None = None,
    note: str | None = None,
) -> Html:
    """An escaped HTML table of a frame.

    Args:
        frame: polars or pandas frame.
        columns: columns to show, in order; a mapping gives their labels
            ({"p_match": "P(match)"}). Default: every column, labelled by its name.
        formats: per column, a formatter: "pct", "prob" (a model probability: never
            "100%"), "pct1", "int", "num1", "num2", "num3",
            "usd", "bool" (yes/no/unknown), "date", "text", or a callable value -> str.
            Default by dtype (integers with separators, floats with 2 decimals, booleans as
            yes/no/unknown). Missing values show as an en dash, booleans as "unknown".
        caption: a caption above the table.
        max_rows: show at most this many rows, then a line counting the rest.
        note: a small note under the table.
    """
    df = as_polars(frame)
    if columns is None:
        labels = {c: c for c in df.columns}
    elif isinstance(columns, Mapping):
        labels = dict(columns)
    else:
        labels = {c: c for c in columns}
    missing = [c for c in labels if c not in df.columns]
    if missing:
        raise KeyError(f"table(): no column(s) {missing} in the frame (has {df.columns})")
    formats = dict(formats or {})
    unknown = set(formats) - set(labels)
    if unknown:
        raise KeyError(f"table(): formats for columns not shown: {sorted(unknown)}")
    total = df.height
    shown = df.head(max_rows) if max_rows is not None else df
    fmt = {c: _formatter(formats.get(c), df.schema[c]) for c in labels}
    right = {c: _is_numeric(formats.get(c), df.schema[c]) for c in labels}

    def cell(tag: str, column: str, text: str) -> str:
        align = ' style="text-align:right"' if right[column] else ' style="text-align:left"'
        return f"<{tag}{align}>{esc(text)}</{tag}>"

    head = "".join(cell("th", c, label) for c, label in labels.items())
    body = []
    text_rows = ["\t".join(labels.values())]
    for row in shown.select(list(labels)).iter_rows(named=True):
        values = {c: fmt[c](row[c]) for c in labels}
        body.append("<tr>" + "".join(cell("td", c, values[c]) for c in labels) + "</tr>")
        text_rows.append("\t".join(values.values()))
    parts = ['<table class="imgmatch-table">']
    if caption:
        parts.append(f'<caption style="text-align:left">{esc(caption)}</caption>')
    parts.append(f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
    rest = total - shown.height
    notes = []
    if rest > 0:
        notes.append(f"{rest:,} more row{'s' if rest != 1 else ''} not shown.")
    if note:
        notes.append(note)
    if notes:
        parts.append(f'<p class="imgmatch-note"><small>{esc(" ".join(notes))}</small></p>')
    text = "\n".join(([caption] if caption else []) + text_rows + notes)
    return Html("".join(parts), text)


def key_figures(
    figures: Iterable[tuple[str, str] | tuple[str, str, str | Html | None]],
) -> Html:
    """A row of headline figures: (label, value) or (label, value, note) each, escaped (a
    note that is already an `Html` block is inserted as it is)."""
    cells = []
    lines = []
    for item in figures:
        label, value, note = (*item, None)[:3]
        shown = note.html if isinstance(note, Html) else esc(note)
        sub = f'<div style="font-size:0.8em;color:#555">{shown}</div>' if note else ""
        cells.append(
            '<div class="imgmatch-figure" style="display:inline-block;min-width:9em;'
            'margin:0 1.5em 0.8em 0;vertical-align:top">'
            f'<div style="font-size:0.85em;color:#555">{esc(label)}</div>'
            f'<div style="font-size:1.6em;font-weight:600">{esc(value)}</div>{sub}</div>'
        )
        lines.append(
            f"{label}: {value}"
            + (f" ({note.text if isinstance(note, Html) else note})" if note else "")
        )
    return Html(f'<div class="imgmatch-figures">{"".join(cells)}</div>', "\n".join(lines))


def bullet_list(items: Iterable[Any], *, title: str | None = None) -> Html:
    """An escaped bulleted list (items may be `Html` blocks, inserted as they are)."""
    items = list(items)
    entries = [i.html if isinstance(i, Html) else esc(i) for i in items]
    texts = [i.text if isinstance(i, Html) else str(i) for i in items]
    head = f"<p><strong>{esc(title)}</strong></p>" if title else ""
    markup = head + "<ul>" + "".join(f"<li>{e}</li>" for e in entries) + "</ul>"
    text = "\n".join(([title] if title else []) + [f"- {t}" for t in texts])
    return Html(markup, text)
