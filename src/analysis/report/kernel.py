"""Warm Jupyter kernels for batch reports: one kernel per worker, reused notebook after notebook.

Method: a report template that computes for 0.1-0.3 s would otherwise pay papermill's
per-notebook kernel start (about 0.65 s), its shutdown (0.3 s) and the template's imports
(polars, altair, analysis: 1-2 s) every time. A `WarmKernel` starts one IPython kernel and one
client, then runs notebook after notebook on them through papermill, with the `imgmatch-warm`
engine: papermill's own nbclient engine, handed the running kernel and client instead of
starting its own (parameter injection, error markers and `PapermillExecutionError` are
papermill's). Before each notebook the kernel is reset in place (`kernel_reset`, run inside the
kernel): `%reset -f`, then the working directory, `sys.path`, environment variables, warnings
filters, the display options of polars and pandas, and Altair's renderer, data transformer and
theme go back to what they were when the kernel started. Imported modules stay imported: that
is the point.

Failures: a watchdog thread gives each notebook `timeout` seconds; then it interrupts the
kernel (SIGINT to its process group) and, if the notebook has not stopped `grace` seconds
later, kills it. A kernel that died or timed out is replaced before the next notebook, so one
bad applicant never poisons the next. Every failure surfaces as `NotebookRunError` with a
stage (`execute`, `timeout`, `kernel`) and a message meant for people.

Inputs: a notebook (nbformat node) and its parameters. Output: the executed notebook.

Limits: isolation is per namespace, not per process. Module-level state of imported libraries
other than those listed above (a cache inside a package, a monkeypatch) survives from one
notebook to the next on the same worker; templates must not mutate library state. The kernel
runs the interpreter that runs the batch (`sys.executable`), whatever kernelspecs the user
has installed, so it always sees the same `analysis` package.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

KERNEL_NAME = "imgmatch-python"
ENGINE_NAME = "imgmatch-warm"
DEFAULT_GRACE_SECONDS = 3.0
"""How long an interrupted notebook gets to stop before its kernel is killed."""

_STARTUP_TIMEOUT = 60.0
_RESET_TIMEOUT = 30.0
_LOG_TAIL_CHARS = 1500


class NotebookRunError(RuntimeError):
    """A notebook did not run to the end: which stage failed and why, for people.

    Attributes:
        stage: `execute` (a cell raised), `timeout` (over the time limit), or `kernel`
            (the kernel died or could not start).
        message: one line or a few, with the cell and the exception.
        detail: the traceback or the kernel's last output, for `errors.json`.
    """

    def __init__(self, stage: str, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.detail = detail


# --------------------------------------------------------------------------- inside the kernel
# These two functions run *inside* the kernel (the runner executes a one-line call). They use
# only the standard library at import time so that importing this module in a kernel is cheap.

_BASELINE: dict[str, Any] = {}


def kernel_capture_baseline() -> None:
    """Record the state that `kernel_reset` restores (run once, right after kernel start).

    Also imports Altair and enables the report renderer, so charts are plain vega-lite JSON
    outputs from the first notebook on (see `analysis.report.html.enable_chart_renderer`).
    Everything alive now is moved to gc's permanent generation (`gc.freeze`), so the full
    collection that `%reset` runs stays cheap.
    """
    import gc
    import warnings

    from analysis.report.html import enable_chart_renderer

    enable_chart_renderer()
    _BASELINE.update(
        cwd=os.getcwd(),
        path=list(sys.path),
        environ=dict(os.environ),
        warnings=list(warnings.filters),
    )
    gc.collect()
    gc.freeze()


def kernel_reset() -> None:
    """Give the next notebook a clean kernel: namespace, cwd, sys.path, env, display options."""
    import gc
    import warnings

    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        # `%reset -f` ends with a full gc.collect(); with everything that survived the last
        # reset frozen (below), it scans only what the last notebook created: 1 ms, not 100.
        shell.run_line_magic("reset", "-f")
        shell.execution_count = 1
    gc.freeze()
    if not _BASELINE:  # pragma: no cover - the runner always captures first
        return
    os.chdir(_BASELINE["cwd"])
    sys.path[:] = _BASELINE["path"]
    if dict(os.environ) != _BASELINE["environ"]:
        os.environ.clear()
        os.environ.update(_BASELINE["environ"])
    warnings.filters[:] = _BASELINE["warnings"]
    warnings._filters_mutated()  # type: ignore[attr-defined]  # invalidate the filter cache
    if "polars" in sys.modules:
        sys.modules["polars"].Config.restore_defaults()
    if "pandas" in sys.modules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # display options only: resetting "all" re-runs callbacks that import matplotlib
            sys.modules["pandas"].reset_option("display")
    from analysis.report.html import enable_chart_renderer

    enable_chart_renderer()


# --------------------------------------------------------------------------- in the runner


@functools.cache
def _spec_manager_class() -> type:
    """A KernelSpecManager whose only kernel is this interpreter's ipykernel."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel

    class _SameInterpreterSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            if kernel_name != KERNEL_NAME:
                raise NoSuchKernel(kernel_name)
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="Python (imgmatch reports)",
                language="python",
                interrupt_mode="signal",
                metadata={"debugger": False},
            )

    return _SameInterpreterSpecs


