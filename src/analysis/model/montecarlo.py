"""Monte Carlo of the simulated Match: N fresh markets, on this machine or a Dask cluster.

`simulate(setup, runs=N, seed=S)` runs N replications of `analysis.model.market` (each a new
market: applicants, applications, offers, rank lists and the match, from the seed sequence
(S, i)), in this process, in N local worker processes (`workers`), or on an existing Dask
cluster (`scheduler`: the address of a scheduler started with `dask scheduler`, with workers
started as `dask worker ADDRESS`). Results are the same whatever runs them: replication i
always uses seed (S, i).

It reports what NRMP reports, with NRMP's denominators:

- the match rate of each applicant type: matched / applicants who could certify a rank list
  (at least one interview), pooled over replications, with a Monte Carlo interval;
- per specialty: positions, fill rate ((matched + held out for other types) / positions) and
  the share of filled positions taken by each type (the rest: other applicant types);
- for each user applicant inserted into every replication: the share of replications in which
  they matched in each specialty and anywhere, with a Wilson interval, next to the heuristic's
  figure (`analysis.model.probability.match_chances`: P(match in s) on the same rank list, and
  P(match anywhere); signals are left out of both).

With a scenario (`analysis.model.scenarios`) every replication runs the baseline and the
changed market with the same seed (common random numbers), and both are reported.

Memory per worker: one prepared market (the program table's model arrays, a few hundred MB at
national size) plus one replication's arrays; outcomes are counts (kilobytes each).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

from analysis.errors import DataValidationError, file_problem
from analysis.model.market import Outcome, build_market, prepare_setup, simulate_market
from analysis.model.market_setup import (
    TYPE_LABELS,
    TYPES,
    MarketSetup,
    market_params,
    nrmp_type_figures,
)
from analysis.model.probability import match_chances
from analysis.model.scenarios import Scenario

Progress = Callable[[int, int], None]
"""Called as progress(done, total) after every finished replication."""


# --------------------------------------------------------------------------- one task


def replicate(setup: MarketSetup, scenario: MarketSetup | None, seed: int, index: int):
    """Replication `index`: (baseline outcome, scenario outcome or None), seed (seed, index).

    Runs in a worker: the prepared markets are cached per process, so only the first task
    of a worker builds them.
    """
    base = simulate_market(build_market(setup), [seed, index])
    changed = None
    if scenario is not None:
        changed = simulate_market(build_market(scenario), [seed, index])
    return base, changed


# --------------------------------------------------------------------------- running


@dataclass
class Runs:
    """The outcomes of all replications, in replication order, and how they were run."""

    baseline: list[Outcome]
    scenario: list[Outcome] | None
    backend: str
    workers: int
    seconds: float


def run_replications(
    setup: MarketSetup,
    runs: int,
    seed: int,
    *,
    scenario: Scenario | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Runs:
    """Run `runs` replications (see the module docstring); `progress(done, total)` after each."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    start = time.perf_counter()
    setup = prepare_setup(setup)
    changed = setup.with_scenario(scenario) if scenario and not scenario.empty else None
    results: dict[int, tuple[Outcome, Outcome | None]] = {}
    report = progress or (lambda done, total: None)

    def done(index: int, value: tuple[Outcome, Outcome | None]) -> None:
        results[index] = value
        report(len(results), runs)

    if scheduler:
        backend, n = f"dask ({scheduler})", _run_dask(setup, changed, runs, seed, scheduler, done)
    elif workers <= 1 or runs == 1:
        backend, n = "this process", 1
        for i in range(runs):
            done(i, replicate(setup, changed, seed, i))
    else:
        backend, n = "local processes", min(workers, runs)
        _run_processes(setup, changed, runs, seed, n, done)
    ordered = [results[i] for i in range(runs)]
    return Runs(
        baseline=[b for b, _ in ordered],
        scenario=[c for _, c in ordered] if changed is not None else None,  # type: ignore[misc]
        backend=backend,
        workers=n,
        seconds=time.perf_counter() - start,
    )


