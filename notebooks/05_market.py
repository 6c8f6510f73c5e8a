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
# # 05 · The whole Match, simulated, and a check of the heuristic against it
#
# **Purpose.** The heuristic turns an applicant's interview chances into P(match) with a
# saturating curve of the number of interviews. The NRMP decides with applicant-proposing
# deferred acceptance over everyone's rank lists, everyone competing for the same positions.
# This notebook simulates that market (the four applicant types in NRMP's numbers, their
# applications, the programs' interview offers up to their capacity, both sides' rank lists,
# the match), checks it against NRMP 2025, sets the demo applicants' heuristic P(match) next
# to the simulated one, and shows one what-if scenario.
#
# **Inputs** (the next cell): a program table (`programs_file`), the demo applicants'
# folder (`applicants_dir`), the plan date (`as_of`), the number of replications and the
# seed. The parameters of the market are in `params/market.yaml` (each with its
# source, "judgement", or what it was fitted to); the applicants of the IMG types come from
# `params/population.yaml`. The runs here are small so the notebook runs in about half a
# minute: `imgmatch simulate` runs as many as wanted, on this machine or a Dask cluster.
#
# **Outputs.** Tables and charts in this notebook; nothing is written to disk.

# %% tags=["parameters"]
programs_file: str = "../data/demo/programs.csv"  # program table (the demo's is national)
applicants_dir: str = "../data/demo/applicants"  # applicants inserted into every replication
as_of: str = "2026-11-01"  # plan date (ISO)
runs: int = 10  # replications of the national market, the demo applicants in each
scenario_share: float = 0.25  # share of each specialty's programs in the scenario's market
scenario_runs: int = 4  # replications per step of the scenario
seed: int = 2025  # replication i uses the seed sequence (seed, i)

# %%
import datetime as dt

from analysis import viz
from analysis.data.applicants import load_applicants
from analysis.data.programs import load_programs
from analysis.model import market, market_setup, montecarlo
from analysis.model.scenarios import MoreApplicants, Scenario
from analysis.report import present
from analysis.viz import market as market_charts
from analysis.viz import markup

present.setup_notebook()  # charts as offline vega-lite JSON, imgmatch theme
plan_date = dt.date.fromisoformat(as_of)
programs = load_programs(programs_file)
applicants = tuple(load_applicants(applicants_dir))

# %% [markdown]
# ## The method
#
# As `analysis.model.market` documents it (the module's docstring, so the notebook and the
# code cannot disagree). The matching itself is `analysis.model.deferred_acceptance`, checked
# in the tests against the `matching` package's hospital-resident solver on random markets
# (same matching, stable, applicant-optimal).

# %%
present.method(market, end="Known limits")

# %% [markdown]
# ## The national market against NRMP 2025
#
# Markets on the demo table (NRMP 2025's positions per specialty), the demo applicants in
# each. Before them, two pilot replications solve how many applicants of each type enter, so
# that as many get at least one interview (and so can certify a rank list) as NRMP counted;
# the match rate is then NRMP's: matched over those applicants.

# %%
national = montecarlo.simulate(
    market_setup.MarketSetup(programs, plan_date, applicants=applicants), runs=runs, seed=seed
)
types = montecarlo.type_calibration(national.baseline)
markup.table(
    types,
    {"label": "Applicant type", "simulated": "Simulated", "nrmp": "NRMP 2025",
     "difference": "Difference", "certified_per_run": "With an interview",
     "nrmp_active": "NRMP active", "entered_per_run": "Entered"},
    formats={"simulated": "pct1", "nrmp": "pct1", "difference": "pct1",
             "certified_per_run": "int", "nrmp_active": "int", "entered_per_run": "int"},
)

# %% [markdown]
# Per specialty, the share of filled positions taken by non-US IMGs and the fill rate,
# simulated and NRMP's (positions filled by other applicant types, such as US graduates of
# earlier years, are held out of the market and counted as filled, as NRMP counts them). The
# six specialties checked against NRMP in the tests are flagged; rows marked "assumed" use a documented
# assumption where NRMP's figure is not in the reference.

