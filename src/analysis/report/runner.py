"""Batch reports: one self-contained HTML report per applicant, an index, and a record of failures.

Method (`run_reports`):
1. Check the inputs before writing anything: the template notebook (a cell tagged
   `parameters`, a code cell tagged `summary`), the program table
   (`analysis.data.programs.load_programs`, validated once; invalid -> `DataValidationError`,
   nothing written) and the applicant sources (`analysis.data.applicants.iter_applicants`:
   profile files, folders, CSV rows; an invalid applicant is a failure of that applicant only).
2. For each valid applicant, hash its inputs: sha256 over the profile's canonical JSON, the
   program file's bytes, the template's bytes, `analysis.__version__` and `as_of`. When the
   hash equals the one in `DIR/.imgmatch/state/<applicant_id>.json` of a successful earlier run
   and the HTML is there, the report is skipped (`force` redoes it). The folder's names,
   state files and records are `analysis.report.outputs`.
3. Render the others in parallel (`analysis.report.backends`): locally with `workers`
   threads, each driving its own warm kernel (`analysis.report.kernel`), or on a Dask cluster
   (`scheduler`): each task renders one report on a worker, which keeps its own warm kernels
   and a local copy of the program table and template (shipped once with `client.scatter`),
   and returns the HTML and summary. The template runs through papermill with the parameters
   `applicant_file` (the profile as JSON, written to
   `DIR/.imgmatch/applicants/<applicant_id>.json`, so CSV rows work too), `programs_file`
   (absolute path) and `as_of` (ISO date; default the first day of the current month, so
   plans, and the skip logic, are stable within a month); the HTML export is
   `analysis.report.html`'s (offline, code hidden, summary output removed).
4. Write, in this process only, and always through a temporary file renamed into place:
   `DIR/<applicant_id>.html`, then its state file (so an interrupted run never leaves a
   half-written report, and the next run finishes the rest), and at the end `DIR/index.html`
   (the cohort dashboard, skipped reports included from their state), `DIR/cohort.csv` (the
   same columns, `analysis.report.cohort`) and `DIR/errors.json` (one record per failed
   applicant: label, applicant_id if known, stage, message, detail).
5. With `pdf`, print every report to `DIR/<applicant_id>.pdf` (`analysis.report.pdf`: one
   headless Chromium for the batch, after the HTML, outside the kernels' path).

Summary contract with the template: its last code cell, tagged `summary`, displays one output
of mimetype `application/vnd.imgmatch.summary+json`, a dict validated by `ReportSummary`
(`analysis.report.outputs`: `applicant_id`, `name`, `target_specialties`, `p_match`
{specialty: probability 0-1}, `p_match_any`, `rotations` (a count), `data_sources`, optional
`placeholder` (true while the probabilities are placeholders); other keys are kept).

Failures (stages): `validate` (invalid applicant), `execute` (a cell raised), `timeout` (over
`timeout` seconds: interrupted, then killed, and that worker's kernel replaced), `kernel` (the
kernel died), `summary` (no valid summary output), `export`, `worker` (a Dask worker was lost).
One failure never stops the batch. Ctrl-C (or SIGTERM) stops scheduling, kills the kernels,
leaves no temporary file and raises `ReportsInterrupted`.

Inputs: `ReportOptions`. Outputs: the files above and a `BatchResult` (counts, timings).
Limits: one batch at a time per output folder (a lock file enforces it); the index lists the
applicants of this run only (reports of applicants no longer in the input stay on disk);
kernels isolate applicants by namespace reset, not by process (see `analysis.report.kernel`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import signal
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import analysis
from analysis import config
from analysis.data.applicants import iter_applicants
from analysis.data.files import write_text
from analysis.data.programs import load_programs
from analysis.errors import DataValidationError, file_problem
from analysis.report.backends import Blob, RenderContext, RenderSettings, run_dask, run_local
from analysis.report.outputs import (
    STATE_DIR,
    RenderJob,
    RenderResult,
    ReportRecord,
    batch_lock,
    canonical_profile_json,
    inputs_hash,
    is_up_to_date,
    prepare_output_folder,
    remove_stale_temp_files,
    report_href,
    report_stem,
    sha256_file,
    store_result,
    write_errors,
)

PARAMETERS = ("applicant_file", "programs_file", "as_of")
DEFAULT_TIMEOUT_SECONDS = 120.0


# --------------------------------------------------------------------------- contracts


@dataclass(frozen=True)
class ReportOptions:
    """One batch: what to render, where, and how.

    Attributes:
        programs: the program table (CSV, XLSX, Parquet).
        out_dir: output folder (created); reports, index.html, errors.json, `.imgmatch/`.
        sources: applicant profile files (YAML/JSON), folders of them, or CSV files.
        workers: local parallel kernels (default: the number of usable cores).
        scheduler: address of a Dask scheduler; when set, reports render on that cluster.
        force: render every report, even those whose inputs are unchanged.
        timeout: seconds one report may take before its kernel is interrupted and replaced.
        as_of: the plan date passed to the template (default: first day of this month).
        template: the notebook to run (default: `config.report_template_path()`).
        pdf: also print each report to `<applicant_id>.pdf` (`analysis.report.pdf`).
    """

    programs: Path
    out_dir: Path
    sources: tuple[Path, ...]
    workers: int | None = None
    scheduler: str | None = None
    force: bool = False
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    as_of: dt.date | None = None
    template: Path | None = None
    pdf: bool = False


@dataclass
class BatchResult:
    """What a batch did: per-applicant records, where the outputs are, how long it took."""

    records: list[ReportRecord]
    out_dir: Path
    wall_seconds: float
    workers: int
    backend: str
    as_of: str
    warnings: list[str] = field(default_factory=list)
    pdf: Any = None  # analysis.report.pdf.PdfBatch when the PDFs were asked for

    @property
    def rendered(self) -> list[ReportRecord]:
        """Reports written in this run."""
        return [r for r in self.records if r.status == "written"]

    @property
    def skipped(self) -> list[ReportRecord]:
        """Reports whose inputs had not changed."""
        return [r for r in self.records if r.status == "unchanged"]

    @property
    def failed(self) -> list[ReportRecord]:
        """Applicants without a report (invalid input or a failing notebook)."""
        return [r for r in self.records if r.status == "failed"]

    def timing(self) -> dict[str, float | None]:
        """Seconds per rendered report (mean, median, max) and reports per second overall."""
        seconds = [r.seconds for r in self.rendered if r.seconds is not None]
        done = len(self.rendered)
        return {
            "mean": statistics.fmean(seconds) if seconds else None,
            "median": statistics.median(seconds) if seconds else None,
            "max": max(seconds) if seconds else None,
            "throughput": done / self.wall_seconds if done and self.wall_seconds > 0 else None,
        }

    @property
    def exit_code(self) -> int:
        """0 when every applicant has a report (and its PDF, if asked for), 1 otherwise."""
        return 1 if self.failed or (self.pdf is not None and not self.pdf.ok) else 0


class ReportsInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: scheduling stopped, kernels shut down, finished reports kept."""

    def __init__(self, written: int, remaining: int) -> None:
        super().__init__(f"interrupted after {written} reports; {remaining} not done")
        self.written = written
        self.remaining = remaining


