"""Program signals for one applicant: the best ones, their own choice checked, baselines.

**Effect** (`analysis.model.signals`): a signal of tier t adds beta_t to the log-odds of an
interview where the program can consider the applicant, p_with = c sigmoid(logit(p / c) +
f beta_t), c the chance the program considers the applicant at all; it never opens a program.

**For one applicant** (`signal_plan`): the lists are the programs `match_chances` counts in
each specialty of the rank list (with the planned rotations), so the planner's numbers and the
model's agree; the applicant's own signals (profile `signals` or the table's `signal` column)
are always applied to, as `match_chances` does. The result (`ApplicantSignals`) holds the
planner's signals, the applicant's own choice evaluated, and the baselines, with the lines
and JSON keys `imgmatch chances` and `imgmatch plan` show.

The parts, each in its own module: `signal_objective` (P(match) from the interview chances
and its derivative), `signal_lists` (the lists and their checks), `signal_assessment` (a
placement valued), `signal_optimizer` (the planner), `signal_choice` (the applicant's own
signals and their checks), `signal_baselines` (random and most IMG-friendly first).

Known limits: the effect sizes are priors, not fitted; programs that opted out of signals are
not known; preferred states do not change the effect (a geographic connection raises the
interview yield of a signal in the published figures, mostly through who chooses to signal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from analysis.data.schemas import ApplicantProfile
from analysis.model.probability import default_applications, interview_chances, model_for
from analysis.model.signals import signal_map
from analysis.planners.signal_assessment import SignalPlan
from analysis.planners.signal_baselines import RandomBaseline, most_friendly_first, random_signals
from analysis.planners.signal_choice import evaluate_signals, own_signals
from analysis.planners.signal_lists import lists_from_chances
from analysis.planners.signal_optimizer import plan_signals
from analysis.planners.wording import points_added, short_percent


@dataclass
class ApplicantSignals:
    """One applicant's signals: the planner's choice, their own (if any), and two baselines.

    Every P(match anywhere) here equals `match_chances` with the same signals
    (`optimized_map()`, `own_map`) and the same specialties, applications and rotations.
    `own_map` holds the applicant's signals as evaluated: on the lists, each with the tier it
    counts as (a "yes" in a specialty with gold and silver signals counts as silver).
    """

    applicant_id: str
    season: str
    specialties: list[str]
    optimized: SignalPlan
    own: SignalPlan | None
    own_map: dict[str, str]  # the applicant's signals as evaluated (tiers as counted)
    random: RandomBaseline | None
    most_friendly: SignalPlan | None
    notes: list[str]
    names: pl.DataFrame | None = None  # program_id, program_name, state of the listed programs

    def signals_frame(self, which: str = "optimized") -> pl.DataFrame:
        """The signals ("optimized" or "own") with each program's name and state."""
        plan = self.optimized if which == "optimized" else self.own
        if plan is None:
            return self.optimized.signals.head(0)
        if self.names is None:
            return plan.signals
        return plan.signals.join(self.names, on="program_id", how="left")

    def optimized_map(self) -> dict[str, str]:
        """{program_id: tier} of the planner's signals (for `match_chances(signals=...)`)."""
        return dict(self.optimized.signals.select("program_id", "tier").iter_rows())

    @property
    def p_match_any_without(self) -> float:
        """P(match anywhere) with no signals."""
        return self.optimized.p_match_any_without

    @property
    def p_match_any_with(self) -> float:
        """P(match anywhere) with the planner's signals."""
        return self.optimized.p_match_any_with

    def comparison(self) -> pl.DataFrame:
        """P(match anywhere) per way of signaling: none, optimized, own, IMG-friendly, random."""
        rows = [("none", "No signals", self.p_match_any_without)]
        rows.append(("optimized", "Signals chosen by the planner", self.p_match_any_with))
        if self.own is not None:
            rows.append(("own", "Your own signals", self.own.p_match_any_with))
        if self.most_friendly is not None:
            rows.append(
                (
                    "most_friendly_first",
                    "Most IMG-friendly first",
                    self.most_friendly.p_match_any_with,
                )
            )
        if self.random is not None:
            rows.append(("random", "At random (mean of draws)", self.random.p_match_any_with))
        return pl.DataFrame(
            rows,
            schema={"method": pl.String, "label": pl.String, "p_match_any": pl.Float64},
            orient="row",
        )

    def lines(self, used: str | None = "optimized") -> list[str]:
        """The signals as plain text lines (what `imgmatch plan` prints).

        Args:
            used: the signals the plan counts: "optimized", "own" (applications closed) or
                None (none placed).
        """
        plan = self.own if used == "own" and self.own is not None else self.optimized
        out = [
            f"P(match anywhere) {short_percent(plan.p_match_any_without)} without signals, "
            f"{short_percent(plan.p_match_any_with)} with "
            f"{'your' if plan is self.own else 'these'} {plan.signals.height} (effect range "
            f"{short_percent(plan.p_match_any_with_low)}-"
            f"{short_percent(plan.p_match_any_with_high)}; {self.season} rules; effect sizes are "
            "upper bounds for IMGs)."
        ]
        names = {} if self.names is None else {
            pid: f"{name} ({state})" if state else str(name)
            for pid, name, state in self.names.iter_rows()
        }  # fmt: skip
        for r in plan.signals.iter_rows(named=True):
            where = names.get(r["program_id"], r["program_id"])
            out.append(f"  {r['tier']:<6} {r['specialty']:<5} {where}: {r['reason']}")
        if self.own is not None and plan is not self.own:
            gap = self.own.p_match_any_with - self.optimized.p_match_any_with
            out.append(
                f"Your own {self.own.signals.height} signals give "
                f"{short_percent(self.own.p_match_any_with)}"
                f" ({points_added(-gap) if gap < 0 else 'no less'}"
                f"{' below' if gap < 0 else ''} the planner's choice)."
            )
        if self.random is not None and self.most_friendly is not None:
            out.append(
                "The same signals at random would give "
                f"{short_percent(self.random.p_match_any_with)} "
                f"(mean of {self.random.draws} draws); to the most IMG-friendly programs first, "
                f"{short_percent(self.most_friendly.p_match_any_with)}."
            )
        if self.own is not None and self.own.flags is not None:
            out += [f"- {m}" for m in self.own.flags["message"].to_list()]
        out += [f"- {note}" for note in (*self.optimized.notes, *self.notes)]
        return out

    def own_lines(self) -> list[str]:
        """What `imgmatch chances` says about the applicant's own signals (or their absence)."""
        best = self.optimized
        if self.own is None:
            if best.signals.height == 0:
                return [f"No program signals given; {n}" for n in best.notes[-1:]] or [
                    "No program signals given."
                ]
            return [
                "No program signals given (the profile's `signals`, or a Signal column in your "
                f"program table). `imgmatch plan` places the season's {best.signals.height}: "
                f"P(match anywhere) {short_percent(best.p_match_any_without)} -> "
                f"{short_percent(best.p_match_any_with)}."
            ]
        own = self.own
        counts = ", ".join(
            f"{n} {t}" for t, n in own.signals.group_by("tier").len().sort("tier").iter_rows()
        )
        out = [
            f"Your signals ({counts or 'none counted'}): P(match anywhere) "
            f"{short_percent(own.p_match_any_without)} without them, "
            f"{short_percent(own.p_match_any_with)} with "
            f"them (included above); the planner's choice would give "
            f"{short_percent(best.p_match_any_with)} (`imgmatch plan`)."
        ]
        if own.flags is not None:
            out += [f"- {m}" for m in own.flags["message"].to_list()]
        return out + [f"- {note}" for note in (*own.notes, *self.notes)]

    def own_dict(self) -> dict[str, Any]:
        """The keys `imgmatch chances --json` adds about the applicant's own signals."""
        out: dict[str, Any] = {
            "signal_season": self.season,
            "signals": [],
            "p_match_any_without_signals": round(self.optimized.p_match_any_without, 4),
            "p_match_any_with_optimized_signals": round(self.optimized.p_match_any_with, 4),
            "signal_flags": [],
            "signal_notes": [*self.optimized.notes, *self.notes],
        }
        if self.own is not None:
            own = self.own.to_dict()
            out["signals"] = own["signals"]
            out["p_match_any_without_signals"] = own["p_match_any_without_signals"]
            out["signal_flags"] = own.get("flags", [])
        return out

    def to_dict(self) -> dict[str, Any]:
        """The keys `imgmatch plan --json` adds: signals, p_match_any_without_signals, ..."""
        plan = self.optimized.to_dict()
        out: dict[str, Any] = {
            "signal_season": self.season,
            "signals": plan["signals"],
            "p_match_any_without_signals": plan["p_match_any_without_signals"],
            "p_match_any_with_signals": plan["p_match_any"],
            "p_match_any_with_signals_range": plan["p_match_any_range"],
            "signal_notes": [*plan["notes"], *self.notes],
            "own_signals": None,
            "signal_baselines": {
                "most_friendly_first": None
                if self.most_friendly is None
                else round(self.most_friendly.p_match_any_with, 4),
                "random": None if self.random is None else round(self.random.p_match_any_with, 4),
            },
        }
        if self.own is not None:
            own = self.own.to_dict()
            out["own_signals"] = {
                "signals": own["signals"],
                "p_match_any": own["p_match_any"],
                "p_match_any_without_signals": own["p_match_any_without_signals"],
                "flags": own.get("flags", []),
                "difference_from_optimized": round(
                    self.own.p_match_any_with - self.optimized.p_match_any_with, 4
                ),
            }
        return out