@functools.cache
def _quiet_logger() -> logging.Logger:
    """nbclient's logger during batches: its messages ("Kernel died...") become our errors."""
    logger = logging.getLogger("analysis.report.kernel.nbclient")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    return logger


@functools.cache
def register_engine() -> str:
    """Register the `imgmatch-warm` papermill engine (idempotent); return its name."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class WarmKernelEngine(NBClientEngine):
        """papermill's nbclient engine, run on an already started kernel and client."""

        @classmethod
        def execute_managed_notebook(  # type: ignore[override]
            cls,
            nb_man: Any,
            kernel_name: str,
            *,
            warm_kernel: WarmKernel,
            log_output: bool = False,
            start_timeout: float = _STARTUP_TIMEOUT,
            **_ignored: Any,
        ) -> Any:
            client = PapermillNotebookClient(
                nb_man,
                km=warm_kernel.km,
                kernel_name=kernel_name,
                timeout=None,  # the WarmKernel watchdog owns the time limit
                startup_timeout=int(start_timeout),
                log=_quiet_logger(),
                log_output=log_output,
            )
            client.kc = warm_kernel.kc  # reuse: a new client costs 0.2 s of IOPub flushing
            return client.execute()

    papermill_engines.register(ENGINE_NAME, WarmKernelEngine)
    # papermill warns per notebook about parameters the template does not declare; the
    # runner checks the template once up front and says so once (analysis.report).
    logging.getLogger("papermill").addHandler(logging.NullHandler())
    return ENGINE_NAME


def _execute_with_papermill(nb: Any, parameters: dict[str, Any], kernel: WarmKernel) -> Any:
    """`papermill.execute_notebook`'s steps for an in-memory notebook and no output file.

    The same papermill functions in the same order (load, inject the parameters, prepare the
    metadata, run through the engine, raise `PapermillExecutionError` for a failed cell),
    minus the final `write_ipynb`, which serialises the whole executed notebook to JSON even
    when there is no output path: 0.1-0.15 s of CPU per report with a chart-heavy template.
    """
    from papermill.engines import papermill_engines
    from papermill.execute import (
        prepare_notebook_metadata,
        raise_for_execution_errors,
        remove_error_markers,
    )
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    engine = register_engine()
    language = nb.metadata.get("kernelspec", {}).get("language") or "python"
    prepared = parameterize_notebook(
        load_notebook_node(nb),  # a copy with papermill's metadata defaults (small: no outputs)
        parameters,
        kernel_name=KERNEL_NAME,
        language=language,
        engine_name=engine,
    )
    prepared = remove_error_markers(prepare_notebook_metadata(prepared, "<template>", None))
    executed = papermill_engines.execute_notebook_with_engine(
        engine,
        prepared,
        kernel_name=KERNEL_NAME,
        input_path=None,
        output_path=None,
        progress_bar=False,
        log_output=False,
        warm_kernel=kernel,
    )
    raise_for_execution_errors(executed, None)
    return executed