class Progress(Protocol):
    """Where the batch reports its progress (a rich bar on a terminal, or nothing)."""

    def start(self, total: int, skipped: int, failed: int) -> None: ...

    def advance(self, record: ReportRecord) -> None: ...

    def stop(self) -> None: ...


class NullProgress:
    """Progress that shows nothing (not a terminal; tests)."""

    def start(self, total: int, skipped: int, failed: int) -> None:
        """Nothing to show."""

    def advance(self, record: ReportRecord) -> None:
        """Nothing to show."""

    def stop(self) -> None:
        """Nothing to show."""


class RichProgress:
    """A rich progress bar with done, skipped and failed counts (for terminals)."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self._progress: Any = None
        self._task: Any = None
        self._counts = {"written": 0, "unchanged": 0, "failed": 0}

    def _fields(self) -> dict[str, int]:
        return {
            "done": self._counts["written"],
            "skipped": self._counts["unchanged"],
            "failed": self._counts["failed"],
        }

    def start(self, total: int, skipped: int, failed: int) -> None:
        """Show the bar; `skipped` and `failed` are already decided before rendering."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._counts.update(unchanged=skipped, failed=failed)
        self._progress = Progress(
            TextColumn("[bold]reports"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "[green]{task.fields[done]} done[/] · [cyan]{task.fields[skipped]} skipped[/]"
                " · [red]{task.fields[failed]} failed[/]"
            ),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "reports", total=total, completed=skipped + failed, **self._fields()
        )

    def advance(self, record: ReportRecord) -> None:
        """Count one finished applicant."""
        self._counts[record.status] += 1
        if self._progress is not None:
            self._progress.update(self._task, advance=1, **self._fields())

    def stop(self) -> None:
        """Remove nothing; leave the final bar on screen."""
        if self._progress is not None:
            self._progress.stop()


