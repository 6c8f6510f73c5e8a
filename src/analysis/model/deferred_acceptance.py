"""The Match's mechanism: applicant-proposing deferred acceptance with program capacities.

What it computes: the applicant-optimal stable matching of applicants to programs, the
outcome of the NRMP's matching algorithm (Roth and Peranson's applicant-proposing deferred
acceptance, Gale and Shapley 1962 extended to programs with several positions). Every
applicant is matched to the best program on their list that would not rather fill all its
positions with applicants it ranked higher; no applicant and program would both rather be
matched to each other than to what they got (stability), and among all stable matchings
each applicant gets the best program they can get in any of them (applicant optimality).

Left out, on purpose: couples (two partners' linked lists), the Supplemental Offer and
Acceptance Program (SOAP, after the Match), the two-part ranking of PGY-1 programs with
supplemental lists for PGY-2 positions, and the reversion of unfilled positions between
linked tracks. Capacities are fixed for the whole run.

Input (`RankLists`), built for a national market (about 48,000 applicants, 5,300 programs,
44,000 positions, 10-15 ranks each, so about 600,000 rank entries). Indices are 0-based.
- `indptr` (int64, n_applicants + 1): applicant `a`'s list is the entries
  `indptr[a]:indptr[a + 1]`, most preferred first (the CSR layout of scipy.sparse).
- `programs` (int32, one per entry): the program index of each entry.
- `program_ranks` (int32, one per entry): the rank that program gives this applicant on its
  own list (0 or more, lower is preferred), or `UNRANKED` (-1) if the program did not rank
  the applicant: the pair is unacceptable and never matched.
- `capacities` (int64, n_programs): positions per program (0 or more).
A program's ranks must be distinct (the NRMP takes strict lists) and an applicant lists a
program at most once; the ranks need not be consecutive.

Output: the program index per applicant (int32), -1 for unmatched.

Algorithm (McVitie and Wilson's sequential form, which gives the same matching as the
round-based one): applicants enter one at a time; an applicant proposes down their list
until a program holds them. Each program keeps its current holds in a bounded max-heap keyed
by its rank of the applicant, so the least preferred hold is at the top: a proposal is held
if the program has a free position, or if it beats the top, which is then displaced and
proposes on from where it stopped.

Complexity: each rank entry is proposed at most once (an applicant's pointer only moves
forward), so time is O(E log c) for E rank entries and c the largest capacity, plus
O(A + P) for A applicants and P programs. Memory is linear too: besides the inputs
(8 bytes per applicant, 8 per entry, 8 per program), the step allocates 12 bytes per
applicant (next-proposal pointer and result), 24 per program (capacity in use, heap offset,
heap size) and 8 per position, counting at most as many positions per program as entries
that name it, so a huge stated capacity costs nothing. Validation (`RankLists`) copies the
inputs and allocates about 40 bytes per entry more for its range, duplicate and tie checks.

Sources: D. Gale and L. S. Shapley, "College admissions and the stability of marriage"
(1962); A. E. Roth and E. Peranson, "The redesign of the matching market for American
physicians" (1999); NRMP, "How the Matching Algorithm Works".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

UNRANKED: Final = -1
"""`program_ranks` value for an applicant the program did not rank (the pair is unacceptable)."""

UNMATCHED: Final = -1
"""Result value for an applicant who matched nowhere."""

_MAX_SHOWN: Final = 50
_INT32_MAX: Final = int(np.iinfo(np.int32).max)


class RankListError(ValueError):
    """Raised with every problem found in the rank lists; nothing was matched.

    `problems` describes each problem (up to 50 of a kind, then one line with the count of
    the rest); `count` is the number of problems in all.
    """

    def __init__(self, problems: list[str], count: int | None = None) -> None:
        self.problems = problems
        self.count = len(problems) if count is None else count
        noun = "problem" if self.count == 1 else "problems"
        lines = [f"{self.count:,} {noun} in the rank lists (indices are 0-based):"]
        lines.extend(f"  - {p}" for p in problems)
        super().__init__("\n".join(lines))


# ----------------------------------------------------------------------------------- kernels


@njit(cache=True, nogil=True)
def _sift_down(heap: np.ndarray, base: int, size: int, pos: int) -> None:
    """Restore the max-heap `heap[base:base + size]` below `pos`."""
    key = heap[base + pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        right = child + 1
        if right < size and heap[base + right] > heap[base + child]:
            child = right
        if heap[base + child] <= key:
            break
        heap[base + pos] = heap[base + child]
        pos = child
    heap[base + pos] = key


@njit(cache=True, nogil=True)
def _sift_up(heap: np.ndarray, base: int, pos: int) -> None:
    """Move `heap[base + pos]` up the max-heap to its place."""
    key = heap[base + pos]
    while pos > 0:
        parent = (pos - 1) // 2
        if heap[base + parent] >= key:
            break
        heap[base + pos] = heap[base + parent]
        pos = parent
    heap[base + pos] = key


@njit(cache=True, nogil=True)
def _deferred_acceptance_kernel(
    indptr: np.ndarray,
    programs: np.ndarray,
    program_ranks: np.ndarray,
    capacities: np.ndarray,
) -> np.ndarray:
    """Applicant-optimal stable matching; inputs already validated (see `RankLists`)."""
    n_app = indptr.shape[0] - 1
    n_prog = capacities.shape[0]
    n_entries = programs.shape[0]

    # Positions that can ever be held: min(capacity, acceptable entries naming the program).
    usable = np.zeros(n_prog, np.int64)
    for e in range(n_entries):
        if program_ranks[e] >= 0:
            usable[programs[e]] += 1
    offsets = np.empty(n_prog + 1, np.int64)
    offsets[0] = 0
    for p in range(n_prog):
        if capacities[p] < usable[p]:
            usable[p] = capacities[p]
        offsets[p + 1] = offsets[p] + usable[p]

    heap = np.empty(offsets[n_prog], np.int64)  # key = rank * n_app + applicant
    held = np.zeros(n_prog, np.int64)
    next_entry = indptr[:-1].copy()
    match = np.full(n_app, -1, np.int32)

    for newcomer in range(n_app):
        proposer = newcomer
        while proposer >= 0:
            e = next_entry[proposer]
            end = indptr[proposer + 1]
            displaced = -1
            while e < end:
                p = programs[e]
                rank = program_ranks[e]
                e += 1
                if rank < 0 or usable[p] == 0:
                    continue
                key = rank * np.int64(n_app) + proposer
                base = offsets[p]
                count = held[p]
                if count < usable[p]:
                    heap[base + count] = key
                    held[p] = count + 1
                    _sift_up(heap, base, count)
                    match[proposer] = p
                    break
                worst = heap[base]
                if key < worst:
                    displaced = worst % n_app
                    heap[base] = key
                    _sift_down(heap, base, count, 0)
                    match[proposer] = p
                    match[displaced] = -1
                    break
            next_entry[proposer] = e
            proposer = displaced
    return match


@njit(cache=True, nogil=True)
def _duplicates_and_ties(
    indptr: np.ndarray,
    programs: np.ndarray,
    program_ranks: np.ndarray,
    n_programs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Entries that repeat a program in one list, and entries tied with another at a program.

    Returns (repeat_of, tie_with): per entry, the earlier entry of the same list naming the
    same program, and the entry of another applicant with the same rank at the same program
    (-1 where none). Entries with an out-of-range program or a negative rank are skipped.
    """
    n_app = indptr.shape[0] - 1
    n_entries = programs.shape[0]
    repeat_of = np.full(n_entries, -1, np.int64)
    tie_with = np.full(n_entries, -1, np.int64)

    last_entry = np.full(n_programs, -1, np.int64)
    for a in range(n_app):
        for e in range(indptr[a], indptr[a + 1]):
            p = programs[e]
            if p < 0 or p >= n_programs:
                continue
            if last_entry[p] >= indptr[a]:
                repeat_of[e] = last_entry[p]
            else:
                last_entry[p] = e

    # Group ranked entries by program (counting sort), then sort each group by rank.
    start = np.zeros(n_programs + 1, np.int64)
    for e in range(n_entries):
        p = programs[e]
        if 0 <= p < n_programs and program_ranks[e] >= 0 and repeat_of[e] < 0:
            start[p + 1] += 1
    for p in range(n_programs):
        start[p + 1] += start[p]
    fill = start[:-1].copy()
    keys = np.empty(start[n_programs], np.int64)  # rank * n_entries + entry
    for e in range(n_entries):
        p = programs[e]
        if 0 <= p < n_programs and program_ranks[e] >= 0 and repeat_of[e] < 0:
            keys[fill[p]] = program_ranks[e] * np.int64(n_entries) + e
            fill[p] += 1
    for p in range(n_programs):
        group = np.sort(keys[start[p] : start[p + 1]])
        for i in range(1, group.shape[0]):
            if group[i] // n_entries == group[i - 1] // n_entries:
                tie_with[group[i] % n_entries] = group[i - 1] % n_entries
    return repeat_of, tie_with


