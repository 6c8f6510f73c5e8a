"""Free text to canonical values: one pure function per kind of cell.

Method: every normalizer reduces its input to a *key* (Unicode NFKC, case-folded,
apostrophes dropped, every run of punctuation or spacing turned into one space), so matching
is insensitive to case, spacing and punctuation ("J-1", "j1", "J 1" are the same). It then
maps the key through a vocabulary. What the vocabulary does not cover is an error, never a
guess: each function returns the canonical value or raises
`analysis.errors.NormalizationError(value, expected)`, and no other exception, for any input
string (a property test checks this for every function here).

Inputs: one cell as text (`None` is read as an empty cell). Outputs: canonical values of the
program table (`analysis.data.schemas`): tri-state booleans where `None` means *unknown*, codes
from the enumerations, `datetime.date`, numbers.

Unknown is a value. The words "", "unknown", "?", "TBD", "n/a" (and a few synonyms) mean
*unknown* wherever a fact can be unknown; they never mean "no".

Visa sponsorship (`normalize_visa`) follows these rules:

- A non-empty answer that lists visas is exhaustive: "J-1" means J-1 yes, H-1B no. An answer
  that only *negates* visas ("no H-1B") says nothing about the visas it does not name.
- F-1 is a student visa, not residency sponsorship: "F-1" alone means neither J-1 nor H-1B.
  "ECFMG" names the J-1 sponsor, so it counts as J-1.
- A qualifier ("case by case", "possibly", "limited", a question mark...) makes the visa it
  is attached to unknown. Within a clause (clauses are separated by `, ; / | ( )` and by
  "but"/"however"), words after a visa (or a group of visas joined by "and"/"or"/"&") attach
  to it; words before the first visa attach to every visa of the clause. A clause without a
  visa that carries a qualifier or a negation ("J-1 & H-1B (case by case)") attaches to the
  visas of the clause before it (or, if none, the one after it).
- A bare "Yes" / "sponsors visas" means J-1 yes, H-1B unknown: J-1 (sponsored by ECFMG) is
  what almost every sponsoring program accepts, whereas H-1B is the exception (JGME 2022: of
  267 Internal Medicine programs accepting J-1, only 92 also sponsored H-1B; see
  `data/reference/visa_and_programs.md`). "Both" means J-1 and H-1B.
- Contradictions ("J-1, no J-1") are errors.

Visiting-student policy (`normalize_visiting_policy`): "VSLO only" says how students apply,
not whether IMGs may: VSLO is open to some international schools (VSLO Global) and closed to
most, so it normalizes to *unknown*. "US/LCME/AOA students only" means no.

Visiting route (`normalize_visiting_route`): an answer naming both VSLO and direct
application ("VSLO or direct") normalizes to `direct`, the route open to students whose
school is not on VSLO, which is the case of most IMGs.

Limits: the vocabularies are English and cover the wording of public FREIDA data and of the
advising guides' tracker spreadsheets; anything else is reported, with what is allowed, so
the user can fix the cell (or move the prose into `notes`).
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import functools
import json
import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any, Literal

from analysis.data.vocabulary import PROGRAM_TYPES, TRACKS, US_STATES, specialties
from analysis.errors import NormalizationError

NoneMeans = Literal["error", "zero", "unknown"]

__all__ = [
    "normalize_bool",
    "normalize_program_type",
    "normalize_specialty",
    "normalize_specialty_track",
    "normalize_state",
    "normalize_track",
    "normalize_visa",
    "normalize_visa_list",
    "normalize_visa_need",
    "normalize_visiting_policy",
    "normalize_visiting_route",
    "parse_date",
    "parse_float",
    "parse_int",
    "parse_list_cell",
    "parse_money",
    "parse_percent",
    "parse_share",
]

# --------------------------------------------------------------------------- text keys

_APOSTROPHES = str.maketrans("", "", "'’‘`´")
_NON_WORD = re.compile(r"[\W_]+")

_UNKNOWN_KEYS = frozenset(
    {
        "",
        "unknown",
        "unk",
        "tbd",
        "tba",
        "tbc",
        "na",
        "n a",
        "nk",
        "not known",
        "not sure",
        "unsure",
        "dont know",
        "do not know",
        "idk",
        "not specified",
        "unspecified",
        "not listed",
        "not stated",
        "not available",
        "no data",
        "no info",
        "pending",
        "null",
        "nan",
    }
)
"""Keys that mean *unknown* (a cell of only punctuation, such as "?" or "-", has key "")."""


def _text(value: Any) -> str:
    """The cell as a string ('' for None), without surrounding spaces."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def _key(text: str) -> str:
    """Case-, spacing- and punctuation-insensitive form of `text` ('J-1 Visa' -> 'j 1 visa')."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    return " ".join(_NON_WORD.sub(" ", folded).split())


def _compact(text: str) -> str:
    """`_key` without spaces ('PM & R' -> 'pmr'), for matching codes and names."""
    return _key(text).replace(" ", "")


def _fail(value: Any, expected: str) -> NormalizationError:
    return NormalizationError(_text(value) if value is not None else "", expected)


def _is_unknown(key: str) -> bool:
    return key in _UNKNOWN_KEYS


# --------------------------------------------------------------------------- booleans

_TRUE_SYMBOLS = frozenset({"✓", "✔", "☑", "✅", "☒", "x", "X"})
_FALSE_SYMBOLS = frozenset({"✗", "✘", "❌", "✖"})
_TRUE_KEYS = frozenset({"y", "yes", "true", "t", "1", "x", "checked", "on", "ok"})
_FALSE_KEYS = frozenset({"n", "no", "false", "f", "0", "none", "off", "unchecked", "nope"})
_BOOL_EXPECTED = "yes/no: Y, yes, true, 1, x or ✓; N, no, false or 0; empty, ?, unknown or n/a"


def normalize_bool(text: str | None) -> bool | None:
    """Yes/no/unknown from a checkbox-like cell.

    Args:
        text: "Y", "yes", "true", "1", "x", "✓" (True); "N", "no", "false", "0", "none"
            (False); "", "unknown", "?", "n/a", "TBD" (unknown). A number (as XLSX cells
            give them) is True when it is 1 and False when it is 0.

    Returns:
        True, False, or None for unknown.

    Raises:
        NormalizationError: anything else ("maybe", "2").
    """
    raw = _text(text)
    if raw in _TRUE_SYMBOLS:
        return True
    if raw in _FALSE_SYMBOLS:
        return False
    number = _number_or_none(raw)
    if number is not None:
        if number == 1:
            return True
        if number == 0:
            return False
        raise _fail(text, _BOOL_EXPECTED)
    key = _key(raw)
    if key in _TRUE_KEYS:
        return True
    if key in _FALSE_KEYS:
        return False
    if _is_unknown(key):
        return None
    raise _fail(text, _BOOL_EXPECTED)


# --------------------------------------------------------------------------- visas

_SEP = r"[\s\-\u2010-\u2015._]*"
_VISA_PATTERNS = (
    (re.compile(rf"(?<![a-z0-9])h{_SEP}1{_SEP}b(?![a-z0-9])"), " zzh1bzz "),
    (re.compile(rf"(?<![a-z0-9])h{_SEP}1(?![a-z0-9])"), " zzh1bzz "),
    (re.compile(rf"(?<![a-z0-9])j{_SEP}1(?![a-z0-9])"), " zzj1zz "),
    (re.compile(r"(?<![a-z0-9])ecfmg(?![a-z0-9])"), " zzj1zz "),
    (re.compile(rf"(?<![a-z0-9])f{_SEP}1(?![a-z0-9])"), " zzf1zz "),
)
_N_A = re.compile(r"(?<![a-z0-9])n\s*/\s*a(?![a-z0-9])")
_VISA_TOKENS = {"zzj1zz": "j1", "zzh1bzz": "h1b", "zzf1zz": "f1"}
_CLAUSE_SPLIT = re.compile(r"[,;/|()\[\]{}\n\r]+|\b(?:but|however|while|whereas|except)\b")
_PHRASES = (
    (re.compile(r"\bcase (?:by|to) case\b"), " zzqualzz "),
    (re.compile(r"\b(?:not|un) ?(?:sure|certain|clear|known)\b"), " zzqualzz "),
    (re.compile(r"\b(?:dont|do not|does not|did not) know\b"), " zzqualzz "),
    (re.compile(r"\bin the past\b"), " zzqualzz "),
    (re.compile(r"\bon an? individual basis\b"), " zzqualzz "),
)
_NEG = frozenset(
    {"no", "not", "none", "never", "doesnt", "dont", "wont", "cant", "cannot", "isnt", "arent",
     "without", "nope", "false", "n", "nor", "neither", "non"}
)  # fmt: skip
_QUAL = frozenset(
    {"zzqualzz", "possibly", "possible", "maybe", "may", "might", "sometimes", "occasionally",
     "limited", "depends", "depending", "dependent", "rarely", "rare", "unclear", "unsure",
     "uncertain", "varies", "variable", "consider", "considered", "considers", "considering",
     "tbd", "unknown", "pending", "negotiable", "historically", "previously", "perhaps",
     "probably", "likely", "unlikely", "cbc", "if", "needed", "discuss", "inquire", "ask",
     "unconfirmed", "unverified", "check", "confirm", "reportedly", "few", "some", "special",
     "exceptions", "exception", "circumstances"}
)  # fmt: skip
_STRONG_YES = frozenset({"yes", "y", "true"})
_WEAK_YES = frozenset(
    {"sponsor", "sponsors", "sponsored", "sponsoring", "sponsorship", "sponsorships", "accept",
     "accepts", "accepted", "accepting", "offer", "offers", "offered", "available", "provide",
     "provides", "provided", "support", "supports", "supported", "ok", "preferred", "prefer",
     "prefers", "standard", "typically", "usually", "generally", "mostly", "welcome", "allowed",
     "eligible"}
)  # fmt: skip
_FILLER = frozenset(
    {"visa", "visas", "only", "through", "thru", "via", "by", "from", "the", "for", "residents",
     "resident", "residency", "status", "statuses", "and", "or", "both", "program", "programs",
     "type", "types", "we", "is", "are", "it", "of", "on", "a", "an", "all", "with", "in", "to",
     "be", "can", "will", "do", "does", "application", "applicants", "applicant", "trainees",
     "trainee", "category", "categories", "also", "plus", "sponsorship", "basis", "per",
     "either", "any", "they", "them", "their", "our", "this", "that", "these", "those", "as",
     "well", "at", "time", "currently", "current", "now", "yet", "holders", "holder", "work",
     "training", "exchange", "visitor", "temporary", "worker", "specialty", "occupation",
     "physicians", "physician", "alien", "foreign", "national", "nationals", "img", "imgs",
     "j", "h", "b", "f", "et", "etc", "cap", "exempt", "institutional", "hospital", "gme",
     "office", "requested", "request", "upon", "when", "required", "require", "requires",
     "has", "have", "had", "been", "was", "were"}
)  # fmt: skip
_CONNECTORS = frozenset({"and", "or", "plus", "also", "both", "as", "well", "either", "nor"})
_CITIZEN_WORDS = frozenset(
    {"us", "u", "s", "usa", "citizen", "citizens", "citizenship", "green", "card", "cards",
     "holder", "holders", "gc", "permanent", "resident", "residents", "residency", "lpr", "only",
     "and", "or", "ead", "usc", "american", "pr", "lawful", "with"}
)  # fmt: skip
_VISA_EXPECTED = (
    'visas sponsored for residents, e.g. "J-1", "J-1 and H-1B", "H-1B only", "none", '
    '"J-1 through ECFMG", "F-1", "yes", "H-1B case by case"; empty, "?", "unknown" or '
    '"n/a" for unknown'
)

_Signal = Literal["neg", "qual", "yes", "weak"] | None


def _signal(words: Iterable[str], value: Any, *, question: bool = False) -> _Signal:
    """The strongest signal among `words`; unknown words are an error."""
    neg = qual = strong = weak = False
    for word in words:
        if word in _NEG:
            neg = True
        elif word in _QUAL:
            qual = True
        elif word in _STRONG_YES:
            strong = True
        elif word in _WEAK_YES:
            weak = True
        elif word in _FILLER:
            continue
        else:
            raise _fail(value, f"{_VISA_EXPECTED} (could not read {word!r})")
    if neg and strong:
        raise _fail(value, f"{_VISA_EXPECTED} (says both yes and no)")
    if neg:
        return "neg"
    if qual or question:
        return "qual"
    if strong:
        return "yes"
    if weak:
        return "weak"
    return None


_STATUS_OF: dict[_Signal, bool | None] = {
    "neg": False,
    "qual": None,
    "yes": True,
    "weak": True,
    None: True,
}


def _visa_clauses(text: str) -> list[tuple[list[str], bool]]:
    """Split a visa answer into clauses of words (visa tokens marked) plus a '?' flag."""
    lowered = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    lowered = _N_A.sub(" unknown ", lowered)
    for pattern, token in _VISA_PATTERNS:
        lowered = pattern.sub(token, lowered)
    clauses = []
    for piece in _CLAUSE_SPLIT.split(lowered):
        if piece is None:
            continue
        question = "?" in piece
        key = " ".join(_NON_WORD.sub(" ", piece).split())
        for pattern, token in _PHRASES:
            key = pattern.sub(token, key)
        words = key.split()
        if words or question:
            clauses.append((words, question))
    return clauses


def normalize_visa(text: str | None) -> tuple[bool | None, bool | None]:
    """Which residency visas a program sponsors, from a free-text answer.

    Args:
        text: a tracker or FREIDA cell: "J-1", "j1", "J1 only", "Yes - J-1 & H-1B",
            "J-1 and H1B", "H-1B only", "none", "No", "No visa sponsorship",
            "J-1 through ECFMG", "F-1", "H-1B case by case", "" / "unknown" / "?" / "TBD" /
            "n/a". The rules (exhaustive lists, qualifiers, bare "Yes") are in the module
            docstring.

    Returns:
        `(sponsors_j1, sponsors_h1b)`, each True, False or None (unknown).

    Raises:
        NormalizationError: a word outside the vocabulary, or a contradiction.
    """
    raw = _text(text)
    key = _key(raw)
    if _is_unknown(key):
        return (None, None)
    words_all = set(key.split())
    if words_all <= _CITIZEN_WORDS and words_all & _CITIZEN_ONLY:
        return (False, False)  # "US citizens / green card holders only"
    status, bare_signals = _visa_status(_parse_visa_clauses(raw, text))
    mentioned = {visa: values for visa, values in status.items() if values}
    if not mentioned:
        return _answer_without_visas(set(bare_signals), words_all, text)
    return _answer_with_visas(mentioned, text)


_CITIZEN_ONLY = frozenset({"citizen", "citizens", "citizenship", "green", "gc", "permanent",
                           "lpr", "usc"})  # fmt: skip
"""Words that make an answer of only citizen words mean "citizens / green cards only"."""

_VisaGroups = list[tuple[set[str], _Signal]]


def _parse_visa_clauses(raw: str, text: Any) -> list[tuple[_VisaGroups, _Signal]]:
    """Per clause: its groups of visas with the signal each gets, and the clause's own signal.

    Words after a visa (or a group of visas joined by connectors) attach to it; words before
    the first visa attach to every visa of the clause. A clause without a visa has only its
    own signal (its list of groups is empty).
    """
    parsed: list[tuple[_VisaGroups, _Signal]] = []
    for words, question in _visa_clauses(raw):
        prefix: list[str] = []
        groups: list[tuple[set[str], list[str]]] = []
        for word in words:
            visa = _VISA_TOKENS.get(word)
            if visa is not None:
                if groups and all(w in _CONNECTORS for w in groups[-1][1]):
                    groups[-1][0].add(visa)
                    groups[-1][1].clear()
                else:
                    groups.append(({visa}, []))
            elif groups:
                groups[-1][1].append(word)
            else:
                prefix.append(word)
        prefix_signal = _signal(prefix, text, question=question and not groups)
        resolved = []
        for index, (visas, own) in enumerate(groups):
            last = index == len(groups) - 1
            own_signal = _signal(own, text, question=question and last)
            if own_signal is None or (own_signal == "weak" and prefix_signal in ("neg", "qual")):
                own_signal = prefix_signal
            resolved.append((visas, own_signal))
        parsed.append((resolved, prefix_signal))
    return parsed


def _visa_status(
    parsed: list[tuple[_VisaGroups, _Signal]],
) -> tuple[dict[str, list[bool | None]], list[_Signal]]:
    """Each visa's statuses across clauses, and the signals of the visa-free clauses.

    A visa-free clause with a negation or a qualifier applies to the visas of the clause
    before it (or, if none, of the clause after it).
    """
    status: dict[str, list[bool | None]] = {"j1": [], "h1b": [], "f1": []}
    pending: list[_Signal] = []  # signals of visa-free clauses waiting for a visa clause
    last_visas: _VisaGroups | None = None
    bare_signals: list[_Signal] = []
    for resolved, clause_signal in parsed:
        if not resolved:
            bare_signals.append(clause_signal)
            if clause_signal in ("neg", "qual"):
                if last_visas is not None:
                    for visas, _ in last_visas:
                        for visa in visas:
                            status[visa][-1] = _combine_status(status[visa][-1], clause_signal)
                else:
                    pending.append(clause_signal)
            continue
        for visas, signal in resolved:
            for carried in pending:
                signal = carried if signal in (None, "weak", "yes") else signal
            for visa in visas:
                status[visa].append(_STATUS_OF[signal])
        pending = []
        last_visas = resolved
    return status, bare_signals


def _answer_without_visas(
    signals: set[_Signal], words: set[str], text: Any
) -> tuple[bool | None, bool | None]:
    """An answer that names no visa: "No", "case by case", "Both", a bare "Yes"."""
    if "neg" in signals:
        if signals & {"yes"}:
            raise _fail(text, f"{_VISA_EXPECTED} (says both yes and no)")
        return (False, False)
    if "qual" in signals:
        return (None, None)
    if "both" in words:
        return (True, True)
    if signals & {"yes", "weak"}:
        return (True, None)
    raise _fail(text, _VISA_EXPECTED)


def _answer_with_visas(
    mentioned: dict[str, list[bool | None]], text: Any
) -> tuple[bool | None, bool | None]:
    """An answer that names visas: a list of visas is exhaustive, a negation is not."""
    final: dict[str, bool | None] = {}
    for visa, values in mentioned.items():
        if True in values and False in values:
            raise _fail(text, f"{_VISA_EXPECTED} (contradicts itself about {visa})")
        if None in values:
            final[visa] = None
        else:
            final[visa] = values[0]
    listing = any(value is True for value in final.values())
    default = False if listing else None
    return (final.get("j1", default), final.get("h1b", default))


def _combine_status(current: bool | None, signal: _Signal) -> bool | None:
    if signal == "neg":
        return False
    if signal == "qual":
        return None
    return current


def normalize_visa_list(items: list[str] | None) -> tuple[bool | None, bool | None]:
    """Visa sponsorship from a list-valued cell (FREIDA's `visa_statuses_accepted`).

    Args:
        items: the list items, e.g. `["J-1 through ECFMG", "H-1B"]`. An **empty list means
            unknown** for both visas (FREIDA leaves the list empty when the program did not
            say), never "no".

    Returns:
        `(sponsors_j1, sponsors_h1b)`: the union of the items (True if any item says so,
        otherwise unknown if any item is unknown, otherwise False).

    Raises:
        NormalizationError: an item that `normalize_visa` cannot read.
    """
    if not items:
        return (None, None)
    results = [normalize_visa(item) for item in items]
    return (_union(r[0] for r in results), _union(r[1] for r in results))


def _union(values: Iterable[bool | None]) -> bool | None:
    seen = list(values)
    if True in seen:
        return True
    if None in seen:
        return None
    return False


_VISA_NEED_EXPECTED = (
    'the visa needed for residency: "J-1", "H-1B", "either" (J-1 or H-1B) or "none" (US '
    "citizen or permanent resident); the codes j1, h1b, either, none"
)
_NEED_WORDS = _FILLER | _CONNECTORS | _WEAK_YES | {"need", "needs", "needed", "needing"}
_NEED_EITHER = frozenset({"either", "any", "both"})
_NEED_NONE = frozenset(
    {"none", "no", "n", "false", "no visa", "no visa needed", "not needed", "no need",
     "not required", "no sponsorship", "no sponsorship needed"}
)  # fmt: skip


def normalize_visa_need(text: str | None) -> str:
    """The visa an applicant needs, with the spellings program tables use for visas.

    Args:
        text: "J-1", "j1", "J1 visa", "H-1B", "H1B", "either", "J-1 or H-1B", "both",
            "none", "no visa needed", "US citizen", "green card" (and the codes).

    Returns:
        One of `vocabulary.VISA_NEEDS`: "j1", "h1b", "either" or "none".

    Raises:
        NormalizationError: empty, unknown, F-1 (a student visa) or a word outside the
            vocabulary.
    """
    raw = _text(text)
    key = _key(raw)
    lowered = unicodedata.normalize("NFKC", raw).casefold().translate(_APOSTROPHES)
    for pattern, token in _VISA_PATTERNS:
        lowered = pattern.sub(token, lowered)
    words = _key(lowered).split()
    visas = {_VISA_TOKENS[word] for word in words if word in _VISA_TOKENS}
    rest = {word for word in words if word not in _VISA_TOKENS}
    if "f1" in visas:
        raise _fail(text, f"F-1 is a student visa, not a residency visa; {_VISA_NEED_EXPECTED}")
    if visas and rest <= _NEED_WORDS:
        return "either" if visas == {"j1", "h1b"} or rest & _NEED_EITHER else visas.pop()
    if not visas and key:
        if key in _NEED_NONE or (rest <= _CITIZEN_WORDS and rest & (_CITIZEN_ONLY | {"card"})):
            return "none"
        if rest & _NEED_EITHER and rest <= _NEED_WORDS:
            return "either"
    raise _fail(text, _VISA_NEED_EXPECTED)


def _lookup(text: str | None, table: dict[str, str], expected: str) -> str | None:
    """The code a word stands for in `table` (None for an unknown marker), else the error."""
    key = _key(_text(text))
    if _is_unknown(key):
        return None
    found = table.get(key)
    if found is None:
        raise _fail(text, expected)
    return found


# --------------------------------------------------------------------------- program facts

_PROGRAM_TYPE_KEYS: dict[str, str] = {
    "university": "university",
    "university based": "university",
    "university program": "university",
    "university hospital": "university",
    "academic": "university",
    "academic medical center": "university",
    "academic center": "university",
    "academic program": "university",
    "amc": "university",
    "community university affiliated": "community_university_affiliated",
    "community based university affiliated": "community_university_affiliated",
    "community based university affiliated hospital": "community_university_affiliated",
    "university affiliated community": "community_university_affiliated",
    "university affiliated community based": "community_university_affiliated",
    "university affiliated": "community_university_affiliated",
    "community university": "community_university_affiliated",
    "community academic": "community_university_affiliated",
    "academic community": "community_university_affiliated",
    "affiliated community": "community_university_affiliated",
    "community affiliated": "community_university_affiliated",
    "community university affiliated hospital": "community_university_affiliated",
    "hybrid": "community_university_affiliated",
    "community": "community",
    "community based": "community",
    "community hospital": "community",
    "community program": "community",
    "military": "military",
    "military based": "military",
    "other": "other",
}
_PROGRAM_TYPE_EXPECTED = (
    'a program type: "University-based", "Community-based university affiliated", '
    '"Community-based", "Military-based", "Other" (or academic, university affiliated '
    f"community, community, military; codes {', '.join(PROGRAM_TYPES)}); empty for unknown"
)


def normalize_program_type(text: str | None) -> str | None:
    """FREIDA's "program best described as" (or a synonym) to a `PROGRAM_TYPES` code.

    Args:
        text: "University-based", "Community-based university affiliated",
            "Community-based", "Military-based", "Other", "academic", "university
            affiliated community", a code such as "community_university_affiliated", or an
            unknown marker.

    Returns:
        One of `vocabulary.PROGRAM_TYPES`, or None when unknown.

    Raises:
        NormalizationError: anything else.
    """
    return _lookup(text, _PROGRAM_TYPE_KEYS, _PROGRAM_TYPE_EXPECTED)


_TRACK_KEYS: dict[str, str] = {
    "categorical": "categorical",
    "cat": "categorical",
    "preliminary": "preliminary",
    "prelim": "preliminary",
    "prelims": "preliminary",
    "transitional": "transitional",
    "transitional year": "transitional",
    "ty": "transitional",
    "advanced": "advanced",
    "adv": "advanced",
    "integrated": "integrated",
    "independent": "independent",
}
_TRACK_EXPECTED = f"a track: {', '.join(TRACKS)} (prelim, TY accepted); empty for the default"


def normalize_track(text: str | None) -> str | None:
    """A track cell to one of `vocabulary.TRACKS` (None when empty: the specialty default).

    Raises:
        NormalizationError: anything else.
    """
    return _lookup(text, _TRACK_KEYS, _TRACK_EXPECTED)


@functools.cache
def _state_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for code, name in US_STATES.items():
        index[code.lower()] = code
        index[_compact(name)] = code
    index.update(
        {
            "washingtondc": "DC",
            "districtofcolumbia": "DC",
            "usvirginislands": "VI",
            "virginislands": "VI",
            "puertorico": "PR",
        }
    )
    return index


def normalize_state(text: str | None) -> str | None:
    """A USPS state code ("NY", "ny", "N.Y.") or state name ("New York") to the code.

    Returns:
        The USPS code, or None when the cell is empty/unknown.

    Raises:
        NormalizationError: not a US state or territory with residency programs.
    """
    key = _compact(_text(text))
    if _is_unknown(_key(_text(text))):
        return None
    code = _state_index().get(key)
    if code is None:
        raise _fail(text, "a USPS state code (for example NY, TX, PR) or a state name")
    return code


# --------------------------------------------------------------------------- specialties


@functools.cache
def _specialty_index() -> tuple[dict[str, str], dict[str, str]]:
    """(compact key -> code, display label -> code) over codes, names and aliases."""
    index: dict[str, str] = {}
    labels: dict[str, str] = {}
    for code, spec in specialties().items():
        for label in (code, spec.name, *spec.aliases):
            labels.setdefault(label, code)
            for variant in (label, label.replace("&", " and ")):
                index.setdefault(_compact(variant), code)
    return index, labels


def _specialty_error(text: Any) -> NormalizationError:
    _, labels = _specialty_index()
    raw = _text(text)
    by_lower = {label.casefold(): label for label in labels}
    close = difflib.get_close_matches(raw.casefold(), list(by_lower), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(by_lower[c]) for c in close)}?" if close else ""
    codes = ", ".join(specialties())
    return _fail(text, f"a specialty name or code ({codes}){hint}")


def normalize_specialty(text: str | None) -> str:
    """A specialty label to its code in `vocabulary.specialties()`.

    Matches the code ("IM"), the name ("Internal Medicine") and every alias of
    `data/reference/specialties.csv` ("Radiology-Diagnostic", "Interventional Radiology
    (Integrated)", "PM&R"...), ignoring case, spacing and punctuation.

    Raises:
        NormalizationError: unknown or empty; the message suggests the closest known names.
    """
    compact = _compact(_text(text))
    index, _ = _specialty_index()
    code = index.get(compact) if compact else None
    if code is None:
        raise _specialty_error(text)
    return code


_ESIR_WORDS = frozenset({"esir", "with", "without", "w", "wo", "no", "not", "non", "and",
                         "plus", "option", "pathway", "available", "offered"})  # fmt: skip
_ESIR_NEG = frozenset({"without", "wo", "no", "not", "non"})
_TRACK_FILLER = frozenset({"track", "program", "residency", "position", "positions", "pgy",
                           "pgy1", "pgy2", "1", "2", "only", "year"})  # fmt: skip
_PRELIM_CODES = {"IM": "IM-PRELIM", "GS": "GS-PRELIM"}


def normalize_specialty_track(text: str | None) -> tuple[str, str | None, bool | None]:
    """A tracker's specialty cell to (specialty code, track, ESIR available).

    Examples: "IR" and "IR/DR" -> ("IR", "integrated", None); "DR" -> ("DR", "advanced",
    None); "DR/ESIR", "DR with ESIR" -> ("DR", "advanced", True); "DR without ESIR" ->
    ("DR", "advanced", False); "Interventional Radiology - Independent" -> ("IR",
    "independent", None); "Medicine-Preliminary" -> ("IM-PRELIM", "preliminary", None).
    The track is the one written in the cell, else the specialty's default track.

    Raises:
        NormalizationError: unknown specialty, or ESIR mentioned for a specialty other than
            Diagnostic Radiology (ESIR is a DR pathway).
    """
    raw = _text(text)
    words = _key(raw).split()
    index, _ = _specialty_index()
    esir: bool | None = None
    if "esir" in words:
        esir = not any(word in _ESIR_NEG for word in words)
    track_words = [_TRACK_KEYS[w] for w in words if w in _TRACK_KEYS and w != "ty"]
    if len(set(track_words)) > 1:
        raise _fail(text, f"one specialty with at most one track ({', '.join(TRACKS)})")
    track = track_words[0] if track_words else None

    code = index.get("".join(words)) if words else None
    if code is None:
        rest = [
            w
            for w in words
            if not (w in _TRACK_KEYS and w != "ty")
            and not (esir is not None and w in _ESIR_WORDS)
            and w not in _TRACK_FILLER
        ]
        code = index.get("".join(rest)) if rest else None
        if code is None:
            raise _specialty_error(text)
    if track == "preliminary" and code in _PRELIM_CODES:
        code = _PRELIM_CODES[code]
    spec = specialties()[code]
    if code.endswith("-PRELIM"):
        track = "preliminary"
    if track is None:
        track = spec.default_track
    if esir is not None and code != "DR":
        raise _fail(text, "ESIR (Early Specialization in IR) applies only to Diagnostic "
                          "Radiology (DR)")  # fmt: skip
    return code, track, esir


# --------------------------------------------------------------------------- visiting students

_VSLO_WORDS = frozenset({"vslo", "vsas", "aamc", "vslo global"})
_DIRECT_WORDS = frozenset(
    {"direct", "directly", "email", "e mail", "emailing", "coordinator", "coordinators",
     "website", "web", "site", "contact", "contacting", "online", "form", "portal", "apply",
     "institutional", "institution", "gme", "office", "department", "dept", "program",
     "programs", "mail", "application", "applications", "through", "via", "the", "to", "by",
     "on", "at", "with", "own", "their", "its", "send", "cv", "letter", "request", "phone",
     "call", "school", "hospital"}
)  # fmt: skip
_ROUTE_SIGNAL_DIRECT = frozenset({"direct", "directly", "email", "coordinator", "coordinators",
                                  "website", "contact", "contacting", "online", "portal",
                                  "form", "mail", "phone", "call", "institutional"})  # fmt: skip
_ROUTE_NONE = frozenset({"none", "no", "not", "offered", "closed", "na", "rotations",
                         "rotation", "visiting", "students", "student", "accepted", "available",
                         "n", "does", "doesnt", "do", "dont", "accept", "electives",
                         "elective", "only", "use", "uses", "using", "used", "listed",
                         "participate", "participates", "participating", "member",
                         "in", "required", "is", "are", "we", "currently"})  # fmt: skip
_ROUTE_EXPECTED = (
    'how visiting students apply: "VSLO" (or VSAS), "direct" ("Direct application", '
    '"email coordinator", "program website"), "none" ("not offered"); empty for unknown'
)


_SIGNAL_EXPECTED = (
    "a program signal: gold, silver, or yes/single (one tier); empty, no or none for no signal"
)
_SIGNAL_SINGLE = frozenset({"single", "signal", "signaled", "signalled", "sent"})


def normalize_signal(text: str | None) -> str | None:
    """The applicant's own program signal: `gold`, `silver`, `single`, or None (no signal).

    Args:
        text: "gold", "Gold signal", "silver"; "yes", "x", "single", "signaled" (a single-tier
            signal); "", "no", "none", "?" (no signal).

    Raises:
        NormalizationError: anything else, or gold and silver at once.
    """
    raw = _text(text)
    if raw in _TRUE_SYMBOLS:
        return "single"
    key = _key(raw)
    if _is_unknown(key) or key in _FALSE_KEYS or key in {"no signal", "not signaled"}:
        return None
    words = set(key.split()) - {"signal", "tier"}
    tiers = words & {"gold", "silver"}
    if len(tiers) > 1:
        raise _fail(text, _SIGNAL_EXPECTED)
    if tiers and not words - tiers:
        return tiers.pop()
    if key in _TRUE_KEYS or key in _SIGNAL_SINGLE or not words:
        return "single"
    raise _fail(text, _SIGNAL_EXPECTED)


def normalize_visiting_route(text: str | None) -> str:
    """How visiting students apply: `vslo`, `direct`, `none` or `unknown`.

    Args:
        text: "VSLO", "VSAS" (VSLO's former name), "direct", "Direct application",
            "email coordinator", "none", "not offered", "" (unknown). Both VSLO and direct
            ("VSLO or direct") gives `direct` (see the module docstring).

    Raises:
        NormalizationError: anything else.
    """
    raw = _text(text)
    key = _key(raw)
    if _is_unknown(key) or key in {"unknown route"}:
        return "unknown"
    if key in {"vslo", "direct", "none", "unknown"}:
        return key
    routes: set[str] = set()
    negated = False
    for piece in _CLAUSE_SPLIT.split(raw.casefold()):
        if not piece:
            continue
        words = _key(piece).split()
        if not words:
            continue
        clause_neg = any(w in _NEG for w in words)
        found = set()
        for word in words:
            if word in _VSLO_WORDS:
                found.add("vslo")
            elif word in _ROUTE_SIGNAL_DIRECT:
                found.add("direct")
            elif word in _DIRECT_WORDS or word in _ROUTE_NONE or word in _FILLER:
                continue
            else:
                raise _fail(text, f"{_ROUTE_EXPECTED} (could not read {word!r})")
        if clause_neg:
            negated = True  # "not on VSLO": the routes of a negated clause are excluded
            continue
        routes |= found
    if "direct" in routes:
        return "direct"
    if "vslo" in routes:
        return "vslo"
    if negated or {w for w in key.split()} & {"closed"}:
        return "none"
    raise _fail(text, _ROUTE_EXPECTED)


_IMG_WORDS = frozenset(
    {"img", "imgs", "fmg", "fmgs", "international", "internationals", "foreign", "overseas",
     "global", "non", "nonus", "non us", "ecfmg", "caribbean", "offshore"}
)  # fmt: skip
_US_ONLY_WORDS = frozenset(
    {"lcme", "aoa", "coca", "us", "u", "s", "usa", "american", "domestic", "amg", "amgs",
     "md", "do", "mds", "dos", "affiliated", "affiliate", "home", "osteopathic", "allopathic",
     "accredited", "canadian", "canada", "afmc", "cacms"}
)  # fmt: skip
_POLICY_YES = frozenset(
    {"yes", "y", "accepts", "accept", "accepted", "accepting", "welcome", "welcomed",
     "welcomes", "open", "allowed", "allows", "allow", "eligible", "ok", "friendly", "true",
     "takes", "take", "taken", "considered", "consider", "considers"}
)  # fmt: skip
_POLICY_FILLER = frozenset(
    {"students", "student", "visiting", "visitors", "visitor", "rotations", "rotation",
     "rotators", "electives", "elective", "medical", "schools", "school", "graduates",
     "graduate", "applicants", "applicant", "from", "of", "the", "for", "to", "and", "or",
     "are", "is", "be", "can", "may", "with", "a", "an", "all", "also", "including", "both",
     "on", "in", "at", "as", "by", "via", "through", "program", "programs", "only", "away",
     "clerkships", "clerkship", "sub", "internships", "i", "ai", "acting", "well",
     "citizens", "citizen", "nationals", "trained", "seniors", "senior", "4th", "fourth",
     "year", "final", "who", "have", "has", "need", "needs", "must", "certified", "ecfmg",
     "application", "apply", "we", "offered", "offer", "offers", "available", "currently",
     "does", "did", "will", "would", "they", "it", "presently", "anymore",
     "this", "time", "rotate", "rotating"}
)  # fmt: skip
_POLICY_EXPECTED = (
    'whether IMG visiting students are accepted: "Accepts IMGs", "International students '
    'welcome", "yes" (True); "US students only", "No IMGs", "LCME schools only", "no" '
    '(False); "VSLO only", "case by case", empty (unknown)'
)


def normalize_visiting_policy(text: str | None) -> bool | None:
    """Whether a program takes IMG visiting students, from its stated policy.

    Args:
        text: "Accepts IMGs", "International students welcome", "yes" (True); "US students
            only", "No IMGs", "LCME schools only", "no" (False); "VSLO only" (unknown: VSLO
            is how students apply, and it is open to some international schools only);
            "case by case", "", "?" (unknown).

    Raises:
        NormalizationError: a word outside the vocabulary, or yes and no at once.
    """
    raw = _text(text)
    key = _key(raw)
    if _is_unknown(key):
        return None
    if key in _TRUE_KEYS or key in _FALSE_KEYS:
        return normalize_bool(raw)
    for pattern, token in _PHRASES:
        key = pattern.sub(token, key)
    words = key.split()
    has_img = has_us = has_yes = has_neg = has_qual = has_only = has_vslo = False
    for word in words:
        if word in {"vslo", "vsas"}:
            has_vslo = True
        elif word in {"only", "exclusively", "solely"}:
            has_only = True
        elif word in _NEG and word != "non":
            has_neg = True
        elif word in _IMG_WORDS:
            has_img = True
        elif word in _US_ONLY_WORDS:
            has_us = True
        elif word in _POLICY_YES:
            has_yes = True
        elif word in _QUAL:
            has_qual = True
        elif word not in _POLICY_FILLER:
            raise _fail(text, f"{_POLICY_EXPECTED} (could not read {word!r})")
    if "?" in raw:
        has_qual = True
    if has_img and has_neg:
        return False  # "No IMGs", "does not accept international students"
    if has_us and (has_only or has_neg) and not has_img:
        return False  # "US students only", "LCME schools only"
    if has_qual:
        return None
    if has_img and (has_yes or not has_us):
        return True  # "Accepts IMGs", "International students welcome"
    if has_vslo and not has_img and not has_us and not has_neg:
        return None  # "VSLO only": says how to apply, not whether IMGs may
    if has_neg and not has_img and not has_us:
        return False  # "not accepted", "no visiting students"
    if has_yes and not has_neg and not has_us:
        return True
    raise _fail(text, _POLICY_EXPECTED)


# --------------------------------------------------------------------------- numbers

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_MAX_EXACT = 2**53
_NONE_KEYS = frozenset(
    {"none", "no", "nil", "no minimum", "no min", "no cutoff", "no cut off", "no limit",
     "no requirement", "not required", "no requirements", "not applicable"}
)  # fmt: skip


def _number_or_none(raw: str) -> float | None:
    """A finite number from plain numeric text ('1,200', '12.0', '-3'), else None."""
    text = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    if not math.isfinite(value) or abs(value) > _MAX_EXACT:
        return None
    return value


def _parse_number(
    text: Any, *, expected: str, none_means: NoneMeans, strip: tuple[str, ...] = ()
) -> float | None:
    raw = _text(text)
    key = _key(raw)
    if _is_unknown(key):
        return None
    if key in _NONE_KEYS:
        if none_means == "zero":
            return 0.0
        if none_means == "unknown":
            return None
        raise _fail(text, expected)
    body = raw
    lowered = body.casefold()
    for suffix in strip:
        if lowered.endswith(suffix):
            body = body[: len(body) - len(suffix)]
            lowered = body.casefold()
    value = _number_or_none(body)
    if value is None:
        raise _fail(text, expected)
    return value


def parse_int(text: str | None, *, none_means: NoneMeans = "error") -> int | None:
    """A whole count: "12", "12.0", "1,200" (empty/unknown -> None).

    Args:
        text: the cell.
        none_means: how to read "none"/"no minimum"/"not required": an error (default),
            zero, or unknown (for thresholds such as a Step 2 CK minimum, where "none" means
            no screen).

    Raises:
        NormalizationError: not a whole number ("twelve", "12.5").
    """
    expected = "a whole number (e.g. 12)"
    value = _parse_number(text, expected=expected, none_means=none_means)
    if value is None:
        return None
    if not float(value).is_integer():
        raise _fail(text, expected)
    return int(value)


def parse_float(text: str | None, *, none_means: NoneMeans = "error") -> float | None:
    """A number: "12", "12.5", "1,200.5" (empty/unknown -> None).

    Raises:
        NormalizationError: not a number ("twelve", "nan", "inf").
    """
    return _parse_number(text, expected="a number (e.g. 12.5)", none_means=none_means)


def parse_percent(text: str | None, *, none_means: NoneMeans = "zero") -> float | None:
    """A percentage on the 0-100 scale: "40%", "40", "40.5", "40 percent".

    A bare number is a percent: "0.4" is 0.4 %, not 40 % (FREIDA and trackers write
    percents). The range is checked by the table contract, not here. "none" is 0 % by
    default ("IMGs: none").

    Raises:
        NormalizationError: not a number.
    """
    return _parse_number(
        text,
        expected="a percentage from 0 to 100 (e.g. 40 or 40%)",
        none_means=none_means,
        strip=("%", " %", "percent", " percent", "pct", " pct"),
    )


def parse_share(text: str | None) -> float | None:
    """A share on the 0-1 scale: "0.35", or a percentage written with '%' ("35%" -> 0.35).

    Raises:
        NormalizationError: not a number.
    """
    raw = _text(text)
    if raw.endswith("%"):
        value = parse_percent(raw, none_means="zero")
        return None if value is None else value / 100
    return _parse_number(text, expected="a share from 0 to 1 (e.g. 0.35 or 35%)", none_means="zero")


_MONEY_FREE = frozenset(
    {"free", "none", "no fee", "no fees", "no charge", "no cost", "waived", "fee waived",
     "nil", "zero", "0", "no", "not required", "no application fee"}
)  # fmt: skip
_CURRENCY = re.compile(r"^(?:usd|us\$|us|\$)\s*|\s*(?:usd|us dollars|dollars|\$)$", re.I)


def parse_money(text: str | None) -> float | None:
    """An amount in US dollars: "$1,200", "USD 150", "150", "150 USD" ("free", "none",
    "waived" -> 0; empty/unknown -> None).

    Raises:
        NormalizationError: another currency, a range ("$100-200") or text.
    """
    raw = _text(text)
    key = _key(raw)
    if _is_unknown(key):
        return None
    if key in _MONEY_FREE:
        return 0.0
    body = raw
    for _ in range(2):
        body = _CURRENCY.sub("", body.strip())
    value = _number_or_none(body)
    if value is None:
        raise _fail(text, 'an amount in US dollars (e.g. "$1,200", "150", "free")')
    return value


# --------------------------------------------------------------------------- dates

_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%B %d, %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%d %B, %Y",
    "%d %b, %Y",
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%d-%b-%y",
    "%b-%d-%Y",
    "%B %Y",
)
_ORDINAL = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b", re.I)
_WEEKDAY = re.compile(r"^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+", re.I)
_NO_DATE_KEYS = frozenset(
    {"rolling", "rolling basis", "rolling admissions", "rolling admission", "none",
     "no deadline", "no fixed deadline", "open", "open until filled", "anytime", "any time"}
)  # fmt: skip
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_EXPECTED = (
    'a date: 2026-03-01, 3/1/2026 (month/day/year), "March 1, 2026" or "1 Mar 2026"; '
    'empty, "rolling" or "none" for no fixed date'
)


def parse_date(text: str | None, *, excel_serial: bool = False) -> dt.date | None:
    """A date from the ways spreadsheets write one.

    Accepts ISO dates and timestamps ("2026-03-01", "2026-03-01T09:30:00Z"), US
    month/day/year ("3/1/2026", "03/01/26"), month names ("March 1, 2026", "Mar 1 2026",
    "1 Mar 2026", "1st March 2026"), and, when `excel_serial` is true (cells read from
    XLSX), Excel serial day numbers ("46082" is 2026-03-01). Empty, unknown, "rolling" and
    "none" give None: there is no fixed date. Years must be 1900-2100.

    Raises:
        NormalizationError: anything else, including day/month/year order ("13/1/2026").
    """
    raw = _text(text)
    key = _key(raw)
    if _is_unknown(key) or key in _NO_DATE_KEYS:
        return None
    result: dt.date | None = None
    number = _number_or_none(raw)
    if number is not None:
        if excel_serial and 1 <= number < 2958466:
            result = _EXCEL_EPOCH + dt.timedelta(days=int(number))
        elif not re.fullmatch(r"[0-9]{8}", raw):
            raise _fail(text, _DATE_EXPECTED)
    if result is None:
        result = _parse_date_text(unicodedata.normalize("NFKC", raw))
    if result is None or not 1900 <= result.year <= 2100:
        raise _fail(text, _DATE_EXPECTED)
    return result


def _parse_date_text(raw: str) -> dt.date | None:
    candidate = raw.strip()
    try:
        return dt.datetime.fromisoformat(candidate).date()
    except ValueError:
        pass
    candidate = _WEEKDAY.sub("", candidate)
    candidate = _ORDINAL.sub("", candidate)
    candidate = re.sub(r"(?i)\bsept\b", "Sep", candidate)
    candidate = re.sub(r"(?<=[A-Za-z])\.(?=\s|$)", "", candidate)  # "Mar. 1" -> "Mar 1"
    candidate = " ".join(candidate.split())
    if not candidate.isascii():
        return None
    for fmt in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(candidate, fmt)
        except ValueError:
            continue
        if fmt == "%B %Y":
            return None  # a month without a day is not a date
        return parsed.date()
    return None


# --------------------------------------------------------------------------- list cells

_LIST_EXPECTED = (
    "a list: JSON ([\"J-1\", \"H-1B\"]), Python-style (['J-1', 'H-1B']), objects with a "
    "'value' key ([{'value': 'H-1B'}]), or text separated by ';' or ','"
)


def parse_list_cell(text: str | None) -> list[str]:
    """A list-valued cell in the forms public FREIDA scrapers write.

    Args:
        text: a JSON list of strings, a Python-literal list (`['J-1 through ECFMG',
            'H-1B']`, parsed with `ast.literal_eval`, never `eval`), a list of objects with a
            `value` key (JSON or Python literal: `[{'value': 'H-1B'}]`), or text separated
            by ';' (else ',', newline or '|'). "[]" and "" give [].

    Returns:
        The items as stripped strings, empty items dropped.

    Raises:
        NormalizationError: a bracketed cell that is not a list of text.
    """
    raw = _text(text)
    if not raw:
        return []
    if raw.startswith("[") or raw.startswith("{"):
        parsed: Any = _NO_PARSE
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            try:
                parsed = ast.literal_eval(raw)
            except Exception:  # literal_eval raises many types (SyntaxError, MemoryError...)
                parsed = _NO_PARSE
        if parsed is _NO_PARSE:
            raise _fail(text, _LIST_EXPECTED)
        if isinstance(parsed, dict):
            parsed = [parsed]
        if not isinstance(parsed, list | tuple):
            raise _fail(text, _LIST_EXPECTED)
        items: list[str] = []
        for item in parsed:
            if isinstance(item, dict):
                if "value" not in item:
                    raise _fail(text, _LIST_EXPECTED)
                item = item["value"]
            if item is None:
                continue
            if not isinstance(item, str):
                raise _fail(text, _LIST_EXPECTED)
            if item.strip():
                items.append(item.strip())
        return items
    for separator in (";", "\n", "|", ","):
        if separator in raw:
            parts = raw.split(separator)
            break
    else:
        parts = [raw]
    return [part.strip().strip("'\"").strip() for part in parts if part.strip().strip("'\"")]


_NO_PARSE: Any = object()
