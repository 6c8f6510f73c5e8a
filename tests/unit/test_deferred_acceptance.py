"""Deferred acceptance: same matching as the `matching` package, stable, applicant-optimal.

Markets are given as plain preference lists (per applicant the programs in order, per program
the applicants in order) and converted with `RankLists.from_preferences`; the checks below
read those lists, never the arrays, so they are independent of the code under test.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching.games import HospitalResident

from analysis.model.deferred_acceptance import (
    UNMATCHED,
    UNRANKED,
    RankListError,
    RankLists,
    deferred_acceptance,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Prefs:
    """A market as preference lists; `program_lists[p]` holds the applicants p ranks."""

    applicant_lists: list[list[int]]
    program_lists: list[list[int]]
    capacities: list[int]

    def rank_lists(self) -> RankLists:
        return RankLists.from_preferences(self.applicant_lists, self.program_lists, self.capacities)

    def acceptable(self, a: int, p: int) -> bool:
        return p in self.applicant_lists[a] and a in self.program_lists[p]


@st.composite
def markets(draw, max_applicants=30, max_programs=30, max_list=15, max_capacity=6) -> Prefs:
    """Random partial lists on both sides, random capacities (0 included).

    Each program has one strict order of all applicants and ranks a random subset of them
    (so its ranks are consistent across applicants); applicants it leaves out, and programs
    an applicant leaves out, are unacceptable.
    """
    n_app = draw(st.integers(0, max_applicants))
    n_prog = draw(st.integers(0, max_programs))
    capacities = draw(st.lists(st.integers(0, max_capacity), min_size=n_prog, max_size=n_prog))
    applicant_lists = [
        draw(st.lists(st.integers(0, n_prog - 1), unique=True, max_size=min(max_list, n_prog)))
        if n_prog
        else []
        for _ in range(n_app)
    ]
    program_lists = []
    for _ in range(n_prog):
        order = draw(st.permutations(range(n_app)))
        ranked = draw(st.lists(st.booleans(), min_size=n_app, max_size=n_app))
        program_lists.append([a for a in order if ranked[a]])
    return Prefs(applicant_lists, program_lists, capacities)


def random_prefs(seed: int, n_app: int, n_prog: int, list_len: int, max_capacity: int) -> Prefs:
    """A seeded market with larger capacities than the hypothesis ones (deeper heaps)."""
    rng = np.random.default_rng(seed)
    capacities = rng.integers(0, max_capacity + 1, n_prog).tolist()
    applicant_lists = [
        rng.choice(n_prog, size=rng.integers(0, list_len + 1), replace=False).tolist()
        for _ in range(n_app)
    ]
    program_lists = [
        [int(a) for a in rng.permutation(n_app) if rng.random() < 0.85] for _ in range(n_prog)
    ]
    return Prefs(applicant_lists, program_lists, capacities)


# ------------------------------------------------------------------ independent references


def reference_matching(prefs: Prefs) -> list[int]:
    """The `matching` package's resident-optimal hospital-resident solution.

    It requires mutual, non-empty lists and capacities of at least 1, so unacceptable pairs,
    empty lists and closed programs are left out of its input (they cannot match anyway);
    any warning it raises about its input fails the test.
    """
    resident_prefs = {}
    for a, lst in enumerate(prefs.applicant_lists):
        ok = [f"h{p}" for p in lst if prefs.capacities[p] > 0 and prefs.acceptable(a, p)]
        if ok:
            resident_prefs[f"r{a}"] = ok
    hospital_prefs = {}
    for p, lst in enumerate(prefs.program_lists):
        ok = [f"r{a}" for a in lst if f"h{p}" in resident_prefs.get(f"r{a}", [])]
        if ok:
            hospital_prefs[f"h{p}"] = ok
    result = [UNMATCHED] * len(prefs.applicant_lists)
    if not resident_prefs:
        return result
    capacities = {h: prefs.capacities[int(h[1:])] for h in hospital_prefs}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        game = HospitalResident.create_from_dictionaries(resident_prefs, hospital_prefs, capacities)
        solution = game.solve(optimal="resident")
    for hospital, residents in solution.items():
        for resident in residents:
            result[int(resident.name[1:])] = int(hospital.name[1:])
    return result


def blocking_pairs(prefs: Prefs, match: list[int]) -> list[tuple[int, int]]:
    """Every acceptable pair (a, p) where a prefers p to their match and p would take a."""
    program_rank = [{a: i for i, a in enumerate(lst)} for lst in prefs.program_lists]
    assigned = [[a for a, q in enumerate(match) if q == p] for p in range(len(prefs.capacities))]
    pairs = []
    for a, lst in enumerate(prefs.applicant_lists):
        for p in lst:
            if p == match[a]:
                break  # the rest of the list is worse than a's match
            if not prefs.acceptable(a, p):
                continue
            has_room = len(assigned[p]) < prefs.capacities[p]
            prefers_a = any(program_rank[p][a] < program_rank[p][b] for b in assigned[p])
            if has_room or prefers_a:
                pairs.append((a, p))
    return pairs


def is_feasible(prefs: Prefs, match: list[int]) -> bool:
    """Only acceptable pairs, no program above capacity."""
    counts = [0] * len(prefs.capacities)
    for a, p in enumerate(match):
        if p == UNMATCHED:
            continue
        if not prefs.acceptable(a, p):
            return False
        counts[p] += 1
    return all(c <= cap for c, cap in zip(counts, prefs.capacities, strict=True))


def all_stable_matchings(prefs: Prefs) -> list[list[int]]:
    """Brute force: every feasible assignment without a blocking pair (tiny markets only)."""
    options = [
        [UNMATCHED] + [p for p in lst if prefs.acceptable(a, p)]
        for a, lst in enumerate(prefs.applicant_lists)
    ]
    found = []
    for combo in itertools.product(*options):
        match = list(combo)
        if is_feasible(prefs, match) and not blocking_pairs(prefs, match):
            found.append(match)
    return found


def position(prefs: Prefs, a: int, p: int) -> int:
    """Where p sits on a's list (unmatched is worse than anything)."""
    lst = prefs.applicant_lists[a]
    return len(lst) if p == UNMATCHED else lst.index(p)