# ---------------------------------------------------------------------------------- frontend


class _Problems:
    """Problems found so far: up to `_MAX_SHOWN` described per kind, all counted."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.total = 0

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.total += 1

    def add_many(self, mask: np.ndarray, describe: Callable[[int], str], more: str) -> None:
        """One line for each of the first `_MAX_SHOWN` true positions of `mask`, then a count."""
        where = np.flatnonzero(mask)
        self.lines.extend(describe(int(i)) for i in where[:_MAX_SHOWN])
        if where.size > _MAX_SHOWN:
            self.lines.append(f"... and {where.size - _MAX_SHOWN:,} more {more}")
        self.total += int(where.size)

    def raise_if_any(self) -> None:
        if self.total:
            raise RankListError(self.lines, self.total)


def _as_int_array(name: str, value: object, problems: _Problems) -> np.ndarray:
    """`value` as a 1-D integer array (an empty one, with a problem recorded, if it is not)."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged nested lists, odd objects
        problems.add(f"{name}: expected a 1-D integer array, got {type(value).__name__} ({error})")
        return np.zeros(0, dtype=np.int64)
    if array.ndim == 1 and array.size == 0:
        return np.zeros(0, dtype=np.int64)  # `[]` comes as float64: no value to be wrong
    if array.ndim != 1:
        problems.add(f"{name}: expected a 1-D array, got shape {array.shape}")
    elif array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        problems.add(f"{name}: expected an integer dtype, got {array.dtype}")
    else:
        return array
    return np.zeros(0, dtype=np.int64)


