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
# # 03 · The match model and its calibration
#
# **Purpose.** State the probability model (interview chances per program, the number of
# interviews, the chance of matching, dual applying, how many programs to apply to), show it
# at work for one applicant, and check it against the public figures it is calibrated to:
# per-program interview rates by specialty, the overall match rate of non-US IMGs, and the
# order of specialties by difficulty. Then its known limits.
#
# **Inputs** (the next cell): a program table (`programs_file`), an applicant profile for the
# worked example (`applicant_file`) and the plan date (`as_of`). The calibration uses the
# reference tables in `data/reference/` (each row with its source and grade) and synthetic
# cohorts drawn with fixed seeds (`params/probability.yaml`), so every number here is
# reproducible.
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
from analysis.model import calibration, probability
from analysis.report import present
from analysis.viz import markup

present.setup_notebook()  # charts as offline vega-lite JSON, imgmatch theme
plan_date = dt.date.fromisoformat(as_of)
programs = load_programs(programs_file)
applicant = load_applicant(applicant_file)
model = probability.model_for(programs, as_of=plan_date)  # scored once, reused below

# %% [markdown]
# ## The model
#
# As `analysis.model.probability` documents it (the module's docstring, so the notebook and the
# code cannot disagree). The short version: each program's chance of inviting the applicant
# is a logistic function of the applicant's standing against the specialty's typical
# applicant and the program's openness, after hard screens; the number of interviews is the
# exact sum of those chances (a Poisson-binomial distribution); the chance of matching with
# k interviews is a saturating curve anchored on NRMP's figures.

# %%
present.method(probability, end="Known limits")

# %% [markdown]
# ## A worked example
#
# The applicant of the parameters cell, with the number of programs their profile plans
# (or the specialty's default). One row per target specialty, in rank-list order: how many
# programs they apply to out of those that do not screen them out, the interviews they can
# expect, P(match) with its 80% interval (the model's uncertainty about the applicant's
# standing), and P(match here) when all specialties share one rank list, best first.

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
# than one percentage point. Curves flatten because each extra program is a weaker fit.

# %%
viz.match_curve(chances.curves)

# %% [markdown]
# ## Calibration 1: interview rates per specialty
#
# For the *typical* non-US IMG applicant of each specialty (its typical Step 2 CK, 3 months
# of US clinical experience, one US letter, one publication), the model's chance of an
# interview at every program of the specialty, summarized over programs, next to the
# reference distribution of observed per-program interview rates of non-US IMGs (one ERAS
# cycle, 2024; grade C). Three figures per specialty: the mean, the median, and the share of
# programs at zero. The model's mean is expected to sit *below* the reference mean: observed
# rates average over each program's applicants, and a strong minority collects most
# interviews, so the typical applicant does worse than the average rate (the spread
# correction in the method above). The model's share at zero counts programs known to be
# closed (visa, screens); the share under 0.5% is the comparable figure, since a program
# whose facts are unknown keeps a small chance. Specialties marked "no" borrow another
# specialty's reference rates (the preliminary and transitional years).

# %%
rates = calibration.interview_rate_calibration(model)
markup.table(
    rates,
    {"specialty": "Specialty", "programs": "Programs", "model_mean": "Model mean",
     "ref_mean": "Reference mean", "model_median": "Model median", "ref_median": "Reference median",
     "model_share_zero": "Model at 0", "model_share_below_0_5pct": "Model under 0.5%",
     "ref_share_zero": "Reference at 0", "calibrated": "Own reference"},
    formats={"model_mean": "pct1", "ref_mean": "pct1", "model_median": "pct1", "ref_median": "pct1",
             "model_share_zero": "pct", "model_share_below_0_5pct": "pct", "ref_share_zero": "pct"},
)

# %% [markdown]
# The same comparison as a chart, one panel per figure: each specialty's model value (blue
# circle) joined to its reference value (orange diamond). Short lines mean agreement.

# %%
viz.calibration_chart(calibration.calibration_long(model))

# %% [markdown]
# ## Calibration 2: the overall match rate, with its denominator
#
# NRMP reports that 58.0% of non-US-citizen IMGs matched in 2025 (6,653 of 11,465). Its
# denominator is **active applicants: those who certified a rank list**. An applicant with
# no interview has nothing to rank and is not counted. So the model's comparable figure is
# not the mean P(match) of everyone who applies, but
#
#     sum over applicants of P(match)  /  sum over applicants of P(at least one interview)
#
# (P(at least one interview) standing in for "certifies a rank list"). The cohort: synthetic
# non-US IMGs centered on the typical applicant, specialty mix as NRMP's 2025 non-US IMG
# matches, 50-150 applications each, 40% also applying to a second specialty (fixed seed).

# %%
by_specialty, overall = calibration.match_rate_calibration(model)
markup.key_figures([
    ("NRMP 2025, non-US IMGs", markup.pct(overall["nrmp_2025"], 1), "matched / certified a rank list"),
    ("Model, same denominator", markup.pct(overall["match_rate_certified"], 1),
     "sum P(match) / sum P(1+ interview)"),
    ("Model, all who apply", markup.pct(overall["p_match_all_applicants"], 1),
     "mean P(match): not comparable"),
    ("Cohort", f"{overall['applicants']:,.0f}", "synthetic applicants"),
])

# %% [markdown]
# By first-choice specialty (the cohort's mix: most apply to internal medicine, a few to
# interventional radiology, so the small groups' figures are noisier):

# %%
markup.table(
    by_specialty,
    {"specialty": "First choice", "applicants": "Applicants",
     "p_match_all_applicants": "Mean P(match), all who apply",
     "match_rate_certified": "Match rate, NRMP's denominator"},
    formats={"p_match_all_applicants": "pct", "match_rate_certified": "pct"},
)

# %% [markdown]
# The NRMP figures the model is anchored on, as the reference table holds them (with their
# source and grade). The 2024 note is a reminder of how much the denominator matters: over
# *registered* rather than active applicants, the same year's rate is about 49%.

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
# For each specialty, 300 synthetic non-US IMGs who apply to it alone (drawn around that
# specialty's typical applicant, 50-150 applications), ranked by their match rate (NRMP's
# denominator), hardest first. The reference column is the group the public figures put the
# specialty in: interventional radiology hardest (most applicants per position);
# diagnostic radiology, anesthesiology, surgery and PM&R hard; internal medicine, family
# medicine, pediatrics and neurology most open (largest non-US IMG shares of first-year
# seats). Specialties without their own reference interview rates (transitional and
# preliminary years) borrow another's and are not ranked against the reference.

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
# ## Known limits
#
# As the module states them, with what they mean for the numbers above:

# %%
present.method(probability, start="Known limits")

# %% [markdown]
# - **A heuristic, calibrated, not fitted.** The effect sizes (points of Step 2 CK, months
#   of USCE, letters) are the advising guides' rules of thumb; the calibration checks that
#   the model reproduces the public *aggregates*. No per-applicant outcome data were used:
#   nobody can yet say how well it ranks individual applicants.
# - **The interval is model uncertainty about the applicant's standing** (80%), not the
#   randomness of one Match: an applicant at 60% matches or does not.
# - **The reference rates are one cycle** (2024 ERAS, third-party, grade C) and NRMP's
#   figures are national aggregates (grade B, transcribed from NRMP's reports); both move
#   from year to year.
# - **On the demo table the checks show internal consistency**, not accuracy: its programs
#   are synthetic and generated to agree with the same reference figures
#   (`data/demo/README.md`).
# - **Not modelled:** signals and geographic preferences, the quality of letters and
#   personal statements, interview performance, couples matching, programs' rank lists.