# --------------------------------------------------------------------------- template


@dataclass(frozen=True)
class Template:
    """The report notebook: parsed once, shipped to workers as bytes."""

    path: Path
    data: bytes
    sha256: str
    declared: frozenset[str]

    @property
    def name(self) -> str:
        """File name, for footers."""
        return self.path.name

    def notebook(self) -> Any:
        """A fresh parsed copy."""
        import nbformat

        return nbformat.reads(self.data.decode("utf-8"), as_version=4)


def load_template(path: Path) -> tuple[Template, list[str]]:
    """Read and check a template notebook; return it and warnings for people.

    Raises:
        FileNotFoundError: no such file.
        DataValidationError: not a notebook, or no `parameters` / `summary` cell.
    """
    import nbformat

    from analysis.report.html import SUMMARY_TAG

    path = Path(path).resolve()
    label = str(path)
    if path.is_dir():
        raise DataValidationError(
            [file_problem(label, "is a folder; the template must be a notebook file (.ipynb)")]
        )
    data = path.read_bytes()
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:
        raise DataValidationError(
            [file_problem(label, f"not a readable Jupyter notebook ({error})")]
        ) from None
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    tagged = {
        tag: [cell for cell in code_cells if tag in cell.get("metadata", {}).get("tags", [])]
        for tag in ("parameters", SUMMARY_TAG)
    }
    problems = []
    if not tagged["parameters"]:
        problems.append(
            file_problem(
                label,
                "no code cell is tagged 'parameters' (papermill "
                "injects applicant_file, programs_file and as_of after it)",
            )
        )
    if not tagged[SUMMARY_TAG]:
        problems.append(
            file_problem(
                label,
                "no code cell is tagged 'summary' (its output of "
                "mimetype application/vnd.imgmatch.summary+json feeds "
                "the index)",
            )
        )
    if problems:
        raise DataValidationError(problems, source=label)
    declared = _declared_parameters(tagged["parameters"][0].source)
    warnings = [
        f"template {path.name} does not declare the parameter {name!r} in its parameters cell "
        "(it is injected anyway)"
        for name in PARAMETERS
        if name not in declared
    ]
    template = Template(path, data, hashlib.sha256(data).hexdigest(), frozenset(declared))
    return template, warnings


def _declared_parameters(source: str) -> set[str]:
    names = set()
    for line in source.splitlines():
        match = re.match(r"^([A-Za-z_]\w*)\s*(?::[^=]+)?=", line)
        if match:
            names.add(match.group(1))
    return names


# --------------------------------------------------------------------------- the batch


