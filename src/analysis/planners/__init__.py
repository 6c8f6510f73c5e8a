"""The planners: away rotations, backup specialties, the timeline, the whole plan.

Above `analysis.model`: they ask the model for chances and turn them into decisions.

- `rotations`: which away rotations, where and when, within budget.
- `backup`: which backup specialties, in which order, with their chances and cost.
- `timeline`: the dated steps of the application year.
- `plan`: the three together for one applicant, with the chances before and after.
- `signals`: which programs get an applicant's program signals, with the parts in
  `signal_objective`, `signal_lists`, `signal_assessment`, `signal_optimizer`,
  `signal_choice` (the applicant's own signals checked) and `signal_baselines`.
"""
