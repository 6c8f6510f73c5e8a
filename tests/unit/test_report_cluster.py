"""`imgmatch report --scheduler` on a Dask cluster started the way the README tells users.

A scheduler and a worker with two worker processes run as separate processes (`dask
scheduler`, `dask worker ADDRESS --nworkers 2`), on free ports of this machine, and
`imgmatch report` runs as a third process. Nothing in the test process is a Dask client
while the batch runs, so the batch cannot lean on a default client (it once did, and ended
in "ValueError: No clients found" on every real cluster).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_report_batch import FIXTURES, PROGRAMS, TEMPLATE, write_applicants

pytestmark = pytest.mark.slow

DASK = Path(sys.executable).with_name("dask")
IMGMATCH = [sys.executable, "-m", "analysis.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the scheduler exited with {process.returncode}"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group we started (the worker's nanny and its workers), then KILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """`dask scheduler` and `dask worker ADDRESS --nworkers 2`, as separate processes."""
    pytest.importorskip("distributed")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "cluster-logs"
    logs.mkdir()
    started: list[subprocess.Popen] = []
    try:
        scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--dashboard-address", f"127.0.0.1:{free_port()}", "--no-show"],
            stdout=subprocess.DEVNULL, stderr=(logs / "scheduler.log").open("w"),
            start_new_session=True,
        )  # fmt: skip
        started.append(scheduler)
        wait_for_port(port, scheduler)
        worker = subprocess.Popen(
            [DASK, "worker", address, "--nworkers", "2", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=(logs / "worker.log").open("w"),
            start_new_session=True, cwd=tmp_path,
        )  # fmt: skip
        started.append(worker)
        wait_for_workers(address, 2)
        yield address
    finally:
        for process in reversed(started):
            stop(process)


def wait_for_workers(address: str, count: int, timeout: float = 90) -> None:
    """Ask the scheduler how many workers it has, from a short-lived process."""
    code = (
        "import sys; from distributed import Client; "
        f"c = Client({address!r}, timeout='30s', set_as_default=False); "
        f"c.wait_for_workers({count}, timeout={timeout}); c.close()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=timeout + 30)


def test_report_on_a_separately_started_cluster(tmp_path: Path, cluster: str) -> None:
    applicants = write_applicants(tmp_path / "applicants", {"c1": "ok", "c2": "raise", "c3": "ok"})
    out = tmp_path / "out"
    done = subprocess.run(
        [*IMGMATCH, "report", "--scheduler", cluster, "--programs", str(PROGRAMS), "--out",
         str(out), "--template", str(TEMPLATE), str(applicants)],
        capture_output=True, text=True, timeout=600, cwd=FIXTURES,
    )  # fmt: skip
    assert "Traceback" not in done.stderr and "No clients found" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout + done.stderr  # c2's notebook raises
    assert "3 applicants: 2 written" in done.stdout
    assert f"dask ({cluster}), 2 worker threads" in done.stdout
    for applicant_id in ("c1", "c3"):
        html = (out / f"{applicant_id}.html").read_text(encoding="utf-8")
        assert html.rstrip().endswith("</html>")
    [failure] = json.loads((out / "errors.json").read_text(encoding="utf-8"))
    assert failure["applicant_id"] == "c2" and failure["stage"] == "execute"
