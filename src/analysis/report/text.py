"""What the commands print: plans, chances and summaries as terminal text.

One function per result of `imgmatch`: the program and applicant summaries of `validate`,
the demo data's calibration, chances, plans (rotations, backups, levers, timeline), the
calibration and evaluation tables, the report batch's summary and the simulation's tables.
Each takes the result a command computed and prints it through `analysis.report.terminal`,
so user text is never markup and nothing wraps in a pipe. The commands themselves, their
options and their checks are in `analysis.cli`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.report.terminal import add_row, console, say, show, table, text

_FORMAT_NAMES = {
    "canonical": "canonical program table",
    "tracker": "applicant's tracker spreadsheet",
    "freida": "FREIDA-style export",
}


def print_program_summary(info: Any, summary: dict[str, Any]) -> None:
    """`validate --programs`: what was read, programs per specialty, unknown values."""
    from analysis.data.vocabulary import specialty_name

    overview = table("what", "value", show_header=False)
    add_row(overview, text(("format", "bold")), _FORMAT_NAMES.get(info.format, info.format))
    if info.sheet:
        add_row(overview, text(("sheet", "bold")), info.sheet)
    if info.encoding:
        delimiter = {"\t": "tab", ",": "comma", ";": "semicolon"}.get(info.delimiter or "", "")
        add_row(overview, text(("encoding", "bold")), f"{info.encoding}, {delimiter}-separated")
    add_row(overview, text(("rows", "bold")), str(summary["rows"]))
    if info.skipped_rows:
        skipped = ", ".join(f"{name} ({count})" for name, count in info.skipped_specialties.items())
        add_row(
            overview,
            text(("skipped rows", "bold")),
            f"{info.skipped_rows} of unknown specialties: {skipped}",
        )
    if info.format != "canonical":
        used = "; ".join(f"{header} → {role}" for header, role in info.columns.items())
        add_row(overview, text(("columns read", "bold")), used)
    ignored = ", ".join(info.ignored_columns) if info.ignored_columns else "none"
    add_row(overview, text(("ignored columns", "bold")), ignored)
    show(overview, f"Program table: {info.file}")

    by_specialty = table("code", "specialty", ("programs", "right"))
    for code, count in summary["specialties"].items():
        add_row(by_specialty, code, specialty_name(code), str(count))
    show(by_specialty, "Programs per specialty")

    unknown = table("column", ("unknown", "right"))
    known = []
    for column, share in sorted(summary["unknown_share"].items(), key=lambda kv: -kv[1]):
        if share > 0:
            add_row(unknown, column, f"{share:.0%}")
        else:
            known.append(column)
    show(unknown, "Unknown values per column")
    if known:
        say(f"Fully known: {', '.join(known)}", style="dim")
    say(("OK", "green"), f": {summary['rows']} programs in {info.file}")


def print_applicant_summary(good: list[tuple[str, Any]], bad_count: int) -> None:
    """`validate --applicants`: the valid profiles, and how many were invalid."""
    if good:
        grid = table("applicant_id", "name", "visa", "targets", "match year", "from")
        for label, profile in good:
            add_row(
                grid,
                profile.applicant_id,
                profile.name,
                profile.visa_needed,
                ", ".join(profile.target_specialties),
                str(profile.match_year),
                label.replace("\\", "/").rsplit("/", 1)[-1],
            )
        show(grid, "Applicants")
    noun = "applicant" if len(good) == 1 else "applicants"
    invalid = f", {bad_count} invalid" if bad_count else ""
    say((f"{len(good)} valid {noun}", "yellow" if bad_count else "green"), invalid)


def print_demo_calibration(checks: Any) -> None:
    """How the demo table compares with the reference: per specialty, then every check."""
    import polars as pl
    from rich import box

    from analysis.data.demo_checks import calibration_summary
    from analysis.data.demo_specialties import INTERVIEW_STAND_IN

    summary = calibration_summary(checks)
    exact = summary.filter(
        (pl.col("programs") == pl.col("programs_ref"))
        & (pl.col("pgy1_positions") == pl.col("pgy1_positions_ref"))
    ).height
    say(f"  programs and positions equal NRMP 2025's for {exact} of {summary.height} specialties")
    grid = table(
        "specialty",
        *((column, "right") for column in ("share at 0", "median", "p90", "mean", "ok")),
        box=box.SIMPLE_HEAD,
    )
    for row in summary.iter_rows(named=True):
        add_row(
            grid,
            row["specialty"] + ("*" if row["stand_in"] else ""),
            f"{row['share_zero']:.2f}/{row['share_zero_ref']:.2f}",
            f"{row['median']:.3f}/{row['median_ref']:.3f}",
            f"{row['p90']:.3f}/{row['p90_ref']:.3f}",
            f"{row['mean']:.3f}/{row['mean_ref']:.3f}",
            text(("yes", "green")) if row["ok"] else text(("no", "red")),
        )
    show(grid, "Non-US IMG interview rate per program, generated/reference")
    if summary["stand_in"].any():
        stand_ins = ", ".join(f"{code} -> {ref}" for code, ref in INTERVIEW_STAND_IN.items())
        say(
            f"  * no reference row of its own: compared with a stand-in's ({stand_ins}), "
            "with a wider tolerance at zero"
        )
    passed = int(checks["within_tolerance"].sum())
    say(
        (
            f"{passed} of {checks.height} calibration checks within tolerance",
            "green" if passed == checks.height else "yellow",
        ),
        " (analysis.data.demo_checks.calibration_table lists them all, with their tolerances).",
    )
    for row in checks.filter(~checks["within_tolerance"]).iter_rows(named=True):
        say(
            "  ",
            ("outside tolerance:", "yellow"),
            f" {row['specialty']} {row['metric']}: {row['generated']} vs {row['reference']}",
        )


CHANCES_COLUMNS = ("Applications", "Eligible", "Interviews", "P(match) [80% interval]",
                    "P(match here)", "Recommended", "ERAS cost")  # fmt: skip


def print_chances(profile: Any, result: Any) -> None:
    """`chances`: one row per target specialty, then P(match anywhere) and the cost."""
    grid = table(
        ("#", "right"),
        "Specialty",
        *((column, "right") for column in CHANCES_COLUMNS),
    )
    for r in result.specialties.iter_rows(named=True):
        rec = r["recommended_applications"]
        add_row(
            grid,
            str(r["preference"]),
            r["specialty"] + ("" if r["calibrated"] else " *"),
            str(r["applications"]),
            str(r["eligible_programs"]),
            f"{r['expected_interviews']:.1f}",
            f"{r['p_match']:.0%} [{r['p_match_low']:.0%}-{r['p_match_high']:.0%}]",
            f"{r['p_match_in']:.0%}",
            str(rec) if rec else "not reached",
            f"${r['eras_cost_usd']:,.0f}",
        )
    show(grid, f"Match chances: {profile.name} ({profile.applicant_id})")
    say(
        "P(match anywhere): ",
        (f"{result.p_match_any:.0%}", "bold"),
        f" [{result.p_match_any_low:.0%}-{result.p_match_any_high:.0%}]; total application "
        f"cost about ${result.total_cost_usd:,.0f} (ERAS, transcript, NRMP).",
    )
    say(
        "Recommended = fewest best-fit programs reaching an 80% chance in that specialty. "
        "Probabilities assume you rank every interview; NRMP's rates count only applicants who "
        "certified a rank list.",
        style="dim",
    )
    if not result.specialties["calibrated"].all():
        say("* no reference interview rates for this specialty: a stand-in is used.", style="dim")


def print_plan(result: Any) -> None:
    """`plan`: the headline, rotations, backups, signals, levers and the timeline."""
    a = result.applicant
    say(f"Plan for {a.name} ({a.applicant_id}), {a.match_year} Match", style="bold")
    say(result.headline())
    if result.season_note:
        say(result.season_note)
    _print_rotations(result.rotations)
    _print_backup(result.backup)
    if result.signals is not None:
        console.line()
        say("Program signals", style="bold")
        for line in result.signals.lines(result.signals_used):
            say(line)
    if result.levers is not None:
        console.line()
        say("Levers still open at the plan date", style="bold")
        print_levers(result.levers)
    _print_timeline(result.timeline)
    console.line()
    say(
        "Probabilities are model estimates calibrated to public NRMP figures, for an "
        "applicant who ranks every interview; see the README, 'What the numbers mean'.",
        style="dim",
    )


def _print_rotations(rot: Any) -> None:
    from analysis.planners.enrollment import KIND_LABELS
    from analysis.planners.wording import signed_points

    console.line()

    say("Away rotations and options for graduates", style="bold")
    if rot.rotations.height:
        columns = ("#", "Month", "Kind", "Hands-on", "Where", "Spec.", "Role", "Cost", "Gain")
        grid = table(*columns, box=None, pad_edge=False)
        for i, r in enumerate(rot.rotations.iter_rows(named=True), start=1):
            where = f"{r['program_name']}, {r['state']}" if r["state"] else r["program_name"]
            add_row(
                grid,
                str(i),
                r["start"].strftime("%b %Y"),
                KIND_LABELS[r["kind"]].split(" for ")[0],
                "yes" if r["hands_on"] else "no",
                where,
                r["specialty"],
                r["role"] or "",
                f"${r['cost_usd']:,.0f}",
                signed_points(r["gain"]),
            )
        show(grid)
        for i, r in enumerate(rot.rotations.iter_rows(named=True), start=1):
            say(f"  {i}. {r['reason']}")
        budget = f" of ${rot.budget_usd:,.0f}" if rot.budget_usd is not None else ""
        say(f"  Total ${rot.total_cost_usd:,.0f}{budget}.")
    else:
        say("  None planned.")
    for note in rot.notes:
        say(f"  - {note}")


def _print_backup(plan: Any) -> None:
    from analysis.planners.wording import signed_points

    console.line()

    say("Rank list: your specialties and backups, in order", style="bold")
    columns = ("#", "Spec.", "In plan", "P alone", "Adds", "P anywhere", "Programs", "ERAS",
               "Visa sponsors")  # fmt: skip
    backup = table(*columns, box=None, pad_edge=False)
    for r in plan.table.iter_rows(named=True):
        add_row(
            backup,
            str(r["order"]),
            r["specialty"],
            "yes" if r["included"] else "no",
            f"{r['p_match']:.0%}",
            signed_points(r["adds"]),
            f"{r['p_match_any_cumulative']:.0%}" if r["included"] else "",
            str(r["applications"]),
            f"${r['eras_cost_usd']:,.0f}",
            f"{r['share_sponsoring_visa']:.0%}",
        )
    show(backup)
    for r in plan.table.iter_rows(named=True):
        path = "" if r["order"] == 1 else f" Path back: {r['path_back']}."
        say(f"  {r['specialty']}: {r['note']}{path}")
    for note in plan.notes:
        say(f"  - {note}")


def print_levers(levers: Any) -> None:
    """Each lever: what it would change, or why it is left out."""
    from analysis.planners.wording import signed_points

    for r in levers.iter_rows(named=True):
        if r["available"]:
            say(f"  {r['label']}: {signed_points(r['delta'])} ({r['reason']})")
        else:
            say(f"  {r['label']}: left out ({r['reason']})")


def _print_timeline(timeline: Any) -> None:
    console.line()
    say("Timeline (approximate dates; check the AAMC and NRMP calendars)", style="bold")
    shown = timeline.filter(timeline["status"] != "done")
    done = timeline.height - shown.height
    if done:
        say(f"  ({done} earlier step{'s' if done > 1 else ''} done)")
    for r in shown.iter_rows(named=True):
        until = f" to {r['end'].isoformat()}" if r["end"] else ""
        status = "" if r["status"] == "upcoming" else f" [{r['status']}]"
        say(f"  {r['start'].isoformat()}{until}: {r['event']}{status}")


_CALIBRATION_COLUMNS = ("Model mean", "Ref mean", "Ratio", "Facts only ratio", "Model closed",
                        "Ref at 0")  # fmt: skip


def print_calibration(result: dict[str, Any]) -> None:
    """`calibrate`: interview rates against the reference, match rates, difficulty."""
    groups = (("non_us_img", "non-US IMGs"), ("us_img", "US IMGs"))
    for group, label in groups:
        grid = table(
            "Specialty",
            *((column, "right") for column in _CALIBRATION_COLUMNS),
        )
        for r in result["interview_rates"][group]:
            add_row(
                grid,
                r["specialty"] + ("" if r["calibrated"] else " *"),
                f"{r['model_mean']:.3f}",
                f"{r['ref_mean']:.3f}",
                f"{r['ratio']:.2f}",
                f"{r['facts_only_ratio']:.2f}",
                f"{r['model_share_closed']:.0%}",
                f"{r['ref_share_zero']:.0%}",
            )
        show(grid, f"Population-average interview rate per program vs the reference ({label})")
    for group, label in groups:
        m = result["match_rate"][group]
        say(
            f"Match rate of {m['applicants']:.0f} synthetic {label}: "
            f"{m['match_rate_certified']:.1%} of those with at least one interview (NRMP's "
            f"denominator: applicants who certified a rank list; NRMP {m['nrmp_2025']:.1%} in "
            f"2025, {m['nrmp_2026']:.1%} in 2026); {m['p_match_all_applicants']:.1%} of "
            "everyone who applied."
        )
    ranked = ", ".join(
        f"{r['specialty']} {r['match_rate_certified']:.0%}"
        + (f" [{r['reference_group']}]" if r["reference_group"] else "")
        for r in result["difficulty_order"]
        if r["calibrated"]
    )
    consistent = result["difficulty_consistent_with_reference"]
    say(
        f"Difficulty, hardest first: {ranked}. "
        f"{'Consistent' if consistent else 'Not consistent'} with the reference groups."
    )
    say(
        "* no reference interview rates: a stand-in specialty's are used. "
        "Facts only: the table's observed interview rates hidden.",
        style="dim",
    )


def print_evaluation(doc: dict[str, Any], unjoined: Path, notes: Sequence[str]) -> None:
    """`evaluate`: the join, Spearman correlations and the calibration ratio."""
    say(
        f"Joined {doc['joined']} programs; {doc['unjoined']} rows of the rates table did not "
        f"join (listed in {unjoined})."
    )
    grid = table(
        "Input", ("Spearman", "right"), ("Programs", "right"),
    )  # fmt: skip
    for name, rho in sorted(doc["spearman"].items(), key=lambda kv: -(kv[1] or -2)):
        n = doc.get("spearman_n", {}).get(name, "")
        add_row(grid, name, "n/a" if rho is None else f"{rho:.3f}", str(n))
    show(grid, "Spearman correlation with the observed rate")
    ratio = doc["calibration_ratio"]
    say(
        "Calibration ratio (sum of predicted over sum of observed rates): "
        + ("n/a" if ratio is None else f"{ratio:.2f}")
    )
    for note in notes:
        say(f"note: {note}")


def count(number: int, noun: str) -> str:
    """'1 applicant', '2 applicants'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def print_report_summary(result: Any) -> None:
    """The end-of-batch summary: counts, time per report, throughput, where things are."""
    for warning in result.warnings:
        say(("warning:", "yellow"), f" {warning}", err=True, one_line=True)
    say(
        (count(len(result.records), "applicant"), "bold"),
        ": ",
        (f"{len(result.rendered)} written", "green"),
        ", ",
        (f"{len(result.skipped)} unchanged (skipped)", "cyan"),
        ", ",
        (f"{len(result.failed)} failed", "red"),
        f" in {result.wall_seconds:.1f} s",
        one_line=True,
    )
    timing = result.timing()
    if timing["mean"] is not None:
        where = (
            f"{count(result.workers, 'local worker')}"
            if result.backend == "local"
            else f"{result.backend}, {count(result.workers, 'worker thread')}"
        )
        say(
            f"  per report: mean {timing['mean']:.2f} s, median {timing['median']:.2f} s, "
            f"max {timing['max']:.2f} s; {timing['throughput']:.2f} reports/s with {where}",
            one_line=True,
        )
    say(
        f"  index: {result.out_dir / 'index.html'}   errors: {result.out_dir / 'errors.json'}"
        f"   plan as of {result.as_of}",
        one_line=True,
    )
    if result.pdf is not None:  # --pdf: what was printed, or the browser that is missing
        for line in result.pdf.lines():
            say("  ", (line, "" if result.pdf.ok else "red"), one_line=True)
    for record in result.failed:
        lines = (record.message or "").strip().splitlines()
        say(
            "  ",
            ("failed", "red"),
            f" {record.label} ({record.stage or '?'}): {lines[0] if lines else ''}",
            one_line=True,
        )


def print_simulation(sim: Any, tables: Any) -> None:
    """The simulation's tables, its scenario and how it ran."""
    for title, columns, rows in tables:
        grid = table(columns[0], *((c, "right") for c in columns[1:]))
        for row in rows:
            add_row(grid, *row)
        show(grid, title)
    if sim.scenario_changes:
        say("Scenario: " + "; ".join(sim.scenario_changes))
    left = sim.market["specialties_left_out"]
    say(
        f"{sim.runs} replications, seed {sim.seed}, on {sim.backend} "
        f"({count(sim.workers, 'worker')}) in {sim.seconds:.1f} s."
        + (f" Left out (no NRMP figures): {', '.join(left)}." if left else ""),
        style="dim",
    )
