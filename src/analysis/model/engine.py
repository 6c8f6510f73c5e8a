"""The batch engine: chances of many applicants at once, vectorized by specialty and visa need.

Same model and method as `analysis.model.probability.match_chances` (see its docstring), in
float32 (results agree to about 1e-6), with one thread per core over the (specialty, visa
need) groups: numpy releases the GIL in its array work. Memory is applicants x programs of a
specialty x 4 bytes per group, never the whole applicants x programs matrix at once (except
`interview_probability_matrix`, which returns it).

`chances_for_arrays` is the core, on applicant arrays (the calibration cohorts use it with
sampled populations); `chances_batch` is the same for profiles. Cohorts can pick their
programs with *targeting noise*: real applicants cannot see their chances program by program,
so they apply to their best-fit programs with noise (the planner itself always advises the
best-fit list).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl

from analysis.data.reference import fee_schedule, match_curve
from analysis.data.schemas import ApplicantProfile
from analysis.data.vocabulary import VISA_NEEDS
from analysis.model.population import ApplicantArrays
from analysis.model.probability import (
    _curve_from_sorted,
    default_applications,
    model_for,
    params,
    poisson_binomial_pmf,
    specialty_scores,
)

OUTPUT_COLUMNS = (
    "applicant_id",
    "specialty",
    "preference",
    "applications",
    "eligible_programs",
    "expected_interviews",
    "p_any_interview",
    "p_match",
    "p_match_low",
    "p_match_high",
    "p_match_in",
    "eras_cost_usd",
    "recommended_applications",
    "p_match_any",
    "calibrated",
)


def chances_batch(
    applicants: Sequence[ApplicantProfile],
    programs: Any,
    *,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Chances of many applicants at once (vectorized by specialty and visa need).

    One row per (applicant, target specialty): applicant_id, specialty, preference,
    applications, eligible_programs, expected_interviews, p_any_interview, p_match,
    p_match_low, p_match_high, p_match_in, eras_cost_usd, recommended_applications, and
    p_match_any (repeated per row), calibrated. Completed rotations with a program id count;
    planned rotations are not modelled here.
    """
    arrays = ApplicantArrays.from_profiles(applicants)
    targets = [list(a.target_specialties) for a in applicants]
    wanted = [
        {s: int(a.applications.get(s, default_applications(s))) for s in a.target_specialties}
        for a in applicants
    ]
    rotated = [{r.program_id for r in a.completed_rotations if r.program_id} for a in applicants]
    return chances_for_arrays(arrays, targets, wanted, programs, rotated=rotated, as_of=as_of)


