"""Data: the contracts, the vocabularies, reading and writing tables and profiles, demo data.

The bottom layer of the package: it imports only `analysis.config` and `analysis.errors`.
Everything above it receives tables that `programs.load_programs` validated and profiles
that `applicants.load_applicant` validated; nothing above re-checks them.

- `vocabulary`: the allowed values (specialties, states, tracks, program types, visa needs).
- `normalize`: free text to those values, one pure function per kind of cell.
- `schemas`: the contracts of the program table and the applicant profile.
- `tables`: the raw cells of CSV, XLSX, Parquet files and data frames (decoding, workbook checks).
- `program_headers`: the three header formats of program tables and the headers accepted.
- `programs`: program tables from CSV, XLSX, Parquet or data frames, in three header formats.
- `applicants`: applicant profiles from YAML, JSON or CSV.
- `documents`: YAML and JSON read within bounds (no aliases, no duplicate keys), with lines.
- `files`: the atomic-write helper, the spreadsheet-formula escape, the writers.
- `reference`: the public reference figures the model is calibrated to.
- `demo`: the synthetic demo data (with its package data in `demo_files/`), drawn to the
  per-specialty figures of `demo_specialties` and checked against them by `demo_checks`;
  `demo_observed_rates` lays its interview rates out as public per-program tables are.
"""
