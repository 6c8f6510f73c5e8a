"""The demo table against what it is drawn to match: one check per specialty and metric.

`calibration_table` compares a generated program table with the reference figures, metric by
metric, each with the tolerance it must meet (met if the gap is within the absolute or the
relative one); `calibration_summary` turns the interview-rate checks into one row per
specialty for printing (`imgmatch demo-data`). The figures come from
`analysis.data.demo_specialties` and the reference tables; the tolerances are the ones
`data/demo/README.md` lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from analysis.config import reference_table
from analysis.data.demo_specialties import (
    IM_H1B,
    IM_J1,
    PCT_IMG_MEDIAN,
    SpecialtyPlan,
    specialty_plan,
)


def _as_polars(df: Any) -> pl.DataFrame:
    if isinstance(df, pl.DataFrame):
        return df
    if isinstance(df, pl.LazyFrame):
        return df.collect()
    return pl.from_pandas(df)


def calibration_table(df: Any) -> pl.DataFrame:
    """Compare a generated program table with the reference figures, metric by metric.

    Args:
        df: a program table (polars or pandas) as `generate_programs` returns.

    Returns:
        One row per (specialty, metric): `generated`, `reference`, the tolerance
        (`abs_tol`, `rel_tol`: met if the gap is within either), `within_tolerance`, and the
        `basis` of the reference figure. Metrics for every specialty: `programs` and
        `pgy1_positions` (exact), `img_share_of_positions_pct` (position-weighted mean of
        `pct_img_residents` vs NRMP's US + non-US IMG share of PGY-1 positions), and for the
        non-US IMG interview rate: `known_share`, `share_zero`, `median`, `p90`, `mean`.
        For IM also the visa shares by program type, the unknown-visa share, the quartiles
        of `pct_img_residents` and its medians by type; for DR the ESIR share.
    """
    df = _as_polars(df)
    plan = specialty_plan()
    rows: list[dict[str, Any]] = []

    def add(spec: str, metric: str, generated: float | None, reference: float,
            abs_tol: float, rel_tol: float, basis: str) -> None:  # fmt: skip
        rows.append(
            {
                "specialty": spec,
                "metric": metric,
                "generated": None if generated is None else float(generated),
                "reference": float(reference),
                "abs_tol": abs_tol,
                "rel_tol": rel_tol,
                "basis": basis,
            }
        )

    _specialty_rows(_calibration_stats(df, plan), plan, add)
    if "IM" in plan.codes:
        _im_rows(df.filter(pl.col("specialty") == "IM"), add)
    dr = df.filter(pl.col("specialty") == "DR")
    if dr.height:
        add("DR", "esir_share", dr["esir_available"].drop_nulls().mean(), 0.5, 0.1, 0,
            "about half of DR programs offer ESIR (project assumption)")  # fmt: skip

    table = pl.DataFrame(rows, schema_overrides={"generated": pl.Float64})
    gap = (pl.col("generated") - pl.col("reference")).abs()
    return table.with_columns(
        within_tolerance=(
            (gap <= pl.col("abs_tol") + 1e-9)
            | (gap <= pl.col("rel_tol") * pl.col("reference").abs() + 1e-9)
        ).fill_null(False)
    )


def _calibration_stats(df: pl.DataFrame, plan: SpecialtyPlan) -> pl.DataFrame:
    """Per specialty: generated counts, IMG share and interview-rate statistics, with the
    reference figures beside them (`ref_*` columns)."""
    nrmp = reference_table("nrmp_2025_specialties")
    rate = pl.col("non_us_img_interview_rate")
    return (
        df.group_by("specialty")
        .agg(
            programs=pl.len(),
            positions=pl.col("pgy1_positions").sum(),
            img_share=(pl.col("pct_img_residents") * pl.col("pgy1_positions")).sum()
            / pl.col("pgy1_positions").filter(pl.col("pct_img_residents").is_not_null()).sum(),
            known_share=rate.is_not_null().mean(),
            share_zero=(rate.drop_nulls() == 0).mean(),
            median=rate.drop_nulls().quantile(0.5, interpolation="linear"),
            p90=rate.drop_nulls().quantile(0.9, interpolation="linear"),
            mean=rate.drop_nulls().mean(),
        )
        .join(plan.interview.rename(lambda c: c if c == "specialty" else f"ref_{c}"),
              on="specialty", how="left")
        .join(nrmp.select("specialty", ref_programs="programs", ref_positions="positions"),
              on="specialty", how="left")
    )  # fmt: skip


def _specialty_rows(stats: pl.DataFrame, plan: SpecialtyPlan, add: Callable[..., None]) -> None:
    """The checks every specialty gets: counts, IMG share, interview-rate distribution."""
    order = {code: i for i, code in enumerate(plan.codes)}
    img_ref = dict(zip(plan.codes, plan.us_img_pct + plan.non_us_img_pct, strict=True))
    assumed = dict(zip(plan.codes, plan.img_share_assumed, strict=True))
    nrmp_basis = "nrmp_2025_specialties.csv"
    for r in sorted(stats.iter_rows(named=True), key=lambda r: order.get(r["specialty"], 99)):
        spec = r["specialty"]
        if r["ref_programs"] is None:
            continue
        add(spec, "programs", r["programs"], r["ref_programs"], 0, 0, nrmp_basis)
        add(spec, "pgy1_positions", r["positions"], r["ref_positions"], 0, 0, nrmp_basis)
        img_basis = (
            "assumption (IMG_SHARE_ASSUMED; NRMP 2025 share not recovered)"
            if assumed[spec]
            else f"{nrmp_basis}: PGY-1 share of US + non-US IMGs"
        )
        add(spec, "img_share_of_positions_pct", r["img_share"], img_ref[spec], 5.0, 0, img_basis)
        basis = r["ref_basis"]
        zero_tol = 0.12 if r["ref_stand_in"] else 0.05
        add(spec, "interview_rate_known_share", r["known_share"], r["ref_known_share"], 0.03, 0,
            basis)  # fmt: skip
        add(spec, "interview_rate_share_zero", r["share_zero"], r["ref_share_zero"], zero_tol, 0,
            basis)  # fmt: skip
        add(spec, "interview_rate_median", r["median"], r["ref_median"], 0.01, 0.25, basis)
        add(spec, "interview_rate_p90", r["p90"], r["ref_p90"], 0.01, 0.25, basis)
        add(spec, "interview_rate_mean", r["mean"], r["ref_mean"], 0.005, 0.30, basis)


def _im_rows(im: pl.DataFrame, add: Callable[..., None]) -> None:
    """IM-only checks against FREIDA 2025 (visa_and_programs.md)."""
    basis = "visa_and_programs.md: FREIDA 2025 IM listings"
    names = {"university": "university", "community_university_affiliated": "affiliated",
             "community": "community", "military": "military"}  # fmt: skip
    by_type = im.group_by("program_type").agg(
        j1=pl.col("sponsors_j1").fill_null(False).mean() * 100,
        h1b=pl.col("sponsors_h1b").fill_null(False).mean() * 100,
        pct_median=pl.col("pct_img_residents").median(),
    )
    lookup = {r["program_type"]: r for r in by_type.iter_rows(named=True)}
    for i, (ptype, short) in enumerate(names.items()):
        got = lookup.get(ptype, {"j1": None, "h1b": None, "pct_median": None})
        add("IM", f"j1_share_pct_{short}", got["j1"], IM_J1[i] * 100, 4.0, 0, basis)
        add("IM", f"h1b_share_pct_{short}", got["h1b"], IM_H1B[i] * 100, 4.0, 0, basis)
        if short in ("university", "affiliated", "community"):
            add("IM", f"pct_img_median_{short}", got["pct_median"], PCT_IMG_MEDIAN[i], 6.0, 0,
                basis)  # fmt: skip
    add("IM", "visa_unknown_share_pct", im["sponsors_j1"].is_null().mean() * 100, 26.9, 4.0, 0,
        basis)  # fmt: skip
    add("IM", "pct_img_unknown_share_pct", im["pct_img_residents"].is_null().mean() * 100,
        100 * (1 - 526 / 689), 4.0, 0, basis)  # fmt: skip
    pct = im["pct_img_residents"].drop_nulls()
    for q, ref in ((0.25, 9.0), (0.5, 40.75), (0.75, 80.0)):
        add("IM", f"pct_img_q{int(q * 100)}", pct.quantile(q, interpolation="linear"), ref, 6.0,
            0, basis)  # fmt: skip


def calibration_summary(calibration: pl.DataFrame) -> pl.DataFrame:
    """The interview-rate calibration as one row per specialty, for printing.

    Columns: `specialty`, the generated `programs`, `pgy1_positions`, `share_zero`,
    `median`, `p90`, `mean`, the same with `_ref` for the reference, `ok` (all within
    tolerance) and `stand_in` (the reference row is another specialty's).
    """
    wide = calibration.filter(
        pl.col("metric").is_in(
            ["programs", "pgy1_positions", "interview_rate_share_zero", "interview_rate_median",
             "interview_rate_p90", "interview_rate_mean"]
        )
    )  # fmt: skip
    ok = wide.group_by("specialty", maintain_order=True).agg(
        ok=pl.col("within_tolerance").all(),
        stand_in=pl.col("basis").str.starts_with("stand-in").any(),
    )
    generated = wide.pivot("metric", index="specialty", values="generated")
    reference = wide.pivot("metric", index="specialty", values="reference")
    return (
        generated.join(reference, on="specialty", suffix="_ref")
        .join(ok, on="specialty")
        .rename(lambda c: c.replace("interview_rate_", ""))
    )
