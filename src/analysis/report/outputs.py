"""The output folder's bookkeeping: file names, state files, and each applicant's record.

An output folder `DIR` of `imgmatch report` holds `DIR/<stem>.html` per applicant,
`index.html`, `cohort.csv`, `errors.json` and `DIR/.imgmatch/` (`STATE_DIR`):
`state/<stem>.json` per applicant (inputs hash, status, summary, seconds: `read_state`),
`applicants/<stem>.json` (the profile as the template reads it) and `lock` (one batch per
folder at a time: `batch_lock`). The stem is the applicant id, except for the names the
folder or Windows would misread (`report_stem`).

A report is skipped when its inputs hash (sha256 over the profile's canonical JSON, the
program file, the template, the imgmatch version and the plan date: `inputs_hash`) equals
the one of a successful earlier run and its HTML is there (`is_up_to_date`). Every file is
written through a temporary file renamed into place (`analysis.data.files.write_text`), the
report before its state (`store_result`), so an interrupted run never leaves a half-written
report; `remove_stale_temp_files` deletes what a killed run left behind.

The records: `ReportRecord` (one applicant's outcome in a run; `errors.json` lists the
failed ones), `RenderJob` and `RenderResult` (a report to render, and what rendering
returned: the state is written from them) and `ReportSummary` (what the template's summary
cell displays, kept in the state for the index).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from analysis.data.files import TEMP_NAME, write_text
from analysis.errors import DataValidationError, file_problem

STATE_DIR = ".imgmatch"
_STATE_FORMAT = 1


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


# --------------------------------------------------------------------------- names and state


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
def batch_lock(out_dir: Path) -> Iterator[None]:
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
