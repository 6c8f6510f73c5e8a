"""The simulated Match's speed: deferred acceptance alone, one national market built and
matched, Monte Carlo on 1 and 2 workers, and how the time grows with the market.

Run:  .venv/bin/python benchmarks/bench_market.py [--seed 2025] [--repeat 15]
      [--scales 0.1,0.25,0.5,1] [--warm-cache] [--market-scales 0.1,0.25,0.5,1]
      [--market-repeat 3] [--mc-runs 100] [--mc-scale 1] [--skip-da] [--skip-market]

Part 2, the simulated market on the demo table (`analysis.model.market`, `montecarlo`):
- preparing a table once per process (the interview model's program arrays and the pilot
  replications that size the applicant pool), then one national replication built and matched
  on one core (median of `--market-repeat`), split into its steps: applicants and
  applications, interview offers, rank lists, deferred acceptance, counts;
- the same at `--market-scales` of national (a random share of each specialty's programs;
  applicants follow the positions), with the ratio of time to the smallest size;
- `--mc-runs` replications at `--mc-scale` in this process (1 worker) and on 2 worker
  processes, the speed-up, and the peak memory of this process and of the largest worker.
The targets: under 5 s for a national market built and matched on one core, the
deferred acceptance step under 1 s, at least 1.7 times faster on 2 workers, under 2 GB per
worker. Everything is reported; nothing is asserted.

Part 1, deferred acceptance alone. Measures, in one run and on one core (the matcher is
single-threaded numba):
- the first call's compile time of the two numba kernels (deferred acceptance and the
  validation's duplicate/tie check), in a fresh numba cache directory unless `--warm-cache`,
  and the first call in a new process that loads them from that on-disk cache;
- per market size (10%, 25%, 50% and 100% of national by default): generating the random
  market, validating it (`RankLists`) and the deferred acceptance step alone (median and
  fastest of `--repeat` runs after the warm-up), with the time per rank entry, the share of
  entries actually proposed (the work done) and the ratio to the smallest size, so linear
  growth reads as the size ratio;
- a stress case at the largest size: tastes shared by nearly everyone (desirability sd 4,
  program noise sd 0.05), so applicants chase the same programs and most entries get
  proposed (an unrealistic market: most applicants go unmatched; it bounds the work).
Ends with one JSON line. The target is under 1 s for the deferred acceptance step at
national size on one core; this script reports the figure and asserts nothing.

The random market (timing only: not calibrated to NRMP, which the market simulation does).
At scale s: round(48,000 s) applicants, round(5,300 s) programs, round(44,000 s) positions.
- Programs belong to one of 20 specialties with shares proportional to 1/(rank of the
  specialty), so the largest holds about 28% of programs (as internal medicine holds the
  most positions). Positions: every program gets 1, the rest are spread multinomially with
  weights drawn lognormal(0, 0.6), so sizes run from 1 to about 60 (median 7) and sum exactly.
- Each applicant picks one specialty with probability proportional to its positions and
  ranks 10-15 of its programs (uniform; all of them if the specialty has fewer), chosen and
  ordered by program desirability (standard normal, shared) plus a Gumbel noise per
  applicant and program: the Gumbel top-k is a draw without replacement proportional to
  exp(desirability), in order.
- Each program ranks the applicants who listed it by their strength (standard normal,
  shared) plus normal noise (sd 0.5), best first; it leaves 10% of them unranked at random.
So about 600,000 rank entries at national size; desirable programs draw hundreds to a few
thousand applicants for a handful of positions, so proposals get displaced and move down
their lists, which is the work the step does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NATIONAL = {"applicants": 48_000, "programs": 5_300, "positions": 44_000}
RANKS_PER_APPLICANT = (10, 15)
SPECIALTIES = 20
UNRANKED_SHARE = 0.10
TASTE_SD = 1.0
PROGRAM_NOISE_SD = 0.5
STRESS = {"taste_sd": 4.0, "program_noise_sd": 0.05}
CHUNK = 2_000  # applicants per block when drawing lists (bounds the noise matrix)


@dataclass(frozen=True)
class RandomMarket:
    """Arrays in the layout `RankLists` takes, plus the sizes they were drawn for."""

    indptr: np.ndarray
    programs: np.ndarray
    program_ranks: np.ndarray
    capacities: np.ndarray
    n_applicants: int
    n_programs: int
    n_positions: int


def random_market(
    scale: float,
    seed: int,
    taste_sd: float = TASTE_SD,
    program_noise_sd: float = PROGRAM_NOISE_SD,
) -> RandomMarket:
    """Draw the random market described in the module docstring at `scale` x national.

    `taste_sd` scales the program desirability applicants share (against Gumbel noise of sd
    1.28) and `program_noise_sd` the noise in programs' views of applicants; larger shared
    tastes and less noise mean more applicants chase the same programs (the stress case).
    """
    rng = np.random.default_rng(seed)
    n_app = round(NATIONAL["applicants"] * scale)
    n_prog = round(NATIONAL["programs"] * scale)
    n_pos = round(NATIONAL["positions"] * scale)

    share = 1.0 / np.arange(1, SPECIALTIES + 1)
    specialty = rng.choice(SPECIALTIES, size=n_prog, p=share / share.sum())
    weights = rng.lognormal(0.0, 0.6, n_prog)
    capacities = 1 + rng.multinomial(n_pos - n_prog, weights / weights.sum())
    desirability = taste_sd * rng.standard_normal(n_prog)

    positions_by_specialty = np.bincount(specialty, weights=capacities, minlength=SPECIALTIES)
    choice = rng.choice(
        SPECIALTIES, size=n_app, p=positions_by_specialty / positions_by_specialty.sum()
    )
    wanted = rng.integers(RANKS_PER_APPLICANT[0], RANKS_PER_APPLICANT[1] + 1, n_app)

    lists: list[np.ndarray] = [np.empty(0, np.int64)] * n_app
    for s in range(SPECIALTIES):
        members = np.flatnonzero(specialty == s)
        applicants = np.flatnonzero(choice == s)
        if members.size == 0 or applicants.size == 0:
            continue
        top = min(RANKS_PER_APPLICANT[1], members.size)
        for block in range(0, applicants.size, CHUNK):
            who = applicants[block : block + CHUNK]
            utility = desirability[members] + rng.gumbel(size=(who.size, members.size))
            best = np.argpartition(-utility, top - 1, axis=1)[:, :top]
            order = np.argsort(-np.take_along_axis(utility, best, axis=1), axis=1)
            ranked = members[np.take_along_axis(best, order, axis=1)]
            for row, a in enumerate(who):
                lists[a] = ranked[row, : min(wanted[a], top)]

    lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=n_app)
    indptr = np.zeros(n_app + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    programs = np.concatenate(lists) if n_app else np.empty(0, np.int64)
    owner = np.repeat(np.arange(n_app), lengths)

    strength = rng.standard_normal(n_app)
    view = strength[owner] + program_noise_sd * rng.standard_normal(programs.size)
    by_program = np.lexsort((-view, programs))  # per program, best view first
    start = np.searchsorted(programs[by_program], np.arange(n_prog))
    ranks = np.empty(programs.size, dtype=np.int64)
    ranks[by_program] = np.arange(programs.size) - start[programs[by_program]]
    ranks[rng.random(programs.size) < UNRANKED_SHARE] = -1  # UNRANKED
    return RandomMarket(
        indptr=indptr,
        programs=programs.astype(np.int32),
        program_ranks=ranks.astype(np.int32),
        capacities=capacities.astype(np.int64),
        n_applicants=n_app,
        n_programs=n_prog,
        n_positions=int(capacities.sum()),
    )


def _da_working_bytes(rank_lists) -> int:
    """What the deferred acceptance step allocates (see its module docstring), computed."""
    acceptable = rank_lists.program_ranks >= 0
    named = np.bincount(rank_lists.programs[acceptable], minlength=rank_lists.n_programs)
    positions = int(np.minimum(rank_lists.capacities, named).sum())
    return 12 * rank_lists.n_applicants + 24 * rank_lists.n_programs + 8 * positions


def _proposals(rank_lists, match: np.ndarray) -> int:
    """Rank entries proposed: up to the match on each list, the whole list if unmatched.

    Each entry is proposed at most once, so this is the work the step did (<= entries).
    """
    lengths = np.diff(rank_lists.indptr)
    owner = np.repeat(np.arange(rank_lists.n_applicants), lengths)
    hit = np.flatnonzero(rank_lists.programs == match[owner])
    proposals = lengths.copy()
    proposals[owner[hit]] = hit - rank_lists.indptr[owner[hit]] + 1
    return int(proposals.sum())


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _cache_load_seconds(cache_dir: str) -> float:
    """First call in a new process that finds both kernels in the on-disk cache."""
    code = (
        "import time\n"
        "t0 = time.perf_counter()\n"
        "from analysis.model.deferred_acceptance import RankLists, deferred_acceptance\n"
        "deferred_acceptance(RankLists.from_preferences([[0]], [[0]], [1]))\n"
        "print(time.perf_counter() - t0)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per size")
    parser.add_argument("--scales", default="0.1,0.25,0.5,1", help="fractions of national")
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="use numba's usual cache (first call may then load instead of compile)",
    )
    parser.add_argument("--market-scales", default="0.1,0.25,0.5,1")
    parser.add_argument("--market-repeat", type=int, default=3, help="replications per size")
    parser.add_argument("--mc-runs", type=int, default=100, help="Monte Carlo replications")
    parser.add_argument("--mc-scale", type=float, default=1.0, help="Monte Carlo market size")
    parser.add_argument("--skip-da", action="store_true", help="skip part 1")
    parser.add_argument("--skip-market", action="store_true", help="skip part 2")
    args = parser.parse_args()
    summary = {} if args.skip_da else _deferred_acceptance_part(args)
    if not args.skip_market:
        summary["market"] = _market_part(args)
    summary["python"] = sys.version.split()[0]
    summary["script"] = Path(__file__).name
    print(json.dumps(summary))


def _deferred_acceptance_part(args: argparse.Namespace) -> dict:
    """Part 1: compile, cache load and the step alone on random markets (see the docstring)."""
    scales = [float(x) for x in args.scales.split(",")]

    cache_dir = None
    if not args.warm_cache:  # before numba is imported: it reads the variable once
        cache_dir = tempfile.mkdtemp(prefix="bench-market-numba-")
        os.environ["NUMBA_CACHE_DIR"] = cache_dir

    # imported here, after NUMBA_CACHE_DIR is set
    from analysis.model.deferred_acceptance import RankLists, deferred_acceptance

    tiny = ([0, 1, 2], [0, 0], [1, 0], [1])
    compile_validation = _seconds(lambda: RankLists(*(np.array(x) for x in tiny)))
    tiny_lists = RankLists(*(np.array(x) for x in tiny))
    compile_da = _seconds(lambda: deferred_acceptance(tiny_lists))
    cache_load = None
    if cache_dir:
        cache_load = _cache_load_seconds(cache_dir)
        shutil.rmtree(cache_dir, ignore_errors=True)  # loaded kernels stay in this process
    label = "compile, fresh cache" if cache_dir else "numba's usual cache: compile or load"
    print(f"First call ({label}): deferred acceptance {compile_da:.2f} s, "
          f"validation {compile_validation:.2f} s")  # fmt: skip
    if cache_load is not None:
        print(f"First call in a new process with the on-disk cache (import + both): "
              f"{cache_load:.2f} s")  # fmt: skip
    print()

    rows = [_measure(scale, args.seed + i, args.repeat) for i, scale in enumerate(scales)]
    stress = _measure(scales[-1], args.seed + len(scales), args.repeat, **STRESS)

    base = rows[0]
    header = (
        f"{'scale':>6} {'applicants':>10} {'programs':>8} {'positions':>9} {'entries':>9} "
        f"{'proposed':>8} {'generate s':>10} {'validate s':>10} {'DA median ms':>12} "
        f"{'DA min ms':>9} {'ns/entry':>8} {'x time':>6} {'x entries':>9} {'fill':>6}"
    )
    print("Random markets (see the docstring), seed", args.seed)
    print(header)
    for r in [*rows, stress]:
        print(
            f"{r['scale']:>6.0%} {r['applicants']:>10,} {r['programs']:>8,} "
            f"{r['positions']:>9,} {r['entries']:>9,} {r['proposed_share']:>8.0%} "
            f"{r['generate_s']:>10.3f} {r['validate_s']:>10.3f} "
            f"{r['da_median_s'] * 1e3:>12.2f} {r['da_min_s'] * 1e3:>9.2f} "
            f"{r['ns_per_entry']:>8.1f} {r['da_median_s'] / base['da_median_s']:>6.1f} "
            f"{r['entries'] / base['entries']:>9.1f} {r['fill_rate']:>6.1%}"
        )
    print(
        f"(last row: stress case at {stress['scale']:.0%}, shared tastes: desirability sd "
        f"{STRESS['taste_sd']}, program noise sd {STRESS['program_noise_sd']}; 'proposed' is "
        "the share of rank entries the step proposed, the work it did; x time and x entries "
        "are ratios to the first row)"
    )
    largest = rows[-1]
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(
        f"Deferred acceptance at {largest['scale']:.0%} of national: "
        f"{largest['da_median_s'] * 1e3:.1f} ms median of {args.repeat} on one core, "
        f"{stress['da_median_s'] * 1e3:.1f} ms in the stress case (the target: under 1 s)."
    )
    print(
        f"Time from {base['scale']:.0%} to {largest['scale']:.0%}: x"
        f"{largest['da_median_s'] / base['da_median_s']:.1f} for x"
        f"{largest['entries'] / base['entries']:.1f} rank entries."
    )
    print(
        f"Its own working memory (computed: 12 B per applicant, 24 B per program, 8 B per "
        f"position): {largest['da_memory_mb']:.1f} MB; peak RSS of this whole run "
        f"(generator included): {peak_rss_mb:.0f} MB."
    )
    summary = {
        "benchmark": "market",
        "seed": args.seed,
        "repeat": args.repeat,
        "first_call_compile_s": {
            "deferred_acceptance": round(compile_da, 3),
            "validation": round(compile_validation, 3),
            "fresh_cache": cache_dir is not None,
        },
        "first_call_cached_new_process_s": None if cache_load is None else round(cache_load, 3),
        "sizes": rows,
        "stress": {**stress, **STRESS},
        "da_time_ratio_largest_to_smallest": round(largest["da_median_s"] / base["da_median_s"], 2),
        "entries_ratio_largest_to_smallest": round(largest["entries"] / base["entries"], 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
    }
    print()
    return summary


def _measure(scale: float, seed: int, repeat: int, **market_options: float) -> dict:
    """Generate, validate and match one random market; the row of figures for it."""
    from analysis.model.deferred_acceptance import UNMATCHED, RankLists, deferred_acceptance

    t0 = time.perf_counter()
    market = random_market(scale, seed, **market_options)
    generate = time.perf_counter() - t0
    t0 = time.perf_counter()
    rank_lists = RankLists(market.indptr, market.programs, market.program_ranks, market.capacities)
    validate = time.perf_counter() - t0
    match = deferred_acceptance(rank_lists)  # warm-up at this size (caches, pages)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        again = deferred_acceptance(rank_lists)
        times.append(time.perf_counter() - t0)
        assert np.array_equal(again, match), "deferred acceptance is not deterministic"
    median = statistics.median(times)
    matched = int((match != UNMATCHED).sum())
    return {
        "scale": scale,
        "applicants": market.n_applicants,
        "programs": market.n_programs,
        "positions": market.n_positions,
        "entries": rank_lists.n_entries,
        "proposed_share": round(_proposals(rank_lists, match) / max(rank_lists.n_entries, 1), 4),
        "generate_s": round(generate, 4),
        "validate_s": round(validate, 4),
        "da_median_s": round(median, 6),
        "da_min_s": round(min(times), 6),
        "ns_per_entry": round(median / max(rank_lists.n_entries, 1) * 1e9, 2),
        "matched": matched,
        "fill_rate": round(matched / max(market.n_positions, 1), 4),
        "da_memory_mb": round(_da_working_bytes(rank_lists) / 2**20, 2),
    }


# --------------------------------------------------------------------------- part 2


def _market_part(args: argparse.Namespace) -> dict:
    """Part 2: the simulated market on the demo table (see the docstring)."""
    import datetime as dt

    from analysis.config import demo_programs_path
    from analysis.data.programs import load_programs
    from analysis.model.market_setup import MarketSetup, scaled_programs

    table = load_programs(demo_programs_path())
    as_of = dt.date(2026, 11, 1)
    rows = []
    for i, scale in enumerate(float(x) for x in args.market_scales.split(",")):
        setup = MarketSetup(scaled_programs(table, scale, seed=args.seed), as_of)
        rows.append(_market_row(scale, setup, args.seed + i, args.market_repeat))
    base = rows[0]
    print("Simulated market on the demo table (NRMP 2025 positions), one core")
    print(f"{'scale':>6} {'applicants':>10} {'programs':>8} {'positions':>9} {'entries':>9} "
          f"{'prepare s':>9} {'market s':>8} {'apps s':>7} {'offers s':>8} {'lists s':>7} "
          f"{'DA ms':>6} {'x time':>6} {'x apps':>6}")  # fmt: skip
    for r in rows:
        print(
            f"{r['scale']:>6.0%} {r['applicants']:>10,} {r['programs']:>8,} "
            f"{r['positions']:>9,} {r['rank_entries']:>9,} {r['prepare_s']:>9.1f} "
            f"{r['replication_s']:>8.2f} {r['applications_s']:>7.2f} {r['offers_s']:>8.2f} "
            f"{r['rank_lists_s']:>7.2f} {r['da_s'] * 1e3:>6.1f} "
            f"{r['replication_s'] / base['replication_s']:>6.1f} "
            f"{r['applicants'] / base['applicants']:>6.1f}"
        )
    largest = rows[-1]
    print(
        f"One market at {largest['scale']:.0%} of national built and matched in "
        f"{largest['replication_s']:.2f} s on one core (median of {args.market_repeat}; the "
        f"goal: under 5 s), deferred acceptance {largest['da_s'] * 1e3:.1f} ms (goal: under "
        f"1 s); preparing the table once per process: {largest['prepare_s']:.1f} s."
    )
    mc = _monte_carlo(table, as_of, args)
    print(
        f"{mc['runs']} replications at {mc['scale']:.0%}: {mc['one_worker_s']:.1f} s in one "
        f"process, {mc['two_workers_s']:.1f} s on 2 worker processes: x{mc['speedup']:.2f} "
        f"(goal: at least 1.7); peak memory {mc['peak_rss_this_process_mb']:.0f} MB in this "
        f"process, {mc['peak_rss_worker_mb']:.0f} MB in a worker process (goal: under 2 GB)."
    )
    return {
        "sizes": rows,
        "time_ratio_largest_to_smallest": round(
            largest["replication_s"] / base["replication_s"], 2
        ),
        "applicants_ratio_largest_to_smallest": round(
            largest["applicants"] / base["applicants"], 2
        ),
        "monte_carlo": mc,
    }


def _market_row(scale: float, setup, seed: int, repeat: int) -> dict:
    """Prepare one market and time its replications step by step (median over `repeat`)."""
    from analysis.model import market as m
    from analysis.model.market_setup import market_size

    t0 = time.perf_counter()
    setup = m.prepare_setup(setup)
    built = m.build_market(setup)
    prepare = time.perf_counter() - t0
    m.simulate_market(built, [seed, 999])  # warm-up
    steps: dict[str, list[float]] = {k: [] for k in ("apps", "offers", "lists", "da", "all")}
    for r in range(repeat):
        rng = np.random.default_rng([seed, r])
        start = time.perf_counter()
        draw = m._draw(built, rng)
        t1 = time.perf_counter()
        held = rng.binomial(built.positions, built.other_share)
        invited, y, taste, cut = m._interviews(built, draw, held, rng)
        t2 = time.perf_counter()
        lists = m._rank_lists(built, draw, invited, y, taste, held, rng)
        t3 = time.perf_counter()
        match = m.deferred_acceptance(lists)
        t4 = time.perf_counter()
        m._outcome(built, draw, lists, match, held, cut)
        end = time.perf_counter()
        for key, value in (("apps", t1 - start), ("offers", t2 - t1), ("lists", t3 - t2),
                           ("da", t4 - t3), ("all", end - start)):  # fmt: skip
            steps[key].append(value)
    size = market_size(built)
    return {
        "scale": scale,
        "applicants": int(draw.types.size),
        "programs": size["programs"],
        "positions": size["positions"],
        "applications": int(draw.applicant.size),
        "rank_entries": int(lists.n_entries),
        "prepare_s": round(prepare, 2),
        "replication_s": round(statistics.median(steps["all"]), 3),
        "applications_s": round(statistics.median(steps["apps"]), 3),
        "offers_s": round(statistics.median(steps["offers"]), 3),
        "rank_lists_s": round(statistics.median(steps["lists"]), 3),
        "da_s": round(statistics.median(steps["da"]), 4),
    }


def _monte_carlo(table, as_of, args: argparse.Namespace) -> dict:
    """`--mc-runs` replications in this process, then on 2 worker processes."""
    from analysis.model.market import prepare_setup
    from analysis.model.market_setup import MarketSetup, scaled_programs
    from analysis.model.montecarlo import run_replications

    setup = prepare_setup(MarketSetup(scaled_programs(table, args.mc_scale, args.seed), as_of))
    one = run_replications(setup, args.mc_runs, args.seed, workers=1)
    two = run_replications(setup, args.mc_runs, args.seed, workers=2)
    same = all(
        np.array_equal(a.matched_by_specialty, b.matched_by_specialty)
        for a, b in zip(one.baseline, two.baseline, strict=True)
    )
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # a worker's footprint: a fresh process that prepares the market and runs replications
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        worker_peak = pool.submit(_worker_peak_mb, setup, args.seed, 3).result()
    return {
        "runs": args.mc_runs,
        "scale": args.mc_scale,
        "one_worker_s": round(one.seconds, 1),
        "two_workers_s": round(two.seconds, 1),
        "speedup": round(one.seconds / two.seconds, 2),
        "same_outcomes": same,
        "peak_rss_this_process_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0
        ),
        "peak_rss_worker_mb": round(worker_peak, 0),
    }


def _worker_peak_mb(setup, seed: int, runs: int) -> float:
    """Peak memory of a worker process after `runs` replications (runs in the worker).

    Read from /proc/self/status (VmHWM, this process image's high-water mark): ru_maxrss of a
    spawned process starts at its parent's size at the fork, so it would overstate a worker.
    """
    from analysis.model.montecarlo import replicate

    for i in range(runs):
        replicate(setup, None, seed, i)
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
