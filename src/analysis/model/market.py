"""The whole Match, simulated: one synthetic national market, matched by deferred acceptance.

A market is built around a program table (the demo's is national: NRMP 2025 positions per
specialty) and is new in every replication (`simulate_market(market, seed)`); every
parameter is in `params/market.yaml` with its source or "judgement".

1. **Applicants** of NRMP's four types. Per type and first-choice specialty s: the type's
   NRMP 2025 matches in s / its applicants' match rate there (US MD seniors: their 2024 rate
   by preferred specialty where known; else the type's 2025 rate) x (positions of s in the
   table / NRMP's positions of s) x the type's entrants per applicant with an interview
   (`entry_factors`: solved once per table by pilot replications, so that as many can
   certify a rank list as NRMP counted). IMGs are drawn from the documented population
   (`analysis.model.population`: profiles, a second specialty for a share, applications per
   specialty, as the calibration cohorts draw them); US MD and DO seniors from their simpler
   profile (`analysis.model.seniors`), applying until they expect a target number of
   interviews.
2. **Applications**: in each of their specialties an applicant applies to the programs with
   the highest log(p_interview) + Normal(0, targeting noise), the cohorts' rule (p_interview
   from `analysis.model.probability.specialty_scores`, or the seniors' model).
3. **Interview offers**: whether a program is open to an applicant's kind at all is drawn
   once per program and market with the model's P(open) (one uniform per program, so a
   program open to applicants needing a J-1 is open to those needing none). At an open
   program an application is *considered* with probability p_interview / P(open), so without
   a capacity limit the interview rate is the model's p_interview. The program's view of the
   applicant is y = logit(that probability) + Normal(0, preference noise); it invites its
   considered applicants with the highest y up to its interview capacity (interviews per
   position from the table, or FREIDA's IM median of 11.4, times its positions). Applicants
   attend their preferred `attend_at_most` interviews and decline the rest; programs offer
   the declined slots once more, down their list.
4. **Rank lists**: an applicant ranks every interview, first specialty first, by a
   program's desirability (shared by all applicants, leaning away from programs open to
   non-US IMGs in this market) plus their own taste; a program ranks everyone it
   interviewed by y + Normal(0, interview noise).
5. **The Match**: applicant-proposing deferred acceptance with the programs' positions
   (`analysis.model.deferred_acceptance`), after holding out the positions NRMP shows filled
   by applicants outside the four types (US graduates of earlier years, Canadians).

Applicants given by the user (`MarketSetup.applicants`) join every replication: they apply
to their best-fit programs (no targeting noise) with their profile's applications and rank
every interview (or their first `rank_limit`), as the heuristic assumes.

Everything is vectorized over applicants and programs: the interview model works on blocks
of one specialty and visa need (applicants x the specialty's programs), offers, lists and
ranks are sorts of flat arrays, and the match is a numba kernel. Memory is linear in the
applications (about 4 million at national size) plus the largest block.

Known limits: couples, supplemental lists for PGY-2 positions (preliminary and transitional
years are their own specialties here, ranked by those who choose them), SOAP, signals and
geography are left out; every program ranks every applicant it interviewed; a program's
openness to seniors and its interview capacity are the same in every replication.

The setup (the inputs, NRMP's figures, positions, capacities and applicant counts) is
`analysis.model.market_setup`; this module solves the entry factors, builds and caches the
prepared markets, and runs one replication.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from analysis.model.deferred_acceptance import RankLists, deferred_acceptance
from analysis.model.market_setup import (
    TYPES,
    Market,
    MarketSetup,
    market_params,
    model_key,
    prepare_market,
)
from analysis.model.population import ApplicantArrays, population_params, sample_population
from analysis.model.probability import specialty_scores
from analysis.model.scenarios import Scenario
from analysis.model.seniors import (
    SENIOR_TYPES,
    sample_seniors,
    senior_anchor,
    senior_applications,
)

# --------------------------------------------------------------------------- built markets

# Here rather than in `market_setup`: solving the entry factors runs pilot replications.

_MARKETS: dict[str, Market] = {}


_ENTRY: dict[str, np.ndarray] = {}


def entry_factors(setup: MarketSetup) -> np.ndarray:
    """Entrants per applicant with an interview, per type (cached per table and date).

    NRMP counts applicants who certified a rank list; more enter. Two pilot replications of
    the baseline market (no scenario, no user applicants; seed `pilot_seed`) give each type's
    share with at least one interview; the counts are scaled so that as many have one as NRMP
    counted (a fixed-point step: the second pilot runs at the first one's counts).
    """
    key = model_key(setup)
    if key not in _ENTRY:
        base = dataclasses.replace(setup, applicants=(), scenario=Scenario(), entry=None)
        seed = int(market_params()["applicants"]["pilot_seed"])
        factor = np.ones(len(TYPES))
        target = None
        for step in range(2):
            pilot = prepare_market(base, factor)
            outcome = simulate_market(pilot, [seed, step])
            if target is None:
                target = outcome.entered.astype(float)
            factor = factor * target / np.maximum(outcome.certified, 1)
        _ENTRY.clear()
        _ENTRY[key] = factor
    return _ENTRY[key]


def prepare_setup(setup: MarketSetup) -> MarketSetup:
    """The setup with its entry factors solved (so workers need no pilot of their own)."""
    if setup.entry is not None:
        return setup
    return dataclasses.replace(setup, entry=tuple(float(x) for x in entry_factors(setup)))


def build_market(setup: MarketSetup) -> Market:
    """The prepared market of a setup (cached per process: replications reuse it).

    Applicant counts use the setup's entry factors, solved by `entry_factors` when missing.
    """
    cached = _MARKETS.get(setup.key)
    if cached is not None:
        return cached
    entry = np.asarray(setup.entry) if setup.entry is not None else entry_factors(setup)
    market = prepare_market(setup, entry)
    while len(_MARKETS) >= 2:  # a baseline and a scenario per process: memory stays flat
        _MARKETS.pop(next(iter(_MARKETS)))
    _MARKETS[setup.key] = market
    return market


# --------------------------------------------------------------------------- one replication


@dataclass
class Outcome:
    """What one replication returns (small: counts, not applicants).

    Per type (index into TYPES): entered, certified (at least one interview, so a rank list),
    matched. Per specialty (index into `Market.specialties`) and type: matched; per specialty:
    positions, held out for other types, applicants ranking it (at least one interview there),
    interviews, programs whose considered applicants exceeded their capacity. Per inserted
    applicant: the matched specialty's index (-1 unmatched) and interviews per specialty.
    """

    entered: np.ndarray
    certified: np.ndarray
    matched: np.ndarray
    matched_by_specialty: np.ndarray  # (specialties, types)
    positions: np.ndarray
    held: np.ndarray
    ranking: np.ndarray  # (specialties, types)
    interviews: np.ndarray  # (specialties, types)
    applications: np.ndarray  # (specialties, types)
    capacity_bound: np.ndarray  # per specialty: programs where capacity cut considered ones
    inserted_match: np.ndarray
    inserted_interviews: np.ndarray  # (inserted, specialties)
    seconds: float = 0.0


@dataclass
class _Pool:
    """Applicants of one kind drawn for a replication (one block per kind)."""

    type_index: int  # index into TYPES, -1 for the user's applicants
    arrays: ApplicantArrays
    choices: np.ndarray  # (n, K): specialty index of each choice in rank-list order, -1 none
    wanted: np.ndarray  # (n, K): applications (or, for seniors, target interviews) per choice
    noise: float
    senior: bool
    rotations: list[set[str]] | None = None
    bounds: tuple[int, int] = (1, 10**6)  # seniors: applications within these bounds


def _draw_shares(rng: np.random.Generator, shares: dict[Any, float], size: tuple[int, ...]):
    values = np.array([float(v) for v in shares])
    p = np.array(list(shares.values()), dtype=float)
    return values[rng.choice(values.size, size=size, p=p / p.sum())]


def _draw_pools(market: Market, rng: np.random.Generator) -> list[_Pool]:
    """The replication's applicants: one pool per type, then the user's applicants."""
    pools = [_type_pool(market, t, rng) for t in TYPES]
    pools = [p for p in pools if p is not None]
    if market.inserted.ids:
        pools.append(_inserted_pool(market))
    return pools


def _type_pool(market: Market, t: str, rng: np.random.Generator) -> _Pool | None:
    """Applicants of one type: first choices as counted, a second specialty for a share."""
    specs = market.specialties
    pop = population_params()
    cohort = pop["cohort"]
    seniors = market_params()["seniors"]
    senior = t in SENIOR_TYPES
    backup_map = seniors["second_specialty"] if senior else cohort["second_specialty"]
    share = float(seniors["second_specialty_share"] if senior else cohort["second_specialty_share"])
    parts, choices = [], []
    for k, s in enumerate(specs):
        n = market.counts.get((t, s), 0)
        if n <= 0:
            continue
        seed = int(rng.integers(2**62))
        people = sample_seniors(t, s, n, seed) if senior else sample_population(t, s, n, seed)
        backup = backup_map.get(s)
        pair = np.full((n, 2), -1, dtype=np.int64)
        pair[:, 0] = k
        if backup in specs and backup != s:
            takes = rng.random(n) < share
            pair[takes, 1] = specs.index(backup)
            if not senior:  # US letters in the backup, as the calibration cohorts draw them
                extra = sample_population(t, backup, n, int(rng.integers(2**62)))
                people.letters[backup] = np.where(takes, extra.letters[backup], 0.0)
        parts.append(people)
        choices.append(pair)
    if not parts:
        return None
    n_all = sum(len(p) for p in parts)
    apps = seniors["target_interviews"] if senior else pop["groups"][t]["applications"]
    return _Pool(
        type_index=TYPES.index(t),
        arrays=_stack(parts),
        choices=np.concatenate(choices),
        wanted=_draw_shares(rng, apps, (n_all, 2)),
        noise=float(cohort["targeting_noise"]),
        senior=senior,
        bounds=tuple(seniors["applications_bounds"]) if senior else (1, 10**6),
    )


def _inserted_pool(market: Market) -> _Pool:
    """The user's applicants: every specialty of theirs in the market, in their order."""
    ins = market.inserted
    specs = market.specialties
    width = max(1, max(len(t) for t in ins.targets))
    choices = np.full((len(ins.ids), width), -1, dtype=np.int64)
    wanted = np.zeros((len(ins.ids), width))
    for i, (targets, apps) in enumerate(zip(ins.targets, ins.applications, strict=True)):
        for j, s in enumerate(targets):  # a few specialties per user applicant
            choices[i, j] = specs.index(s)
            wanted[i, j] = apps[s]
    return _Pool(
        type_index=-1,
        arrays=ins.arrays,
        choices=choices,
        wanted=wanted,
        noise=float(market_params()["inserted"]["targeting_noise"]),
        senior=False,
        rotations=ins.rotations,
    )


def _stack(parts: Sequence[ApplicantArrays]) -> ApplicantArrays:
    """Concatenate applicant arrays (letters: zeros where a part has none)."""
    sizes = [len(p) for p in parts]
    n = sum(sizes)
    letters: dict[str, np.ndarray] = {}
    offset = 0
    for p, size in zip(parts, sizes, strict=True):
        for s, v in p.letters.items():
            letters.setdefault(s, np.zeros(n))[offset : offset + size] = v
        offset += size

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])

    return ApplicantArrays(
        ids=[i for p in parts for i in p.ids],
        group=cat("group"),
        visa_needed=cat("visa_needed"),
        step2=cat("step2"),
        usce=cat("usce"),
        observership=cat("observership"),
        publications=cat("publications"),
        first_author=cat("first_author"),
        posters=cat("posters"),
        attempts=cat("attempts"),
        years_since_graduation=cat("years_since_graduation"),
        step3=cat("step3"),
        letters=letters,
    )


