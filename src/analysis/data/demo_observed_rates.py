"""A demo table of observed interview rates, laid out as public per-program tables are.

Built from the synthetic demo program table for notebook 04 and the tests, so that
`imgmatch evaluate` can be shown without real data: everything in it is synthetic.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_ABBREVIATIONS = (
    ("Medical Center", "Med Ctr"),
    ("University", "Univ"),
    ("Hospital", "Hosp"),
    ("Health", "Hlth"),
    ("System", "Sys"),
    ("Regional", "Reg"),
    ("Community", "Comm"),
    ("Memorial", "Mem"),
    ("School of Medicine", "Sch of Med"),
)


def demo_observed_rates(
    programs: pl.DataFrame, specialty: str = "IM", seed: int = 0
) -> pl.DataFrame:
    """A per-program interview-rate table as public ones are laid out, from the demo table.

    For notebook 04 and the tests: one row per program of `specialty` with a known non-US
    IMG rate, in the public format (`Program, City, State, MD, DO, US IMG, Non US IMG`), the
    names spelled as such tables spell them (abbreviations, upper case for some), a few rates
    unknown ("-") and a few rows repeated. Everything in it is synthetic: the rates are the
    demo table's own, so checking the demo against it shows how `imgmatch evaluate` works,
    not how good the model is.
    """
    rng = np.random.default_rng(seed)
    rows = programs.filter(
        (pl.col("specialty") == specialty) & pl.col("non_us_img_interview_rate").is_not_null()
    )
    names = rows["program_name"].to_list()
    spelled = []
    for i, name in enumerate(names):
        for long, short in _ABBREVIATIONS:
            if rng.random() < 0.7:
                name = name.replace(long, short)
        spelled.append(name.upper() if i % 7 == 0 else name)
    unknown = rng.random(rows.height) < 0.05

    def rate(column: str) -> list[str]:
        values = rows[column].to_list()
        return ["-" if u or v is None else f"{v:.3f}" for u, v in zip(unknown, values, strict=True)]

    table = pl.DataFrame(
        {
            "Program": spelled,
            "City": rows["city"].to_list(),
            "State": rows["state"].to_list(),
            "US IMG": rate("us_img_interview_rate"),
            "Non US IMG": rate("non_us_img_interview_rate"),
        }
    )
    repeated = table.sample(n=min(3, table.height), seed=seed)
    return pl.concat([table, repeated])
