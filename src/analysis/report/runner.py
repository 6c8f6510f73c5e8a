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
   and the HTML is there, the report is skipped (`force` redoes it).
3. Render the others in parallel: locally with `workers` threads, each driving its own warm
   kernel (`analysis.report.kernel`), or on a Dask cluster (`scheduler`): each task renders one
   report on a worker, which keeps its own warm kernels and a local copy of the program table
   and template (shipped once with `client.scatter`), and returns the HTML and summary. The
   template runs through papermill with the parameters `applicant_file` (the profile as JSON,
   written to `DIR/.imgmatch/applicants/<applicant_id>.json`, so CSV rows work too),
   `programs_file` (absolute path) and `as_of` (ISO date; default the first day of the
   current month, so plans, and the skip logic, are stable within a month); the HTML export is
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
(`applicant_id`, `name`, `target_specialties`, `p_match` {specialty: probability 0-1},
`p_match_any`, `rotations` (a count), `data_sources`, optional `placeholder` (true while the
probabilities are placeholders); other keys are kept).

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

import atexit
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import analysis
from analysis import config
from analysis.data.applicants import iter_applicants
from analysis.data.files import TEMP_NAME, write_text
from analysis.data.programs import load_programs
from analysis.errors import DataValidationError, file_problem

STATE_DIR = ".imgmatch"
PARAMETERS = ("applicant_file", "programs_file", "as_of")
DEFAULT_TIMEOUT_SECONDS = 120.0
_STATE_FORMAT = 1


# --------------------------------------------------------------------------- contracts


Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class ReportSummary(BaseModel):
    """What the template's `summary` cell displays, for the index (other keys are kept)."""

    model_config = ConfigDict(extra="allow")

    applicant_id: str
    name: str
    target_specialties: list[str] = Field(default_factory=list)
    p_match: dict[str, Probability | None] = Field(default_factory=dict)
    p_match_any: Probability | None = None
    rotations: int | None = Field(default=None, ge=0)
    data_sources: Any = None
    placeholder: bool = False


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
class ReportRecord:
    """The outcome for one applicant in this run."""

    label: str
    applicant_id: str | None
    status: str  # "written" (rendered now), "unchanged" (skipped), "failed"
    summary: dict[str, Any] | None = None
    seconds: float | None = None
    stage: str | None = None
    message: str | None = None
    detail: str | None = None
    problems: list[dict[str, Any]] | None = None

    def error_record(self) -> dict[str, Any]:
        """The `errors.json` entry of a failed applicant."""
        record: dict[str, Any] = {
            "label": self.label,
            "applicant_id": self.applicant_id,
            "stage": self.stage,
            "message": self.message,
        }
        if self.detail:
            record["detail"] = self.detail
        if self.problems:
            record["problems"] = self.problems
        return record


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


# --------------------------------------------------------------------------- hashing and state


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical_profile_json(profile: Any) -> str:
    """The profile as canonical JSON (sorted keys, no spaces): equal profiles, equal text."""
    data = profile.model_dump(mode="json") if hasattr(profile, "model_dump") else profile
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def inputs_hash(
    profile_json: str, programs_sha256: str, template_sha256: str, version: str, as_of: str
) -> str:
    """sha256 over everything a report depends on; a report is redone when this changes.

    Each part is length-prefixed so that no two different inputs can concatenate alike.
    """
    digest = hashlib.sha256()
    for part in (
        f"imgmatch-report-v{_STATE_FORMAT}",
        profile_json,
        programs_sha256,
        template_sha256,
        version,
        as_of,
    ):
        data = part.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


OUTPUT_NAMES = frozenset({"index", "errors", "cohort"})
"""Names the output folder uses for itself (index.html, errors.json, cohort.csv)."""
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"{port}{n}" for port in ("com", "lpt") for n in range(10)}
)
"""Device names Windows reserves, with any extension (`con.html` cannot be a file there)."""


