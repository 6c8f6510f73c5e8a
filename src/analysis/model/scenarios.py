"""What-if scenarios for the simulated Match: the questions users ask, as changes to a market.

A scenario is a set of changes applied together (`analysis.model.market_setup.prepare_market`):

- `applicants:TYPE:SPECIALTY:+N` (YAML `applicants`): N more applicants of a type choose the
  specialty first (negative: fewer);
- `positions:SPECIALTY:+N` (`positions`): N more positions (negative: fewer), spread over the
  specialty's programs in proportion to their positions;
- `interview-capacity:SPECIALTY:xF` (`interview_capacity`): the specialty's programs
  interview F times as many applicants;
- `applications:+N` or `applications:SPECIALTY:N` (`applications`): the user's applicants
  apply to N more programs, or to N programs (in one specialty, or in each);
- `rank-limit:K` (`rank_limit`): the user's applicants rank only their first K interviews.

TYPE is one of us_md, us_do, us_img, non_us_img; SPECIALTY a code or name ("IM",
"Internal Medicine"). A YAML file holds a mapping of those keys, each a list of changes
(`rank_limit` a number), for example::

    applicants:
      - {type: non_us_img, specialty: IM, count: 2000}
    interview_capacity:
      - {specialty: IM, factor: 1.2}
    rank_limit: 6

Every problem of every flag or file is reported at once (`DataValidationError`), with the
flag or the file and line, the value and what is expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.data.normalize import NormalizationError, normalize_specialty
from analysis.errors import DataValidationError, Problem, file_problem

APPLICANT_TYPES = ("us_md", "us_do", "us_img", "non_us_img")
_MAX_COUNT = 200_000
_FLAG = "--scenario"


@dataclass(frozen=True)
class MoreApplicants:
    """`count` more applicants of `applicant_type` with `specialty` as their first choice."""

    applicant_type: str
    specialty: str
    count: int

    def describe(self) -> str:
        return f"{self.count:+,} {self.applicant_type} applicants to {self.specialty}"


@dataclass(frozen=True)
class MorePositions:
    """`count` more positions in `specialty` (negative: fewer), spread over its programs."""

    specialty: str
    count: int

    def describe(self) -> str:
        return f"{self.count:+,} positions in {self.specialty}"


@dataclass(frozen=True)
class InterviewCapacity:
    """The specialty's programs interview `factor` times as many applicants."""

    specialty: str
    factor: float

    def describe(self) -> str:
        return f"interview capacity in {self.specialty} x{self.factor:g}"


@dataclass(frozen=True)
class Applications:
    """The user's applicants apply to `count` programs (or `add` more) in `specialty` (None:
    every specialty of theirs)."""

    specialty: str | None
    count: int | None = None
    add: int | None = None

    def apply(self, current: int) -> int:
        """The new number of applications."""
        return int(self.count) if self.count is not None else current + int(self.add or 0)

    def describe(self) -> str:
        where = f" in {self.specialty}" if self.specialty else ""
        if self.count is not None:
            return f"your applicants apply to {self.count} programs{where}"
        return f"your applicants apply to {self.add:+} programs{where}"


@dataclass(frozen=True)
class Scenario:
    """A set of changes applied together (empty: the baseline market)."""

    applicants: tuple[MoreApplicants, ...] = ()
    positions: tuple[MorePositions, ...] = ()
    interview_capacity: tuple[InterviewCapacity, ...] = ()
    applications: tuple[Applications, ...] = ()
    rank_limit: int | None = None
    name: str = ""

    @property
    def empty(self) -> bool:
        """True for the baseline (no change)."""
        return not (
            self.applicants
            or self.positions
            or self.interview_capacity
            or self.applications
            or self.rank_limit is not None
        )

    def changes(self) -> list[str]:
        """Each change in words (for outputs)."""
        out = [c.describe() for c in (*self.applicants, *self.positions)]
        out += [c.describe() for c in (*self.interview_capacity, *self.applications)]
        if self.rank_limit is not None:
            out.append(f"your applicants rank at most {self.rank_limit} programs")
        return out

    def merged(self, other: Scenario) -> Scenario:
        """Both scenarios' changes (the other's rank limit wins when it has one)."""
        return Scenario(
            applicants=self.applicants + other.applicants,
            positions=self.positions + other.positions,
            interview_capacity=self.interview_capacity + other.interview_capacity,
            applications=self.applications + other.applications,
            rank_limit=other.rank_limit if other.rank_limit is not None else self.rank_limit,
            name=other.name or self.name,
        )


