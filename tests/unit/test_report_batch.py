"""The batch runner end to end, with real kernels: failures, isolation, resuming, signals, Dask.

The template `tests/fixtures/report/behaviour.ipynb` does what the applicant's `notes` say:
`raise`, `hang`, `die`, `nosummary`, `slow`, `leak` (and checks that nothing leaked from the
previous report on the same kernel). All tests here start kernels: marked slow.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from analysis.report.outputs import read_state
from analysis.report.runner import ReportOptions, run_reports

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "report"
TEMPLATE = FIXTURES / "behaviour.ipynb"
PROGRAMS = FIXTURES / "programs.csv"
IMGMATCH = [sys.executable, "-m", "analysis.cli"]


def write_applicants(folder: Path, behaviours: dict[str, str]) -> Path:
    """One YAML profile per applicant id, its behaviour in `notes`."""
    folder.mkdir(parents=True, exist_ok=True)
    match_year = dt.date.today().year + 1
    for applicant_id, behaviour in behaviours.items():
        (folder / f"{applicant_id}.yaml").write_text(
            f"applicant_id: {applicant_id}\n"
            f"name: 'Applicant {applicant_id}'\n"
            "visa_needed: j1\n"
            "graduation_year: 2022\n"
            "step2_score: 240\n"
            "target_specialties: [IM, FM]\n"
            f"match_year: {match_year}\n"
            f"notes: '{behaviour}'\n",
            encoding="utf-8",
        )
    return folder


def kernel_processes(parent: int | None = None) -> list[int]:
    """PIDs of running ipykernel processes (optionally: started by `parent`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"ipykernel_launcher" not in cmdline:
                continue
            if parent is not None:
                environ = (entry / "environ").read_bytes().split(b"\0")
                if f"JPY_PARENT_PID={parent}".encode() not in environ:
                    continue
            state = (entry / "stat").read_text().split(")")[-1].split()[0]
            if state != "Z":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_until(condition, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def temp_files(out: Path) -> list[str]:
    return [p.name for p in out.rglob("*") if ".tmp" in p.name]


def assert_reports_complete(out: Path, ids: Iterable[str]) -> None:
    for applicant_id in ids:
        html = (out / f"{applicant_id}.html").read_text(encoding="utf-8")
        assert html.rstrip().endswith("</html>"), f"{applicant_id}.html is incomplete"
        state = read_state(out, applicant_id)
        assert state is not None and state["status"] == "ok"


# --------------------------------------------------------------------------- failures


def test_failures_are_recorded_and_the_rest_completes(tmp_path: Path) -> None:
    applicants = write_applicants(
        tmp_path / "applicants",
        {
            "a_ok": "ok",
            "b_raise": "raise",
            "c_hang": "hang",
            "d_die": "die",
            "e_nosummary": "nosummary",
            "f_leak": "leak",
            "g_ok": "ok",
        },
    )
    (applicants / "z_bad.yaml").write_text("applicant_id: z_bad\nname: Z\nvisa_needed: maybe\n")
    out = tmp_path / "out"
    options = ReportOptions(
        programs=PROGRAMS,
        out_dir=out,
        sources=(applicants,),
        workers=1,  # one kernel, in file order: f_leak runs right before g_ok
        timeout=4,
        template=TEMPLATE,
    )
    result = run_reports(options)

    assert result.exit_code == 1
    assert {r.applicant_id for r in result.rendered} == {"a_ok", "f_leak", "g_ok"}
    stages = {r.label.rsplit("/", 1)[-1]: r.stage for r in result.failed}
    assert stages == {
        "b_raise.yaml": "execute",
        "c_hang.yaml": "timeout",
        "d_die.yaml": "kernel",
        "e_nosummary.yaml": "summary",
        "z_bad.yaml": "validate",
    }
    assert_reports_complete(out, ["a_ok", "f_leak", "g_ok"])
    for failed in ("b_raise", "c_hang", "d_die", "e_nosummary", "z_bad"):
        assert not (out / f"{failed}.html").exists()
    assert read_state(out, "c_hang")["status"] == "failed"

    errors = json.loads((out / "errors.json").read_text(encoding="utf-8"))
    by_label = {e["label"].rsplit("/", 1)[-1]: e for e in errors}
    assert "fixture asked to raise for b_raise" in by_label["b_raise.yaml"]["message"]
    assert "longer than 4 s" in by_label["c_hang.yaml"]["message"]
    assert "exit code 3" in by_label["d_die.yaml"]["message"]
    assert by_label["z_bad.yaml"]["applicant_id"] is None
    assert any(p["column"] == "visa_needed" for p in by_label["z_bad.yaml"]["problems"])

    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="a_ok.html"' in index and "fixture asked to raise" in index
    assert index.count('class="status status-failed"') == 5
    assert temp_files(out) == []
    assert kernel_processes(os.getpid()) == [], "every kernel is shut down"


def test_unchanged_reports_are_skipped_and_force_redoes_them(tmp_path: Path) -> None:
    applicants = write_applicants(tmp_path / "applicants", {"a": "ok", "b": "ok", "c": "ok"})
    out = tmp_path / "out"
    options = ReportOptions(PROGRAMS, out, (applicants,), workers=2, template=TEMPLATE)
    first = run_reports(options)
    assert len(first.rendered) == 3 and first.workers == 2
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.html") if p.name != "index.html"}

    second = run_reports(options)
    assert len(second.skipped) == 3 and second.rendered == [] and second.exit_code == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("?.html")} == stamps
    assert (out / "index.html").read_text().count("status-unchanged") >= 3

    write_applicants(applicants, {"b": "ok v2"})
    third = run_reports(options)
    assert [r.applicant_id for r in third.rendered] == ["b"]

    forced = run_reports(ReportOptions(PROGRAMS, out, (applicants,), force=True, template=TEMPLATE))
    assert len(forced.rendered) == 3

    new_month = run_reports(
        ReportOptions(PROGRAMS, out, (applicants,), as_of=dt.date(2030, 1, 1), template=TEMPLATE)
    )
    assert len(new_month.rendered) == 3, "a new plan date is a new input"


def test_csv_rows_are_applicants_too(tmp_path: Path) -> None:
    match_year = dt.date.today().year + 1
    csv = tmp_path / "cohort.csv"
    csv.write_text(
        "applicant_id,name,visa_needed,graduation_year,step2_score,target_specialties,"
        "match_year,notes\n"
        f"r1,Row One,j1,2021,245,IM;FM,{match_year},ok\n"
        f"r2,Row Two,none,2019,232,PSYCH,{match_year},ok\n"
        f"r3,Row Three,sometimes,2019,232,PSYCH,{match_year},ok\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = run_reports(ReportOptions(PROGRAMS, out, (csv,), workers=2, template=TEMPLATE))
    assert {r.applicant_id for r in result.rendered} == {"r1", "r2"}
    assert [r.label for r in result.failed] == [f"{csv} row 4"]
    written = json.loads((out / ".imgmatch" / "applicants" / "r1.json").read_text())
    assert written["applicant_id"] == "r1" and written["target_specialties"] == ["IM", "FM"]
    assert_reports_complete(out, ["r1", "r2"])


# --------------------------------------------------------------------------- signals


def start_cli(out: Path, applicants: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*IMGMATCH, "report", "--programs", str(PROGRAMS), "--out", str(out),
         "--template", str(TEMPLATE), "--workers", "1", *extra, str(applicants)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def finished_reports(out: Path) -> list[str]:
    return sorted(p.stem for p in out.glob("*.html") if p.name != "index.html")


def test_a_killed_batch_leaves_no_half_report_and_resumes(tmp_path: Path) -> None:
    ids = [f"s{i}" for i in range(6)]
    applicants = write_applicants(tmp_path / "applicants", dict.fromkeys(ids, "slow"))
    out = tmp_path / "out"
    process = start_cli(out, applicants)
    assert wait_until(lambda: len(finished_reports(out)) >= 2, timeout=90), "no report came"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    done_before = finished_reports(out)
    assert 2 <= len(done_before) < len(ids)
    assert_reports_complete(out, done_before)  # every report on disk is whole, with state
    assert not (out / "index.html").exists()
    # the orphaned kernel notices its parent is gone and exits by itself
    assert wait_until(lambda: not kernel_processes(process.pid), timeout=15)

    resumed = subprocess.run(
        [*IMGMATCH, "report", "--programs", str(PROGRAMS), "--out", str(out),
         "--template", str(TEMPLATE), str(applicants)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{len(done_before)} unchanged (skipped)" in resumed.stdout
    assert finished_reports(out) == ids
    assert_reports_complete(out, ids)
    assert temp_files(out) == []


def test_ctrl_c_stops_cleanly_with_exit_130(tmp_path: Path) -> None:
    ids = [f"i{i}" for i in range(6)]
    applicants = write_applicants(tmp_path / "applicants", dict.fromkeys(ids, "slow"))
    out = tmp_path / "out"
    process = start_cli(out, applicants)
    assert wait_until(lambda: len(finished_reports(out)) >= 1, timeout=90), "no report came"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Interrupted" in stderr and "Traceback" not in stderr
    assert temp_files(out) == []
    assert_reports_complete(out, finished_reports(out))
    assert wait_until(lambda: not kernel_processes(process.pid), timeout=10)


# --------------------------------------------------------------------------- Dask


def test_a_dask_cluster_renders_and_the_client_writes(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    applicants = write_applicants(
        tmp_path / "applicants", {"d1": "ok", "d2": "raise", "d3": "ok", "d4": "ok"}
    )
    out = tmp_path / "out"
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        options = ReportOptions(
            PROGRAMS, out, (applicants,), scheduler=cluster.scheduler_address, template=TEMPLATE
        )
        result = run_reports(options)
        worker_state = client.run(
            lambda: sorted(__import__("analysis.report.backends", fromlist=["_WORKER"])._WORKER)
        )
    assert result.backend.startswith("dask") and result.workers == 2
    assert {r.applicant_id for r in result.rendered} == {"d1", "d3", "d4"}
    assert [r.stage for r in result.failed] == ["execute"]
    assert_reports_complete(out, ["d1", "d3", "d4"])
    assert "vegaEmbed(el," in (out / "d1.html").read_text()
    assert all(state == [] for state in worker_state.values()), "workers shut their kernels"
    assert json.loads((out / "errors.json").read_text())[0]["applicant_id"] == "d2"