def default_as_of(today: dt.date | None = None) -> dt.date:
    """The first day of the current month: plans and skip decisions stay stable for a month."""
    return (today or dt.date.today()).replace(day=1)


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _check_sources(sources: Sequence[Path]) -> None:
    missing = [file_problem(str(s), "no such file or folder") for s in sources if not s.exists()]
    if not sources:
        missing.append(file_problem(None, "give at least one applicant file, folder or CSV"))
    if missing:
        raise DataValidationError(missing)


def _validation_record(label: str, error: DataValidationError) -> ReportRecord:
    problems = [p.to_dict() for p in error.problems]
    lines = [str(p) for p in error.problems]
    return ReportRecord(
        label=label,
        applicant_id=None,
        status="failed",
        stage="validate",
        message="; ".join(lines) if lines else str(error),
        problems=problems,
    )


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while the batch runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_reports(options: ReportOptions, progress: Progress | None = None) -> BatchResult:
    """Render one HTML report per applicant, then the index and `errors.json`.

    Args:
        options: what to render and how (see `ReportOptions`).
        progress: where to show progress (default: nowhere).

    Returns:
        The per-applicant records and timings; `result.exit_code` is 1 if anything failed.

    Raises:
        DataValidationError: the program table, the template or the sources are unusable
            (nothing has been written).
        FileNotFoundError: the program table or template does not exist.
        ReportsInterrupted: Ctrl-C or SIGTERM (finished reports are kept; run again to
            finish the rest).
    """
    started = time.perf_counter()
    progress = progress or NullProgress()
    as_of = (options.as_of or default_as_of()).isoformat()
    out_dir = Path(options.out_dir)
    inputs = _checked_inputs(options)  # 1. before anything is written
    prepare_output_folder(out_dir)
    records: dict[int, ReportRecord] = {}
    try:
        with batch_lock(out_dir), _sigterm_as_interrupt():
            remove_stale_temp_files(out_dir)
            jobs = _jobs(out_dir, inputs, as_of, options.force, records)
            settings = RenderSettings(
                as_of=as_of,
                timeout=float(options.timeout),
                programs_name=inputs.programs_path.name,
                programs_sha256=inputs.programs_sha,
                template_name=inputs.template.name,
                version=inputs.version,
                generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
            )
            progress.start(
                len(inputs.applicants),
                sum(r.status == "unchanged" for r in records.values()),
                sum(r.status == "failed" for r in records.values()),
            )
            try:
                workers, backend = _render(
                    jobs, options, inputs, settings, out_dir, records, progress
                )
            finally:
                progress.stop()
            ordered = [records[i] for i in sorted(records)]
            _write_index(out_dir, ordered, settings)
            write_errors(out_dir, ordered)
            pdf = _write_pdfs(out_dir, ordered) if options.pdf else None
    except KeyboardInterrupt:
        written = sum(r.status == "written" for r in records.values())
        raise ReportsInterrupted(written, len(inputs.applicants) - len(records)) from None
    return BatchResult(
        records=ordered,
        out_dir=out_dir,
        wall_seconds=time.perf_counter() - started,
        workers=workers,
        backend=backend,
        as_of=as_of,
        warnings=inputs.warnings,
        pdf=pdf,
    )


@dataclass(frozen=True)
class _Inputs:
    """A batch's inputs, checked: the template, the program file, the applicants."""

    template: Template
    warnings: list[str]
    programs_path: Path
    programs_sha: str
    version: str
    applicants: list[tuple[str, Any]]  # (label, ApplicantProfile or DataValidationError)


def _checked_inputs(options: ReportOptions) -> _Inputs:
    """Load the template, the program table (validated once) and the applicants.

    Raises:
        DataValidationError: an unusable template, program table or source list.
        FileNotFoundError: the program table or the template does not exist.
    """
    sources = tuple(Path(s) for s in options.sources)
    template, warnings = load_template(Path(options.template or config.report_template_path()))
    _check_sources(sources)
    programs_path = Path(options.programs).resolve()
    if programs_path.is_dir():
        raise DataValidationError(
            [file_problem(str(options.programs), "is a folder; give the program table's file")]
        )
    if not programs_path.is_file():
        raise FileNotFoundError(2, "No such file", str(options.programs))
    load_programs(programs_path)
    return _Inputs(
        template=template,
        warnings=warnings,
        programs_path=programs_path,
        programs_sha=sha256_file(programs_path),
        version=analysis.__version__,
        applicants=load_applicant_sources(sources),
    )