def run(prefs: Prefs) -> list[int]:
    return deferred_acceptance(prefs.rank_lists()).tolist()


# ----------------------------------------------------------------------------- properties


@SETTINGS
@given(markets())
def test_same_matching_as_the_matching_package(prefs):
    assert run(prefs) == reference_matching(prefs)


@pytest.mark.parametrize("seed", range(5))
def test_same_matching_as_the_matching_package_with_large_capacities(seed):
    prefs = random_prefs(seed, n_app=300, n_prog=40, list_len=12, max_capacity=25)
    match = run(prefs)
    assert match == reference_matching(prefs)
    assert sum(p != UNMATCHED for p in match) > 100  # the market is not trivially empty


@SETTINGS
@given(markets())
def test_stable_within_capacity_and_only_acceptable_pairs(prefs):
    match = run(prefs)
    assert len(match) == len(prefs.applicant_lists)
    assert is_feasible(prefs, match)
    assert blocking_pairs(prefs, match) == []


@SETTINGS
@given(markets(max_applicants=5, max_programs=3, max_list=3, max_capacity=2))
def test_applicant_optimal_among_all_stable_matchings(prefs):
    match = run(prefs)
    stable = all_stable_matchings(prefs)
    assert match in stable
    for other in stable:
        for a in range(len(match)):
            assert position(prefs, a, match[a]) <= position(prefs, a, other[a])


@SETTINGS
@given(markets(), st.randoms(use_true_random=False))
def test_the_order_applicants_are_processed_in_does_not_matter(prefs, rnd):
    n = len(prefs.applicant_lists)
    new_index = list(range(n))
    rnd.shuffle(new_index)
    old_at = {new: old for old, new in enumerate(new_index)}
    shuffled = Prefs(
        [prefs.applicant_lists[old_at[i]] for i in range(n)],
        [[new_index[a] for a in lst] for lst in prefs.program_lists],
        prefs.capacities,
    )
    match, shuffled_match = run(prefs), run(shuffled)
    assert [shuffled_match[new_index[a]] for a in range(n)] == match


def test_a_worked_example():
    # Program 0 (1 position) ranks 2, 0, 1; program 1 (2 positions) ranks 0, 1, 2.
    # Applicant 0 proposes to 0 (held); 1 proposes to 0 (rejected: 0 holds a better one),
    # then to 1 (held); 2 proposes to 0 and displaces 0, who proposes to 1 (held).
    prefs = Prefs([[0, 1], [0, 1], [0, 1]], [[2, 0, 1], [0, 1, 2]], [1, 2])
    assert run(prefs) == [1, 1, 0]


def test_rank_values_need_not_be_consecutive_and_any_integer_dtype_works():
    indptr = np.array([0, 2, 3, 5], dtype=np.uint8)
    programs = np.array([0, 1, 0, 1, 0], dtype=np.int16)
    ranks = np.array([500, 7, 90_000, 3, 2], dtype=np.int64)  # program 0 ranks 2, 0, 1
    capacities = np.array([1, 1], dtype=np.uint32)
    rank_lists = RankLists(indptr, programs, ranks, capacities)
    same_as_lists = Prefs([[0, 1], [0], [1, 0]], [[2, 0, 1], [2, 0]], [1, 1])
    assert deferred_acceptance(rank_lists).tolist() == run(same_as_lists) == [0, UNMATCHED, 1]


# ----------------------------------------------------------------------------- edge cases


def test_empty_market():
    rank_lists = RankLists(np.zeros(1, np.int64), [], [], [])
    assert rank_lists.n_applicants == 0 and rank_lists.n_programs == 0
    assert deferred_acceptance(rank_lists).shape == (0,)


