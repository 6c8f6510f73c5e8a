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
# # 01 · Program explorer: where could I interview?
#
# **Purpose.** Filter a program table and see, program by program, how likely each one is to
# invite an applicant to interview, and how that moves with the Step 2 CK score. The
# interactive panel at the end redraws live in JupyterLab; every result above it is a static
# view of the same thing, so the notebook also reads well when run headless (tests, HTML).
#
# **Inputs** (the next cell): a program table (`programs_file`: CSV, XLSX or Parquet, in the
# canonical, tracker or FREIDA layout), optionally an applicant profile (`applicant_file`;
# empty for the *typical* non-US IMG applicant), and the plan date (`as_of`, which decides
# which facts count as stale).
#
# **Outputs.** Tables and charts in this notebook; nothing is written to disk.
#
# **How it works.** `analysis.viz.explorer` scores every program of the chosen specialty for
# the visa the applicant needs (`analysis.model.friendliness`) and computes the chance that it
# invites them to interview (`analysis.model.probability`; notebook 03 explains and checks the
# model).
# Notebook 02 explains the IMG-friendliness score.

# %% tags=["parameters"]
programs_file: str = "../data/demo/programs.csv"  # program table (canonical, tracker or FREIDA layout)
applicant_file: str = "../data/demo/applicants/amira_ir.yaml"  # profile to explore for ("" = typical applicant)
as_of: str = "2026-11-01"  # plan date (ISO): facts verified over a year before it are stale

# %%
import datetime as dt

import polars as pl

from analysis import viz
from analysis.data.applicants import load_applicant
from analysis.data.programs import load_programs
from analysis.model.friendliness import score_programs
from analysis.report import present
from analysis.viz import explorer, explorer_widget, markup
from analysis.viz.explorer import Filters

present.setup_notebook()  # charts as offline vega-lite JSON, imgmatch theme
plan_date = dt.date.fromisoformat(as_of)
programs = load_programs(programs_file)
applicant = load_applicant(applicant_file) if applicant_file else None

# %% [markdown]
# ## The table at a glance
#
# One row per specialty: how many programs and first-year positions the table holds, the
# share of programs known to sponsor the J-1 visa and the share whose sponsorship is unknown
# (unknown is never counted as a "no"), and the spread of the IMG-friendliness score for a
# J-1 applicant (25th percentile, median, 75th percentile; 0-100, higher = more IMGs get in).
# "Stale" is the share of programs whose facts were last verified more than a year before
# the plan date.

# %%
scored = score_programs(programs, visa_needed="j1", as_of=plan_date)
overview = present.specialty_overview(scored)
markup.table(
    overview,
    {"name": "Specialty", "programs": "Programs", "pgy1_positions": "PGY-1 positions",
     "sponsors_visa_share": "Sponsor J-1", "visa_unknown_share": "J-1 unknown",
     "friendliness_p25": "Score p25", "friendliness_median": "Median", "friendliness_p75": "p75",
     "friendly_share": "Friendly or better", "stale_share": "Stale"},
    formats={"sponsors_visa_share": "pct", "visa_unknown_share": "pct", "friendliness_p25": "num1",
             "friendliness_median": "num1", "friendliness_p75": "num1", "friendly_share": "pct",
             "stale_share": "pct"},
)

# %% [markdown]
# ## Where the programs are
#
# Each state is shaded by the number of programs in the table; the tooltip adds positions,
# the mean IMG-friendliness and how many programs sponsor a J-1. Programs in Puerto Rico and
# other territories are counted in the subtitle (the map projection does not draw them).

# %%
viz.programs_map(scored)

# %% [markdown]
# ## The explorer, with its starting filters
#
# The applicant's first target specialty, their visa need and Step 2 CK, every state. The
# key figures say how many programs pass the filters, how many a hard screen rules out (visa
# not sponsored, Step 2 CK under a published minimum, graduation too long ago, too little
# US clinical experience, too many attempts), and what applying to every eligible program
# shown would give: the expected number of interviews and the chance of at least one.

# %%
view = explorer.static_view(programs, applicant, as_of=plan_date)
view.header

# %% [markdown]
# Each point is a program: across, its IMG-friendliness for this visa need; up, the chance
# that one application there brings an interview invitation. Colour is the friendliness
# tier; grey crosses at zero are programs a hard screen rules out (hover for the reason).
# Friendlier programs tend to interview more, but the spread is wide: the score describes
# the program, the chance also depends on the applicant.

# %%
view.chart

# %% [markdown]
# The programs most likely to interview, with the model's 80% interval. "Facts verified"
# flags rows whose facts are over a year old at the plan date: check them before relying
# on them. J-1/H-1B show the program's sponsorship; "unknown" means nobody has recorded it.

# %%
view.table

# %% [markdown]
# ## The same view with filters
#
# Filters are plain values, so any view can be reproduced in a cell: here the applicant's
# preferred states (all states for the typical applicant) and programs scoring at least 45
# ("friendly" or better). Fewer programs pass, so fewer interviews are expected from
# applying to all of them: a short list of friendly programs in a few states is rarely
# enough on its own.

# %%
preferred = tuple(applicant.preferred_states) if applicant else ()
narrow = Filters(view.filters.specialty, states=preferred, visa_needed=view.filters.visa_needed,
                 min_friendliness=45, step2_score=view.filters.step2_score)
narrow_view = explorer.static_view(programs, applicant, narrow, as_of=plan_date)
narrow_view.header

# %%
narrow_view.chart

# %% [markdown]
# ## Program signals
#
# Most specialties let you send a few program signals with your applications (interventional
# and diagnostic radiology share 6 gold and 6 silver; internal medicine has 3 gold and 12
# silver). The explorer starts with your own signals, if your profile or your program table
# has them, and rings each signaled program in its tier's colour. Here one gold signal goes
# to the most likely program whose chance is still middling (between 5% and 60%), where a
# signal moves the chance most: the key figures give P(match) in the specialty with and
# without the signals. The effect sizes are upper bounds for IMGs (notebook 03 explains them),
# and a signal never opens a program that screens you out.

# %%
middling = view.frame.filter(pl.col("eligible") & pl.col("p_interview").is_between(0.05, 0.6))
signed = explorer.static_view(
    programs, applicant, view.filters.with_signal(middling["program_id"][0], "gold"), as_of=plan_date
)
signed.header

# %%
signed.chart

# %% [markdown]
# ## Interactive explorer
#
# Pick a specialty, a visa need, states (none selected keeps every state) and a minimum
# score, drag the Step 2 CK slider, or pick a program and give it a signal: the key figures
# (with P(match) in the specialty), the chart and the table redraw
# for every change (the line at the bottom shows how long each redraw took; typically
# a few tens of milliseconds, since the program table is scored once per visa need). The
# panel needs a running kernel: in an exported HTML file it does not appear, which is why
# the static views above come first. Reports never contain widgets.

# %%
# NBVAL_IGNORE_OUTPUT
explorer_widget.program_explorer(programs, applicant, as_of=plan_date)