def _narrow(array: np.ndarray, bad: np.ndarray, dtype: type[np.integer]) -> np.ndarray:
    """A copy of `array` in `dtype` with the `bad` positions (out of its range) set to -1."""
    out = np.full(array.shape[0], -1, dtype=dtype)
    np.copyto(out, array, where=~bad, casting="unsafe")
    return out


def _check_shapes(
    indptr: np.ndarray,
    programs: np.ndarray,
    ranks: np.ndarray,
    capacities: np.ndarray,
    problems: _Problems,
) -> None:
    """Problems of the arrays' lengths and of `indptr` (entry-level checks need them right)."""
    n_entries = programs.shape[0]
    n_programs = capacities.shape[0]
    if indptr.shape[0] == 0:
        problems.add("indptr: expected n_applicants + 1 values (at least one), got none")
    else:
        if indptr[0] != 0:
            problems.add(f"indptr[0]: {indptr[0]}: expected 0")
        if indptr[-1] != n_entries:
            problems.add(
                f"indptr[-1]: {indptr[-1]}: expected the number of entries in programs "
                f"({n_entries})"
            )
        problems.add_many(
            np.diff(indptr) < 0,
            lambda i: (
                f"indptr[{i + 1}]: {indptr[i + 1]}: expected >= indptr[{i}] "
                f"({indptr[i]}): a list cannot have negative length"
            ),
            "decreasing indptr values",
        )
    if ranks.shape[0] != n_entries:
        problems.add(
            f"program_ranks: {ranks.shape[0]} values: expected one per entry of programs "
            f"({n_entries})"
        )
    if indptr.shape[0] > _INT32_MAX or n_programs > _INT32_MAX:
        problems.add(f"too many applicants or programs: at most {_INT32_MAX:,} each")