def test_empty_lists_leave_applicants_unmatched():
    prefs = Prefs([[], [0], []], [[1, 0, 2]], [3])
    assert run(prefs) == [UNMATCHED, 0, UNMATCHED]


def test_zero_capacity_programs_take_no_one():
    prefs = Prefs([[0, 1], [0, 1], [0]], [[0, 1, 2], [1, 0]], [0, 1])
    assert run(prefs) == [UNMATCHED, 1, UNMATCHED]


def test_all_pairs_unacceptable():
    prefs = Prefs([[0, 1], [1, 0]], [[], []], [5, 5])
    assert run(prefs) == [UNMATCHED, UNMATCHED]
    rank_lists = RankLists([0, 2], [0, 1], [UNRANKED, UNRANKED], [1, 1])
    assert deferred_acceptance(rank_lists).tolist() == [UNMATCHED]


def test_a_huge_capacity_costs_no_memory():
    prefs = Prefs([[0], [0], [0]], [[0, 1, 2]], [10**15])
    assert run(prefs) == [0, 0, 0]
    rank_lists = RankLists([0, 1, 2], [0, 0], [0, 1], np.array([2**64 - 1], dtype=np.uint64))
    assert rank_lists.capacities[0] > 0
    assert deferred_acceptance(rank_lists).tolist() == [0, 0]


def test_result_dtype_and_inputs_are_read_only_copies():
    programs = np.array([0, 0], dtype=np.int32)
    rank_lists = RankLists(np.array([0, 1, 2]), programs, np.array([1, 0]), np.array([1]))
    assert deferred_acceptance(rank_lists).dtype == np.int32
    assert not rank_lists.programs.flags.writeable
    programs[0] = 5  # the caller's array is not shared
    assert rank_lists.programs[0] == 0


# ----------------------------------------------------------------------------- bad input


def problems_of(*args) -> RankListError:
    with pytest.raises(RankListError) as caught:
        RankLists(*args)
    return caught.value


def test_wrong_dtypes_and_shapes_are_all_named():
    error = problems_of([0, 1.5], np.zeros((1, 1), int), [True], ["a"])
    text = str(error)
    assert error.count == 4
    assert "indptr: expected an integer dtype, got float64" in text
    assert "programs: expected a 1-D array, got shape (1, 1)" in text
    assert "program_ranks: expected an integer dtype, got bool" in text
    assert "capacities: expected an integer dtype" in text


def test_ragged_input_is_a_problem_not_a_traceback():
    error = problems_of([0, 1], [[0], [1, 2]], [0], [1])
    assert "programs: expected a 1-D integer array, got list" in str(error)


def test_layout_problems():
    error = problems_of([1, 0, 3], [0, 0], [0], [1])
    text = str(error)
    assert "indptr[0]: 1: expected 0" in text
    assert "indptr[-1]: 3: expected the number of entries in programs (2)" in text
    assert "indptr[1]: 0: expected >= indptr[0] (1)" in text
    assert "program_ranks: 1 values: expected one per entry of programs (2)" in text
    assert "indptr: expected n_applicants + 1 values" in str(problems_of([], [], [], []))


def test_value_problems_are_reported_together_with_their_applicant():
    # applicant 0: program 9 (no such program), program 0 twice; applicant 1: rank -3;
    # applicant 2: program 0 gives it the rank it gave applicant 1; capacity -1.
    error = problems_of([0, 3, 5, 6], [9, 0, 0, 1, 0, 0], [0, 1, 2, -3, 4, 4], [2, -1])
    text = str(error)
    assert error.count == 5
    assert "programs[0] (applicant 0, list position 0): 9: expected a program index in 0..1" in text
    assert "programs[2] (applicant 0, list position 2): 0: already listed by this applicant" in text
    assert "program_ranks[3] (applicant 1, list position 0): -3: expected a rank" in text
    assert (
        "program_ranks[5] (applicant 2, list position 0): 4: program 0 gives the same rank at "
        "entry 4 (applicant 1, list position 1)"
    ) in text
    assert "capacities[1]: -1: expected 0 or more positions" in text


def test_many_problems_are_summarized_past_50():
    n = 1000
    error = problems_of(np.arange(n + 1), np.full(n, 7), np.arange(n), [1])
    assert error.count == n
    assert len(error.problems) == 51
    assert error.problems[-1] == f"... and {n - 50:,} more program indices out of range"


def test_from_preferences_checks_the_program_lists():
    with pytest.raises(RankListError) as caught:
        RankLists.from_preferences([[0], [0]], [[0, 0, 5]], [1, 2])
    text = str(caught.value)
    assert "program_lists[0][1]: 0: already ranked at position 0" in text
    assert "program_lists[0][2]: 5: expected an applicant index in 0..1" in text
    assert "capacities: 2 values: expected one per program list (1)" in text


def test_deferred_acceptance_wants_validated_rank_lists():
    with pytest.raises(TypeError, match="expects RankLists"):
        deferred_acceptance((np.array([0]), np.array([]), np.array([]), np.array([])))
