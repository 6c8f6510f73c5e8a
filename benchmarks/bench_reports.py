"""Batch report speed: the warm-kernel runner against papermill's floor and its naive use.

Run:  .venv/bin/python benchmarks/bench_reports.py [--cohort 100] [--repeat 3] [--quick]

Prints its figures and ends with one JSON line. Measured in the same run, on the demo
program table and synthetic applicants (the six demo profiles varied: id, name, Step 2 CK,
letters, budget), all in a temporary folder:
- floor: papermill executing an *empty* notebook (one parameters cell) with a fresh kernel,
  as papermill does by default, plus its in-process HTML export (the floor any
  papermill-based report pays per notebook);
- naive: the real template (`notebooks/applicant_report.ipynb`) the same way, a fresh kernel
  per report, plus the report's export (what the runner would cost without warm kernels);
- runner: `imgmatch report`'s engine (`analysis.report.runner.run_reports`) with one worker: the
  median time per report once its kernel is warm, and the amortized time (wall time / reports,
  kernel start and index included); ratio to the floor (goal <= 1.5);
- throughput with 1 and 2 workers on the same cohort (goal: speed-up >= 1.7 on 2 cores);
- a cohort of `--cohort` applicants (default 100) with the default number of workers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat


def synthetic_cohort(folder: Path, count: int) -> Path:
    """`count` JSON profiles varied from the demo applicants (valid by construction)."""
    from analysis.config import demo_applicants_dir
    from analysis.data.applicants import load_applicant
    from analysis.data.schemas import ApplicantProfile

    bases = [load_applicant(p) for p in sorted(demo_applicants_dir().glob("*.yaml"))]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        data = bases[i % len(bases)].model_dump(mode="json")
        data["applicant_id"] = f"{data['applicant_id']}_{i:04d}"
        data["name"] = f"{data['name']} {i}"
        data["step2_score"] = min(300, max(180, data["step2_score"] + (i % 11) - 5))
        first = data["target_specialties"][0]
        data["us_letters"] = {**data.get("us_letters", {}), first: i % 3}
        data["budget_usd"] = 2000 + 500 * (i % 9)
        ApplicantProfile.model_validate(data)
        (folder / f"{data['applicant_id']}.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def empty_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x: int = 1  # p", metadata={"tags": ["parameters"]})]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def measure_floor(work: Path, repeat: int) -> list[float]:
    """papermill + fresh kernel + in-process HTML export of an empty notebook."""
    import papermill
    from nbconvert import HTMLExporter

    path = empty_notebook(work / "empty.ipynb")
    exporter = HTMLExporter()
    exporter.from_notebook_node(nbformat.read(path, as_version=4))  # compile templates once
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        executed = papermill.execute_notebook(
            str(path), None, parameters={"x": i}, kernel_name="python3", progress_bar=False
        )
        exporter.from_notebook_node(executed)
        times.append(time.perf_counter() - started)
    return times


def measure_naive(
    template: Path, programs: Path, applicants: list[Path], as_of: str
) -> list[float]:
    """The real template through plain papermill (fresh kernel each), plus the report export."""
    import datetime as dt

    import papermill

    from analysis.report.html import Footer, export_report, prepare_notebook

    footer = Footer(dt.datetime.now(dt.UTC), "bench", as_of, programs.name, "0" * 64, "t")
    export_report(
        *prepare_notebook(nbformat.read(template, as_version=4))[:1], title="warm-up", footer=footer
    )
    times = []
    for applicant in applicants:
        started = time.perf_counter()
        executed = papermill.execute_notebook(
            str(template),
            None,
            parameters={
                "applicant_file": str(applicant),
                "programs_file": str(programs),
                "as_of": as_of,
            },
            kernel_name="python3",
            progress_bar=False,
            cwd=str(template.parent),
        )
        shown, _ = prepare_notebook(executed)
        export_report(shown, title="naive", footer=footer)
        times.append(time.perf_counter() - started)
    return times


def measure_overhead(
    template: Path, programs: Path, applicants: list[Path], as_of: str
) -> tuple[float, float]:
    """On one warm kernel: median seconds per report, and the template's own cell time in it."""
    import datetime as dt

    from analysis.report.html import Footer, export_report, prepare_notebook, vega_bundle
    from analysis.report.kernel import KernelPool

    vega_bundle()
    nb = nbformat.read(template, as_version=4)
    footer = Footer(dt.datetime.now(dt.UTC), "bench", as_of, programs.name, "0" * 64, "t")
    pool = KernelPool(template.parent)
    totals, cells = [], []
    try:
        kernel = pool.kernel()
        for i, applicant in enumerate([applicants[0], *applicants]):
            started = time.perf_counter()
            parameters = {
                "applicant_file": str(applicant),
                "programs_file": str(programs),
                "as_of": as_of,
            }
            executed = kernel.run(nb, parameters, timeout=600)
            shown, _ = prepare_notebook(executed)
            export_report(shown, title="overhead", footer=footer)
            if i:  # the first run starts the kernel and imports: not steady state
                totals.append(time.perf_counter() - started)
                cells.append(
                    sum(
                        c.metadata.get("papermill", {}).get("duration") or 0 for c in executed.cells
                    )
                )
    finally:
        pool.shutdown()
    return statistics.median(totals), statistics.median(cells)