# --------------------------------------------------------------------------- parsing


@dataclass
class _Collector:
    problems: list[Problem] = field(default_factory=list)

    def add(self, where: str, value: Any, expected: str, line: int | None = None) -> None:
        self.problems.append(
            Problem(file=where, row=None, column=None, value=value, expected=expected, line=line)
        )


def _specialty(text: Any, where: str, value: Any, out: _Collector, line: int | None) -> str | None:
    try:
        return normalize_specialty(str(text))
    except NormalizationError as error:
        out.add(where, value, str(error), line)
        return None


def _integer(text: Any, where: str, value: Any, out: _Collector, line: int | None,
             *, signed: bool, minimum: int = 0) -> int | None:  # fmt: skip
    pattern = r"[+-]?\d[\d,_]*" if signed else r"\+?\d[\d,_]*"
    raw = str(text).strip()
    if isinstance(text, bool) or not re.fullmatch(pattern, raw):
        kind = "a whole number (+N or -N)" if signed else "a whole number"
        out.add(where, value, f"{kind} where {text!r} is", line)
        return None
    number = int(raw.replace(",", "").replace("_", ""))
    if abs(number) > _MAX_COUNT or number < minimum:
        out.add(where, value, f"a number from {minimum} to {_MAX_COUNT:,}", line)
        return None
    return number


def _factor(text: Any, where: str, value: Any, out: _Collector, line: int | None) -> float | None:
    raw = str(text).strip().lower().removeprefix("x")
    try:
        number = float(raw)
    except ValueError:
        number = float("nan")
    if not 0 < number <= 20:
        out.add(where, value, "a factor above 0 and at most 20, like x1.5", line)
        return None
    return number


def _type(text: Any, where: str, value: Any, out: _Collector, line: int | None) -> str | None:
    key = str(text).strip().lower().replace("-", "_")
    if key not in APPLICANT_TYPES:
        out.add(where, value, f"an applicant type: one of {', '.join(APPLICANT_TYPES)}", line)
        return None
    return key


_KINDS = {
    "applicants": "applicants:TYPE:SPECIALTY:+N",
    "positions": "positions:SPECIALTY:+N",
    "interview-capacity": "interview-capacity:SPECIALTY:xF",
    "applications": "applications:+N or applications:SPECIALTY:N",
    "rank-limit": "rank-limit:K",
}


def _one_flag(text: str, out: _Collector) -> Scenario:
    parts = [p.strip() for p in text.split(":")]
    kind = parts[0].lower().replace("_", "-")
    args = parts[1:]
    forms = "; ".join(_KINDS.values())
    if kind not in _KINDS:
        out.add(_FLAG, text, f"a change of the form {forms}, or a YAML file")
        return Scenario()
    expected_args = {"applicants": (3,), "positions": (2,), "interview-capacity": (2,),
                     "applications": (1, 2), "rank-limit": (1,)}[kind]  # fmt: skip
    if len(args) not in expected_args:
        out.add(_FLAG, text, f"the form {_KINDS[kind]}")
        return Scenario()
    return _change(kind, args, _FLAG, text, out, None)


def _change(
    kind: str, args: list[Any], where: str, value: Any, out: _Collector, line: int | None
) -> Scenario:
    if kind == "applicants":
        t = _type(args[0], where, value, out, line)
        s = _specialty(args[1], where, value, out, line)
        n = _integer(args[2], where, value, out, line, signed=True, minimum=-_MAX_COUNT)
        if None in (t, s, n):
            return Scenario()
        return Scenario(applicants=(MoreApplicants(t, s, n),))  # type: ignore[arg-type]
    if kind == "positions":
        s = _specialty(args[0], where, value, out, line)
        n = _integer(args[1], where, value, out, line, signed=True, minimum=-_MAX_COUNT)
        if None in (s, n):
            return Scenario()
        return Scenario(positions=(MorePositions(s, n),))  # type: ignore[arg-type]
    if kind == "interview-capacity":
        s = _specialty(args[0], where, value, out, line)
        f = _factor(args[1], where, value, out, line)
        if None in (s, f):
            return Scenario()
        return Scenario(interview_capacity=(InterviewCapacity(s, f),))  # type: ignore[arg-type]
    if kind == "applications":
        s = _specialty(args[0], where, value, out, line) if len(args) == 2 else None
        if len(args) == 2 and s is None:
            return Scenario()
        raw = str(args[-1]).strip()
        if raw.startswith(("+", "-")):
            n = _integer(raw, where, value, out, line, signed=True, minimum=-1000)
            change = Applications(s, add=n) if n is not None else None
        else:
            n = _integer(raw, where, value, out, line, signed=False, minimum=1)
            change = Applications(s, count=n) if n is not None else None
        return Scenario(applications=(change,)) if change else Scenario()
    if kind == "rank-limit":
        k = _integer(args[0], where, value, out, line, signed=False, minimum=1)
        return Scenario(rank_limit=k) if k is not None else Scenario()
    raise AssertionError(kind)  # pragma: no cover


