"""Reading YAML and JSON documents safely: bounded, unambiguous, every key with its line.

Method. A profile is a small mapping of plain values, so anything else is refused before a
value is built, with the line and the field:

- size: at most `MAX_BYTES` (1 MiB; a full profile is under 10 KB);
- YAML anchors and aliases (`&name`, `*name`) are refused while the document is composed,
  before anything walks it: nested aliases ("billion laughs") would make a 500-byte file
  stand for billions of values;
- nesting deeper than `MAX_DEPTH` (20) and more than `MAX_NODES` (20,000) values are refused
  while composing (a profile needs 3 levels and about 100 values);
- a key given twice in one mapping is an error naming both lines (YAML and JSON alike:
  "244 then 180" must not silently become 180);
- only plain YAML types are built (text, numbers, yes/no, null, dates); any other tag
  (`!!python/object`, `!!binary`, `!!set`, merge keys `<<`) is refused, never constructed;
- a whole number longer than `MAX_DIGITS` (100) digits, an impossible date (2026-02-30) or
  any value that cannot be built becomes a problem at its line, and its text stands in its
  place so the rest of the document is still checked (all problems at once).

YAML is parsed with PyYAML's pure-Python parser, which is a state machine (no recursion);
its composer recurses once per level, which the depth bound keeps small. JSON values come
from `json.loads` (JSON's own types: "yes" stays text); the same bounded composer reads the
JSON text for the line of every key (JSON is YAML's flow style).

Inputs: document text and a label for messages. Outputs: `Document` (data, key lines,
problems). Limits: the line index of a JSON document is empty in the rare case where PyYAML
cannot read valid JSON; problems then have no line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from analysis.errors import NO_VALUE, DataValidationError, Problem, short_message

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_DIGITS", "MAX_NODES", "Document", "read_document"]

MAX_BYTES = 1 << 20
"""Largest document read (1 MiB)."""

MAX_DEPTH = 20
"""Deepest nesting of mappings and lists."""

MAX_NODES = 20_000
"""Most values (keys, items, scalars) in one document."""

MAX_DIGITS = 100
"""Longest whole number read, in characters."""

Path = tuple[str, ...]

_SCALAR_TAGS = {
    "tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "timestamp")
}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_INT_TAG = "tag:yaml.org,2002:int"


@dataclass
class Document:
    """A document read into plain Python values.

    Attributes:
        data: mappings, lists, text, numbers, booleans, None, dates.
        lines: key path -> 1-based line of the key (or of the list item).
        problems: values that could not be read (their text stands in `data`).
    """

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


class _RefusedError(Exception):
    """A bound was crossed while composing: (line, field path, what is expected)."""

    def __init__(self, line: int, path: Path, expected: str) -> None:
        super().__init__(expected)
        self.line, self.path, self.expected = line, path, expected


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's pure-Python safe loader, refusing aliases, deep nesting and huge documents."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(parent, MappingNode):
            part = str(index.value) if isinstance(index, ScalarNode) else "(key)"
        elif isinstance(parent, SequenceNode):
            part = str(index)
        else:
            part = None
        path = (*self._path, part) if part is not None else tuple(self._path)
        if isinstance(event, yaml.AliasEvent):
            raise _RefusedError(
                line, path, "aliases (*name) are not allowed; write the value itself"
            )
        if getattr(event, "anchor", None) is not None:
            raise _RefusedError(line, path, "anchors (&name) are not allowed; write plain values")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _RefusedError(
                line, path, f"more than {MAX_NODES:,} values: this is not a profile"
            )
        if len(path) > MAX_DEPTH:
            raise _RefusedError(
                line,
                path[:1],
                f"values nested deeper than {MAX_DEPTH} levels (a profile needs at most 3); "
                "put brackets inside quotes to keep them as text",
            )
        if part is not None:
            self._path.append(part)
        try:
            return super().compose_node(parent, index)
        finally:
            if part is not None:
                self._path.pop()


_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\n]|\'\')*\'')
_DEEP_RUN = re.compile(rf"(?:[\[{{][ \t]*){{{MAX_DEPTH + 1}}}")
_KEY_BEFORE = re.compile(r"[\"']?([A-Za-z_][\w .-]*?)[\"']?[ \t]*:[ \t]*$")


def _refuse_deep_runs(text: str) -> None:
    """Refuse a run of more than `MAX_DEPTH` opening brackets outside quotes, in linear time.

    PyYAML's scanner looks up to 1,024 characters ahead at every open bracket, so a line
    of 2,000 brackets costs about a second before the composer's depth bound is reached.
    """
    if not _DEEP_RUN.search(text):
        return
    blanked = _QUOTED.sub(lambda m: re.sub(r"[^\n]", "x", m.group()), text)
    run = _DEEP_RUN.search(blanked)
    if run is None:
        return
    line = text.count("\n", 0, run.start()) + 1
    start = text.rfind("\n", 0, run.start()) + 1
    key = _KEY_BEFORE.search(text[start : run.start()])
    path = (key.group(1).strip(),) if key else ()
    raise _RefusedError(
        line,
        path,
        f"values nested deeper than {MAX_DEPTH} levels (a profile needs at most 3); put "
        "brackets inside quotes to keep them as text",
    )


def _compose(text: str) -> Node | None:
    _refuse_deep_runs(text)
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


# --------------------------------------------------------------------------- building values


class _Builder:
    """Builds plain values from composed YAML nodes, collecting what cannot be built."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.lines: dict[Path, int] = {}
        self.problems: list[Problem] = []
        self.refused: list[Problem] = []  # tags: the document is refused as a whole
        self._constructor = yaml.SafeLoader("")

    def problem(self, line: int, path: Path, value: Any, expected: str) -> None:
        column = ".".join(path) if path else None
        self.problems.append(Problem(self.label, None, column, value, expected, line=line))

    def build(self, node: Node, path: Path) -> Any:
        line = node.start_mark.line + 1
        if isinstance(node, MappingNode):
            return self._mapping(node, path, line)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ_TAG:
                return self._refuse_tag(node, path, line)
            items = []
            for position, item in enumerate(node.value):
                self.lines[(*path, str(position))] = item.start_mark.line + 1
                items.append(self.build(item, (*path, str(position))))
            return items
        return self._scalar(node, path, line)

    def _mapping(self, node: MappingNode, path: Path, line: int) -> Any:
        if node.tag != _MAP_TAG:
            return self._refuse_tag(node, path, line)
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                self.problem(key_line, path, NO_VALUE, "keys are plain names; merge keys (<<), "
                             "lists or mappings as keys are not allowed")  # fmt: skip
                continue
            key = self._scalar(key_node, path, key_line)
            key_path = (*path, str(key))
            try:
                seen = first_line.get(key)
            except TypeError:  # pragma: no cover - scalars are hashable
                seen = None
            if seen is not None:
                self.problem(key_line, key_path, NO_VALUE,
                             f"{key!r} is given twice (also on line {seen}); keep one")  # fmt: skip
                continue
            first_line[key] = key_line
            self.lines[key_path] = key_line
            result[key] = self.build(value_node, key_path)
        return result

    def _scalar(self, node: Node, path: Path, line: int) -> Any:
        text = node.value
        if node.tag not in _SCALAR_TAGS:
            return self._refuse_tag(node, path, line)
        if node.tag == _INT_TAG and len(text) > MAX_DIGITS:
            self.problem(
                line, path, text, f"a number of {len(text):,} characters; expected a number such "
                "as 244 (at most 100 digits)"
            )  # fmt: skip
            return text
        try:
            value = self._constructor.construct_object(node, deep=True)
        except Exception as error:  # any value PyYAML cannot build (dates such as 2026-02-30)
            kind = "a date (YYYY-MM-DD)" if node.tag.endswith("timestamp") else "a plain value"
            self.problem(line, path, text, f"not {kind} ({short_message(error)})")
            return text
        return value

    def _refuse_tag(self, node: Node, path: Path, line: int) -> None:
        expected = (
            f"tags such as !!python/... are not allowed in a profile ({node.tag}); write plain "
            "values"
        )
        column = ".".join(path) if path else None
        self.refused.append(Problem(self.label, None, column, NO_VALUE, expected, line=line))


