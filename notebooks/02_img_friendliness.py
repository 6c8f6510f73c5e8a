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
# # 02 · IMG-friendliness: the score, explained
#
# **Purpose.** Explain the 0-100 IMG-friendliness score component by component (weights,
# transforms, priors for unknown facts, confidence), show where friendly programs are and
# how the score is spread within and across specialties, and measure how much the ranking
# depends on the weights, which are judgement, not fitted.
#
# **Inputs** (the next cell): a program table (`programs_file`), the visa the score is
# relative to (`visa_needed`), the specialty to look at closely (`specialty`) and the plan
# date (`as_of`; facts verified over a year before it are stale and lower confidence).
#
# **Outputs.** Tables and charts in this notebook; nothing is written to disk.

# %% tags=["parameters"]
programs_file: str = "../data/demo/programs.csv"  # program table (canonical, tracker or FREIDA layout)
visa_needed: str = "j1"  # score relative to this visa need: "j1", "h1b", "either", "none"
specialty: str = "IM"  # specialty to look at closely (code, e.g. "IM", "IR", "PSYCH")
as_of: str = "2026-11-01"  # plan date (ISO): facts verified over a year before it are stale

# %%
import datetime as dt

import polars as pl

from analysis import viz
from analysis.data.programs import load_programs
from analysis.data.vocabulary import specialty_name
from analysis.model import friendliness
from analysis.report import present
from analysis.viz import markup

present.setup_notebook()  # charts as offline vega-lite JSON, imgmatch theme
plan_date = dt.date.fromisoformat(as_of)
programs = load_programs(programs_file)
scored = friendliness.score_programs(programs, visa_needed=visa_needed, as_of=plan_date)
in_specialty = scored.filter(pl.col("specialty") == specialty)  # scored, highest first
specialty_programs = programs.filter(pl.col("specialty") == specialty)  # the raw rows

# %% [markdown]
# ## The method
#
# The method as `analysis.model.friendliness` documents it (this text is the module's docstring,
# so the notebook and the code cannot disagree):

# %%
present.method(friendliness, end="Known limits")

# %% [markdown]
# ## Components and weights
#
# The seven components with the weights and transforms in use (read from
# `params/friendliness.yaml`). Each weight is the most the component can add to the score:
# a program that sponsors the visa gets 25 points from it, one with a third of its residents
# IMGs gets about 13 of the 20 "IMG residents" points. The visa component is also a gate:
# a program *known* not to sponsor the visa scores 0 ("closed"); an *unknown* visa is
# imputed, never treated as a no.

# %%
present.weights_table()

# %% [markdown]
# ## Priors: what an unknown fact is replaced with
#
# When a program does not publish a fact, the component takes its specialty's typical value
# (the prior) and the program's confidence drops by that component's weight. Priors come
# from the reference figures (IMG shares of residents per specialty, sponsorship by program
# type, the reference distribution of non-US IMG interview rates). The table shows them for
# the main specialties, as component values from 0 to 1.

# %%
priors = friendliness.specialty_priors().filter(pl.col("specialty").is_in(scored["specialty"].unique().to_list()))
markup.table(
    priors.sort("specialty"),
    {"specialty": "Specialty", "pct_img_mean": "Typical % IMG residents",
     "prior_img_share": "IMG residents", "prior_non_us_img_share": "Non-US IMG residents",
     "prior_interview_rate": "Interview rate", "prior_program_type": "Program type",
     "prior_visiting": "Visiting access", "prior_screening": "Screening"},
    formats={"pct_img_mean": "num1", "prior_img_share": "num2", "prior_non_us_img_share": "num2",
             "prior_interview_rate": "num2", "prior_program_type": "num2",
             "prior_visiting": "num2", "prior_screening": "num2"},
)

# %% [markdown]
# ## How much is known: confidence
#
# Confidence is the weight of the facts that are known (0-1). The table is the share of
# programs in the table for which each fact is unknown: the less is known, the more the
# score leans on priors and the more it pulls every program toward its specialty's
# typical value.

# %%
markup.table(
    present.unknown_facts(programs),
    {"fact": "Fact", "unknown_share": "Unknown in"},
    formats={"unknown_share": "pct"},
    caption=f"{programs.height:,} programs",
)

# %% [markdown]
# ## Across specialties
#
# The distribution of the score per specialty for this visa need: quartiles, the share of
# programs rated friendly or better (45+), the share closed (known not to sponsor the visa),
# and the median confidence. Specialties are sorted by their median score. Open specialties
# (internal medicine, neurology, pathology, family medicine) have more friendly programs
# than the surgical and radiological ones, which is what the reference shares of IMG
# residents show.

# %%
markup.table(
    present.specialty_overview(scored),
    {"name": "Specialty", "programs": "Programs", "friendliness_p25": "p25",
     "friendliness_median": "Median", "friendliness_p75": "p75",
     "friendly_share": "Friendly or better", "closed_share": "Closed",
     "confidence_median": "Median confidence", "stale_share": "Stale"},
    formats={"friendliness_p25": "num1", "friendliness_median": "num1", "friendliness_p75": "num1",
             "friendly_share": "pct", "closed_share": "pct", "confidence_median": "pct",
             "stale_share": "pct"},
)

