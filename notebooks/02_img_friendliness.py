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
# **Purpose.** Explain the 0-100 IMG-friendliness score component by component (weights and
# where they come from, transforms, what an unknown fact stands for, confidence), show where
# friendly programs are and how the score is spread within and across specialties, and
# measure how the ranking changes when a component is dropped or a weight moves.
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
# The eight components with the weights and transforms in use (read from
# `params/friendliness.yaml`). Each weight is the most the component can add to the score
# (times 100). Most components are percentiles: an "IMG residents" value of 0.5 means half of
# Internal Medicine's programs have fewer IMG residents. The visa component is also a gate:
# a program *known* not to sponsor the visa scores 0 ("closed"); an *unknown* visa is never
# treated as a no.

# %%
present.weights_table()

# %% [markdown]
# ## Where the weights come from
#
# The weights are derived, not set by hand. A one-factor model says how strongly each fact
# follows a program's openness to IMGs (its *loading*: program type's comes from FREIDA's
# medians by type, the others are stated judgement); the regression weight of openness on
# the facts, divided by how much the component varies across programs, gives each weight.
# The visa weight is set so that a known sponsor outranks an unknown one by as much as a
# non-US IMG's expected interview rate differs between them. The last column is the
# rounded weight in use.

# %%
markup.table(
    friendliness.weight_derivation(),
    {"label": "Component", "loading": "Loading", "regression_weight": "Regression weight",
     "component_sd": "Spread (sd)", "derived_weight": "Derived weight", "weight": "Weight in use"},
    formats={"loading": "num2", "regression_weight": "num3", "component_sd": "num3",
             "derived_weight": "pct1", "weight": "pct1"},
)

# %% [markdown]
# ## Unknown facts are rank-neutral
#
# A fact a program does not publish takes the value of its specialty's *median* program:
# the program then scores exactly as if it were typical in that respect, so a missing fact
# never moves it up or down the ranking, and its confidence drops by the component's
# weight. Nothing is guessed from another column (no non-US share from the IMG share, no
# visa from the program type). A yes/no fact has no neutral median (the median program says
# yes or no), so an unknown visa or visiting policy takes the specialty's share of "yes".
# The table shows these values for the specialties in the table, first as facts, then as
# the score of a program about which nothing is known (for this visa need).

# %%
medians = friendliness.specialty_priors().join(
    friendliness.neutral_components(visa_needed).select("specialty", "img_friendliness"), on="specialty"
).filter(pl.col("specialty").is_in(scored["specialty"].unique().to_list()))
markup.table(
    medians.sort("specialty"),
    {"specialty": "Specialty", "median_pct_img": "Median % IMG residents",
     "median_pct_non_us_img": "Median % non-US IMG", "median_interview_rate": "Median interview rate",
     "median_type": "Median type", "share_j1": "Share J-1", "share_h1b": "Share H-1B",
     "img_friendliness": "Score if nothing is known"},
    formats={"median_pct_img": "num1", "median_pct_non_us_img": "num1", "median_interview_rate": "pct1",
             "share_j1": "pct", "share_h1b": "pct", "img_friendliness": "num1"},
)

# %% [markdown]
# The same in one program: the specialty's top program as published, with its IMG share
# unknown (and the US MD and DO shares it could be worked out from), and with its IMG share
# set to the specialty's median. The last two score the same; only the confidence tells
# them apart.

# %%
top_row = specialty_programs.filter(pl.col("program_id") == in_specialty["program_id"][0])
median_img = medians.filter(pl.col("specialty") == specialty)["median_pct_img"][0]
variants = pl.concat([
    top_row.with_columns(program_id=pl.lit("as published")),
    top_row.with_columns(program_id=pl.lit("IMG share unknown"), pct_img_residents=None,
                         pct_us_md_residents=None, pct_do_residents=None),
    top_row.with_columns(program_id=pl.lit("IMG share at the median"), pct_img_residents=median_img),
])
markup.table(
    friendliness.score_programs(variants, visa_needed, as_of=plan_date).sort("program_id", descending=True),
    {"program_id": "Version", "pct_img_residents": "% IMG residents",
     "component_img_share": "IMG residents component", "img_friendliness": "Score", "confidence": "Confidence"},
    formats={"pct_img_residents": "num1", "component_img_share": "num3", "img_friendliness": "num2",
             "confidence": "pct"},
)