def chances_for_arrays(
    arrays: ApplicantArrays,
    targets: Sequence[Sequence[str]],
    applications: Sequence[dict[str, int]],
    programs: Any,
    *,
    rotated: Sequence[set[str]] | None = None,
    targeting_noise: float = 0.0,
    seed: int = 0,
    intervals: bool = True,
    q_scale: float | None = None,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """The batch core on applicant arrays: `targets[i]` in rank-list order, programs per specialty.

    `targeting_noise` (log-odds sd) makes each applicant choose programs by their chance times
    a log-normal factor instead of best-fit first (for cohorts that apply as applicants do);
    `q_scale` overrides the match curve's fitted scale (for refitting it).
    """
    model = model_for(programs, as_of=as_of)
    prefs = {(i, s): rank for i, t in enumerate(targets) for rank, s in enumerate(t, start=1)}
    groups: dict[tuple[str, str], list[int]] = {}
    for i, s in prefs:
        groups.setdefault((s, str(arrays.visa_needed[i])), []).append(i)
    context = _Context(model, arrays, applications, rotated, targeting_noise, seed, intervals)
    context.q_scale = q_scale
    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        frames = list(
            pool.map(
                lambda key: context.score(key, np.array(groups[key], dtype=int)),
                sorted(groups, key=lambda k: -len(groups[k])),
            )
        )
    if not frames:
        return pl.DataFrame()
    return _finish(pl.concat(frames, how="vertical_relaxed"), arrays, prefs)


class _Context:
    """What every (specialty, visa need) group of a batch shares."""

    def __init__(
        self,
        model: Any,
        arrays: ApplicantArrays,
        applications: Sequence[dict[str, int]],
        rotated: Sequence[set[str]] | None,
        targeting_noise: float,
        seed: int,
        intervals: bool,
    ) -> None:
        self.model, self.arrays, self.applications = model, arrays, applications
        self.rotated, self.noise, self.seed, self.intervals = (
            rotated,
            targeting_noise,
            seed,
            intervals,
        )
        self.fees = fee_schedule()
        self.tparams = params()["applications"]
        self.q_scale: float | None = None

    def score(self, key: tuple[str, str], idx: np.ndarray) -> pl.DataFrame:
        """The rows of one (specialty, visa need) group."""
        s, visa = key
        mc = match_curve(s, self.q_scale)
        g = mc.p_match_given(np.arange(mc.k_max + 1))
        rot = {k: self.rotated[i] for k, i in enumerate(idx) if self.rotated and self.rotated[i]}
        sc = specialty_scores(
            self.model,
            self.arrays,
            s,
            visa,
            idx,
            rotations=rot or None,
            intervals=self.intervals,
            dtype=np.float32,
        )
        eligible = (sc.screen_bits == 0).sum(axis=1)
        wanted = np.array([self.applications[i].get(s, default_applications(s)) for i in idx])
        n = np.minimum(wanted, eligible)
        order = np.argsort(-sc.p, axis=1)  # best-fit first (ties give equal results)
        if self.noise > 0:
            rng = np.random.default_rng([self.seed, len(s), *map(ord, s + visa)])
            noisy = np.log(sc.p + 1e-9) + self.noise * rng.standard_normal(sc.p.shape)
            order = np.argsort(-noisy, axis=1)
        n_cols = max(int(n.max()), 1)
        applied = np.arange(n_cols)[None, :] < n[:, None]
        stacks = [
            np.where(applied, np.take_along_axis(mat, order[:, :n_cols], axis=1), np.float32(0))
            for mat in (sc.p, sc.p_low, sc.p_high)
        ]
        pmf = poisson_binomial_pmf(np.stack(stacks), mc.k_max)
        pm = (pmf * g).sum(axis=-1)
        best = np.take_along_axis(sc.p, np.argsort(-sc.p, axis=1), axis=1)
        curve = _curve_from_sorted(
            best[:, : min(int(self.tparams["max_curve"]), best.shape[1])], mc.q, mc.p_max
        )
        reach = curve >= self.tparams["target"]
        return pl.DataFrame(
            {
                "row": idx,
                "specialty": s,
                "applications": n,
                "eligible_programs": eligible,
                "expected_interviews": stacks[0].sum(axis=1),
                "p_any_interview": 1.0 - pmf[0, :, 0],
                "p_match": pm[0],
                "p_match_low": np.minimum(pm[1], pm[0]),
                "p_match_high": np.maximum(pm[2], pm[0]),
                "eras_cost_usd": self.fees.eras_cost(n),
                "recommended_applications": np.where(
                    reach.any(axis=1), reach.argmax(axis=1) + 1, -1
                ),
                "calibrated": sc.calibrated,
            }
        )


def _finish(out: pl.DataFrame, arrays: ApplicantArrays, prefs: dict) -> pl.DataFrame:
    """Ids, preferences, dual applying (P(match in), P(match anywhere)) and column order."""
    rows = out["row"].to_list()
    out = out.with_columns(
        applicant_id=pl.Series([arrays.ids[i] for i in rows]),
        preference=pl.Series([prefs[(i, s)] for i, s in zip(rows, out["specialty"], strict=True)]),
        recommended_applications=pl.when(pl.col("recommended_applications") > 0)
        .then(pl.col("recommended_applications"))
        .otherwise(None),
    ).sort(["row", "preference"])
    out = out.with_columns(
        p_match_in=pl.col("p_match")
        * (1.0 - pl.col("p_match")).cum_prod().shift(1, fill_value=1.0).over("row"),
        p_match_any=1.0 - (1.0 - pl.col("p_match")).product().over("row"),
    )
    return out.drop("row").select(OUTPUT_COLUMNS)


def interview_probability_matrix(
    applicants: Sequence[ApplicantProfile] | ApplicantArrays,
    programs: Any,
    *,
    as_of: dt.date | None = None,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """p_interview for every (applicant, program) pair: (matrix, program ids).

    Vectorized by specialty and visa need; memory is applicants x programs x 4 bytes.
    """
    model = model_for(programs, as_of=as_of)
    arrays = (
        applicants
        if isinstance(applicants, ApplicantArrays)
        else ApplicantArrays.from_profiles(applicants)
    )
    ids = model.side.ids
    out = np.zeros((len(arrays.ids), ids.size), dtype=dtype)
    tasks = []
    for visa in VISA_NEEDS:
        idx = np.flatnonzero(arrays.visa_needed == visa)
        if idx.size:
            tasks += [(visa, s, idx) for s in model.side.specialty_rows]

    def fill(task: tuple[str, str, np.ndarray]) -> None:
        visa, s, idx = task
        sc = specialty_scores(model, arrays, s, visa, idx, intervals=False, dtype=dtype)
        out[np.ix_(idx, sc.rows)] = sc.p  # disjoint blocks: safe across threads

    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        list(pool.map(fill, tasks))
    return out, ids


def _threads() -> int:
    """Worker threads for batch scoring: the machine's cores."""
    return max(1, os.cpu_count() or 1)