# %% [markdown]
# ## Where friendly programs are
#
# States shaded by the mean score of their programs in the specialty (states with fewer
# than three programs are left out of the title's ranking: one program is not a pattern).
# A high mean says IMGs are common there, not that every program in the state is open.

# %%
viz.programs_map(scored, value="mean_friendliness", specialty=specialty)

# %% [markdown]
# Each point is a program: its score against its size (first-year positions). The dropdown
# switches specialty; clicking a tier in the legend highlights it. Large programs are not
# systematically friendlier: size says little about openness to IMGs.

# %%
viz.friendliness_scatter(scored, specialty=specialty)

# %% [markdown]
# ## The distribution in one specialty
#
# A histogram of the score in the specialty, stacked by tier: how many programs fall in each
# 5-point band. The long right-hand mass is the specialty's open programs; the grey bar at
# zero holds the programs closed to this visa need.

# %%
viz.friendliness_distribution(scored, specialty)

# %% [markdown]
# ## What makes the top programs friendly
#
# Each bar is a program's score, split into its weighted components (a segment is
# 100 x weight x component value, so the segments add up to the score). Faded segments
# are imputed: the fact was unknown and the specialty prior stands in for it. A top
# program with many faded segments is top partly because little is known about it;
# check its facts before relying on it.

# %%
components = friendliness.component_frame(specialty_programs, visa_needed, as_of=plan_date)
top15 = components.filter(pl.col("program_id").is_in(in_specialty.head(15)["program_id"].to_list()))
viz.component_breakdown(friendliness.component_contributions(top15), top=15)

# %% [markdown]
# The same programs as a table: score, tier, confidence, and the facts that matter most.

# %%
markup.table(
    in_specialty.head(15),
    {"program_name": "Program", "state": "State", "img_friendliness": "Score", "tier": "Tier",
     "confidence": "Confidence", "sponsors_j1": "J-1", "sponsors_h1b": "H-1B",
     "pct_img_residents": "% IMG residents", "non_us_img_interview_rate": "Non-US IMG interview rate",
     "last_verified": "Last verified", "stale": "Stale"},
    formats={"img_friendliness": "num1", "confidence": "pct", "pct_img_residents": "num1",
             "non_us_img_interview_rate": "pct1"},
    caption=f"Top 15 {specialty_name(specialty)} programs for visa need {visa_needed!r}",
)

# %% [markdown]
# ## How much the ranking depends on the weights
#
# Each weight in turn is halved (x0.5) or raised by half (x1.5), the weights renormalized,
# and the programs re-scored. Two measures of how much the result moves: the Spearman rank
# correlation of all scores with the default ones (1 = same order), and the share of the
# default top 20 still in the top 20. First within the specialty, where applicants choose:

# %%
sensitivity = friendliness.weight_sensitivity(specialty_programs, visa_needed, top=20, as_of=plan_date)
markup.table(
    sensitivity,
    {"label": "Component", "weight_change": "Weight", "spearman": "Rank correlation",
     "top20_overlap": "Top 20 kept"},
    formats={"spearman": "num3", "top20_overlap": "pct"},
    caption=f"{specialty_name(specialty)}: {in_specialty.height} programs",
)

# %% [markdown]
# Then over the whole table, all specialties together, where the visa gate and the
# differences between specialties dominate, so the order moves even less:

# %%
overall = friendliness.weight_sensitivity(programs, visa_needed, top=20, as_of=plan_date)
markup.table(
    overall.group_by("label", maintain_order=True).agg(
        pl.col("spearman").min().alias("spearman_min"), pl.col("top20_overlap").min().alias("top20_min")
    ),
    {"label": "Component", "spearman_min": "Lowest rank correlation", "top20_min": "Lowest top-20 kept"},
    formats={"spearman_min": "num3", "top20_min": "pct"},
    caption=f"All {programs.height:,} programs (worst of x0.5 and x1.5)",
)

# %% [markdown]
# **Reading it.** Rank correlations stay close to 1 for every change: the broad order of
# programs (which are open to IMGs at all) does not hinge on any one weight. The top of the
# list is more sensitive, as a top list always is: a few programs near the cut move in or
# out when a weight changes by half. Use the tiers and the top 20-30 as a shortlist to check
# by hand, not the exact rank.
#
# ## Known limits
#
# - The weights are judgement, documented in `params/friendliness.yaml`; the sensitivity
#   above shows what that judgement changes.
# - Program facts are self-reported (FREIDA) or collected by applicants, and go stale; a
#   stale row keeps its score but loses a fifth of its confidence.
# - Program type is a coarse proxy, and unknown facts pull scores toward the specialty's
#   typical value.
# - A high score means "IMGs get in here", not "I will": notebook 03 turns programs into
#   one applicant's chances.
# - The demo table is synthetic (`data/demo/README.md`): its programs are fictional.