# --------------------------------------------------------------------------- entry point


def read_document(text: str, label: str, kind: Literal["yaml", "json"]) -> Document:
    """Read a YAML or JSON document within the bounds of the module docstring.

    Args:
        text: the document (already decoded).
        label: the file, as shown in messages.
        kind: "yaml" or "json".

    Returns:
        The `Document`; its `problems` are values that could not be read.

    Raises:
        DataValidationError: not YAML/JSON, or a bound crossed (size, aliases, anchors, depth,
            number of values), with the line and the field.
    """
    if len(text) > MAX_BYTES:
        raise DataValidationError(
            [_whole(label, None, f"larger than {MAX_BYTES // 1024:,} KB: this is not a profile")]
        )
    if kind == "json":
        return _read_json(text, label)
    try:
        node = _compose(text)
    except _RefusedError as refused:
        raise _refusal(label, refused) from None
    except yaml.YAMLError as error:
        raise _syntax_error(label, error) from None
    if node is None:
        return Document(None)
    builder = _Builder(label)
    data = builder.build(node, ())
    if builder.refused:
        raise DataValidationError(builder.refused, source=label)
    return Document(data, builder.lines, builder.problems)


def _whole(label: str, line: int | None, expected: str, column: str | None = None) -> Problem:
    return Problem(label, None, column, NO_VALUE, expected, line=line)


