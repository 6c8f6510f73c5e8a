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
# # 03 · The match model, the applicant population it is anchored on, and its calibration
#
# **Purpose.** State the probability model (interview chances per program, the number of
# interviews, the chance of matching, dual applying), show the **population of applicants**
# it is anchored on, show it at work for one applicant, and check it against the public
# figures: per-program interview rates of non-US and US IMGs by specialty, the match rates of
# both groups in 2025 and 2026 with NRMP's denominator, and the order of specialties by
# difficulty. Then how much the answers move across the assumptions' ranges, and the limits.
#
# **Inputs** (the next cell): a program table (`programs_file`), an applicant profile for the
# worked example (`applicant_file`) and the plan date (`as_of`). The calibration uses the
# reference tables in `data/reference/` (each row with its source and grade), the documented
# population and effects in `params/population.yaml` and `params/probability.yaml`, and
# synthetic cohorts drawn with fixed seeds, so every number here is reproducible.
#
# **Outputs.** Tables and charts in this notebook; nothing is written to disk.

# %% tags=["parameters"]
programs_file: str = "../data/demo/programs.csv"  # program table (canonical, tracker or FREIDA layout)
applicant_file: str = "../data/demo/applicants/amira_ir.yaml"  # profile for the worked example
as_of: str = "2026-11-01"  # plan date (ISO): facts verified over a year before it are stale

# %%
import datetime as dt

from analysis import viz
from analysis.config import reference_table
from analysis.data.applicants import load_applicant
from analysis.data.programs import load_programs
from analysis.model import calibration, population, probability
from analysis.report import present
from analysis.viz import markup

present.setup_notebook()  # charts as offline vega-lite JSON, imgmatch theme
plan_date = dt.date.fromisoformat(as_of)
programs = load_programs(programs_file)
applicant = load_applicant(applicant_file)
model = probability.model_for(programs, as_of=plan_date)  # programs placed once, reused below

# %% [markdown]
# ## The model
#
# As `analysis.model.probability` documents it (the module's docstring, so the notebook and
# the code cannot disagree). The short version: each program's chance of inviting the
# applicant is a logistic function of the applicant's standing in the **population of
# applicants like them** and of the program's openness, after hard screens; the number of
# interviews is the exact sum of those chances (a Poisson-binomial distribution); the chance
# of matching with k interviews is a saturating curve.

# %%
present.method(probability, end="Known limits")

# %% [markdown]
# ## The population the model is anchored on
#
# A program's published interview rate for non-US IMGs is the expected rate of a non-US IMG
# drawn at random from its applicants. So the model does not start from one "typical" person:
# it describes the **population** of applicants of each group (non-US citizens and US
# citizens who studied abroad) and solves each specialty's intercept so that this population,
# averaged over the reference distribution of programs, reproduces the published mean
# interview rate. A person's standing then moves them up or down from the population's mean.
# The method, as `analysis.model.population` states it:

# %%
present.method(population, end="Known limits")

# %% [markdown]
# The non-US IMG population, field by field (`params/population.yaml`, each distribution with
# its source or "judgement" there): the share of applicants at each value.

# %%
markup.table(
    calibration.population_summary("non_us_img"),
    {"field": "Field", "value": "Value", "share": "Share of applicants"},
    formats={"value": "num1", "share": "pct"},
)

# %% [markdown]
# **Step 2 CK levels.** The mean Step 2 CK of each group's applicants to a specialty is the
# 2024 mean of US MD senior applicants to it (matched and unmatched, weighted by their
# counts; NRMP Charting Outcomes) minus the group's offset, an assumption: 10 points for
# non-US IMGs (range 5-15) and 15 for US IMGs (range 9-21). Pathology and emergency medicine,
# which the 2024 figures lack, are placed relative to internal medicine by their 2013 means.
# The range column is the level at the two ends of the offset's range.