def report_stem(applicant_id: str) -> str:
    """The file name, without extension, of an applicant's report, state and profile copy.

    The id itself, except for ids the output folder or Windows would misread: `index`,
    `errors`, `cohort` (any case) and Windows device names, which Windows reserves whatever
    follows the first dot (`CON`, `nul.x`, `COM1`...), get `~report` before their first dot
    (`index~report.html`, `nul~report.x.html`). Ids never contain `~`, so no two ids share
    a file name; ids that differ only by case are refused by the batch (`_jobs`), since
    Windows and macOS treat their files as one.
    """
    base, dot, rest = applicant_id.partition(".")
    if applicant_id.lower() in OUTPUT_NAMES or base.lower() in WINDOWS_RESERVED:
        return f"{base}~report{dot}{rest}"
    return applicant_id


def state_path(out_dir: Path, applicant_id: str) -> Path:
    """Where the state of one applicant's report is kept."""
    return out_dir / STATE_DIR / "state" / f"{report_stem(applicant_id)}.json"


def report_path(out_dir: Path, applicant_id: str) -> Path:
    """Where one applicant's report is written."""
    return out_dir / f"{report_stem(applicant_id)}.html"


def report_href(applicant_id: str) -> str:
    """The index's link to an applicant's report (relative, percent-encoded)."""
    from urllib.parse import quote

    return quote(f"{report_stem(applicant_id)}.html")


