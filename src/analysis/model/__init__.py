"""The model: IMG-friendliness, interview and match probability, calibration.

Above `analysis.data`: every function takes a program table loaded by
`analysis.load_programs` (or a prepared `probability.MatchModel`) and never loads one itself.

- `friendliness`: the IMG-friendliness score (0-100) of every program, with its components.
- `probability`: interview and match probability, dual applying, how many programs to apply
  to, the what-if levers, and the batch engine (`chances_batch`).
- `calibration`: the model against the reference figures.
"""