# %%
markup.table(
    calibration.step2_levels(),
    {"specialty": "Specialty", "non_us_img_level": "Non-US IMG level",
     "non_us_img_range": "Non-US range", "us_img_level": "US IMG level",
     "us_img_range": "US range"},
    formats={"non_us_img_level": "num1", "us_img_level": "num1"},
)

# %% [markdown]
# **Effects.** Every effect on an applicant's log-odds of an interview, with its central
# value and the plausible range the 80% interval is built from (`params/probability.yaml`,
# each with its source there: the advising guides' rules of thumb or judgement).

# %%
markup.table(
    calibration.effects_table(),
    {"effect": "Effect", "central": "Central", "low": "Low", "high": "High"},
    formats={"central": "num2", "low": "num2", "high": "num2"},
)

# %% [markdown]
# **The reference applicant** (`params/reference_profile.yaml`) is the population's average
# non-US IMG as one person: one month of hands-on USCE and one of observership, one US
# letter, two publications, four years since graduation, first attempts, a J-1, and the
# specialty's Step 2 CK level. Its standing is close to 0 in every specialty; the last column
# is the sd of its standing from the effects' ranges (what drives its interval).

# %%
markup.table(
    calibration.reference_standing(),
    {"specialty": "Specialty", "step2_level": "Step 2 CK", "standing": "Standing (log-odds)",
     "standing_sd": "Standing sd"},
    formats={"standing": "num2", "standing_sd": "num2", "step2_level": "int"},
)

# %% [markdown]
# Per specialty and group, the anchor: the intercept solved from the reference, the spread
# of programs on a person's scale (wider than the published spread of rates, which averages
# over applicants) and the spread of the population's standing.

# %%
markup.table(
    calibration.anchors_table(["IM", "FM", "PEDS", "PSYCH", "NEURO", "ANES", "GS", "DR", "IR"]),
    {"specialty": "Specialty", "group": "Group", "intercept": "Intercept", "tau": "Program spread",
     "population_sd": "Population sd", "visa_share": "Share needing a visa"},
    formats={"intercept": "num2", "tau": "num2", "population_sd": "num2", "visa_share": "pct"},
)

# %% [markdown]
# ## A worked example
#
# The applicant of the parameters cell, with the number of programs their profile plans
# (or the specialty's default). One row per target specialty, in rank-list order: how many
# programs they apply to out of those that do not screen them out, the interviews they can
# expect, P(match) with its 80% interval (from the effects' ranges, wider the further the
# applicant sits from the population's mean), and P(match here) when all specialties share
# one rank list, best first.

# %%
chances = probability.match_chances(applicant, model)
markup.key_figures([
    ("Applicant", applicant.name),
    ("P(match anywhere)", markup.pct_interval(chances.p_match_any, chances.p_match_any_low,
                                              chances.p_match_any_high), "80% interval"),
    ("Fees for this plan", markup.usd(chances.total_cost_usd), "ERAS, transcript, NRMP"),
])

# %%
present.chances_table(chances)

# %% [markdown]
# The distribution of the number of interviews in each specialty, from the per-program
# chances. The vermillion bar at zero is the chance of no interview at all (so no match
# there); the last bar gathers the thin tail.

# %%
viz.interview_distribution(chances.interviews)

# %% [markdown]
# P(match) against the number of programs applied to, best-fit programs first, with its
# interval band and the ERAS fees on the right axis. The filled point is the fewest programs
# that reach the 80% target (if any), the open point where ten more applications add less
# than one percentage point.

# %%
viz.match_curve(chances.curves)