# %% [markdown]
# ## How much is known: confidence
#
# Confidence is the weight of the facts that are known (0-1). The table is the share of
# programs in the table for which each fact is unknown: the less is known about a program,
# the more its score rests on its specialty's median program, and the lower its confidence.

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
# programs rated friendly or better (the tiers start at the score of an Internal Medicine
# program that sponsors the visa and sits at IM's median), the share closed (known not to
# sponsor the visa), and the median confidence. Specialties are sorted by their median
# score. The IMG-residents component is on one scale for every specialty, and visa shares
# follow each specialty's sponsorship level, so open specialties (internal medicine,
# neurology, pathology, family medicine) score above the surgical and radiological ones,
# as the reference shares of IMG residents say they should.

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
# are facts the program does not publish: the specialty's median program stands in for
# them. They neither lift nor sink the program; check them before relying on its rank.

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
# ## What each component changes: dropping one at a time
#
# Each component in turn is dropped (its weight set to 0, the others renormalized) and the
# programs re-scored. Two measures of how much the ranking moves: the Spearman rank
# correlation of the scores without it with the full scores (1 = same order), and the share
# of the full top 20 still in the top 20. "Known in" is the share of programs that publish
# the fact: a fact nobody publishes is the same median value for every program of the
# specialty, so dropping it moves nothing within the specialty. First within the specialty:

# %%
ablation = friendliness.component_ablation(specialty_programs, visa_needed, top=20, as_of=plan_date)
markup.table(
    ablation,
    {"label": "Dropped component", "weight": "Its weight", "known_share": "Known in",
     "spearman": "Rank correlation with the full score", "top20_overlap": "Top 20 kept"},
    formats={"weight": "pct1", "known_share": "pct", "spearman": "num3", "top20_overlap": "pct"},
    caption=f"{specialty_name(specialty)}: {in_specialty.height} programs",
)

# %% [markdown]
# Then over the whole table, where the differences between specialties also count:

# %%
markup.table(
    friendliness.component_ablation(programs, visa_needed, top=20, as_of=plan_date),
    {"label": "Dropped component", "weight": "Its weight", "known_share": "Known in",
     "spearman": "Rank correlation with the full score", "top20_overlap": "Top 20 kept"},
    formats={"weight": "pct1", "known_share": "pct", "spearman": "num3", "top20_overlap": "pct"},
    caption=f"All {programs.height:,} programs",
)

# %% [markdown]
# **Reading it.** A component moves the order only as far as its weight and the share of
# programs that publish its fact allow. On the demo data, the observed interview rate and the
# visa fit move it most (the rate also reshuffles the top 20, since rates separate the most
# open programs), the resident shares come next, and the light components (visiting access,
# screening rules, interviews per position) barely move it. No single component decides the
# ranking on its own.

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
# - The weights follow from loadings that are judgement where the reference has no figure
#   (documented in `params/friendliness.yaml`); the tables above show what each component
#   and each weight changes.
# - Program facts are self-reported (FREIDA) or collected by applicants, and go stale; a
#   stale row keeps its score but loses a fifth of its confidence.
# - A program about which little is known sits near its specialty's median program: its
#   score says "typical", its confidence says "unverified".
# - Specialty medians outside Internal Medicine are derived from NRMP shares with IM's
#   spread, and the score is not fitted to outcomes: where observed interview rates are
#   available, compare its order with them before relying on it.
# - A high score means "IMGs get in here", not "I will": notebook 03 turns programs into
#   one applicant's chances.
# - The demo table is synthetic (`data/demo/README.md`): its programs are fictional.
