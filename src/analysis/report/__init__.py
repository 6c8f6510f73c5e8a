"""Reports: the blocks a report shows, the batch runner, HTML export, warm kernels.

Above `analysis.viz`: the report template (a notebook) shows charts and tables; this package
runs it once per applicant and exports self-contained offline HTML.

- `present`: the report's blocks (profile, chances, plans, sources) and notebook set-up.
- `runner`: `run_reports`, the batch runner behind `imgmatch report`.
- `outputs`: the output folder's bookkeeping: file names, state files, records.
- `backends`: where reports render: one on a warm kernel, on local threads or Dask.
- `html`: offline HTML export of an executed notebook, and the cohort index.
- `kernel`: warm Jupyter kernels reused across reports.
- `text`: what the `imgmatch` commands print (plans, chances, summaries).
- `terminal`: the consoles and the safe text every command prints with.
- `templates/`: the nbconvert and Jinja templates.
"""
