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

# %% [markdown] tags=["remove-cell"]
# # Applicant report (papermill template)
#
# **Purpose.** One applicant's planning report: run by `imgmatch report` once per applicant
# (papermill, in a warm kernel) and exported to a self-contained offline HTML file with the
# code hidden. This cell (tagged `remove-cell`) and the parameters cell do not appear in
# the report.
#
# **Inputs** (the parameters cell; the runner injects absolute paths and the plan date):
# `applicant_file` (one profile, YAML or JSON), `programs_file` (the program table),
# `as_of` (the plan date, ISO: staleness of facts and the rotation window depend on it).
#
# **Outputs.** The report: profile, where the applicant is welcome, chances per specialty
# with intervals, how many programs to apply to, the levers still open, the rotation plan
# (visiting electives for students, what graduates can do otherwise), the backup plan, the
# timeline with the status of each step, and what the numbers mean with the data sources and
# their dates. And, in the last code cell (tagged `summary`), one output of mimetype
# `application/vnd.imgmatch.summary+json` that feeds the cohort index: `applicant_id`,
# `name`, `target_specialties`, `p_match` (per target specialty, the profile as it is),
# `p_match_any`, `rotations` (planned count) and `data_sources` (per source of the program
# table: programs, oldest and newest `last_verified`), plus `p_match_any_low`,
# `p_match_any_high`, `p_match_any_with_plan`, `rank_list`, `rotation_cost_usd`, `as_of`.
#
# **Rules.** Every cell output holding user data (names, notes, program names) is built by
# `analysis.report.present` and `analysis.viz.markup`, which escape it; Markdown cells hold
# no data. No widgets (their manager would load from a CDN). Charts are vega-lite JSON, drawn
# offline by the report's HTML.

# %% tags=["parameters"]
applicant_file: str = "../data/demo/applicants/amira_ir.yaml"  # profile to report on (YAML or JSON)
programs_file: str = "../data/demo/programs.csv"  # program table to score against
as_of: str = "2026-11-01"  # plan date (ISO); the runner passes the first day of the month

# %%
import datetime as dt

from analysis import viz
from analysis.data.applicants import load_applicant
from analysis.data.programs import load_programs
from analysis.data.vocabulary import specialty_name
from analysis.model import probability
from analysis.planners.plan import make_plan
from analysis.report import present
from analysis.viz import explorer, markup

present.setup_notebook(validate_charts=False)  # offline vega-lite JSON; schema-checked by the tests
plan_date = dt.date.fromisoformat(as_of)
applicant = load_applicant(applicant_file)
programs = load_programs(programs_file)  # cached per file: cheap in a warm kernel
model = probability.model_for(programs, as_of=plan_date)  # scored once per table and date
plan = make_plan(applicant, model, as_of=plan_date)  # chances, rotations, backups, levers, timeline
now, with_plan = plan.chances_now, plan.chances_with_plan  # every number below comes from `plan`

# %%
markup.format_html(
    "<h1>{name}</h1><p>Residency planning report for the {year} Match, as of {date}. "
    "Target specialties, in order of preference: {targets}.</p>",
    name=applicant.name,
    year=applicant.match_year,
    date=f"{plan_date:%d %B %Y}",
    targets=", ".join(specialty_name(s) for s in applicant.target_specialties),
)

# %% [markdown]
# Your chance of matching in any of your target specialties, today and with the rotations,
# backup specialties and program signals this report recommends, with 80% intervals; what the
# rotations cost; and the application fees of the plan.

# %%
markup.bullet_list([plan.headline(), *([plan.season_note] if plan.season_note else [])])

# %%
markup.key_figures([
    ("P(match) anywhere, today", markup.pct_interval(now.p_match_any, now.p_match_any_low, now.p_match_any_high),
     "your profile as it is, 80% interval"),
    ("With this report's plan", markup.pct_interval(with_plan.p_match_any, with_plan.p_match_any_low,
                                                     with_plan.p_match_any_high),
     "rotations, backups, recommended programs, signals"),
    ("Away rotations planned", str(plan.rotations.rotations.height), markup.usd(plan.rotations.total_cost_usd)),
    ("Application fees with the plan", markup.usd(with_plan.total_cost_usd),
     f"ERAS, transcript, NRMP ({markup.usd(now.total_cost_usd)} for your profile's list)"),
])

# %% [markdown]
# ## Your profile
#
# The facts the model reads, as they are in your profile. If something is wrong or out of
# date, correct the profile and run the report again: every number below depends on them.

# %%
present.profile_table(applicant)

