# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · The model against observed outcomes: `imgmatch evaluate`
#
# **Purpose.** Check the model on **your own data**: a table of observed per-program
# interview rates (the share of applicants of a group each program interviewed, as public
# per-program tables publish them) joined to a program table (a FREIDA-style export, a
# tracker or the canonical table). It answers two questions: does the IMG-friendliness
# score (and the model's chance of an interview) **rank** programs the way the observed
# rates do, better than any single fact alone? And does the model predict the right
# **level** of interviews (the calibration ratio)?
#
# **Inputs** (the next cell): a program table, the specialty the rates are for, the plan
# date. Here the rates table is built from the synthetic demo table itself
# (`analysis.data.demo_observed_rates`: the demo's own rates, the names spelled as
# public tables spell them), so this notebook shows **how to read** an evaluation; on the
# demo it is not evidence about the model. With your own file, run
# `imgmatch evaluate --programs TABLE --observed RATES --specialty IM`
# (or `analysis.model.evaluation.evaluate` in a notebook).
#
# **Outputs.** Tables and a chart in this notebook; nothing is written to disk.

# %% tags=["parameters"]
programs_file: str = "../data/demo/programs.csv"  # program table (canonical, tracker or FREIDA layout)
specialty: str = "IM"  # specialty the rates are for
as_of: str = "2026-11-01"  # plan date (ISO)

# %%
import datetime as dt

import polars as pl

from analysis import viz
from analysis.data.demo_observed_rates import demo_observed_rates
from analysis.data.programs import load_programs
from analysis.model import evaluation
from analysis.report import present
from analysis.viz import markup

present.setup_notebook()  # charts as offline vega-lite JSON, imgmatch theme
programs = load_programs(programs_file)
rates = demo_observed_rates(programs, specialty)  # with your own data: read your rates file
result = evaluation.evaluate(programs, rates, specialty=specialty,
                             as_of=dt.date.fromisoformat(as_of))

# %% [markdown]
# ## The rates table and the join
#
# The rates table has one row per program: `Program, City, State` and a rate per applicant
# group (`US IMG`, `Non US IMG`; `-` or empty for unknown). Its names rarely match the
# program table's exactly, so both are normalized (case, punctuation, "&" and "and",
# "Program" and specialty suffixes, abbreviations such as "Med Ctr", "Hosp", "Univ") and
# joined on name and state (and specialty). A name that fits two programs, two rows that fit
# one program, and rows with an unknown rate are not used and are listed with the reason.

# %%
markup.table(rates.head(6), {"Program": "Program", "City": "City", "State": "State",
                             "US IMG": "US IMG", "Non US IMG": "Non US IMG"})

# %%
doc = result.to_dict()
markup.key_figures([
    ("Programs joined", f"{doc['joined']:,}", "with a known non-US IMG rate"),
    ("Rows not used", f"{doc['unjoined']:,}",
     ", ".join(f"{k} {v}" for k, v in doc["unjoined_by_reason"].items() if v)),
    ("Calibration ratio", markup.num(doc["calibration_ratio"], 2),
     "predicted / observed interviews, population average"),
    ("Reference applicant", markup.num(doc["calibration_ratio_reference"], 2),
     "the same for one average person"),
])

# %% [markdown]
# ## Ranking: the score, the model and every single fact
#
# Spearman's rank correlation of the observed rate with the IMG-friendliness score (for the
# visa the group needs), the population's predicted rate (`predicted_rate`: the model's
# average chance over the applicant population, what a published rate measures), the
# reference applicant's P(interview), and each fact of the program table alone. Two columns:
# over the programs where the input is known (each with its own n: an input unknown at the
# hard-to-rank programs looks better than it is), and over **all** joined programs with an
# unknown value counted at the median (the like-for-like comparison). The score should be
# at least as good as its best single input on the second column. The program table's own
# observed rates are set aside for the predictions, so the model is judged on the other
# facts.

# %%
markup.table(
    pl.DataFrame(
        {
            "input": list(doc["spearman"]),
            "known": [doc["spearman"][k] for k in doc["spearman"]],
            "n": [doc["spearman_n"][k] for k in doc["spearman"]],
            "all": [doc["spearman_all_programs"][k] for k in doc["spearman"]],
        }
    ).sort("all", descending=True, nulls_last=True),
    {"input": "Input", "known": "Spearman, where known", "n": "Programs",
     "all": "Spearman, all programs"},
    formats={"known": "num3", "all": "num3", "n": "int"},
)

# %% [markdown]
# The same as bars: blue where each input is known, orange over all programs (the fair
# comparison).

# %%
viz.rank_correlation_chart(doc)

# %% [markdown]
# Predicted against observed, one point per program: points along the dashed line are
# programs where the model, averaged over the applicant population, predicts the group's
# observed rate; the spread around it is what one year of observed rates and the program facts
# cannot pin down.

# %%
viz.evaluation_scatter(result.pairs, rho=doc["spearman"]["predicted_rate"])

# %% [markdown]
# The reference applicant (one average person) against the same rates: lower than the
# population's average where published screens exclude that person, and no program above its
# rate by much.

# %%
viz.evaluation_scatter(result.pairs, rho=doc["spearman"]["p_interview"], predicted="p_interview")

# %% [markdown]
# ## How to read it
#
# - **Ranking.** A score that ranks no better than the share of IMG residents alone adds
#   nothing; `imgmatch score` is built so that unknown facts are rank-neutral and each fact
#   adds what it knows (notebook 02). On your data, compare the score's row with the best
#   single input's, in the "all programs" column.
# - **Level.** A calibration ratio near 1 means the model, averaged over the applicant
#   population, predicts as many interviews as the group got; 0.8-1.25 is what the model
#   reaches against the national reference (notebook 03). Much lower means the model is too
#   pessimistic for these programs (or the rates table covers an unusually open set of
#   them); much higher, too optimistic. The reference applicant's ratio is lower: one
#   person, screened out where a published rule excludes them.
# - **What to do with it.** `imgmatch enrich --programs TABLE --observed RATES --out FILE`
#   copies the observed rates into your program table (never overwriting a known value);
#   the model then places each of those programs on its own rate.

# %%
markup.table(
    result.unjoined.head(8),
    {"row": "Row", "program": "Program", "state": "State", "reason": "Reason", "detail": "Detail"},
)