def load_applicant_sources(sources: Sequence[Path]) -> list[tuple[str, Any]]:
    """Every applicant of the sources as `(label, profile or error)`, whatever goes wrong.

    The loader reports each bad profile as its own `DataValidationError`; should reading a
    source fail in a way it did not foresee, that source becomes one failed entry (the
    exception named) and the other sources are still read.
    """
    loaded: list[tuple[str, Any]] = []
    for source in sources:
        try:
            loaded.extend(iter_applicants(source))
        except Exception as error:
            loaded.append((str(source), _unexpected(str(source), error)))
    return loaded


def _unexpected(label: str, error: BaseException) -> DataValidationError:
    """An input that failed in a way no check foresaw: named, for this applicant only."""
    from analysis.errors import short_message

    message = f"could not be read ({type(error).__name__}: {short_message(error)})"
    return DataValidationError([file_problem(label, message)], source=label)


def _jobs(
    out_dir: Path, inputs: _Inputs, as_of: str, force: bool, records: dict[int, ReportRecord]
) -> list[tuple[int, RenderJob]]:
    """The reports to render, by position in the input; records the others in `records`.

    An invalid applicant is a failed record, and so is one whose file name another applicant
    of the batch already has (ids equal but for case) or whose preparation fails in any way;
    one whose inputs hash matches its state is an unchanged record (unless `force`).
    """
    jobs: list[tuple[int, RenderJob]] = []
    owners: dict[str, str] = {}  # file name, case-folded -> label of the applicant using it
    for position, (label, item) in enumerate(inputs.applicants):
        if isinstance(item, DataValidationError):
            records[position] = _validation_record(label, item)
            continue
        name = report_stem(item.applicant_id).casefold()
        if name in owners:
            records[position] = _failed(
                label, item.applicant_id, "validate", _clash(item, owners[name])
            )
            continue
        owners[name] = label
        try:
            prepared = _prepare(out_dir, inputs, as_of, force, label, item)
        except Exception as error:  # a file that cannot be written, anything unforeseen
            message = f"could not prepare the report ({type(error).__name__}: {error})"
            records[position] = _failed(label, item.applicant_id, "prepare", message)
            continue
        if isinstance(prepared, ReportRecord):
            records[position] = prepared
        else:
            jobs.append((position, prepared))
    return jobs


def _clash(profile: Any, owner: str) -> str:
    return (
        f"applicant_id {profile.applicant_id!r} differs only by case from the id of {owner}: "
        "Windows and macOS would store both reports as one file; give one of them another id"
    )


def _failed(label: str, applicant_id: str | None, stage: str, message: str) -> ReportRecord:
    return ReportRecord(label, applicant_id, "failed", stage=stage, message=message)


def _prepare(
    out_dir: Path, inputs: _Inputs, as_of: str, force: bool, label: str, profile: Any
) -> ReportRecord | RenderJob:
    """An unchanged record when the saved report is current, else the job that renders it.

    The job's profile is written as JSON under the state folder (the template reads it, so
    CSV rows work too).
    """
    profile_json = canonical_profile_json(profile)
    digest = inputs_hash(
        profile_json, inputs.programs_sha, inputs.template.sha256, inputs.version, as_of
    )
    state = None if force else is_up_to_date(out_dir, profile.applicant_id, digest)
    if state is not None:
        return ReportRecord(
            label=label,
            applicant_id=profile.applicant_id,
            status="unchanged",
            summary=state["summary"],
            seconds=state.get("seconds"),
        )
    applicants_dir = out_dir / STATE_DIR / "applicants"
    applicant_file = (applicants_dir / f"{report_stem(profile.applicant_id)}.json").resolve()
    write_text(
        applicant_file, json.dumps(json.loads(profile_json), indent=2, ensure_ascii=False) + "\n"
    )
    return RenderJob(
        profile.applicant_id, label, profile.name, profile_json, digest, str(applicant_file)
    )