# %% [markdown]
# ## Calibration 1: interview rates per specialty, both groups
#
# The population of each group against every program of the specialty in the table: the
# mean over applicants and programs of P(interview), next to the reference mean of observed
# per-program rates (one ERAS cycle, 2024; grade C). The ratio should sit within 0.8-1.25 in
# every specialty. A table with observed rates (as the demo has for most programs) places each
# such program on its own rate, so the ratio mostly checks that placement; the **facts only**
# ratio hides the observed rates and tests the population anchor with the program facts
# alone, as on a FREIDA export. "Closed" is the model's share of programs that interview the
# group at all (1 - mean P(open)) against the reference share of programs at zero; an observed
# zero keeps a small chance of being open. Specialties marked "no" borrow another's
# reference rates (the preliminary and transitional years).

# %%
rates = calibration.interview_rate_calibration(model)
markup.table(
    rates,
    {"specialty": "Specialty", "programs": "Programs", "model_mean": "Model mean",
     "ref_mean": "Reference mean", "ratio": "Ratio", "facts_only_ratio": "Facts only",
     "model_share_closed": "Model closed", "ref_share_zero": "Reference at 0",
     "calibrated": "Own reference"},
    formats={"model_mean": "pct1", "ref_mean": "pct1", "ratio": "num2", "facts_only_ratio": "num2",
             "model_share_closed": "pct", "ref_share_zero": "pct"},
)

# %% [markdown]
# US IMGs (US citizens who studied abroad), against their own reference rates:

# %%
markup.table(
    calibration.interview_rate_calibration(model, group="us_img"),
    {"specialty": "Specialty", "model_mean": "Model mean", "ref_mean": "Reference mean",
     "ratio": "Ratio", "facts_only_ratio": "Facts only", "model_share_closed": "Model closed",
     "ref_share_zero": "Reference at 0"},
    formats={"model_mean": "pct1", "ref_mean": "pct1", "ratio": "num2", "facts_only_ratio": "num2",
             "model_share_closed": "pct", "ref_share_zero": "pct"},
)

# %% [markdown]
# The non-US IMG comparison as a chart, one panel per figure: each specialty's model value
# (blue circle) joined to its reference value (orange diamond). Short lines mean agreement.

# %%
viz.calibration_chart(calibration.calibration_long(model))

# %% [markdown]
# ## Calibration 2: the match rates, with NRMP's denominator
#
# NRMP reports the share of **active applicants (those who certified a rank list)** who
# matched: non-US IMGs 58.0% in 2025 and 56.4% in 2026, US IMGs 67.8% and 70.0%. An applicant
# with no interview has nothing to rank and is not counted, so the model's comparable figure
# is sum P(match) / sum P(at least one interview). The cohorts: 3,000 synthetic applicants of
# each group drawn from the population, first choices as the group's 2025 matches per
# specialty, 40% also applying to a second specialty, applications from the population, and
# programs chosen as real applicants choose them (their best-fit programs with noise: nobody
# sees their chances program by program). The match curve's one scale was fitted so that the
# non-US IMG cohort reproduces the mean of 2025 and 2026; the US IMG figure is a check.

# %%
by_first, non_us = calibration.match_rate_calibration(model)
_, us = calibration.match_rate_calibration(model, group="us_img")
markup.key_figures([
    ("Non-US IMGs, model", markup.pct(non_us["match_rate_certified"], 1),
     f"NRMP {markup.pct(non_us['nrmp_2025'], 1)} (2025), {markup.pct(non_us['nrmp_2026'], 1)} (2026)"),
    ("US IMGs, model", markup.pct(us["match_rate_certified"], 1),
     f"NRMP {markup.pct(us['nrmp_2025'], 1)} (2025), {markup.pct(us['nrmp_2026'], 1)} (2026)"),
    ("Non-US IMGs, all who apply", markup.pct(non_us["p_match_all_applicants"], 1),
     "mean P(match): not comparable with NRMP"),
    ("Expected interviews", markup.num(non_us["expected_interviews"], 1),
     "per non-US IMG, all specialties"),
])

# %% [markdown]
# Non-US IMGs by first-choice specialty (most apply to internal medicine; small groups'
# figures are noisier):

