"""Signal planner speed and quality: one applicant, three specialties, the national demo table.

Run:  .venv/bin/python benchmarks/bench_signals.py [--repeat 30] [--cases 300] [--as-of 2026-11-01]

Prints its figures and ends with one JSON line. Measured in the same run:
- speed: `plan_signals` for the demo applicant amira_ir (IR, then DR, then IM: a shared DR+IR
  pool of 6 gold and 6 silver signals and IM's 3 gold and 12 silver) on the programs
  `match_chances` counts for her, warm (goal < 200 ms), greedy alone and with the
  improvement step, the cold first call; the whole `signal_plan` for her (interview chances,
  lists, planner, own choice and both baselines) warm;
- value: P(match anywhere) without signals, with the planner's signals, with the most
  IMG-friendly first and with random signals (200 draws, seed 0), for every demo applicant,
  and the number of signals that went to a screened-out or zero-chance program;
- quality: on seeded small cases (8-12 programs, 1-2 gold and 1-3 silver, some with a DR+IR
  pool), the exhaustive optimum (`exhaustive_best`) minus the planner's P(match anywhere),
  greedy alone and improved: the worst gap, the mean and the share of cases at the optimum.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
import timeit
from pathlib import Path

import numpy as np
import polars as pl

from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.applicants import load_applicants
from analysis.data.programs import load_programs
from analysis.model.probability import interview_chances, match_chances, model_for
from analysis.planners.signal_lists import lists_from_chances
from analysis.planners.signal_optimizer import exhaustive_best, plan_signals
from analysis.planners.signals import signal_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test suite's small cases
from tests.unit.signal_cases import random_small_case

SEASON = "2025-2026"


def _time(fn, repeat: int) -> list[float]:
    """Seconds per call of `fn`, `repeat` times (timeit, with the garbage collector on)."""
    return timeit.repeat(fn, setup="gc.enable()", number=1, repeat=repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--cases", type=int, default=300, help="small cases for the quality check")
    parser.add_argument("--as-of", default="2026-11-01", help="plan date (YYYY-MM-DD)")
    args = parser.parse_args()
    as_of = dt.date.fromisoformat(args.as_of)

    programs = load_programs(demo_programs_path())
    model = model_for(programs, as_of=as_of)
    applicants = {a.applicant_id: a for a in load_applicants(demo_applicants_dir())}
    amira = applicants["amira_ir"]
    start = time.perf_counter()
    full = signal_plan(amira, model)
    cold_full_ms = (time.perf_counter() - start) * 1000
    # the planner's input, as signal_plan builds it: the programs match_chances counts
    chances = interview_chances(amira, model)
    engine = match_chances(amira, model, curve=False)
    counted = dict(
        zip(engine.specialties["specialty"], engine.specialties["applications"], strict=True)
    )
    lists = lists_from_chances(chances, counted, include_screened=True)
    season = amira.match_year
    sizes = ", ".join(
        f"{item.specialty} {int((~item.screened).sum())} (+{int(item.screened.sum())} screened)"
        for item in lists
    )
    print(f"program table: {programs.height} programs; amira_ir's lists: {sizes}")

    start = time.perf_counter()
    plan = plan_signals(lists, season=season)
    cold_ms = (time.perf_counter() - start) * 1000
    warm_runs = _time(lambda: plan_signals(lists, season=season), args.repeat)
    warm = statistics.median(warm_runs)
    greedy = statistics.median(
        _time(lambda: plan_signals(lists, season=season, improve=False), args.repeat)
    )
    whole = statistics.median(_time(lambda: signal_plan(amira, model), max(3, args.repeat // 5)))
    lean = statistics.median(
        _time(lambda: signal_plan(amira, model, baselines=False), max(3, args.repeat // 5))
    )
    assert abs(plan.p_match_any_with - full.p_match_any_with) < 1e-12
    print(
        f"plan_signals (3 specialties): first call {cold_ms:.0f} ms; warm median "
        f"{warm * 1000:.1f} ms (fastest {min(warm_runs) * 1000:.1f} ms) over {args.repeat} runs "
        f"(goal < 200 ms); greedy alone {greedy * 1000:.1f} ms (the improvement step costs "
        f"x{warm / greedy:.2f})"
    )
    print(
        f"signal_plan (chances + lists + planner): warm {lean * 1000:.0f} ms; with own choice "
        f"and both baselines {whole * 1000:.0f} ms; first call {cold_full_ms:.0f} ms"
    )
    print(
        f"amira_ir: P(match anywhere) {plan.p_match_any_without:.3f} without signals "
        f"(match_chances {engine.p_match_any:.3f}), {plan.p_match_any_with:.4f} with "
        f"(effect range {plan.p_match_any_with_low:.3f}-{plan.p_match_any_with_high:.3f})"
    )

    print(f"\nP(match anywhere) per demo applicant, plan date {as_of} (random: 200 draws, seed 0)")
    print(
        "| applicant | season | without | optimized | most IMG-friendly first | random | "
        "signals | to screened-out |"
    )
    print("|---|---|---|---|---|---|---|---|")
    values = {}
    for applicant_id, applicant in sorted(applicants.items()):
        result = signal_plan(applicant, model, draws=200, seed=0)
        table = interview_chances(applicant, model)
        shut = set(table.filter(~pl.col("eligible") | (pl.col("p_interview") <= 0))["program_id"])
        hits = len(shut & set(result.optimized.signals["program_id"]))
        values[applicant_id] = {
            "season": result.season,
            "without": round(result.p_match_any_without, 4),
            "optimized": round(result.p_match_any_with, 4),
            "most_friendly_first": round(result.most_friendly.p_match_any_with, 4),
            "random": round(result.random.p_match_any_with, 4),
            "signals": result.optimized.signals.height,
            "signals_to_screened_programs": hits,
        }
        v = values[applicant_id]
        print(
            f"| {applicant_id} | {v['season']} | {v['without']:.1%} | {v['optimized']:.1%} | "
            f"{v['most_friendly_first']:.1%} | {v['random']:.1%} | {v['signals']} | {hits} |"
        )

    rng = np.random.default_rng(0)
    gaps: dict[str, list[float]] = {"greedy": [], "improved": []}
    start = time.perf_counter()
    for _ in range(args.cases):
        case, rules = random_small_case(rng)
        best = exhaustive_best(case, season=SEASON, rules=rules)
        for key, improve in (("greedy", False), ("improved", True)):
            found = plan_signals(case, season=SEASON, rules=rules, improve=improve)
            gaps[key].append(best - found.p_match_any_with)
    quality_s = time.perf_counter() - start
    print(
        f"\nquality on {args.cases} seeded small cases (exhaustive optimum minus planner, "
        f"in P(match anywhere); {quality_s:.0f} s):"
    )
    quality = {}
    for key, gap in gaps.items():
        arr = np.array(gap)
        quality[key] = {
            "worst_gap": round(float(arr.max()), 5),
            "mean_gap": round(float(arr.mean()), 6),
            "share_optimal": round(float(np.mean(arr < 1e-9)), 3),
        }
        q = quality[key]
        print(
            f"  {key:<9} worst {q['worst_gap'] * 100:.2f} points, mean "
            f"{q['mean_gap'] * 100:.3f} points, optimal in {q['share_optimal']:.0%}"
        )

    result = {
        "benchmark": "signals",
        "programs": programs.height,
        "as_of": as_of.isoformat(),
        "applicant": "amira_ir",
        "specialties": [item.specialty for item in lists],
        "plan_warm_ms": round(warm * 1000, 2),
        "plan_warm_fastest_ms": round(min(warm_runs) * 1000, 2),
        "plan_cold_ms": round(cold_ms, 1),
        "greedy_only_warm_ms": round(greedy * 1000, 2),
        "signal_plan_warm_ms": round(lean * 1000, 1),
        "signal_plan_with_baselines_warm_ms": round(whole * 1000, 1),
        "goal_ms": 200,
        "p_match_any": values,
        "quality_cases": args.cases,
        "quality": quality,
        "python": sys.version.split()[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