# %%
markup.table(
    montecarlo.specialty_calibration(national.baseline),
    {"specialty": "Specialty", "positions": "Positions", "simulated_share": "Non-US IMG share",
     "nrmp_share": "NRMP", "difference": "Difference", "simulated_fill": "Filled",
     "nrmp_fill": "NRMP filled", "checked": "Checked", "assumed": "Assumed"},
    formats={"simulated_share": "pct1", "nrmp_share": "pct1", "difference": "pct1",
             "simulated_fill": "pct1", "nrmp_fill": "pct1"},
)

# %% [markdown]
# The same figures as a chart: the simulated value (blue) against NRMP's (orange), for the
# match rate of each applicant type and for the non-US IMG share of each specialty's filled
# positions.

# %%
viz.calibration_chart(montecarlo.calibration_long(national.baseline), tolerance=0.1)

# %% [markdown]
# ## The heuristic against the simulation, for the demo applicants
#
# Each demo applicant joined every replication above: they apply to their best-fit programs
# with their profile's number of applications and rank every interview, as the heuristic
# assumes. The heuristic's figure is `match_chances` on the same table, specialties and
# applications (P(match in) a specialty on the same rank list, and anywhere); the simulated
# one is the share of replications in which they matched, with a 95% Wilson interval.

# %%
by_applicant = montecarlo.applicant_frame(national.baseline)
market_charts.simulated_vs_heuristic(by_applicant)

# %% [markdown]
# Per specialty, with the mean number of interviews the applicant got in the market (after
# programs' interview capacity and everyone else's applications).

# %%
markup.table(
    by_applicant,
    {"applicant_id": "Applicant", "specialty": "Specialty", "simulated": "Simulated",
     "low": "From", "high": "To", "heuristic": "Heuristic", "interviews": "Interviews"},
    formats={"simulated": "pct", "low": "pct", "high": "pct", "heuristic": "prob",
             "interviews": "num1"},
)

# %% [markdown]
# **What it says about the heuristic.** The heuristic treats each program's decision as
# independent of everyone else's, with the model's probability, and its match curve is
# calibrated on whole cohorts. In the market, programs invite the applicants they prefer up
# to their interview capacity and then rank them, so competition sorts applicants by their
# standing more sharply than independent draws do: where the simulation and the heuristic
# disagree, it is mostly because the simulation gives more to applicants above their group's
# average (strong scores and research, like Kenji) and less to those below it (fewer months
# of US clinical experience than their group's, extra attempts, older graduation), whose
# interviews the capacity limit takes first. The heuristic is right on average and
# compressed toward the middle. How sharp the sorting is rests on judgement (the noise in
# programs' views, `params/market.yaml`). Ten replications leave wide intervals:
# `imgmatch simulate --programs data/demo/programs.csv --applicant data/demo/applicants
# --runs 60` narrows them.

# %% [markdown]
# ## A scenario: more non-US IMGs choose internal medicine
#
# A market on a random quarter of each specialty's programs (applicants follow the
# positions, so it is the national market in miniature and runs fast), with 0, 500 and 1,000
# more non-US IMGs choosing IM first (about 0, 16% and 32% more of them at this size), on the
# same seeds at every step. The chart shows the match rate of each IMG type.

# %%
quarter = market_setup.scaled_programs(programs, scenario_share, seed=1)
steps = [(n, Scenario(applicants=(MoreApplicants("non_us_img", "IM", n),))) for n in
         (0, 500, 1000)]  # fmt: skip
sweep = montecarlo.scenario_sweep(
    market_setup.MarketSetup(quarter, plan_date), steps, runs=scenario_runs, seed=seed
)
market_charts.scenario_chart(
    sweep, x_title="More non-US IMGs choosing IM first",
    measures=["non-US IMGs: match rate", "US IMGs: match rate"],
)

# %% [markdown]
# ## Limits
#
# Couples, supplemental lists for advanced positions (preliminary and transitional years are
# their own specialties here), SOAP, program signals and geography are left out. The US
# seniors' profile is simpler than the IMGs' and their interview model has no program facts
# behind it. Applicants choose their first specialty in proportion to where their type
# matches, so the model cannot say how many IMGs try a hard specialty and fail. The market's
# behaviour rests on judgement parameters (the programs' noise in choosing and ranking,
# applicants' shared taste): `params/market.yaml` names each, and which choices were made by
# comparison with NRMP 2025.