# %% [markdown]
# ## Where you are welcome
#
# How open your target specialties' programs are to applicants like you: the share of
# programs known to sponsor your visa, if you need one (and the share where nobody knows:
# unknown is not a no), and the IMG-friendliness score (0-100: visa fit, share of IMG residents,
# observed interview rates of non-US IMGs, screening rules, visiting-student access, program
# type). "Friendly or better" means a score of 45 or more.

# %%
scored = model.features(applicant.visa_needed).table  # the program table scored for your visa
present.welcome_table(scored, applicant)

# %% [markdown]
# Your first choice, program by program: across, the program's IMG-friendliness for your
# visa; up, the model's chance that one application there brings you an interview. Grey
# crosses are programs a published rule screens you out of (hover for the reason: visa,
# Step 2 CK minimum, graduation year, US clinical experience, attempts).

# %%
first = explorer.static_view(model, applicant)
first.chart

# %% [markdown]
# The programs most likely to interview you in your first choice, with the 80% interval.
# "Facts verified" flags programs whose facts are over a year old: confirm their visa and
# IMG policies with the coordinator before you count on them.

# %%
first.table

# %% [markdown]
# ## Your chances
#
# One row per target specialty, in your order. *P(match)* is the chance of matching in that
# specialty if it were the only one you applied to, with the 80% interval (the model's
# uncertainty about how programs will read your application). *P(match here)* is the chance
# of matching there on one rank list in your order, best first; *P(match) anywhere* above is
# their total. Expected interviews count invitations over the programs you apply to (the
# number in your profile, or the specialty's usual number).

# %%
present.chances_table(now)

# %% [markdown]
# How many interviews you can expect in each specialty. The vermillion bar is the chance of
# no interview at all; with two or three interviews the chance of matching is already
# substantial (NRMP data), which is why the first interviews matter most.

# %%
viz.interview_distribution(now.interviews)

# %% [markdown]
# ## How many programs to apply to
#
# Your chance of matching against the number of programs you apply to, best-fit programs
# first (shaded: 80% interval; dashed grey: ERAS fees on the right axis). The filled point is
# the fewest programs that reach 80%, if any; the open point is where ten more applications
# add less than one percentage point: past it, more applications cost more than they give.

# %%
viz.match_curve(now.curves)

# %% [markdown]
# ## What would move the needle
#
# The change in your chance of matching anywhere from single actions, each on its own,
# everything else as it is, measured from your chances today. Only levers you can still pull
# at the plan date are drawn: an exam already taken, a letter or a rotation with no month left
# before letters are due, or applications after they have closed are listed in the table with
# the reason they are left out.

# %%
viz.what_if_tornado(plan.levers)  # draws the levers still open; names the others and why

# %%
present.what_if_table(plan.levers)

# %% [markdown]
# ## Away rotations, and what graduates can do
#
# The rotations that raise your chances most within your budget and the time left: four
# weeks each, letters in before programs start reviewing, none in interview season.
# Visiting-student electives need current enrollment in a medical school, so they are planned
# only in months that end by your graduation; after it, the plan uses hands-on externships at
# programs that offer them to graduates, observerships (no patient care: not hands-on
# experience) and research positions. *Anchor*: a strong program in your first choice;
# *opportunity*: a program that matches IMGs like you; *safety*: a very IMG-friendly program
# (for interventional radiology, a diagnostic radiology program with ESIR). A rotation at a
# program helps there and brings a US letter.

# %%
markup.key_figures([
    ("P(match) anywhere without rotations", markup.prob(plan.rotations.p_match_any_before)),
    ("With these rotations", markup.prob(plan.rotations.p_match_any_after)),
    ("Cost", markup.usd(plan.rotations.total_cost_usd),
     f"budget {markup.usd(plan.rotations.budget_usd)}" if plan.rotations.budget_usd is not None else "no budget given"),
])

# %%
present.rotations_table(plan.rotations)

# %%
markup.bullet_list(plan.rotations.notes, title="Notes on the rotation plan")

# %% [markdown]
# ## Backup plan
#
# Your specialties first, then backups adjacent to your first choice, added to one rank list
# until your chance of matching anywhere reaches 85%, with at most three specialties in all:
# each needs its own personal statement, letters and interview preparation. Your first
# choice's programs stay at the top of the list, so its chance is unchanged; each backup adds
# its chance of catching you if the ones above do not, and the table sets what it adds against
# its fees. These figures include the rotations above; the program signals below add to the
# last one, which makes the plan's total at the top of the report.

# %%
viz.backup_plan_chart(plan.backup.table)

# %%
present.backup_table(plan.backup)

# %%
markup.bullet_list(plan.backup.notes, title="Notes on the backup plan")

