"""Report file names and the output folder: nothing collides, nothing unwritable is half-used.

An applicant whose id is `index` once overwrote the cohort index; ids that differ only by
case are one file on Windows and macOS; `CON` cannot be a file on Windows. `report_stem`
maps every id to a file name none of these can hit. The output folder is checked (and
created) before anything is written. One applicant's unforeseen failure is recorded for that
applicant only.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.report import outputs, runner
from analysis.report.outputs import (
    OUTPUT_NAMES,
    WINDOWS_RESERVED,
    OutputFolderError,
    prepare_output_folder,
    report_href,
    report_path,
    report_stem,
    state_path,
)
from analysis.report.runner import load_applicant_sources

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "report"
IDS = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")  # the profile contract's ids
HOSTILE = ["index", "INDEX", "Index", "errors", "cohort", "con", "CON", "nul.x", "Com1",
           "lpt9.tar", "aux", "prn"]  # fmt: skip


@pytest.mark.parametrize("applicant_id", HOSTILE)
def test_names_the_folder_or_windows_uses_get_a_safe_file_name(applicant_id: str) -> None:
    stem = report_stem(applicant_id)
    base, dot, rest = applicant_id.partition(".")
    assert stem == f"{base}~report{dot}{rest}"
    assert stem.lower().split(".")[0] not in WINDOWS_RESERVED
    assert stem.lower() not in OUTPUT_NAMES


@pytest.mark.parametrize("applicant_id", ["amira_ir", "Amira", "index2", "console", "com10",
                                          "errors.v2", "a.index"])  # fmt: skip
def test_ordinary_ids_are_their_own_file_name(applicant_id: str) -> None:
    assert report_stem(applicant_id) == applicant_id


@given(IDS, IDS)
def test_two_ids_share_a_file_name_only_if_they_differ_by_case_alone(a: str, b: str) -> None:
    same_file = report_stem(a).casefold() == report_stem(b).casefold()
    assert same_file == (a.casefold() == b.casefold())


@given(IDS)
def test_no_id_reaches_a_name_of_the_output_folder(applicant_id: str) -> None:
    out = Path("out")
    stem = report_stem(applicant_id)
    assert report_path(out, applicant_id).name.lower() not in ("index.html", "errors.json")
    assert stem.lower().split(".")[0] not in WINDOWS_RESERVED | OUTPUT_NAMES
    assert state_path(out, applicant_id).parent == out / ".imgmatch" / "state"
    assert report_href(applicant_id) == f"{stem}.html"  # nothing to percent-encode


def test_a_state_file_of_another_case_is_not_this_applicants(tmp_path: Path) -> None:
    path = state_path(tmp_path, "amira")
    path.parent.mkdir(parents=True)
    state = {"format": 1, "applicant_id": "Amira", "status": "ok"}
    path.write_text(json.dumps(state), encoding="utf-8")  # what Windows or macOS would show
    assert outputs.read_state(tmp_path, "amira") is None
    state["applicant_id"] = "amira"
    path.write_text(json.dumps(state), encoding="utf-8")
    assert outputs.read_state(tmp_path, "amira") == state


# --------------------------------------------------------------------------- output folder


def test_prepare_output_folder_creates_the_folders(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    prepare_output_folder(out)
    assert (out / ".imgmatch" / "state").is_dir() and (out / ".imgmatch" / "applicants").is_dir()
    assert [p.name for p in out.rglob(".imgmatch-probe-*")] == []


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda out: out.write_text("x"), "is a file; --out needs a folder"),
        (lambda out: out.parent.joinpath("f").write_text("x"), "is a file, not a folder"),
        (lambda out: (out.mkdir(), (out / ".imgmatch").write_text("x")), ".imgmatch is a file"),
        (lambda out: (out.joinpath(".imgmatch").mkdir(parents=True),
                      (out / ".imgmatch" / "state").write_text("x")), "state is a file"),
    ],
    ids=["out is a file", "out under a file", "state folder is a file", "state is a file"],
)  # fmt: skip
def test_prepare_output_folder_refuses_what_cannot_hold_reports(tmp_path, make, words) -> None:
    out = tmp_path / "out"
    make(out)
    target = tmp_path / "f" / "out" if words == "is a file, not a folder" else out
    with pytest.raises(OutputFolderError, match=words.replace(".", r"\.")):
        prepare_output_folder(target)


# --------------------------------------------------------------------------- batch side


def test_an_unforeseen_loader_failure_is_recorded_and_the_other_sources_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, applicant_fixture
) -> None:
    good = applicant_fixture("valid_ir.yaml", tmp_path / "good")
    bad = tmp_path / "bad.yaml"
    bad.write_text("x", encoding="utf-8")
    real = runner.iter_applicants

    def fragile(*sources):
        if Path(sources[0]) == bad:
            raise RecursionError("maximum recursion depth exceeded")
        yield from real(*sources)

    monkeypatch.setattr(runner, "iter_applicants", fragile)
    loaded = load_applicant_sources([bad, good.parent])
    assert [label for label, _ in loaded] == [str(bad), str(good)]
    error = loaded[0][1]
    assert "RecursionError" in str(error.problems[0]) and str(bad) in str(error.problems[0])
    assert loaded[1][1].applicant_id


# --------------------------------------------------------------------------- end to end


def write_profile(folder: Path, applicant_id: str, notes: str = "ok", **fields: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = {
        "applicant_id": applicant_id,
        "name": f"'Applicant {applicant_id}'",
        "visa_needed": "j1",
        "graduation_year": "2022",
        "step2_score": "240",
        "target_specialties": "[IM, FM]",
        "match_year": str(dt.date.today().year + 1),
        "notes": notes if notes.startswith("[") else f"'{notes}'",
        **fields,
    }
    path = folder / f"{applicant_id}-{len(list(folder.iterdir()))}.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in lines.items()), encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_batch_with_hostile_ids_keeps_the_index_and_every_report(tmp_path: Path) -> None:
    from analysis.report.runner import ReportOptions, run_reports

    folder = tmp_path / "applicants"
    for applicant_id in ("index", "CON", "errors", "Amira", "amira", "plain"):
        write_profile(folder, applicant_id)
    out = tmp_path / "out"
    options = ReportOptions(FIXTURES / "programs.csv", out, (folder,),
                            template=FIXTURES / "behaviour.ipynb", workers=1)  # fmt: skip
    result = run_reports(options)
    written = {r.applicant_id for r in result.rendered}
    assert written == {"index", "CON", "errors", "Amira", "plain"}
    [clash] = result.failed
    assert clash.applicant_id == "amira" and "differs only by case" in (clash.message or "")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "cohort" in index.lower() and 'href="index~report.html"' in index
    for name in ("index~report", "CON~report", "errors~report", "Amira", "plain"):
        html = (out / f"{name}.html").read_text(encoding="utf-8")
        assert html.rstrip().endswith("</html>")
    assert json.loads((out / "errors.json").read_text())[0]["applicant_id"] == "amira"
    again = run_reports(options)  # the index is rewritten, the reports are unchanged
    assert {r.applicant_id for r in again.skipped} == written
    assert 'href="index~report.html"' in (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_one_applicant_that_cannot_be_prepared_fails_alone(tmp_path: Path) -> None:
    from analysis.report.runner import ReportOptions, run_reports

    folder = tmp_path / "applicants"
    for applicant_id in ("first", "blocked", "last"):
        write_profile(folder, applicant_id)
    write_profile(folder, "nested", notes="[" * 2000 + "]" * 2000)  # YAML lists, 2000 deep
    write_profile(folder, "digits", step2_score="9" * 5000)
    out = tmp_path / "out"
    (out / ".imgmatch" / "applicants" / "blocked.json").mkdir(parents=True)  # cannot be written
    options = ReportOptions(FIXTURES / "programs.csv", out, (folder,),
                            template=FIXTURES / "behaviour.ipynb", workers=1)  # fmt: skip
    result = run_reports(options)
    assert {r.applicant_id for r in result.rendered} >= {"first", "last"}
    failed = {r.applicant_id or r.label: r for r in result.failed}
    assert failed["blocked"].stage == "prepare"
    for hostile in ("nested", "digits"):
        assert any(hostile in label for label in failed), failed
    errors = json.loads((out / "errors.json").read_text())
    assert len(errors) == len(result.failed) and all(e["message"] for e in errors)