def _render(
    jobs: list[tuple[int, RenderJob]],
    options: ReportOptions,
    inputs: _Inputs,
    settings: RenderSettings,
    out_dir: Path,
    records: dict[int, ReportRecord],
    progress: Progress,
) -> tuple[int, str]:
    """Render the jobs locally or on Dask; store each result as it arrives.

    Returns:
        The number of workers and the backend's name ("local", "dask (ADDRESS)", "none").
    """
    position_of = {job.applicant_id: position for position, job in jobs}
    job_of = {job.applicant_id: job for _, job in jobs}

    def on_result(result: RenderResult) -> None:
        job = job_of[result.applicant_id]
        try:
            record = store_result(out_dir, job, result, settings.as_of, settings.version)
        except Exception as error:  # the state file could not be written, for example
            message = f"could not store the report ({type(error).__name__}: {error})"
            record = _failed(job.label, job.applicant_id, "write", message)
        records[position_of[result.applicant_id]] = record
        progress.advance(record)

    if not jobs:
        return 0, "none"
    from analysis.report.html import vega_bundle

    threading.Thread(target=vega_bundle, name="imgmatch-bundle", daemon=True).start()
    only_jobs = [job for _, job in jobs]
    if options.scheduler:
        path = inputs.programs_path
        workers = run_dask(
            only_jobs,
            options.scheduler,
            Blob(path.name, path.read_bytes(), inputs.programs_sha),
            Blob(inputs.template.name, inputs.template.data, inputs.template.sha256),
            settings,
            on_result,
        )
        return workers, f"dask ({options.scheduler})"
    from analysis.report.kernel import KernelPool

    workers = max(1, min(options.workers or default_workers(), len(jobs)))
    context = RenderContext(
        template_nb=inputs.template.notebook(),
        programs_file=str(inputs.programs_path),
        settings=settings,
        pool=KernelPool(cwd=inputs.template.path.parent),
    )
    run_local(only_jobs, context, workers, on_result)
    return workers, "local"


def index_rows(records: Sequence[ReportRecord]) -> list[Any]:
    """The index page's rows, from this run's records."""
    from analysis.report.html import IndexRow

    rows = []
    for record in records:
        summary = record.summary or {}
        href = report_href(record.applicant_id) if record.status != "failed" else None
        rows.append(
            IndexRow(
                label=record.label,
                applicant_id=record.applicant_id,
                status=record.status,
                name=summary.get("name"),
                targets=tuple(summary.get("target_specialties") or ()),
                p_match=dict(summary.get("p_match") or {}),
                p_match_any=summary.get("p_match_any"),
                rotations=summary.get("rotations"),
                placeholder=bool(summary.get("placeholder")),
                summary=summary,
                href=href,
                stage=record.stage,
                message=record.message,
                seconds=record.seconds,
            )
        )
    return rows


def _write_index(out_dir: Path, records: Sequence[ReportRecord], settings: RenderSettings) -> Path:
    from analysis.report.cohort import write_cohort_csv
    from analysis.report.html import IndexPage, render_index

    page = IndexPage(**settings.provenance())
    path = out_dir / "index.html"
    rows = index_rows(records)
    write_text(path, render_index(rows, page))
    write_cohort_csv(out_dir / "cohort.csv", rows)
    return path


def _write_pdfs(out_dir: Path, records: Sequence[ReportRecord]) -> Any:
    """Print the reports to PDF once every HTML file is written (one browser, in order)."""
    from analysis.report.pdf import write_pdfs

    return write_pdfs(out_dir, records)
