"""Engine speed: chances for one applicant (interactive) and for 10,000 (batch, all pairs).

Run:  .venv/bin/python benchmarks/bench_engine.py [--applicants 10000] [--repeat 30]

Prints its figures and ends with one JSON line. Measured in the same run:
- interactive: `match_chances` for one demo applicant against the national demo table with a
  warm model (the widget case; goal < 50 ms), and the cold first call that also scores the
  table and builds the feature arrays;
- batch: p_interview for every (applicant, program) pair of N synthetic applicants x the whole
  table, plus chances (pmf, intervals, recommended applications) for their target specialties
  (goal < 10 s for 10,000 on 2 cores), with pairs per second (the applicants are a cohort
  drawn from the documented population, `analysis.model.calibration.cohort`);
- a baseline: the same interview count distribution and P(match) for one applicant computed
  with a plain Python loop over programs (the textbook dynamic programme), to show what the
  vectorized product tree buys.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import timeit

import numpy as np

from analysis.config import demo_applicants_dir, demo_programs_path
from analysis.data.applicants import load_applicants
from analysis.data.programs import load_programs
from analysis.data.reference import match_curve
from analysis.model.calibration import cohort
from analysis.model.engine import chances_for_arrays, interview_probability_matrix
from analysis.model.probability import (
    ApplicantArrays,
    MatchModel,
    match_chances,
    poisson_binomial_pmf,
    specialty_scores,
)


def _time(fn, repeat: int) -> list[float]:
    """Seconds per call of `fn`, `repeat` times (timeit, with the garbage collector on)."""
    return timeit.repeat(fn, setup="gc.enable()", number=1, repeat=repeat)


def _python_loop_p_match(p: list[float], q: float, p_max: float, k_max: int) -> float:
    """Textbook DP over programs in pure Python (the baseline)."""
    pmf = [1.0] + [0.0] * k_max
    for pi in p:
        nxt = [0.0] * (k_max + 1)
        for k, mass in enumerate(pmf):
            if mass == 0.0:
                continue
            nxt[k] += mass * (1 - pi)
            nxt[min(k + 1, k_max)] += mass * pi
        pmf = nxt
    return sum(m * p_max * (1 - (1 - q) ** k) for k, m in enumerate(pmf))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    start = time.perf_counter()
    programs = load_programs(demo_programs_path())
    load_s = time.perf_counter() - start
    applicant = next(
        a for a in load_applicants(demo_applicants_dir()) if a.applicant_id == "amira_ir"
    )
    print(f"program table: {programs.height} programs, loaded and validated in {load_s:.2f} s")

    start = time.perf_counter()
    model = MatchModel(programs)
    match_chances(applicant, model)
    cold_s = time.perf_counter() - start
    warm = _time(lambda: match_chances(applicant, model), args.repeat)
    warm_ms = statistics.median(warm) * 1000
    print(f"interactive: first call {cold_s * 1000:.0f} ms (scores the table, builds arrays); "
          f"then median {warm_ms:.1f} ms over {args.repeat} runs (goal < 50 ms)")  # fmt: skip

    # baseline: a plain Python loop over programs (textbook DP) for one applicant-specialty
    arrays = ApplicantArrays.from_profiles([applicant])
    s = applicant.target_specialties[0]
    sc = specialty_scores(model, arrays, s, applicant.visa_needed)
    p = sorted(sc.p[0].tolist(), reverse=True)[:100]
    curve = match_curve(s)
    loop = _time(lambda: _python_loop_p_match(p, curve.q, curve.p_max, curve.k_max), 5)
    vec = _time(lambda: poisson_binomial_pmf(np.array(p), curve.k_max), 20)
    loop_ms, vec_ms = statistics.median(loop) * 1000, statistics.median(vec) * 1000
    print(
        f"one specialty, 100 programs: python-loop pmf {loop_ms:.2f} ms; product tree "
        f"{vec_ms:.2f} ms (x{loop_ms / vec_ms:.1f}); the tree's advantage grows with batch size"
    )

    people, targets, applications = cohort("non_us_img", args.applicants, seed=7)
    start = time.perf_counter()
    matrix, ids = interview_probability_matrix(people, model)
    pairs_s = time.perf_counter() - start
    pairs = matrix.shape[0] * matrix.shape[1]
    start = time.perf_counter()
    batch = chances_for_arrays(people, targets, applications, model)
    chances_s = time.perf_counter() - start
    total_s = pairs_s + chances_s
    loop_batch_s = batch.height * loop_ms / 1000  # the same pmf by python loop, extrapolated
    print(
        f"batch: {len(people):,} applicants x {ids.size:,} programs = {pairs:,} pairs: "
        f"p_interview in {pairs_s:.2f} s ({pairs / pairs_s / 1e6:.1f} M pairs/s); chances for "
        f"{batch.height:,} (applicant, specialty) rows in {chances_s:.2f} s; total "
        f"{total_s:.2f} s (goal < 10 s). The pmf alone by python loop would take about "
        f"{loop_batch_s:.0f} s ({batch.height:,} x {loop_ms:.2f} ms)."
    )
    result = {
        "benchmark": "engine",
        "programs": programs.height,
        "load_validate_s": round(load_s, 3),
        "interactive_cold_ms": round(cold_s * 1000, 1),
        "interactive_warm_median_ms": round(warm_ms, 2),
        "interactive_goal_ms": 50,
        "python_loop_ms": round(loop_ms, 3),
        "product_tree_ms": round(vec_ms, 3),
        "loop_over_tree": round(loop_ms / vec_ms, 1),
        "batch_applicants": len(people),
        "batch_pairs": pairs,
        "batch_pairs_s": round(pairs_s, 3),
        "batch_pairs_per_s": round(pairs / pairs_s),
        "batch_chances_rows": batch.height,
        "batch_chances_s": round(chances_s, 3),
        "batch_total_s": round(total_s, 3),
        "batch_pmf_python_loop_estimate_s": round(loop_batch_s, 1),
        "batch_goal_s": 10,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