def _choose(
    p: np.ndarray, wanted: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of the `wanted[row]` programs each row applies to: the highest
    log(p) + Normal(0, noise) among programs with p > 0 (best fit first when noise is 0)."""
    eligible = p > 0
    n = np.minimum(wanted, eligible.sum(axis=1))
    k = int(n.max(initial=0))
    if k == 0 or p.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    score = np.log(np.maximum(p, np.float32(1e-30)))
    if noise > 0:
        score += np.float32(noise) * rng.standard_normal(p.shape, dtype=np.float32)
    np.putmask(score, ~eligible, np.float32(-np.inf))
    if k < p.shape[1]:
        m = p.shape[1]
        top = np.argpartition(score, m - k, axis=1)[:, m - k :]
    else:
        top = np.broadcast_to(np.arange(p.shape[1]), p.shape)
    order = np.argsort(-np.take_along_axis(score, top, axis=1), axis=1, kind="stable")
    cols = np.take_along_axis(top, order, axis=1)
    keep = np.arange(cols.shape[1])[None, :] < n[:, None]
    rows = np.broadcast_to(np.arange(p.shape[0])[:, None], cols.shape)
    return rows[keep], cols[keep]


@dataclass
class _Entries:
    """Applications as flat arrays (one entry per application)."""

    applicant: list[np.ndarray] = field(default_factory=list)
    program: list[np.ndarray] = field(default_factory=list)
    order: list[np.ndarray] = field(default_factory=list)  # 0 first specialty, 1 second...
    p_open: list[np.ndarray] = field(default_factory=list)  # p_interview at an open program

    def add(self, applicant, program, order, p_open) -> None:
        self.applicant.append(applicant)
        self.program.append(program)
        self.order.append(np.full(applicant.size, order, dtype=np.int8))
        self.p_open.append(p_open)

    def arrays(self) -> tuple[np.ndarray, ...]:
        if not self.applicant:
            z = np.zeros(0, dtype=np.int64)
            return z, z, np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.float32)
        return (
            np.concatenate(self.applicant),
            np.concatenate(self.program),
            np.concatenate(self.order),
            np.concatenate(self.p_open).astype(np.float32),
        )


@functools.cache
def _normal_scores(n: int) -> np.ndarray:
    """Normal scores of the ranks 0..n-1 (the (r + 0.5) / n quantiles)."""
    return np.array([NormalDist().inv_cdf((r + 0.5) / n) for r in range(n)])


def _realized_openness(market: Market, open_draw: np.ndarray) -> np.ndarray:
    """Normal scores, within each specialty, of the programs' openness to non-US IMGs in this
    market: programs closed to them (by this market's draw) lowest, the others by placement."""
    u = np.where(open_draw < market.open_j1, market.img_openness, -1e6 - open_draw)
    spec = market.model.side.specialty
    order = np.lexsort((u, spec))
    s_sorted = spec[order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    lengths = np.diff(np.r_[starts, s_sorted.size])
    scores = np.concatenate([_normal_scores(int(n)) for n in lengths])
    out = np.empty(u.size)
    out[order] = scores
    return out


def _applications(
    market: Market, pools: list[_Pool], open_draw: np.ndarray, rng: np.random.Generator
) -> tuple[_Entries, np.ndarray]:
    """Every application with the chance of an interview at its program if that program is
    open to the applicant's kind, and (entries, applicant offset per pool)."""
    model = market.model
    side = model.side
    specs = market.specialties
    n_programs = side.ids.size
    senior_open = rng.random(n_programs)
    entries = _Entries()
    offsets = np.cumsum([0] + [len(p.arrays) for p in pools])
    for pool, offset in zip(pools, offsets[:-1], strict=False):
        for order in range(pool.choices.shape[1]):
            chosen = pool.choices[:, order]
            for k, s in enumerate(specs):
                mine = np.flatnonzero(chosen == k)
                if mine.size == 0:
                    continue
                rows = side.specialty_rows[s]
                if pool.senior:
                    kind = TYPES[pool.type_index]
                    r, c, chance = senior_applications(
                        side,
                        pool.arrays.subset(mine),
                        s,
                        kind,
                        pool.wanted[mine, order],
                        pool.bounds,
                        rng,
                    )
                    is_open = senior_open[rows] < senior_anchor(s, kind).open_share
                    p_open = np.where(is_open[c], chance, np.float32(0.0))
                    entries.add(offset + mine[r], rows[c], order, p_open)
                    continue
                for visa in np.unique(pool.arrays.visa_needed[mine]):
                    idx = mine[pool.arrays.visa_needed[mine] == visa]
                    rotations = None
                    if pool.rotations is not None:
                        rotations = {j: pool.rotations[i] for j, i in enumerate(idx)}
                        rotations = {j: v for j, v in rotations.items() if v} or None
                    sc = specialty_scores(
                        model,
                        pool.arrays,
                        s,
                        str(visa),
                        idx,
                        rotations=rotations,
                        intervals=False,
                        dtype=np.float32,
                    )
                    r, c = _choose(sc.p, pool.wanted[idx, order], pool.noise, rng)
                    p_open_prog = model.features(str(visa)).p_open[sc.rows]
                    is_open = open_draw[sc.rows] < p_open_prog
                    denom = np.maximum(p_open_prog, 1e-12)[c]
                    p_open = np.where(is_open[c], np.minimum(sc.p[r, c] / denom, 1.0), 0.0)
                    entries.add(offset + idx[r], sc.rows[c], order, p_open)
    return entries, offsets


def _group_rank(group: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, rank): entries sorted by group then key ascending, and each entry's 0-based
    position within its group (in the original entry order)."""
    order = np.lexsort((key, group))
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    lengths = np.diff(np.r_[starts, g.size])
    position = np.arange(g.size) - np.repeat(starts, lengths)
    rank = np.empty_like(position)
    rank[order] = position
    return order, rank


def _attend(
    idx: np.ndarray, applicant: np.ndarray, order: np.ndarray, taste: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, declined) offers: each applicant keeps their `cap` preferred ones."""
    if idx.size == 0:
        return idx, idx
    key = np.lexsort((-taste[idx], order[idx], applicant[idx]))
    ranked = idx[key]
    _, position = _group_rank(applicant[ranked], np.arange(ranked.size))
    return ranked[position < cap], ranked[position >= cap]


def _offers(
    program: np.ndarray,
    applicant: np.ndarray,
    order: np.ndarray,
    y: np.ndarray,
    taste: np.ndarray,
    considered: np.ndarray,
    capacity: np.ndarray,
    cap: int,
) -> np.ndarray:
    """Interview offers in two rounds: programs invite their considered applicants with the
    highest y up to capacity; applicants attend their `cap` preferred interviews and decline
    the rest; programs offer the declined slots down their list of considered applicants
    once more (those past their cap decline again, and the slot stays empty)."""
    n_programs = capacity.size
    _, within = _group_rank(program[considered], -y[considered])
    first = considered[within < capacity[program[considered]]]
    kept, declined = _attend(first, applicant, order, taste, cap)
    freed = np.bincount(program[declined], minlength=n_programs)
    waiting = considered[within >= capacity[program[considered]]]
    _, position = _group_rank(program[waiting], -y[waiting])
    second = waiting[position < freed[program[waiting]]]
    final, _ = _attend(np.concatenate([kept, second]), applicant, order, taste, cap)
    return final


@dataclass
class _Draw:
    """One replication's applications (flat arrays, one entry each) and who applied."""

    types: np.ndarray  # per applicant: index into TYPES, -1 for the user's applicants
    first_inserted: int  # index of the first user applicant (= number of applicants if none)
    applicant: np.ndarray
    program: np.ndarray
    order: np.ndarray  # 0 first specialty, 1 second...
    p_open: np.ndarray  # chance of being considered (0 at programs closed to the kind)
    desirability: np.ndarray  # per program


def simulate_market(market: Market, seed: int | Sequence[int]) -> Outcome:
    """One replication: a fresh market drawn with `seed`, matched (see the module docstring)."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    draw = _draw(market, rng)
    held = rng.binomial(market.positions, market.other_share)
    invited, y, taste, cut = _interviews(market, draw, held, rng)
    lists = _rank_lists(market, draw, invited, y, taste, held, rng)
    match = deferred_acceptance(lists)
    outcome = _outcome(market, draw, lists, match, held, cut)
    outcome.seconds = time.perf_counter() - start
    return outcome


def _draw(market: Market, rng: np.random.Generator) -> _Draw:
    """Applicants, programs' openness and desirability, and every application."""
    params = market_params()
    n_programs = market.model.side.ids.size
    pools = _draw_pools(market, rng)
    open_draw = rng.random(n_programs)  # one uniform per program: nested openness by visa
    rho = float(params["rank_lists"]["img_openness_weight"])
    desirability = -rho * _realized_openness(market, open_draw) + math.sqrt(
        1 - rho**2
    ) * rng.standard_normal(n_programs)
    entries, offsets = _applications(market, pools, open_draw, rng)
    applicant, program, order, p_open = entries.arrays()
    types = np.concatenate(
        [np.zeros(0, dtype=np.int64)]
        + [np.full(len(p.arrays), p.type_index, dtype=np.int64) for p in pools]
    )
    inserted = bool(pools) and pools[-1].type_index == -1
    return _Draw(
        types=types,
        first_inserted=int(offsets[-2]) if inserted else int(offsets[-1]),
        applicant=applicant,
        program=program,
        order=order,
        p_open=p_open,
        desirability=desirability,
    )


def _interviews(
    market: Market, draw: _Draw, held: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(invited entries, program's view y, applicant's taste, programs whose considered
    applicants exceeded capacity): considered with probability p_open, then offers."""
    params = market_params()
    program, p_open = draw.program, draw.p_open
    considered = np.flatnonzero(rng.random(p_open.size, dtype=np.float32) < p_open)
    pc = np.clip(p_open[considered], np.float32(1e-6), np.float32(1 - 1e-6))
    y = np.full(p_open.size, -np.inf, dtype=np.float32)
    noise = np.float32(params["rank_lists"]["preference_noise"])
    y[considered] = (
        np.log(pc) - np.log1p(-pc) + noise * rng.standard_normal(considered.size, dtype=np.float32)
    )
    capacity = np.rint(market.per_position * (market.positions - held)).astype(np.int64)
    taste = np.zeros(p_open.size, dtype=np.float32)
    shared, personal = params["rank_lists"]["shared"], params["rank_lists"]["personal"]
    taste[considered] = shared * draw.desirability[program[considered]] + personal * (
        rng.standard_normal(considered.size)
    )
    cap = int(params["interviews"]["attend_at_most"])
    invited = _offers(program, draw.applicant, draw.order, y, taste, considered, capacity, cap)
    cut = np.bincount(program[considered], minlength=capacity.size) > capacity
    return invited, y, taste, cut


def _rank_lists(
    market: Market,
    draw: _Draw,
    invited: np.ndarray,
    y: np.ndarray,
    taste: np.ndarray,
    held: np.ndarray,
    rng: np.random.Generator,
) -> RankLists:
    """Both sides' lists of the interviews: applicants by specialty order then taste (the
    user's applicants cut at their rank limit), programs by y + interview noise."""
    key = np.lexsort((-taste[invited], draw.order[invited], draw.applicant[invited]))
    entry = invited[key]
    limit = market.inserted.rank_limit
    if limit is not None:
        _, position = _group_rank(draw.applicant[entry], np.arange(entry.size))
        entry = entry[(draw.applicant[entry] < draw.first_inserted) | (position < limit)]
    a, prog = draw.applicant[entry], draw.program[entry]
    noise = market_params()["rank_lists"]["interview_noise"]
    view = y[entry] + noise * rng.standard_normal(entry.size)
    _, program_rank = _group_rank(prog, -view)
    n_applicants = draw.types.size
    indptr = np.zeros(n_applicants + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n_applicants), out=indptr[1:])
    return RankLists(indptr, prog, program_rank, market.positions - held)


def _outcome(
    market: Market,
    draw: _Draw,
    lists: RankLists,
    match: np.ndarray,
    held: np.ndarray,
    cut: np.ndarray,
) -> Outcome:
    """The replication's counts (see `Outcome`)."""
    n_specs = len(market.specialties)
    spec_of, types = market.spec_index, draw.types
    a = np.repeat(np.arange(lists.n_applicants), np.diff(lists.indptr))
    prog = lists.programs.astype(np.int64)
    background = types >= 0
    t_bg = types[background]
    certified = np.diff(lists.indptr) > 0
    matched = match >= 0
    mb = matched & background
    inside = spec_of >= 0
    bg_entry = types[a] >= 0
    pairs = np.unique(a[bg_entry] * n_specs + spec_of[prog[bg_entry]])
    bg_app = types[draw.applicant] >= 0
    ins = slice(draw.first_inserted, None)
    n_ins = types.size - draw.first_inserted
    ins_interviews = np.zeros((n_ins, n_specs), dtype=np.int64)
    mine = a >= draw.first_inserted
    np.add.at(ins_interviews, (a[mine] - draw.first_inserted, spec_of[prog[mine]]), 1)
    return Outcome(
        entered=np.bincount(t_bg, minlength=len(TYPES)).astype(np.int64),
        certified=np.bincount(t_bg, weights=certified[background], minlength=len(TYPES)).astype(
            np.int64
        ),
        matched=np.bincount(t_bg, weights=matched[background], minlength=len(TYPES)).astype(
            np.int64
        ),
        matched_by_specialty=_table(spec_of[match[mb]], types[mb], n_specs),
        positions=np.bincount(
            spec_of[inside], weights=market.positions[inside], minlength=n_specs
        ).astype(np.int64),
        held=np.bincount(spec_of[inside], weights=held[inside], minlength=n_specs).astype(np.int64),
        ranking=_table(pairs % n_specs, types[pairs // n_specs], n_specs),
        interviews=_table(spec_of[prog[bg_entry]], types[a[bg_entry]], n_specs),
        applications=_table(spec_of[draw.program[bg_app]], types[draw.applicant[bg_app]], n_specs),
        capacity_bound=np.bincount(spec_of[cut & inside], minlength=n_specs).astype(np.int64),
        inserted_match=np.where(match[ins] >= 0, spec_of[np.maximum(match[ins], 0)], -1),
        inserted_interviews=ins_interviews,
    )


def _table(spec: np.ndarray, types: np.ndarray, n_specs: int) -> np.ndarray:
    """Counts per (specialty, type): an (n_specs, 4) int64 array."""
    flat = np.bincount(spec * len(TYPES) + types, minlength=n_specs * len(TYPES))
    return flat[: n_specs * len(TYPES)].reshape(n_specs, len(TYPES)).astype(np.int64)


__all__ = [
    "Outcome",
    "build_market",
    "entry_factors",
    "prepare_setup",
    "simulate_market",
]
