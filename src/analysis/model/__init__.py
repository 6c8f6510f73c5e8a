"""The model: IMG-friendliness, interview and match probability, calibration, the market.

Above `analysis.data`: every function takes a program table loaded by
`analysis.load_programs` (or a prepared `probability.MatchModel`) and never loads one itself.

- `friendliness`: the IMG-friendliness score (0-100) of every program, with its components.
- `population`: the applicant population the model is anchored on, and a person's standing.
- `program_side`: each program's openness, P(open) and screens.
- `probability`: interview and match probability, dual applying, how many programs to apply to.
- `signals`: the effect of a program signal on the chance of an interview.
- `engine`: the batch engine (`chances_batch`, `chances_for_arrays`).
- `calibration`: the model against the reference figures (interview rates, match rates,
  difficulty, sensitivity).
- `evaluation`: the model against observed per-program interview rates (`imgmatch evaluate`).
- `deferred_acceptance`: the Match's mechanism (applicant-proposing, with capacities).
- `seniors`: US MD and DO seniors' profile and interview chances, for the market.
- `market_setup`: the simulated market's inputs, NRMP figures and prepared program table.
- `market`: one simulated national market: applicants, interviews, rank lists, the match.
- `scenarios`: what-if changes to the market (more applicants, positions, capacity...).
- `montecarlo`: replications, locally or on Dask, summarized against NRMP.
"""