def _check_values(
    indptr64: np.ndarray,
    programs: np.ndarray,
    ranks: np.ndarray,
    capacities: np.ndarray,
    problems: _Problems,
) -> tuple[np.ndarray, np.ndarray]:
    """Problems of the entries' values (ranges, repeats, ties); the narrowed arrays."""
    n_programs = capacities.shape[0]

    def at(e: int) -> str:
        a = int(np.searchsorted(indptr64, e, side="right")) - 1
        return f"(applicant {a}, list position {e - int(indptr64[a])})"

    bad_program = (programs < 0) | (programs >= n_programs)
    problems.add_many(
        bad_program,
        lambda e: (
            f"programs[{e}] {at(e)}: {programs[e]}: expected a program index in "
            f"0..{n_programs - 1} (capacities has {n_programs} programs)"
        ),
        "program indices out of range",
    )
    bad_rank = (ranks < UNRANKED) | (ranks > _INT32_MAX)
    problems.add_many(
        bad_rank,
        lambda e: (
            f"program_ranks[{e}] {at(e)}: {ranks[e]}: expected a rank in "
            f"0..{_INT32_MAX} or UNRANKED ({UNRANKED})"
        ),
        "ranks out of range",
    )
    problems.add_many(
        capacities < 0,
        lambda p: f"capacities[{p}]: {capacities[p]}: expected 0 or more positions",
        "negative capacities",
    )
    programs32 = _narrow(programs, bad_program, np.int32)
    ranks32 = _narrow(ranks, bad_rank, np.int32)
    repeat_of, tie_with = _duplicates_and_ties(indptr64, programs32, ranks32, n_programs)
    problems.add_many(
        repeat_of >= 0,
        lambda e: (
            f"programs[{e}] {at(e)}: {programs[e]}: already listed by this applicant "
            f"at entry {repeat_of[e]}: list each program once"
        ),
        "programs listed twice",
    )
    problems.add_many(
        tie_with >= 0,
        lambda e: (
            f"program_ranks[{e}] {at(e)}: {ranks[e]}: program {programs[e]} gives "
            f"the same rank at entry {tie_with[e]} {at(int(tie_with[e]))}: a program's ranks "
            "must be distinct"
        ),
        "tied ranks",
    )
    return programs32, ranks32