# %%
markup.table(
    by_first,
    {"specialty": "First choice", "applicants": "Applicants",
     "p_match_all_applicants": "Mean P(match), all who apply",
     "match_rate_certified": "Match rate, NRMP's denominator"},
    formats={"p_match_all_applicants": "pct", "match_rate_certified": "pct"},
)

# %% [markdown]
# The NRMP figures, as the reference table holds them (with their source and grade). The
# 2024 note is a reminder of how much the denominator matters: over *registered* rather than
# active applicants, the same year's rate is about 49%.

# %%
markup.table(
    reference_table("nrmp_match_rates"),
    {"year": "Year", "applicant_type": "Applicants", "match_rate_pct": "Match rate (%)",
     "matched": "Matched", "active_applicants": "Active", "notes": "Note", "source_grade": "Grade",
     "source": "Source"},
    formats={"year": "text", "match_rate_pct": "num1"},
)

# %% [markdown]
# ## Calibration 3: which specialties are hardest
#
# For each specialty, 300 synthetic non-US IMGs from the population who apply to it alone,
# ranked by their match rate (NRMP's denominator), hardest first. The reference column is the
# group the public figures put the specialty in: interventional radiology hardest (most
# applicants per position); diagnostic radiology, anesthesiology, surgery and PM&R hard;
# internal medicine, family medicine, pediatrics and neurology most open (largest non-US IMG
# shares of first-year seats).

# %%
order = calibration.difficulty_order(model)
markup.table(
    order,
    {"rank": "Rank", "name": "Specialty", "match_rate_certified": "Match rate",
     "p_match": "Mean P(match), all who apply", "expected_interviews": "Expected interviews",
     "reference_group": "Reference group", "calibrated": "Own reference"},
    formats={"match_rate_certified": "pct", "p_match": "pct", "expected_interviews": "num1",
             "rank": "int"},
)

# %%
consistent = calibration.difficulty_consistent(order)
markup.format_html(
    "<p><strong>Order consistent with the reference groups: {answer}.</strong> (Among the "
    "specialties with their own reference rates: interventional radiology below every 'hard' "
    "specialty, and every 'hard' one below every 'most open' one.)</p>",
    answer="yes" if consistent else "no",
)

# %% [markdown]
# ## How much the answers move across the assumptions
#
# The worked example's P(match anywhere) with each uncertain parameter at the low and the
# high end of its range, one at a time (the model is rebuilt each time, so the anchors move
# with it). The Step 2 CK offset is the assumption the issue of "current score levels" turns
# on: a larger offset means a weaker population, so the same score stands higher in it.

# %%
markup.table(
    calibration.sensitivity(applicant, model),
    {"parameter": "Parameter", "low_value": "Low end", "high_value": "High end",
     "p_match_low_end": "P(match) at low end", "p_match_central": "Central",
     "p_match_high_end": "P(match) at high end"},
    formats={"low_value": "num2", "high_value": "num2", "p_match_low_end": "pct",
             "p_match_central": "pct", "p_match_high_end": "pct"},
)

# %% [markdown]
# ## Known limits
#
# As the module states them, with what they mean for the numbers above:

# %%
present.method(probability, start="Known limits")

# %% [markdown]
# - **A heuristic, anchored, not fitted to outcomes.** The population's distributions and the
#   effect sizes are documented judgement and the advising guides' rules of thumb; the
#   calibration checks that the population reproduces the public *aggregates*.
#   `imgmatch evaluate` (notebook 04) checks the model against observed per-program
#   interview rates on your own data.
# - **The interval is uncertainty about the model** (80%: the effects' ranges, the Step 2 CK
#   level, the anchor), not the randomness of one Match: an applicant at 60% matches or does
#   not.
# - **The reference rates are one cycle** (2024 ERAS, third-party, grade C) and NRMP's
#   figures are national aggregates (2026 from secondary pages, grade C); both move from year
#   to year.
# - **On the demo table the checks show internal consistency**, not accuracy: its programs
#   are synthetic and generated to agree with the same reference figures
#   (`data/demo/README.md`).
# - **Not modelled here:** geographic preferences, the quality of letters and personal
#   statements, interview performance, couples matching, programs' rank lists (the market
#   simulation of notebook 05 models the last).