def _refusal(label: str, refused: _RefusedError) -> DataValidationError:
    column = ".".join(refused.path) if refused.path else None
    return DataValidationError(
        [_whole(label, refused.line, refused.expected, column)], source=label
    )


def _syntax_error(label: str, error: yaml.YAMLError) -> DataValidationError:
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    what = getattr(error, "problem", None) or short_message(error)
    where = f" (line {line}, column {mark.column + 1})" if mark is not None else ""
    return DataValidationError(
        [_whole(label, line, f"not valid YAML{where}: {what}")], source=label
    )


class _BigNumber(str):
    """A JSON number too long to convert, kept as its text."""


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _json_int(text: str) -> Any:
    return _BigNumber(text) if len(text) > MAX_DIGITS else int(text)


def _read_json(text: str, label: str) -> Document:
    duplicate: str | None = None
    try:
        _refuse_deep_runs(text)
    except _RefusedError as refused:
        raise _refusal(label, refused) from None
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_int=_json_int)
    except json.JSONDecodeError as error:
        expected = f"not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}"
        raise DataValidationError([_whole(label, error.lineno, expected)], source=label) from None
    except RecursionError:
        try:
            _compose(text)  # finds the line where the nesting gets too deep
        except _RefusedError as refused:
            raise _refusal(label, refused) from None
        except Exception:
            pass
        expected = f"values nested deeper than {MAX_DEPTH} levels (a profile needs at most 3)"
        raise DataValidationError([_whole(label, None, expected)], source=label) from None
    except _DuplicateKeyError as error:
        duplicate, data = error.key, None
    try:
        node = _compose(text)
    except _RefusedError as refused:
        raise _refusal(label, refused) from None
    except yaml.YAMLError:  # valid JSON PyYAML cannot read: no lines
        node = None
    builder = _Builder(label)
    if node is not None:
        builder.build(node, ())  # lines, duplicate keys (with both lines)
    duplicates = [p for p in builder.problems if "is given twice" in p.expected]
    if duplicate is not None:
        if not duplicates:
            duplicates = [_whole(label, None, f"{duplicate!r} is given twice; keep one")]
        raise DataValidationError(duplicates, source=label)
    problems: list[Problem] = []
    data = _json_values(data, (), builder, problems)
    return Document(data, builder.lines, problems)


def _json_values(value: Any, path: Path, builder: _Builder, problems: list[Problem]) -> Any:
    """Replace numbers too long to read by their text (and record the problem)."""
    if isinstance(value, dict):
        return {k: _json_values(v, (*path, str(k)), builder, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_values(v, (*path, str(i)), builder, problems) for i, v in enumerate(value)]
    if isinstance(value, _BigNumber):
        line = Document(None, builder.lines).line_of(path)
        expected = (
            f"a number of {len(value):,} characters; expected a number such as 244 "
            f"(at most {MAX_DIGITS} digits)"
        )
        problems.append(Problem(builder.label, None, ".".join(path) or None, str(value),
                                expected, line=line))  # fmt: skip
        return str(value)
    return value
