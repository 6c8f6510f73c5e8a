"""Scaling: time and peak memory of the commands at 1x, 10x and 40x the national demo table.

Run:  .venv/bin/python benchmarks/bench_scaling.py [--scales 1 10 40] [--commands plan chances]

The demo table (5,273 programs) is copied k times with new program ids (`<id>-x<i>`) into a
temporary CSV; each command then runs as its own process exactly as a user runs it
(`imgmatch plan --applicant amira_ir.yaml --programs scaled.csv --json`), and its wall time
and peak resident memory (`ru_maxrss` of that process, from `os.wait4`) are recorded. Memory
is linear in the table when the memory above the 1x run grows like the programs above it:
the script prints that slope (KB per extra program) per scale, and the ratios of time and
memory to the 1x run, and ends with one JSON line. No thresholds: the figures are reported,
not judged.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from analysis.config import demo_applicants_dir, demo_programs_path

COMMANDS = {
    "plan": ["plan", "--applicant", "{applicant}", "--programs", "{programs}", "--json"],
    "chances": ["chances", "--applicant", "{applicant}", "--programs", "{programs}", "--json"],
    "score": ["score", "--programs", "{programs}", "--out", "{out}/scored.parquet"],
    "validate": ["validate", "--programs", "{programs}"],
}
AS_OF = "2026-12-01"  # a fixed plan date, so runs on different days compare


def scaled_table(k: int, folder: Path) -> tuple[Path, int]:
    """The demo table copied `k` times with distinct program ids; its path and row count."""
    base = pl.read_csv(demo_programs_path(), infer_schema_length=0)
    copies = [base.with_columns(pl.col("program_id") + f"-x{i}") for i in range(k)]
    table = pl.concat(copies)
    path = folder / f"programs_{k}x.csv"
    table.write_csv(path)
    return path, table.height


def measure(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one command run as its own process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "analysis.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {process.returncode}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports KB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 40])
    parser.add_argument("--commands", nargs="+", default=["plan", "chances"], choices=COMMANDS)
    options = parser.parse_args()
    applicant = demo_applicants_dir() / "amira_ir.yaml"
    results: dict[str, list[dict[str, float]]] = {name: [] for name in options.commands}
    with tempfile.TemporaryDirectory(prefix="imgmatch-scaling-") as tmp:
        folder = Path(tmp)
        for k in options.scales:
            programs, rows = scaled_table(k, folder)
            for name in options.commands:
                args = [a.format(applicant=applicant, programs=programs, out=folder)
                        for a in COMMANDS[name]]  # fmt: skip
                if name in ("plan", "chances"):
                    args += ["--as-of", AS_OF]
                seconds, peak_mb = measure(args)
                results[name].append({"scale": k, "programs": rows, "seconds": seconds,
                                      "peak_mb": peak_mb})  # fmt: skip
    print(f"{'command':<9}{'scale':>6}{'programs':>10}{'time s':>9}{'peak MB':>9}"
          f"{'time x':>8}{'memory x':>10}{'KB per extra program':>22}")  # fmt: skip
    for name, rows in results.items():
        first = rows[0]
        for row in rows:
            extra = row["programs"] - first["programs"]
            slope = (row["peak_mb"] - first["peak_mb"]) * 1024 / extra if extra else None
            row["time_ratio"] = row["seconds"] / first["seconds"]
            row["memory_ratio"] = row["peak_mb"] / first["peak_mb"]
            row["kb_per_extra_program"] = slope
            print(
                f"{name:<9}{row['scale']:>5}x{row['programs']:>10,}{row['seconds']:>9.1f}"
                f"{row['peak_mb']:>9.0f}{row['time_ratio']:>8.1f}{row['memory_ratio']:>10.2f}"
                f"{'' if slope is None else f'{slope:.1f}':>22}"
            )
    print(json.dumps({"bench": "scaling", "results": results}))


if __name__ == "__main__":
    main()