def run_batch(
    programs: Path, sources: Path, out: Path, workers: int | None, as_of: Any
) -> tuple[float, Any]:
    from analysis.report.runner import ReportOptions, run_reports

    options = ReportOptions(programs, out, (sources,), workers=workers, force=True, as_of=as_of)
    started = time.perf_counter()
    result = run_reports(options)
    wall = time.perf_counter() - started
    if result.failed:
        first = result.failed[0]
        raise SystemExit(f"benchmark batch failed: {first.label}: {first.stage}: {first.message}")
    return wall, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=int, default=100, help="size of the large cohort")
    parser.add_argument("--repeat", type=int, default=3, help="floor and naive repetitions")
    parser.add_argument(
        "--batch",
        type=int,
        default=40,
        help="cohort for the 1/2-worker runs (each run starts its kernels: ~4 s to amortize)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.cohort, args.repeat, args.batch = 8, 2, 6

    import datetime as dt

    import analysis
    from analysis.config import demo_programs_path, report_template_path
    from analysis.data.programs import load_programs
    from analysis.report.runner import default_as_of

    template = report_template_path()
    programs = demo_programs_path()
    as_of = default_as_of()
    cores = len(os.sched_getaffinity(0))
    print(
        f"imgmatch {analysis.__version__}: template {template.name}, {programs.name}, "
        f"{cores} cores, load average {os.getloadavg()[0]:.2f}"
    )

    with tempfile.TemporaryDirectory(prefix="imgmatch-bench-") as tmp:
        work = Path(tmp)
        cohort = synthetic_cohort(work / "cohort", max(args.cohort, args.batch, args.repeat))
        every = sorted(cohort.glob("*.json"))
        batch_dir = work / "batch"
        batch_dir.mkdir()
        for path in every[: args.batch]:
            (batch_dir / path.name).write_bytes(path.read_bytes())

        floor = measure_floor(work, args.repeat)
        floor_s = statistics.median(floor)
        print(
            f"floor  (papermill, empty notebook, fresh kernel, + HTML export): "
            f"median {floor_s:.2f} s of {args.repeat}"
        )

        naive = measure_naive(template, programs, every[: args.repeat], as_of.isoformat())
        naive_s = statistics.median(naive)
        print(
            f"naive  (papermill, real template, fresh kernel each, + export):  "
            f"median {naive_s:.2f} s of {args.repeat}"
        )

        total_s, cells_s = measure_overhead(
            template, programs, every[: args.repeat], as_of.isoformat()
        )
        overhead_s = total_s - cells_s
        print(
            f"one warm kernel: {total_s:.2f} s per report = the template's own cells "
            f"{cells_s:.2f} s + runner overhead {overhead_s:.2f} s (reset, papermill, "
            f"messages, summary, export) = {overhead_s / floor_s:.2f} x the floor"
        )

        load_programs(programs)  # both timed runs below start with the table validated once
        wall_1, result_1 = run_batch(programs, batch_dir, work / "out1", 1, as_of)
        seconds = [r.seconds for r in result_1.rendered]
        warm_s = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
        amortized_s = wall_1 / len(seconds)
        ratio = warm_s / floor_s
        print(
            f"runner (warm kernel, real template, 1 worker): median {warm_s:.2f} s per "
            f"report once warm (first {seconds[0]:.2f} s incl. kernel start); amortized "
            f"{amortized_s:.2f} s over {len(seconds)} reports incl. start-up and index"
        )
        print(
            f"  ratio to the floor: {ratio:.2f} (goal <= 1.5); naive / runner: "
            f"{naive_s / warm_s:.1f}x"
        )

        wall_2, result_2 = run_batch(programs, batch_dir, work / "out2", 2, as_of)
        throughput_1 = len(result_1.rendered) / wall_1
        throughput_2 = len(result_2.rendered) / wall_2
        speedup = throughput_2 / throughput_1
        print(
            f"throughput on {args.batch} reports: 1 worker {throughput_1:.2f}/s "
            f"({wall_1:.1f} s), 2 workers {throughput_2:.2f}/s ({wall_2:.1f} s): "
            f"speed-up {speedup:.2f} (goal >= 1.7 on 2 cores)"
        )

        wall_c, result_c = run_batch(programs, cohort, work / "cohort_out", None, as_of)
        timing = result_c.timing()
        print(
            f"cohort of {len(result_c.rendered)}: {wall_c:.1f} s with {result_c.workers} "
            f"workers ({len(result_c.rendered) / wall_c:.2f} reports/s; per report mean "
            f"{timing['mean']:.2f} s, median {timing['median']:.2f} s, max "
            f"{timing['max']:.2f} s)"
        )
        sizes = [p.stat().st_size for p in (work / "cohort_out").glob("*.html")]
        print(f"report size: median {statistics.median(sizes) / 1e6:.2f} MB")

    print(
        json.dumps(
            {
                "benchmark": "reports",
                "template": template.name,
                "cores": cores,
                "floor_s": round(floor_s, 3),
                "naive_s": round(naive_s, 3),
                "runner_warm_s": round(warm_s, 3),
                "runner_amortized_s": round(amortized_s, 3),
                "ratio_to_floor": round(ratio, 2),
                "template_cells_s": round(cells_s, 3),
                "runner_overhead_s": round(overhead_s, 3),
                "overhead_to_floor": round(overhead_s / floor_s, 2),
                "ratio_goal": 1.5,
                "throughput_1_per_s": round(throughput_1, 3),
                "throughput_2_per_s": round(throughput_2, 3),
                "speedup_2_workers": round(speedup, 2),
                "speedup_goal": 1.7,
                "cohort": len(result_c.rendered),
                "cohort_s": round(wall_c, 1),
                "cohort_workers": result_c.workers,
                "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