def signal_plan(
    applicant: ApplicantProfile,
    programs: Any,
    *,
    specialties: Sequence[str] | None = None,
    applications: Mapping[str, int] | None = None,
    rotations: Iterable[str] = (),
    as_of: dt.date | None = None,
    own: Any = None,
    baselines: bool | Sequence[str] = True,
    draws: int = 200,
    seed: int = 0,
) -> ApplicantSignals:
    """The best signals for one applicant, their own choice evaluated, and the baselines.

    The lists are the programs `match_chances` counts with the same arguments (the profile's
    specialties and applications by default, the planned `rotations` included), so
    `match_chances(..., signals=result.optimized_map())` gives the same P(match anywhere).

    Args:
        applicant: the profile; its `match_year` gives the season's rules.
        programs: a program table or a prepared `MatchModel`.
        specialties: rank-list order (default: the profile's targets).
        applications: programs per specialty (default: the profile's, then the model's).
        rotations: planned away rotations (program ids).
        as_of: date for staleness of facts.
        own: the applicant's own signals ({program_id: tier} or a list); None reads the
            profile's `signals` and the table's `signal` column (`own_signals`).
        baselines: also compute most-IMG-friendly-first and random signals (True), none
            (False), or the ones named ("most_friendly_first", "random").
        draws, seed: the random baseline's draws and seed.
    """
    model = model_for(programs, as_of=as_of)
    specs = list(specialties) if specialties is not None else list(applicant.target_specialties)
    rotations = list(dict.fromkeys(rotations))
    if own is None:
        mine, notes = own_signals(applicant, model)
    else:
        mine, notes = signal_map(own), []
    chances = interview_chances(applicant, model, specialties=specs, rotations=rotations)
    # programs applied to per specialty, as match_chances counts them: the number asked for
    # (the call's, the profile's, else the specialty's usual number), at most the eligible
    wanted = {**applicant.applications, **(applications or {})}
    eligible = dict(chances.group_by("specialty").agg(pl.col("eligible").sum()).iter_rows())
    apps = {
        s: min(int(wanted.get(s, default_applications(s))), int(eligible.get(s, 0))) for s in specs
    }
    season = applicant.match_year
    lists = lists_from_chances(chances, apps, include_screened=True) if chances.height else []
    optimized = plan_signals(lists, season=season)
    own_plan = None
    if mine:
        own_lists = lists_from_chances(chances, apps, include_screened=True, forced=mine)
        own_plan = evaluate_signals(own_lists, mine, season=season)
        # as evaluated: a tier the specialty does not use counts as the nearest one
        mine = dict(own_plan.signals.select("program_id", "tier").iter_rows())
    friendly = rand = None
    wanted = {"most_friendly_first", "random"} if baselines is True else set(baselines or ())
    if "random" in wanted and lists:
        rand = random_signals(lists, season=season, draws=draws, seed=seed)
    if "most_friendly_first" in wanted and lists:
        score = dict(chances.select("program_id", "img_friendliness").iter_rows())
        friendliness = {
            item.specialty: np.array([score[pid] for pid in item.program_ids], dtype=float)
            for item in lists
        }
        friendly = most_friendly_first(lists, friendliness, season=season)
    return ApplicantSignals(
        applicant_id=applicant.applicant_id,
        season=optimized.season,
        specialties=specs,
        optimized=optimized,
        own=own_plan,
        own_map=mine,
        random=rand,
        most_friendly=friendly,
        notes=notes,
        names=chances.select("program_id", "program_name", "state") if chances.height else None,
    )