def read_state(out_dir: Path, applicant_id: str) -> dict[str, Any] | None:
    """The saved state of a report, or None when missing or unreadable (then it is redone)."""
    try:
        state = json.loads(state_path(out_dir, applicant_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
        return None
    # on a case-insensitive file system, `Amira`'s state file is also `amira`'s
    return state if state.get("applicant_id") == applicant_id else None


def is_up_to_date(out_dir: Path, applicant_id: str, digest: str) -> dict[str, Any] | None:
    """The saved state when the report can be skipped (same inputs, succeeded, HTML present)."""
    state = read_state(out_dir, applicant_id)
    if (
        state is None
        or state.get("status") != "ok"
        or state.get("inputs_hash") != digest
        or not isinstance(state.get("summary"), dict)
        or not report_path(out_dir, applicant_id).is_file()
    ):
        return None
    try:
        ReportSummary.model_validate(state["summary"])
    except ValidationError:
        return None
    return state


def safe_json_text(value: Any, *, indent: int | None = 2) -> str:
    """JSON for files people and browsers open: `<`, `>`, `&`, U+2028/9 escaped (still JSON)."""
    text = json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text + "\n"


def write_errors(out_dir: Path, records: Sequence[ReportRecord]) -> Path:
    """Write `errors.json`: one record per failed applicant (an empty list when none)."""
    path = out_dir / "errors.json"
    write_text(path, safe_json_text([r.error_record() for r in records if r.status == "failed"]))
    return path


def remove_stale_temp_files(out_dir: Path) -> int:
    """Delete temporary files an earlier, killed run left (`.name.1a2b3c4d.tmp.ext`)."""
    removed = 0
    for folder in (out_dir, out_dir / STATE_DIR / "state", out_dir / STATE_DIR / "applicants"):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.is_file() and TEMP_NAME.match(path.name):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
    return removed


class OutputFolderError(ValueError):
    """The output folder cannot hold reports (it is a file, read-only...); nothing was written."""


def prepare_output_folder(out_dir: Path) -> None:
    """Create the output folder and its state folders, and check that each is writable.

    Raises:
        OutputFolderError: `out_dir` or one of its parents is a file, or a folder cannot be
            created or written (read-only, no permission, `.imgmatch` is a file...).
    """
    existing = next((p for p in (out_dir, *out_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        if existing == out_dir:
            raise OutputFolderError(f"{out_dir} is a file; --out needs a folder")
        raise OutputFolderError(f"{out_dir} cannot be created: {existing} is a file, not a folder")
    state = out_dir / STATE_DIR
    for folder in (out_dir, state, state / "state", state / "applicants"):
        if folder.exists() and not folder.is_dir():
            raise OutputFolderError(
                f"{folder} is a file, but imgmatch keeps its state in a folder of that name; "
                "move the file away or choose another --out"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, probe = tempfile.mkstemp(dir=folder, prefix=".imgmatch-probe-")
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise OutputFolderError(f"cannot write in {folder} ({reason})") from None


@contextlib.contextmanager
def _batch_lock(out_dir: Path) -> Iterator[None]:
    """One batch per output folder at a time (released by the OS even if the process dies)."""
    import fcntl

    lock_file = out_dir / STATE_DIR / "lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_file.open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataValidationError(
                [
                    file_problem(
                        str(out_dir),
                        "another `imgmatch report` is writing to this "
                        "folder; wait for it to finish or choose another --out",
                    )
                ]
            ) from None
        yield
    finally:
        handle.close()


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


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class RenderJob:
    """One report to render (picklable: it travels to Dask workers)."""

    applicant_id: str
    label: str
    name: str
    profile_json: str
    inputs_hash: str
    applicant_file: str | None = None  # written by the runner (local); workers write their own


@dataclass(frozen=True)
class RenderSettings:
    """What every report of a batch shares (picklable)."""

    as_of: str
    timeout: float
    programs_name: str
    programs_sha256: str
    template_name: str
    version: str
    generated_at: dt.datetime

    def provenance(self) -> dict[str, Any]:
        """What every page states about how it was made (report footer, index header)."""
        return {
            "generated_at": self.generated_at,
            "version": self.version,
            "as_of": self.as_of,
            "programs_file": self.programs_name,
            "programs_sha256": self.programs_sha256,
            "template": self.template_name,
        }


@dataclass(frozen=True)
class RenderResult:
    """What a worker sends back: the HTML and summary, or the failure."""

    applicant_id: str
    ok: bool
    seconds: float
    html: str | None = None
    summary: dict[str, Any] | None = None
    stage: str | None = None
    message: str | None = None
    detail: str | None = None


@dataclass
class RenderContext:
    """A worker's view of the batch: the template, the program file path, its kernels."""

    template_nb: Any
    programs_file: str
    settings: RenderSettings
    pool: Any  # analysis.report.kernel.KernelPool


def render_one(job: RenderJob, context: RenderContext) -> RenderResult:
    """Run the template for one applicant on this thread's warm kernel and export the HTML.

    Never raises for a problem of the report itself: failures come back as a `RenderResult`
    with a stage and a message.
    """
    from analysis.report.html import Footer, export_report, prepare_notebook
    from analysis.report.kernel import NotebookRunError

    started = time.perf_counter()

    def failed(stage: str, message: str, detail: str | None = None) -> RenderResult:
        return RenderResult(
            job.applicant_id,
            False,
            time.perf_counter() - started,
            stage=stage,
            message=message,
            detail=detail,
        )

    settings = context.settings
    parameters = {
        "applicant_file": job.applicant_file,
        "programs_file": context.programs_file,
        "as_of": settings.as_of,
    }
    try:
        kernel = context.pool.kernel()
        executed = kernel.run(context.template_nb, parameters, settings.timeout)
    except NotebookRunError as error:
        return failed(error.stage, error.message, error.detail)
    except Exception as error:  # papermill or nbformat choking on an output, etc.
        return failed("execute", f"{type(error).__name__}: {error}")
    try:
        shown, raw_summary = prepare_notebook(executed)
        summary = _checked_summary(raw_summary, job.applicant_id)
        title = f"{summary.name} · imgmatch report"
        footer = Footer(**settings.provenance())
        html = export_report(shown, title=title, footer=footer)
    except _SummaryError as error:
        return failed("summary", str(error))
    except Exception as error:
        return failed("export", f"{type(error).__name__}: {error}")
    return RenderResult(
        job.applicant_id,
        True,
        time.perf_counter() - started,
        html=html,
        summary=summary.model_dump(mode="json"),
    )


class _SummaryError(ValueError):
    pass


def _checked_summary(raw: Any, applicant_id: str) -> ReportSummary:
    from analysis.report.html import SUMMARY_MIMETYPE, SUMMARY_TAG

    if raw is None:
        raise _SummaryError(
            f"the template displayed no summary: its last code cell (tagged {SUMMARY_TAG!r}) "
            f"must display one output of mimetype {SUMMARY_MIMETYPE}"
        )
    try:
        summary = ReportSummary.model_validate(raw)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(summary)'}: {e['msg']}"
            for e in error.errors()
        )
        raise _SummaryError(f"the template's summary is invalid: {details}") from None
    if summary.applicant_id != applicant_id:
        raise _SummaryError(
            f"the template's summary is for applicant_id {summary.applicant_id!r}, "
            f"not {applicant_id!r}"
        )
    return summary


# --------------------------------------------------------------------------- backends

OnResult = Callable[[RenderResult], None]


def _run_local(
    jobs: Sequence[RenderJob], context: RenderContext, workers: int, on_result: OnResult
) -> None:
    """Render on `workers` threads, each with its own warm kernel."""
    from analysis.report.kernel import KernelPool  # noqa: F401  (context.pool is one)

    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="imgmatch-report"
    )
    futures: set[concurrent.futures.Future[RenderResult]] = set()
    try:
        futures = {executor.submit(render_one, job, context) for job in jobs}
        pending = set(futures)
        while pending:
            done, pending = concurrent.futures.wait(
                pending, timeout=0.5, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in done:
                on_result(future.result())
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        context.pool.kill_all()  # running notebooks fail within a second
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        context.pool.shutdown()


# Dask: the worker side keeps one context per (program table, template, settings) and one
# kernel pool per worker process, until the client asks to shut them down.
_WORKER_LOCK = threading.Lock()
_WORKER: dict[str, Any] = {}


@dataclass(frozen=True)
class _Blob:
    name: str
    data: bytes
    sha256: str


def _worker_context(programs: _Blob, template: _Blob, settings: RenderSettings) -> RenderContext:
    import nbformat

    from analysis.report.kernel import KernelPool

    key = (programs.sha256, template.sha256, settings)
    with _WORKER_LOCK:
        contexts = _WORKER.setdefault("contexts", {})
        if key in contexts:
            return contexts[key]
        if "dir" not in _WORKER:
            _WORKER["dir"] = Path(tempfile.mkdtemp(prefix="imgmatch-worker-"))
        root: Path = _WORKER["dir"]
        folder = root / f"{programs.sha256[:16]}-{template.sha256[:16]}"
        (folder / "applicants").mkdir(parents=True, exist_ok=True)
        programs_file = folder / programs.name
        programs_file.write_bytes(programs.data)
        (folder / template.name).write_bytes(template.data)
        if "pool" not in _WORKER:
            _WORKER["pool"] = KernelPool(cwd=root)
            atexit.register(_shutdown_worker)  # the client normally asks first
        context = RenderContext(
            template_nb=nbformat.reads(template.data.decode("utf-8"), as_version=4),
            programs_file=str(programs_file),
            settings=settings,
            pool=_WORKER["pool"],
        )
        contexts[key] = context
        return context


def _render_on_worker(
    job: RenderJob, programs: _Blob, template: _Blob, settings: RenderSettings
) -> RenderResult:
    """A Dask task: write the applicant file locally, render, return HTML and summary."""
    context = _worker_context(programs, template, settings)
    folder = Path(context.programs_file).parent / "applicants"
    applicant_file = folder / f"{report_stem(job.applicant_id)}.json"
    applicant_file.write_text(job.profile_json, encoding="utf-8")
    return render_one(dataclasses.replace(job, applicant_file=str(applicant_file)), context)


def _shutdown_worker() -> int:
    """Shut this worker's kernels down and remove its files (run on every worker at the end)."""
    with _WORKER_LOCK:
        pool = _WORKER.pop("pool", None)
        folder = _WORKER.pop("dir", None)
        _WORKER.pop("contexts", None)
    count = 0
    if pool is not None:
        count = pool.size
        pool.shutdown()
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    return count


def _kill_worker_kernels() -> int:
    """Kill this worker's kernels now (Ctrl-C on the client)."""
    with _WORKER_LOCK:
        pool = _WORKER.get("pool")
    if pool is None:
        return 0
    pool.kill_all()
    return pool.size


def _run_dask(
    jobs: Sequence[RenderJob],
    scheduler: str,
    programs: _Blob,
    template: _Blob,
    settings: RenderSettings,
    on_result: OnResult,
) -> int:
    """Render on a Dask cluster; return the number of worker threads."""
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - depends on the install
        raise DataValidationError(
            [file_problem(None, "--scheduler needs Dask: pip install 'imgmatch[dask]'")]
        ) from None
    try:
        client = Client(scheduler, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise DataValidationError(
            [file_problem(None, f"cannot reach the Dask scheduler at {scheduler!r}: {error}")]
        ) from None
    threads = sum(client.nthreads().values()) or 1
    futures: list[Any] = []
    try:
        programs_ref, template_ref = client.scatter([programs, template], broadcast=True)
        futures = [
            client.submit(
                _render_on_worker,
                job,
                programs_ref,
                template_ref,
                settings,
                key=f"imgmatch-report-{job.applicant_id}-{job.inputs_hash[:12]}",
                pure=False,
            )
            for job in jobs
        ]
        by_key = {future.key: job for future, job in zip(futures, jobs, strict=True)}
        for future in as_completed(futures, loop=client.loop):
            job = by_key[future.key]
            try:
                result = future.result()
            except Exception as error:  # lost worker, serialization...
                result = RenderResult(
                    job.applicant_id,
                    False,
                    0.0,
                    stage="worker",
                    message=f"{type(error).__name__}: {error}",
                )
            on_result(result)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures, force=True)
        with contextlib.suppress(Exception):
            client.run(_kill_worker_kernels)
        raise
    finally:
        with contextlib.suppress(Exception):
            client.run(_shutdown_worker)
        client.close()
    return threads


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
        with _batch_lock(out_dir), _sigterm_as_interrupt():
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
        workers = _run_dask(
            only_jobs,
            options.scheduler,
            _Blob(path.name, path.read_bytes(), inputs.programs_sha),
            _Blob(inputs.template.name, inputs.template.data, inputs.template.sha256),
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
    _run_local(only_jobs, context, workers, on_result)
    return workers, "local"


def store_result(
    out_dir: Path, job: RenderJob, result: RenderResult, as_of: str, version: str
) -> ReportRecord:
    """Write the report, then its state (both atomically); return the applicant's record."""
    finished = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    state: dict[str, Any] = {
        "format": _STATE_FORMAT,
        "applicant_id": job.applicant_id,
        "label": job.label,
        "inputs_hash": job.inputs_hash,
        "as_of": as_of,
        "version": version,
        "finished_at": finished,
        "seconds": round(result.seconds, 4),
    }
    if result.ok and result.html is not None:
        try:
            write_text(report_path(out_dir, job.applicant_id), result.html)
        except OSError as error:
            result = dataclasses.replace(
                result, ok=False, stage="write", message=f"could not write the report: {error}"
            )
    if result.ok:
        state.update(status="ok", summary=result.summary)
        write_text(state_path(out_dir, job.applicant_id), safe_json_text(state))
        return ReportRecord(
            job.label, job.applicant_id, "written", summary=result.summary, seconds=result.seconds
        )
    previous = read_state(out_dir, job.applicant_id)
    still_valid = (
        previous is not None
        and previous.get("status") == "ok"
        and previous.get("inputs_hash") == job.inputs_hash
    )
    if not still_valid:  # a forced re-run that failed keeps the report it could not improve
        # the report on disk (if any) describes older inputs: do not leave it looking current
        with contextlib.suppress(FileNotFoundError):
            report_path(out_dir, job.applicant_id).unlink()
        state.update(status="failed", stage=result.stage, message=result.message)
        write_text(state_path(out_dir, job.applicant_id), safe_json_text(state))
    return ReportRecord(
        job.label,
        job.applicant_id,
        "failed",
        seconds=result.seconds,
        stage=result.stage,
        message=result.message,
        detail=result.detail,
    )


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
