"""Charts, tables and the program explorer: what an applicant or advisor looks at.

Above `analysis.planners`. The chart builders live in one module per subject and are
re-exported here, so a notebook writes `viz.match_curve(curves)`:

- `theme`: the palette, the tier colours and the `imgmatch` Altair theme (defined once).
- `base`: what every chart builder shares (input checks, inline data, titles).
- `programs`: the US map, the friendliness scatter and distribution, the components.
- `chances`: the match curve, the interview distribution, the what-if levers.
- `plans`: the backup plan and the Gantt chart of rotations and timeline.
- `calibration`: the model against the reference figures and against observed rates.
- `market`: the simulated Match: simulated vs heuristic P(match), a scenario's effect.
- `signals`: P(interview) without and with each program signal, and the ways to signal compared.
- `markup`: escaped HTML blocks, tables and number formats.
- `explorer`: the program explorer's view (chart, table, totals for a set of filters);
  `explorer_widget`: the same view as an interactive ipywidgets panel.

Method. Each builder takes the frame one engine or planner function produces (polars; a
pandas frame or a polars LazyFrame is accepted too), aggregates in polars what needs
aggregating, and returns an Altair chart object. Builders never display or save: the caller
shows the chart in JupyterLab, or a report embeds it in offline HTML, or exports it with
vl-convert. Every chart

- states its takeaway in the title, computed from the data ("IR: 80% chance with 87
  applications") with what is shown in the subtitle;
- carries a tooltip on every mark, axis titles with units, and colours from the
  colour-blind-safe Okabe-Ito palette (the `imgmatch` Altair theme, enabled on import);
- embeds its data inline, never as a URL, so that offline renderers and HTML reports draw
  it: as JSON text (`values` with `format: json`) holding only the columns the chart uses.
  Text is cheap for Altair to validate and copy, and it is not subject to Altair's
  5,000-row limit (a 5,273-program scatter builds in about 0.1 s); charts that summarise
  (map, histogram) aggregate in polars first.

A missing column raises `DataValidationError` naming the frame, the missing columns and the
builder; an empty frame gives a small chart that says there is nothing to show (a batch
report keeps going). Outputs: `alt.Chart`, `alt.LayerChart`, `alt.FacetChart` or
`alt.ConcatChart`.

Limits. Titles summarise the data they are given and cannot follow interactive filters,
except the scatter's, which is precomputed for every choice of its specialty dropdown.
"""

from analysis.viz.calibration import (
    calibration_chart,
    evaluation_scatter,
    rank_correlation_chart,
)
from analysis.viz.chances import interview_distribution, match_curve, what_if_tornado
from analysis.viz.market import scenario_chart, simulated_vs_heuristic
from analysis.viz.plans import backup_plan_chart, plan_gantt
from analysis.viz.programs import (
    component_breakdown,
    friendliness_distribution,
    friendliness_scatter,
    programs_map,
    us_states_topology,
)
from analysis.viz.signals import signal_chart, signal_comparison

__all__ = [
    "backup_plan_chart",
    "calibration_chart",
    "component_breakdown",
    "evaluation_scatter",
    "friendliness_distribution",
    "friendliness_scatter",
    "interview_distribution",
    "match_curve",
    "plan_gantt",
    "programs_map",
    "rank_correlation_chart",
    "scenario_chart",
    "signal_chart",
    "signal_comparison",
    "simulated_vs_heuristic",
    "us_states_topology",
    "what_if_tornado",
]