def signals_for_plan(plan: Any, programs: Any, **options: Any) -> ApplicantSignals:
    """`signal_plan` on a whole plan's final lists: its rank list with the backups, their
    numbers of programs and the planned rotations (a `planners.plan.Plan`).

    Its P(match anywhere) without signals is the plan's (`plan.backup.chances`); with them,
    `match_chances` on the same lists with `optimized_map()`. Once applications have closed
    (the plan's season phase "interviewing") new signals can no longer be sent: the result
    says so in its notes.
    """
    rotations = plan.rotations
    result = signal_plan(
        rotations.applicant_after or plan.applicant,
        programs,
        specialties=plan.backup.rank_list,
        applications=plan.backup.applications,
        rotations=rotations.program_ids,
        as_of=plan.as_of,
        **options,
    )
    if getattr(plan, "season_phase", None) == "interviewing":
        result.notes.append(
            "Applications have closed for this season: signals went with them, so these are "
            "what the best signals would have done; only your own signals count now."
        )
    return result


def compare_signals(
    applicants: Sequence[ApplicantProfile],
    programs: Any,
    *,
    as_of: dt.date | None = None,
    draws: int = 200,
    seed: int = 0,
) -> pl.DataFrame:
    """P(match anywhere) per applicant with no signals, the planner's, the most IMG-friendly
    programs first and random ones (mean of `draws`), on each applicant's own lists; and how
    many signals went to a program that screens them out (always 0 for the planner).

    Columns: applicant_id, season, signals, without, optimized, most_friendly_first, random,
    to_screened_out.
    """
    model = model_for(programs, as_of=as_of)
    rows = []
    for applicant in applicants:
        result = signal_plan(applicant, model, draws=draws, seed=seed)
        table = interview_chances(applicant, model)
        shut = set(table.filter(~pl.col("eligible") | (pl.col("p_interview") <= 0))["program_id"])
        rows.append(
            {
                "applicant_id": applicant.applicant_id,
                "season": result.season,
                "signals": result.optimized.signals.height,
                "without": result.p_match_any_without,
                "optimized": result.p_match_any_with,
                "most_friendly_first": (
                    result.most_friendly.p_match_any_with if result.most_friendly else None
                ),
                "random": result.random.p_match_any_with if result.random else None,
                "to_screened_out": len(shut & set(result.optimized.signals["program_id"])),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "applicant_id": pl.String,
            "season": pl.String,
            "signals": pl.Int64,
            "without": pl.Float64,
            "optimized": pl.Float64,
            "most_friendly_first": pl.Float64,
            "random": pl.Float64,
            "to_screened_out": pl.Int64,
        },
    )
