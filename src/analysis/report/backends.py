"""Where reports render: one report on a warm kernel, on local threads or on a Dask cluster.

`render_one` runs the template for one applicant on this thread's warm kernel
(`analysis.report.kernel`, through papermill) and exports the HTML (`analysis.report.html`:
offline, code hidden, summary output removed). It never raises for a problem of the report
itself: a failure comes back as a `RenderResult` with a stage (`execute`, `timeout`,
`kernel`, `summary`, `export`) and a message.

The backends call `on_result` in the calling thread as each report finishes:
- `run_local`: `workers` threads, each driving its own warm kernel; on Ctrl-C the kernels
  are killed, so running notebooks stop within a second.
- `run_dask`: one task per report on a Dask cluster. The program table and the template are
  shipped once to every worker (`client.scatter`, as `Blob`s); each worker process keeps one
  context per (program table, template, settings) and one kernel pool until the client asks
  it to shut them down (or, on Ctrl-C, to kill them). A lost worker is a failure of that
  report (stage `worker`).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from analysis.errors import DataValidationError, file_problem
from analysis.report.outputs import RenderJob, RenderResult, ReportSummary, report_stem

# --------------------------------------------------------------------------- one report


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


def run_local(
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
class Blob:
    """A file shipped once to every Dask worker: its name, bytes and sha256."""

    name: str
    data: bytes
    sha256: str


def _worker_context(programs: Blob, template: Blob, settings: RenderSettings) -> RenderContext:
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
    job: RenderJob, programs: Blob, template: Blob, settings: RenderSettings
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


def run_dask(
    jobs: Sequence[RenderJob],
    scheduler: str,
    programs: Blob,
    template: Blob,
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