def _yaml_file(path: Path, out: _Collector) -> Scenario:
    import yaml

    label = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        out.problems.append(file_problem(label, f"a readable UTF-8 YAML file ({error})"))
        return Scenario()
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        out.add(label, None, f"valid YAML ({getattr(error, 'problem', None) or error})", line)
        return Scenario()
    if data is None:
        return Scenario()
    if not isinstance(data, dict):
        out.problems.append(file_problem(label, "a mapping of scenario keys: " + _yaml_keys()))
        return Scenario()
    lines = _line_numbers(node)
    result = Scenario(name=str(data.get("name", "")) if data.get("name") is not None else "")
    fields = {
        "applicants": ("type", "specialty", "count"),
        "positions": ("specialty", "count"),
        "interview_capacity": ("specialty", "factor"),
        "applications": ("specialty", "count", "add"),
    }
    for key, value in data.items():
        norm = str(key).replace("-", "_")
        line = lines.get((str(key),))
        if norm == "name":
            continue
        if norm == "rank_limit":
            result = result.merged(_change("rank-limit", [value], label, value, out, line))
            continue
        if norm not in fields:
            out.add(label, key, "one of the keys " + _yaml_keys(), line)
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            at = lines.get((str(key), str(i)), line)
            if not isinstance(item, dict):
                out.add(label, item, f"a mapping with {', '.join(fields[norm])}", at)
                continue
            unknown = set(map(str, item)) - set(fields[norm])
            if unknown:
                out.add(label, sorted(unknown)[0], f"keys among {', '.join(fields[norm])}", at)
                continue
            if norm == "applications":
                if ("count" in item) == ("add" in item):
                    out.add(label, item, "either count (programs) or add (more programs)", at)
                    continue
                amount = f"{item['add']:+}" if "add" in item and isinstance(
                    item["add"], int) else item.get("count", item.get("add"))  # fmt: skip
                args = [item["specialty"], amount] if item.get("specialty") else [amount]
                result = result.merged(_change("applications", args, label, item, out, at))
                continue
            missing = [f for f in fields[norm] if f not in item]
            if missing:
                out.add(
                    label, item, f"the keys {', '.join(fields[norm])} (missing {missing[0]})", at
                )
                continue
            args = [item[f] for f in fields[norm]]
            if norm in ("applicants", "positions") and isinstance(args[-1], int):
                args[-1] = f"{args[-1]:+d}"
            kind = norm.replace("_", "-")
            result = result.merged(_change(kind, args, label, item, out, at))
    return result


def _yaml_keys() -> str:
    return "applicants, positions, interview_capacity, applications, rank_limit, name"


def _line_numbers(node: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """1-based line of each mapping key and list item of a composed YAML document."""
    import yaml

    out: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            out[here] = key.start_mark.line + 1
            out.update(_line_numbers(value, here))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            here = (*path, str(i))
            out[here] = item.start_mark.line + 1
            out.update(_line_numbers(item, here))
    return out


def parse_scenarios(values: list[str] | tuple[str, ...]) -> Scenario:
    """`--scenario` values (changes or YAML files) to one scenario; every problem at once.

    A value naming a `.yaml`/`.yml` file is read as a scenario file; anything else is one
    change (see the module docstring).
    """
    out = _Collector()
    result = Scenario()
    for value in values:
        text = str(value).strip()
        if text.lower().endswith((".yaml", ".yml")):
            path = Path(text)
            if not path.is_file():
                out.problems.append(file_problem(text, "a scenario YAML file: no such file"))
                continue
            result = result.merged(_yaml_file(path, out))
        else:
            result = result.merged(_one_flag(text, out))
    if out.problems:
        raise DataValidationError(out.problems, source="the scenario")
    return result