class WarmKernel:
    """One IPython kernel and client, reused for many notebooks by one thread.

    The kernel is started, reset and run from the thread that owns it (its asynchronous
    client lives on that thread's event loop, as nbclient expects: with a blocking client
    nbclient cannot notice a dead kernel). `kill` and `shutdown` only send signals and close
    files, so they are safe from any thread.

    Args:
        cwd: working directory of the kernel (the template's folder, so relative paths in the
            template resolve as they do in JupyterLab).
        log_dir: folder for the kernel's own stdout/stderr (kept out of the terminal; its tail
            is quoted when the kernel dies).
        grace: seconds between interrupt and kill when a notebook is over its time.
    """

    def __init__(self, cwd: Path, log_dir: Path, grace: float = DEFAULT_GRACE_SECONDS) -> None:
        self.cwd = Path(cwd)
        self.log_dir = Path(log_dir)
        self.grace = grace
        self.km: Any = None
        self.kc: Any = None
        self._log_path: Path | None = None
        self._lock = threading.Lock()  # guards the process against the watchdog and kill()
        self._closed = False

    # ---- lifecycle

    def start(self) -> None:
        """Start the kernel and its client and record the reset baseline (about 1-2 s)."""
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        with self._lock:
            if self._closed:
                raise NotebookRunError("kernel", "the batch is shutting down")
            self.log_dir.mkdir(parents=True, exist_ok=True)
            handle, log_name = tempfile.mkstemp(prefix="kernel-", suffix=".log", dir=self.log_dir)
            self._log_path = Path(log_name)
            km = AsyncKernelManager(
                kernel_name=KERNEL_NAME, kernel_spec_manager=_spec_manager_class()()
            )
            env = dict(os.environ)
            env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # no debugger warning on stderr
            try:
                with os.fdopen(handle, "wb") as log:
                    run_sync(km.start_kernel)(
                        cwd=str(self.cwd),
                        env=env,
                        stdout=log,
                        stderr=log,
                        extra_arguments=["--HistoryManager.hist_file=:memory:"],
                    )
            except Exception as error:
                raise NotebookRunError("kernel", f"could not start a kernel: {error}") from error
            self.km = km
        kc = km.client()
        kc.start_channels()
        self.kc = kc
        try:
            run_sync(kc.wait_for_ready)(timeout=_STARTUP_TIMEOUT)
        except RuntimeError as error:
            detail = self._log_tail()
            self._stop()
            raise NotebookRunError("kernel", f"the kernel did not start: {error}", detail) from None
        self._run_internal(
            "import analysis.report.kernel as _imgmatch_rk\n"
            "_imgmatch_rk.kernel_capture_baseline()\n"
            "del _imgmatch_rk"
        )

    @property
    def started(self) -> bool:
        """Whether a live kernel is attached."""
        return self.km is not None and self.kc is not None and self._alive()

    def shutdown(self) -> None:
        """Stop the kernel for good (from any thread) and remove its log."""
        with self._lock:
            self._closed = True
        self._stop()

    def kill(self) -> None:
        """Kill the kernel's process group now (from any thread); the running notebook fails."""
        with self._lock:
            self._closed = True
            self._signal(signal.SIGKILL)

    def _stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL), close the client, remove files.

        No graceful shutdown request: it would need the client's event loop, which belongs
        to the owning thread, and an IPython kernel keeps nothing worth saving (its history
        is in memory).
        """
        from jupyter_core.utils import run_sync

        kc, km = self.kc, self.km
        self.kc = self.km = None
        if kc is not None:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        if km is not None:
            process = getattr(getattr(km, "provisioner", None), "process", None)
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=2)
                except Exception:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, signal.SIGKILL)
                    with contextlib.suppress(Exception):
                        process.wait(timeout=5)
            with contextlib.suppress(Exception):
                run_sync(km.cleanup_resources)()
        if self._log_path is not None:
            with contextlib.suppress(OSError):
                self._log_path.unlink()
            self._log_path = None

    # ---- running notebooks

    def run(self, nb: Any, parameters: dict[str, Any], timeout: float) -> Any:
        """Execute `nb` with papermill `parameters` on this kernel, within `timeout` seconds.

        Returns:
            The executed notebook (a new node; `nb` is not modified).

        Raises:
            NotebookRunError: a cell raised (`execute`), the time ran out (`timeout`), or the
                kernel died (`kernel`). After `timeout` or `kernel` the kernel is replaced
                before the next notebook.
        """
        from nbclient.exceptions import DeadKernelError
        from papermill.exceptions import PapermillExecutionError

        if not self.started:
            if self.km is not None:  # died since the last notebook
                self._stop()
            self.start()
        self._run_internal(
            "import analysis.report.kernel as _imgmatch_rk\n_imgmatch_rk.kernel_reset()"
        )
        timed_out = threading.Event()
        watchdog = _Watchdog(
            timeout,
            self.grace,
            on_interrupt=self._interrupt,
            on_kill=self._kill_for_timeout,
            fired=timed_out,
        )
        started = time.perf_counter()
        try:
            with watchdog:
                executed = _execute_with_papermill(nb, parameters, self)
        except PapermillExecutionError as error:
            if timed_out.is_set():
                raise self._timeout_error(timeout, error) from None
            raise NotebookRunError(
                "execute", _describe_cell_error(error), _strip_ansi("\n".join(error.traceback))
            ) from None
        except Exception as error:
            if timed_out.is_set():
                raise self._timeout_error(timeout, None) from None
            if isinstance(error, DeadKernelError) or not self._alive():
                detail = self._log_tail()
                code = self._exit_code()
                self._replace_after_failure()
                shown = f" (exit code {code})" if code is not None else ""
                raise NotebookRunError(
                    "kernel",
                    f"the kernel died while running the notebook{shown}, after "
                    f"{time.perf_counter() - started:.1f} s",
                    detail,
                ) from None
            raise NotebookRunError("execute", f"{type(error).__name__}: {error}") from None
        if timed_out.is_set():  # finished just as the watchdog fired: start clean next time
            self._replace_after_failure()
        return executed

    # ---- internals

    def _run_internal(self, code: str) -> None:
        """Run runner-owned code silently (reset, baseline); a failure is a kernel failure."""
        from jupyter_core.utils import run_sync

        try:
            reply = run_sync(self.kc.execute_interactive)(
                code,
                silent=True,
                store_history=False,
                allow_stdin=False,
                timeout=_RESET_TIMEOUT,
                output_hook=lambda _msg: None,
            )
        except Exception as error:  # TimeoutError, dead kernel
            detail = self._log_tail()
            self._replace_after_failure()
            raise NotebookRunError(
                "kernel", f"the kernel did not respond to the reset: {error!r}", detail
            ) from None
        content = reply.get("content", {})
        if content.get("status") != "ok":
            raise NotebookRunError(
                "kernel",
                "resetting the kernel failed: "
                f"{content.get('ename', '?')}: {content.get('evalue', '')}",
                _strip_ansi("\n".join(content.get("traceback", []))),
            )

    def _timeout_error(self, timeout: float, error: Any) -> NotebookRunError:
        where = f" in cell {_cell_label(error)}" if error is not None else ""
        self._replace_after_failure()
        return NotebookRunError(
            "timeout",
            f"the report took longer than {timeout:g} s{where}; its kernel was interrupted, "
            "then replaced (raise --timeout if this applicant is just slow)",
        )

    def _replace_after_failure(self) -> None:
        """Drop the kernel now; the next `run` starts a fresh one (in the owning thread)."""
        self._stop()

    def _process(self) -> Any:
        provisioner = getattr(self.km, "provisioner", None)
        return getattr(provisioner, "process", None)

    def _alive(self) -> bool:
        process = self._process()
        return process is not None and process.poll() is None

    def _exit_code(self) -> int | None:
        process = self._process()
        return None if process is None else process.poll()

    def _signal(self, sig: int) -> None:
        process = self._process()
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)  # kernels run in their own session: pgid == pid

    def _interrupt(self) -> None:
        with self._lock:
            self._signal(signal.SIGINT)

    def _kill_for_timeout(self) -> None:
        with self._lock:
            self._signal(signal.SIGKILL)

    def _log_tail(self) -> str | None:
        if self._log_path is None:
            return None
        try:
            text = self._log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        lines = [
            line
            for line in text.splitlines()
            if "running over TCP without encryption" not in line and line.strip()
        ]
        tail = "\n".join(lines)[-_LOG_TAIL_CHARS:]
        return tail or None


class _Watchdog:
    """Interrupt after `timeout` seconds, kill `grace` seconds later (a context manager)."""

    def __init__(
        self,
        timeout: float,
        grace: float,
        *,
        on_interrupt: Callable[[], None],
        on_kill: Callable[[], None],
        fired: threading.Event,
    ) -> None:
        self.timeout = timeout
        self.grace = grace
        self.on_interrupt = on_interrupt
        self.on_kill = on_kill
        self.fired = fired
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="imgmatch-watchdog", daemon=True)

    def _watch(self) -> None:
        if self._done.wait(self.timeout):
            return
        self.fired.set()
        self.on_interrupt()
        if self._done.wait(self.grace):
            return
        self.on_kill()

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


class KernelPool:
    """One `WarmKernel` per thread, started on first use; shut down together.

    Threads of a `ThreadPoolExecutor` (local runs) or of a Dask worker each drive their own
    kernel, so N threads run N notebooks in parallel in N kernel processes.
    """

    def __init__(self, cwd: Path, grace: float = DEFAULT_GRACE_SECONDS) -> None:
        self.cwd = Path(cwd)
        self.grace = grace
        self._local = threading.local()
        self._kernels: list[WarmKernel] = []
        self._lock = threading.Lock()
        self._closing = False
        self.log_dir = Path(tempfile.mkdtemp(prefix="imgmatch-kernels-"))

    def kernel(self) -> WarmKernel:
        """The calling thread's kernel (started lazily by `WarmKernel.run`)."""
        kernel = getattr(self._local, "kernel", None)
        if kernel is None:
            with self._lock:
                if self._closing:
                    raise NotebookRunError("kernel", "the batch is shutting down")
                kernel = WarmKernel(self.cwd, self.log_dir, self.grace)
                self._kernels.append(kernel)
            self._local.kernel = kernel
        return kernel

    def kill_all(self) -> None:
        """Kill every kernel now (Ctrl-C): running notebooks fail within about a second."""
        with self._lock:
            self._closing = True
            kernels = list(self._kernels)
        for kernel in kernels:
            kernel.kill()

    def shutdown(self) -> None:
        """Shut every kernel down and remove the kernels' log folder."""
        with self._lock:
            self._closing = True
            kernels, self._kernels = list(self._kernels), []
        for kernel in kernels:
            kernel.shutdown()
        import shutil

        shutil.rmtree(self.log_dir, ignore_errors=True)

    @property
    def size(self) -> int:
        """How many kernels were started."""
        return len(self._kernels)


def _cell_label(error: Any) -> str:
    count = getattr(error, "exec_count", None)
    first = _first_code_line(getattr(error, "source", "") or "")
    label = f"[{count}]" if count is not None else "?"
    return f"{label}, which starts `{first}`" if first else label


def _first_code_line(source: str) -> str:
    for line in source.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped if len(stripped) <= 80 else stripped[:79] + "…"
    return ""


def _describe_cell_error(error: Any) -> str:
    evalue = str(getattr(error, "evalue", "") or "").strip()
    ename = getattr(error, "ename", "Error")
    text = f"{ename}: {evalue}" if evalue else str(ename)
    return f"{text} (in cell {_cell_label(error)})"


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