# %% [markdown]
# ## Program signals
#
# Most specialties let you send a few program signals with your applications: gold and
# silver in internal medicine (3 and 12), anesthesiology (5 and 10) and radiology (6 and 6,
# one pool shared by diagnostic and interventional radiology), a single kind elsewhere
# (psychiatry 10, family medicine 5). Programs use them to choose whom to interview. A signal
# raises the odds of an interview where the program can consider you: it moves a middling
# chance most, a high one little, and never opens a program that screens you out, so a signal
# to a program that would interview you anyway, or never, is wasted. These are the signals
# that raise your chance of matching anywhere most on the plan's rank list, each with the
# reason it goes there; the chart shows each program's chance without (hollow) and with the
# signal (filled). The effect sizes come from published comparisons of signaled and
# non-signaled programs, none of them for IMGs: treat them as upper bounds.

# %%
signals = plan.signals  # on the plan's rank list, programs and rotations
markup.key_figures([
    ("P(match) anywhere, the plan without signals", markup.prob(signals.p_match_any_without)),
    ("With these signals", markup.prob(signals.p_match_any_with),
     f"effect range {markup.prob(signals.optimized.p_match_any_with_low)}-"
     f"{markup.prob(signals.optimized.p_match_any_with_high)}"),
    ("Signals placed", str(signals.optimized.signals.height), f"rules of {signals.season}"),
])

# %%
viz.signal_chart(signals.signals_frame(), p_match_any_without=signals.p_match_any_without,
                 p_match_any_with=signals.p_match_any_with)

# %%
markup.table(
    signals.signals_frame(),
    {"program_name": "Program", "state": "State", "specialty": "Specialty", "tier": "Signal",
     "p_interview_without": "P(interview) without", "p_interview_with": "With",
     "reason": "Why here"},
    formats={"p_interview_without": "prob", "p_interview_with": "prob"},
)

# %% [markdown]
# The same rank list and programs with the signals placed other ways: your own (if your
# profile or program table gives them), the most IMG-friendly programs first, and at random
# among the programs that can consider you (the mean of 100 draws).

# %%
markup.table(signals.comparison(), {"label": "Signals", "p_match_any": "P(match) anywhere"},
             formats={"p_match_any": "prob"})

# %%
markup.bullet_list(
    [*signals.optimized.notes, *signals.notes,
     *([] if signals.own is None else signals.own.flags["message"].to_list())],
    title="Notes on the signals",
)

# %% [markdown]
# ## Timeline
#
# Your calendar to Match Day: preparation, exams, the rotations above, applications,
# interviews and the Match, each with its status at the plan date (done, overdue, due now or
# upcoming). Season dates come from the AAMC ERAS timeline and the NRMP calendar; those of
# seasons not yet published follow recent years' pattern and are marked approximate.

# %%
viz.plan_gantt(plan.rotations.rotations, plan.timeline)

# %%
present.timeline_table(plan.timeline)

# %% [markdown]
# ## What these numbers mean, and what they don't
#
# - **They are estimates from public figures, not predictions of any program's decision.**
#   The model is calibrated so that typical applicants reproduce the published interview
#   rates by specialty and NRMP's match rate for non-US IMGs (58% in 2025, counted over
#   applicants who certified a rank list, so P(match) here assumes you rank every interview).
# - **The intervals are honest, not tight.** An 80% interval of 30-60% means the data
#   cannot tell you more precisely; a single Match is a yes or a no.
# - **Facts about programs go stale.** Visa sponsorship, IMG policies and screening rules
#   change; facts verified more than a year ago are marked. Unknown facts are estimated from
#   the specialty's typical program and never counted as a "no".
# - **What the model does not see:** the strength of your letters and personal statement,
#   interview performance, which programs opted out of signals, geographic preferences,
#   couples matching.
# - **Rules of thumb come from advising guides** (how many rotations, when, how many
#   programs); the plan follows them where the model cannot do better, and says so.
#
# Where the program facts come from, and how old they are (as of the plan date):

# %%
data_sources = present.data_sources(programs, plan_date)
markup.table(
    data_sources,
    {"source": "Source", "programs": "Programs", "oldest_verified": "Oldest fact",
     "newest_verified": "Newest fact", "stale_share": "Over a year old"},
    formats={"stale_share": "pct"},
)

# %% [markdown]
# The public figures behind the model, with their grade (A: official source seen directly;
# B: a secondary page quoting official data; C: third-party, rounded or derived; guide: a rule
# of thumb from an advising guide, named by its title; project: a mapping written for this
# project):

# %%
markup.table(
    present.reference_sources(),
    {"table": "Reference table", "source": "Source", "covers": "Covers", "source_grade": "Grade",
     "rows": "Rows"},
)

# %% tags=["summary"]
summary = present.report_summary(applicant, plan, data_sources, as_of)  # feeds the cohort index
present.summary_output(summary)