def _run_processes(
    setup: MarketSetup,
    changed: MarketSetup | None,
    runs: int,
    seed: int,
    workers: int,
    done: Callable[[int, Any], None],
) -> None:
    """Replications on `workers` fresh processes (spawned: polars and numba are not fork-safe).

    Workers ignore Ctrl-C; the parent stops them (terminate) when it is interrupted, so an
    interruption neither hangs nor prints a worker's traceback.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_ignore_interrupts
    )
    pending: dict[Future, int] = {}
    queue = iter(range(runs))
    try:
        for i in queue:  # keep at most two tasks per worker queued: memory stays flat
            pending[pool.submit(replicate, setup, changed, seed, i)] = i
            if len(pending) >= 2 * workers:
                break
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                done(pending.pop(future), future.result())
                nxt = next(queue, None)
                if nxt is not None:
                    pending[pool.submit(replicate, setup, changed, seed, nxt)] = nxt
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _ignore_interrupts() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_dask(
    setup: MarketSetup,
    changed: MarketSetup | None,
    runs: int,
    seed: int,
    scheduler: str,
    done: Callable[[int, Any], None],
) -> int:
    """Replications on an existing Dask cluster; returns its number of worker threads.

    The client is created as the default client, so `as_completed` finds it.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - depends on the install
        raise DataValidationError(
            [file_problem(None, "--scheduler needs Dask: pip install 'imgmatch[dask]'")]
        ) from None
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as error:
        raise DataValidationError(
            [file_problem(None, f"cannot reach the Dask scheduler at {scheduler!r}: {error}")]
        ) from None
    futures: list[Any] = []
    try:
        threads = sum(client.nthreads().values()) or 1
        [setup_ref] = client.scatter([setup], broadcast=True)
        changed_ref = client.scatter(changed, broadcast=True) if changed is not None else None
        futures = [
            client.submit(
                replicate, setup_ref, changed_ref, seed, i, key=f"imgmatch-market-{seed}-{i}",
                pure=False,
            )
            for i in range(runs)
        ]  # fmt: skip
        index = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures):
            done(index[future.key], future.result())
        return threads
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures, force=True)
        raise
    finally:
        client.close()


def default_workers() -> int:
    """Local worker processes by default: the machine's cores."""
    return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- summaries


def _z() -> float:
    level = float(market_params()["monte_carlo"]["level"])
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson score interval of a proportion at the Monte Carlo level."""
    if n == 0:
        return 0.0, 1.0
    z = _z()
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if successes == n else min(1.0, max(p, centre + half))
    return low, high


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """Normal interval of the mean of per-replication values (the point itself for one run)."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        return float(v.mean()), float(v.mean())
    half = _z() * float(v.std(ddof=1)) / math.sqrt(v.size)
    return float(v.mean() - half), float(v.mean() + half)


@dataclass
class MarketSummary:
    """One market's results over the replications (fractions 0-1)."""

    match_rate_by_type: dict[str, float]
    match_rate_interval: dict[str, tuple[float, float]]
    certified_by_type: dict[str, float]  # mean per replication
    entered_by_type: dict[str, float]
    specialties: list[dict[str, Any]]
    applicants: list[dict[str, Any]]