@dataclass(frozen=True, slots=True, eq=False)
class RankLists:
    """Both sides' rank lists and the programs' capacities, validated (see the module doc).

    The arrays are copied to the dtypes the matcher uses (int64 `indptr` and `capacities`,
    int32 `programs` and `program_ranks`) and made read-only; any integer dtype is accepted
    where the values fit. Raises `RankListError` listing every problem found: shapes and
    dtypes first (entry-level checks would mislead then), then every bad value.
    """

    indptr: npt.NDArray[np.int64]
    programs: npt.NDArray[np.int32]
    program_ranks: npt.NDArray[np.int32]
    capacities: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        problems = _Problems()
        indptr = _as_int_array("indptr", self.indptr, problems)
        programs = _as_int_array("programs", self.programs, problems)
        ranks = _as_int_array("program_ranks", self.program_ranks, problems)
        capacities = _as_int_array("capacities", self.capacities, problems)
        problems.raise_if_any()
        _check_shapes(indptr, programs, ranks, capacities, problems)
        problems.raise_if_any()
        indptr64 = indptr.astype(np.int64)
        programs32, ranks32 = _check_values(indptr64, programs, ranks, capacities, problems)
        problems.raise_if_any()

        if capacities.dtype == np.uint64:  # past 2**62 is as good as unlimited; would wrap
            capacities = np.minimum(capacities, np.uint64(2**62))
        capacities64 = capacities.astype(np.int64)
        for name, array in (
            ("indptr", indptr64),
            ("programs", programs32),
            ("program_ranks", ranks32),
            ("capacities", capacities64),
        ):
            array.flags.writeable = False
            object.__setattr__(self, name, array)

    @classmethod
    def from_preferences(
        cls,
        applicant_lists: Sequence[Sequence[int]],
        program_lists: Sequence[Sequence[int]],
        capacities: Sequence[int] | npt.ArrayLike,
    ) -> RankLists:
        """Build from plain lists (small markets, tests, examples).

        Args:
            applicant_lists: per applicant, the program indices they rank, most preferred first.
            program_lists: per program, the applicant indices it ranks, most preferred first;
                an applicant missing from a program's list is unacceptable to it.
            capacities: positions per program, one per entry of `program_lists`.
        """
        problems = _Problems()
        n_applicants = len(applicant_lists)
        rank_of: list[dict[int, int]] = []
        for p, ranked in enumerate(program_lists):
            ranks: dict[int, int] = {}
            for position, a in enumerate(ranked):
                if not 0 <= a < n_applicants:
                    problems.add(
                        f"program_lists[{p}][{position}]: {a}: expected an applicant index in "
                        f"0..{n_applicants - 1}"
                    )
                elif a in ranks:
                    problems.add(
                        f"program_lists[{p}][{position}]: {a}: already ranked at position "
                        f"{ranks[a]}: rank each applicant once"
                    )
                else:
                    ranks[a] = position
            rank_of.append(ranks)
        if len(np.atleast_1d(np.asarray(capacities))) != len(program_lists):
            problems.add(
                f"capacities: {len(np.atleast_1d(np.asarray(capacities)))} values: expected "
                f"one per program list ({len(program_lists)})"
            )
        problems.raise_if_any()

        n_programs = len(program_lists)
        indptr = np.zeros(n_applicants + 1, dtype=np.int64)
        np.cumsum([len(lst) for lst in applicant_lists], out=indptr[1:])
        programs = np.fromiter(
            (p for lst in applicant_lists for p in lst), dtype=np.int64, count=int(indptr[-1])
        )
        program_ranks = np.fromiter(
            (
                rank_of[p].get(a, UNRANKED) if 0 <= p < n_programs else UNRANKED
                for a, lst in enumerate(applicant_lists)
                for p in lst
            ),
            dtype=np.int64,
            count=int(indptr[-1]),
        )
        return cls(indptr, programs, program_ranks, np.asarray(capacities))  # type: ignore[arg-type]

    @property
    def n_applicants(self) -> int:
        """Number of applicants (rows of the CSR layout)."""
        return int(self.indptr.shape[0] - 1)

    @property
    def n_programs(self) -> int:
        """Number of programs."""
        return int(self.capacities.shape[0])

    @property
    def n_entries(self) -> int:
        """Number of rank entries over all applicants."""
        return int(self.programs.shape[0])


def deferred_acceptance(rank_lists: RankLists) -> npt.NDArray[np.int32]:
    """Run the Match: the applicant-optimal stable matching of `rank_lists`.

    Args:
        rank_lists: validated rank lists and capacities (`RankLists`).

    Returns:
        int32 array, one per applicant: the matched program's index, or `UNMATCHED` (-1).
    """
    if not isinstance(rank_lists, RankLists):
        raise TypeError(
            f"deferred_acceptance expects RankLists, got {type(rank_lists).__name__}: "
            "build one with RankLists(indptr, programs, program_ranks, capacities)"
        )
    return _deferred_acceptance_kernel(
        rank_lists.indptr, rank_lists.programs, rank_lists.program_ranks, rank_lists.capacities
    )