# %% [markdown]
# ## Program signals
#
# Since 2022 most specialties let applicants send a few program signals with their
# applications, and programs use them to choose whom to interview. The model adds a signal's
# effect to the log-odds of an interview at a program that can consider the applicant, below
# the chance that the program considers them at all, which a signal never raises: a program
# that screens the applicant out stays at zero. As `analysis.model.signals` states it:

# %%
from analysis.model import signals as signal_model

present.method(signal_model, end="Known limits")

# %% [markdown]
# The effect sizes, in log-odds, with their ranges (`params/signals.yaml`, each with its
# sources), and what a signal of each tier does to a program's chance of interviewing an
# applicant it considers for sure. The published figures behind them compare interview rates
# at signaled and non-signaled programs: otolaryngology 2021, 58% against 14% (Pletcher et
# al., Academic Medicine 2022); a 60.9% interview yield per signal across six specialties, 57%
# without and 69% with a geographic connection (Benjamin et al., Academic Medicine 2024); a
# real effect across applicant types once their characteristics are accounted for
# (Rosenblatt et al., JGME 2023). Applicants signal programs that already fit them, so about
# half of each raw difference is taken as selection, not effect. **They are upper bounds for
# IMGs**: no figure is specific to IMGs, and a program that rarely interviews non-US IMGs may
# weigh their signal less than the US applicants behind these figures were weighed.

# %%
markup.table(
    signal_model.effect_table(),
    {"tier": "Signal", "central": "Log-odds", "low": "Low", "high": "High",
     "from_05": "5% becomes", "from_18": "18% becomes", "from_50": "50% becomes",
     "from_90": "90% becomes"},
    formats={"central": "num1", "low": "num1", "high": "num1", "from_05": "pct",
             "from_18": "pct", "from_50": "pct", "from_90": "pct"},
)

# %% [markdown]
# How many signals each specialty allows in each season (`data/reference/eras_signals.csv`):
# gold and silver, or one kind; diagnostic and interventional radiology draw from one pool;
# emergency medicine and OB/GYN moved to ResidencyCAS for 2025-2026 with counts not
# confirmed, so no signal is planned there. A season with no row uses the latest known one,
# and the plan says so.

# %%
markup.table(
    reference_table("eras_signals"),
    {"specialty": "Specialty", "season": "Season", "gold_signals": "Gold",
     "silver_signals": "Silver", "signals_total": "Total", "application_service": "Service",
     "source_grade": "Grade", "notes": "Notes"},
    max_rows=30,
)

# %% [markdown]
# Where the signals go matters as much as how many there are. The planner gives each signal to
# the program where it raises P(match anywhere) most (the exact marginal gain, then single
# moves and tier swaps; within 0.2 points of an exhaustive search on small cases). On the six
# demo applicants it beats both signals sent at random among the programs that can consider
# them (mean of 200 draws) and signals sent to the most IMG-friendly programs first, and never
# signals a program that screens the applicant out:

# %%
from analysis.config import demo_applicants_dir
from analysis.data.applicants import load_applicants
from analysis.planners.signals import compare_signals

markup.table(
    compare_signals(load_applicants(demo_applicants_dir()), model),
    {"applicant_id": "Applicant", "season": "Rules of", "signals": "Signals",
     "without": "No signals", "optimized": "Planner", "most_friendly_first": "IMG-friendly first",
     "random": "Random", "to_screened_out": "To screened-out programs"},
    formats={"without": "pct1", "optimized": "pct1", "most_friendly_first": "pct1",
             "random": "pct1"},
)