def summarize(
    outcomes: Sequence[Outcome],
    setup: MarketSetup,
    heuristic: Sequence[dict[str, Any]] | None = None,
) -> MarketSummary:
    """Pool the replications (see the module docstring for each figure)."""
    market = build_market(setup)
    specs = market.specialties
    certified = np.sum([o.certified for o in outcomes], axis=0)
    matched = np.sum([o.matched for o in outcomes], axis=0)
    per_run = np.array([o.matched / np.maximum(o.certified, 1) for o in outcomes])
    rates = {t: float(matched[k] / max(certified[k], 1)) for k, t in enumerate(TYPES)}
    intervals = {t: mean_interval(per_run[:, k]) for k, t in enumerate(TYPES)}
    by_spec = np.sum([o.matched_by_specialty for o in outcomes], axis=0).astype(float)
    held = np.sum([o.held for o in outcomes], axis=0).astype(float)
    positions = np.sum([o.positions for o in outcomes], axis=0).astype(float)
    ranking = np.mean([o.ranking.sum(axis=1) for o in outcomes], axis=0)
    filled = by_spec.sum(axis=1) + held
    rows = []
    for k, s in enumerate(specs):
        f = market.figures[s]
        rows.append(
            {
                "specialty": s,
                "positions": round(float(positions[k]) / len(outcomes)),
                "fill_rate": float(filled[k] / positions[k]) if positions[k] else 0.0,
                "share_filled_by": {
                    t: float(by_spec[k, j] / filled[k]) if filled[k] else 0.0
                    for j, t in enumerate(TYPES)
                },
                "nrmp_fill_rate": f["fill"],
                "nrmp_share_filled_by": dict(f["shares"]),
                "nrmp_assumed": list(f["assumed"]),
                "applicants_ranking": float(ranking[k]),
                "nrmp_applicants_ranking": f["applicants_ranking"],
            }
        )
    applicants = []
    ins = market.inserted
    for i, applicant_id in enumerate(ins.ids):
        got = np.array([o.inserted_match[i] for o in outcomes])
        n = got.size
        lo, hi = wilson(int((got >= 0).sum()), n)
        h = heuristic[i] if heuristic else {}
        per_spec = []
        for s in ins.targets[i]:
            k = specs.index(s)
            won = int((got == k).sum())
            s_lo, s_hi = wilson(won, n)
            per_spec.append(
                {
                    "specialty": s,
                    "p_match": won / n,
                    "p_match_low": s_lo,
                    "p_match_high": s_hi,
                    "heuristic_p_match": h.get("specialties", {}).get(s),
                    "interviews": float(np.mean([o.inserted_interviews[i, k] for o in outcomes])),
                }
            )
        applicants.append(
            {
                "applicant_id": applicant_id,
                "p_match_any": float((got >= 0).mean()),
                "p_match_any_low": lo,
                "p_match_any_high": hi,
                "heuristic_p_match_any": h.get("p_match_any"),
                "specialties": per_spec,
                "left_out": [s for s in setup.applicants[i].target_specialties if s not in specs],
            }
        )
    return MarketSummary(
        match_rate_by_type=rates,
        match_rate_interval=intervals,
        certified_by_type={t: float(certified[k] / len(outcomes)) for k, t in enumerate(TYPES)},
        entered_by_type={
            t: float(np.mean([o.entered[k] for o in outcomes])) for k, t in enumerate(TYPES)
        },
        specialties=rows,
        applicants=applicants,
    )


def heuristic_figures(setup: MarketSetup) -> list[dict[str, Any]]:
    """The heuristic's P(match in each specialty) and anywhere for each inserted applicant.

    Same table, date, specialties (those in the market, in the profile's order) and
    applications as the simulation (a scenario's applications included); no signals.
    """
    market = build_market(setup)
    out = []
    for i, profile in enumerate(setup.applicants):
        targets = market.inserted.targets[i]
        if not targets:
            out.append({"p_match_any": 0.0, "specialties": {}})
            continue
        chances = match_chances(
            profile,
            market.model,
            specialties=targets,
            applications=market.inserted.applications[i],
            curve=False,
        )
        table = chances.specialties
        out.append(
            {
                "p_match_any": float(chances.p_match_any),
                "specialties": dict(
                    zip(table["specialty"].to_list(), map(float, table["p_match_in"]), strict=True)
                ),
            }
        )
    return out


# --------------------------------------------------------------------------- the whole run


@dataclass
class Simulation:
    """A finished Monte Carlo: how it ran, and the baseline (and scenario) summaries."""

    runs: int
    seed: int
    backend: str
    workers: int
    seconds: float
    baseline: MarketSummary
    scenario: MarketSummary | None = None
    scenario_changes: list[str] = field(default_factory=list)
    market: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `imgmatch simulate --json` (rates as fractions 0-1).

        {runs, seed, match_rate_by_type, specialties: [{specialty, positions, fill_rate,
        share_filled_by}], applicants: [{applicant_id, p_match_any, p_match_any_low,
        p_match_any_high, heuristic_p_match_any, specialties: [{specialty, p_match,
        heuristic_p_match}]}]}, plus `scenario` (the same keys and `changes`) when one is given.
        """
        doc: dict[str, Any] = {"runs": self.runs, "seed": self.seed}
        doc.update(_summary_dict(self.baseline))
        if self.scenario is not None:
            doc["scenario"] = {"changes": list(self.scenario_changes)}
            doc["scenario"].update(_summary_dict(self.scenario))
        return doc


def _summary_dict(summary: MarketSummary) -> dict[str, Any]:
    return {
        "match_rate_by_type": dict(summary.match_rate_by_type),
        "specialties": [
            {k: r[k] for k in ("specialty", "positions", "fill_rate", "share_filled_by")}
            for r in summary.specialties
        ],
        "applicants": [
            {
                "applicant_id": a["applicant_id"],
                "p_match_any": a["p_match_any"],
                "p_match_any_low": a["p_match_any_low"],
                "p_match_any_high": a["p_match_any_high"],
                "heuristic_p_match_any": a["heuristic_p_match_any"],
                "specialties": [
                    {k: s[k] for k in ("specialty", "p_match", "heuristic_p_match")}
                    for s in a["specialties"]
                ],
            }
            for a in summary.applicants
        ],
    }


def simulate(
    setup: MarketSetup,
    *,
    runs: int = 20,
    seed: int = 2025,
    scenario: Scenario | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Simulation:
    """Run the Monte Carlo and summarize it (see the module docstring)."""
    setup = prepare_setup(setup)
    result = run_replications(
        setup,
        runs,
        seed,
        scenario=scenario,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    baseline = summarize(result.baseline, setup, heuristic_figures(setup))
    changed = None
    if result.scenario is not None and scenario is not None:
        scenario_setup = setup.with_scenario(scenario)
        changed = summarize(result.scenario, scenario_setup, heuristic_figures(scenario_setup))
    market = build_market(setup)
    nrmp = nrmp_type_figures()
    return Simulation(
        runs=runs,
        seed=seed,
        backend=result.backend,
        workers=result.workers,
        seconds=result.seconds,
        baseline=baseline,
        scenario=changed,
        scenario_changes=scenario.changes() if scenario is not None else [],
        market={
            "specialties_left_out": market.left_out,
            "nrmp_match_rate_by_type": {t: nrmp[t]["match_rate"] for t in TYPES},
        },
    )


# --------------------------------------------------------------------------- against NRMP

CHECKED_SPECIALTIES = ("IM", "FM", "PEDS", "NEURO", "PATH", "PSYCH")
"""The specialties whose non-US IMG share of filled positions is checked against NRMP 2025."""


def type_calibration(summary: MarketSummary) -> pl.DataFrame:
    """Simulated vs NRMP 2025 match rate per applicant type (fractions; NRMP's denominator).

    Columns: type, label, simulated, low, high, nrmp, difference, certified_per_run,
    nrmp_active, entered_per_run.
    """
    nrmp = nrmp_type_figures()
    return pl.DataFrame(
        [
            {
                "type": t,
                "label": TYPE_LABELS[t],
                "simulated": summary.match_rate_by_type[t],
                "low": summary.match_rate_interval[t][0],
                "high": summary.match_rate_interval[t][1],
                "nrmp": nrmp[t]["match_rate"],
                "difference": summary.match_rate_by_type[t] - nrmp[t]["match_rate"],
                "certified_per_run": summary.certified_by_type[t],
                "nrmp_active": nrmp[t]["active"],
                "entered_per_run": summary.entered_by_type[t],
            }
            for t in TYPES
        ]
    )


def specialty_calibration(summary: MarketSummary, applicant_type: str = "non_us_img"):
    """Per specialty: simulated vs NRMP 2025 share of filled positions of a type, and fill.

    Columns: specialty, positions, simulated_share, nrmp_share, difference, simulated_fill,
    nrmp_fill, checked (one of CHECKED_SPECIALTIES), assumed (NRMP figure not in the reference).
    """
    return pl.DataFrame(
        [
            {
                "specialty": r["specialty"],
                "positions": r["positions"],
                "simulated_share": r["share_filled_by"][applicant_type],
                "nrmp_share": r["nrmp_share_filled_by"][applicant_type],
                "difference": r["share_filled_by"][applicant_type]
                - r["nrmp_share_filled_by"][applicant_type],
                "simulated_fill": r["fill_rate"],
                "nrmp_fill": r["nrmp_fill_rate"],
                "checked": r["specialty"] in CHECKED_SPECIALTIES,
                "assumed": bool(r["nrmp_assumed"]),
            }
            for r in summary.specialties
        ]
    )


def calibration_long(summary: MarketSummary) -> pl.DataFrame:
    """The simulated market against NRMP 2025 in long form, for `viz.calibration_chart`.

    Columns: specialty (an applicant type's label, or a specialty code), metric, model
    (simulated), reference (NRMP 2025). Metrics: the match rate by applicant type; the non-US
    IMG share of filled positions per specialty (NRMP figures not in the reference left out).
    """
    types = type_calibration(summary).select(
        pl.col("label").alias("specialty"),
        metric=pl.lit("match rate by applicant type"),
        model="simulated",
        reference="nrmp",
    )
    shares = (
        specialty_calibration(summary)
        .filter(~pl.col("assumed"))
        .select(
            "specialty",
            metric=pl.lit("non-US IMG share of filled positions"),
            model="simulated_share",
            reference="nrmp_share",
        )
    )
    return pl.concat([types, shares])


def applicant_frame(summary: MarketSummary) -> pl.DataFrame:
    """Per inserted applicant and specialty (and 'anywhere'): simulated P(match) with its
    interval, the heuristic's figure and the mean interviews.

    Columns: applicant_id, specialty ('anywhere' for the whole rank list), simulated, low,
    high, heuristic, interviews (null for 'anywhere').
    """
    rows = []
    for a in summary.applicants:
        rows.append(
            {
                "applicant_id": a["applicant_id"],
                "specialty": "anywhere",
                "simulated": a["p_match_any"],
                "low": a["p_match_any_low"],
                "high": a["p_match_any_high"],
                "heuristic": a["heuristic_p_match_any"],
                "interviews": None,
            }
        )
        for s in a["specialties"]:
            rows.append(
                {
                    "applicant_id": a["applicant_id"],
                    "specialty": s["specialty"],
                    "simulated": s["p_match"],
                    "low": s["p_match_low"],
                    "high": s["p_match_high"],
                    "heuristic": s["heuristic_p_match"],
                    "interviews": s["interviews"],
                }
            )
    schema = {
        "applicant_id": pl.String,
        "specialty": pl.String,
        "simulated": pl.Float64,
        "low": pl.Float64,
        "high": pl.Float64,
        "heuristic": pl.Float64,
        "interviews": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def scenario_sweep(
    setup: MarketSetup,
    steps: Sequence[tuple[float, Scenario]],
    *,
    runs: int = 10,
    seed: int = 2025,
    workers: int = 1,
    scheduler: str | None = None,
) -> pl.DataFrame:
    """One scenario at several strengths (x, scenario), each over the same seeds.

    Columns: x, measure (an applicant type's match rate, or an inserted applicant's P(match
    anywhere)), value, low, high. Replication i uses seed (seed, i) at every step (common
    random numbers), so differences between steps are not seed noise.
    """
    setup = prepare_setup(setup)
    rows = []
    for x, scenario in steps:
        changed = setup.with_scenario(scenario)
        result = run_replications(changed, runs, seed, workers=workers, scheduler=scheduler)
        summary = summarize(result.baseline, changed)
        for t in TYPES:
            lo, hi = summary.match_rate_interval[t]
            rows.append(
                {
                    "x": float(x),
                    "measure": f"{TYPE_LABELS[t]}: match rate",
                    "value": summary.match_rate_by_type[t],
                    "low": lo,
                    "high": hi,
                }
            )
        for a in summary.applicants:
            rows.append(
                {
                    "x": float(x),
                    "measure": f"{a['applicant_id']}: P(match anywhere)",
                    "value": a["p_match_any"],
                    "low": a["p_match_any_low"],
                    "high": a["p_match_any_high"],
                }
            )
    return pl.DataFrame(rows)


# --------------------------------------------------------------------------- outputs


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _interval(value: float, low: float, high: float) -> str:
    return f"{_pct(value)} [{_pct(low)}-{_pct(high)}]"


def text_tables(sim: Simulation) -> list[tuple[str, list[str], list[list[str]]]]:
    """The results as plain tables: (title, column names, rows of strings), for a terminal."""
    out = []
    level = f"{float(market_params()['monte_carlo']['level']):.0%}"
    for name, summary in (("", sim.baseline), ("Scenario: ", sim.scenario)):
        if summary is None:
            continue
        types = type_calibration(summary)
        out.append(
            (
                f"{name}Match rate by applicant type over {sim.runs} replications (matched / "
                f"applicants with at least one interview, NRMP's denominator; {level} Monte "
                "Carlo interval)",
                ["Applicant type", "Simulated", "NRMP 2025", "Could rank / entered, per run"],
                [
                    [
                        r["label"],
                        _interval(r["simulated"], r["low"], r["high"]),
                        _pct(r["nrmp"]),
                        f"{r['certified_per_run']:,.0f} / {r['entered_per_run']:,.0f}",
                    ]
                    for r in types.iter_rows(named=True)
                ],
            )
        )
        rows = []
        for r in summary.specialties:
            shares = [
                f"{_pct(r['share_filled_by'][t])} ({_pct(r['nrmp_share_filled_by'][t])})"
                for t in TYPES
            ]
            mark = " *" if r["nrmp_assumed"] else ""
            fill = f"{_pct(r['fill_rate'])} ({_pct(r['nrmp_fill_rate'])})"
            rows.append([r["specialty"] + mark, f"{r['positions']:,}", fill, *shares])
        out.append(
            (
                f"{name}Per specialty: simulated (NRMP 2025); shares of filled positions, the "
                "rest filled by other applicant types (* NRMP figure assumed, see "
                "params/market.yaml)",
                ["Specialty", "Positions", "Filled", *(TYPE_LABELS[t] for t in TYPES)],
                rows,
            )
        )
        if summary.applicants:
            app_rows = []
            for a in summary.applicants:
                app_rows.append(
                    [
                        a["applicant_id"],
                        "anywhere",
                        _interval(a["p_match_any"], a["p_match_any_low"], a["p_match_any_high"]),
                        _pct(a["heuristic_p_match_any"]),
                        "",
                    ]
                )
                for s in a["specialties"]:
                    app_rows.append(
                        [
                            "",
                            s["specialty"],
                            _interval(s["p_match"], s["p_match_low"], s["p_match_high"]),
                            _pct(s["heuristic_p_match"]),
                            f"{s['interviews']:.1f}",
                        ]
                    )
            out.append(
                (
                    f"{name}Your applicants in every replication: P(match) simulated "
                    f"[{level} interval] and the heuristic's (P(match in) on the same rank list)",
                    ["Applicant", "Specialty", "Simulated", "Heuristic", "Interviews"],
                    app_rows,
                )
            )
    return out


def write_outputs(sim: Simulation, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the results into a folder, all files or none: simulation.json (the --json
    document), match_rates.csv, specialties.csv, applicants.csv, and scenario_*.csv with a
    scenario. Text cells are formula-safe."""
    import json

    from analysis.data.files import atomic_outputs, escape_formulas

    folder = Path(out_dir)
    frames: dict[str, pl.DataFrame] = {}
    for prefix, summary in (("", sim.baseline), ("scenario_", sim.scenario)):
        if summary is None:
            continue
        frames[f"{prefix}match_rates.csv"] = type_calibration(summary)
        frames[f"{prefix}specialties.csv"] = _specialty_frame(summary)
        frames[f"{prefix}applicants.csv"] = applicant_frame(summary)
    names = ["simulation.json", *frames]
    with atomic_outputs([folder / n for n in names]) as paths:
        doc = json.dumps(sim.to_dict(), indent=2, allow_nan=False)
        paths[0].write_text(doc + "\n", encoding="utf-8")
        for path, frame in zip(paths[1:], frames.values(), strict=True):
            escape_formulas(frame).write_csv(path)
    return [folder / n for n in names]


def _specialty_frame(summary: MarketSummary) -> pl.DataFrame:
    """Specialty rows flattened: positions, fill and shares by type, simulated and NRMP."""
    rows = []
    for r in summary.specialties:
        row = {
            "specialty": r["specialty"],
            "positions": r["positions"],
            "fill_rate": r["fill_rate"],
            "nrmp_fill_rate": r["nrmp_fill_rate"],
        }
        for t in TYPES:
            row[f"share_{t}"] = r["share_filled_by"][t]
            row[f"nrmp_share_{t}"] = r["nrmp_share_filled_by"][t]
        row["applicants_ranking"] = r["applicants_ranking"]
        row["nrmp_applicants_ranking"] = r["nrmp_applicants_ranking"]
        row["nrmp_assumed"] = ", ".join(r["nrmp_assumed"])
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)
