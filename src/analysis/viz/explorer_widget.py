"""The program explorer as a widget panel: controls that redraw the explorer's view live.

`program_explorer(programs, applicant)` gives an ipywidgets panel (specialty, states, visa
need, minimum friendliness, Step 2 CK, and a signal on any program) that recomputes
`analysis.viz.explorer.static_view` on every change and records how long each redraw took
(`ProgramExplorer.redraw_seconds`; `redraw_benchmark` moves the Step 2 CK slider and times
it). Widgets need a live kernel: keep them out of reports (their manager loads from a CDN in
exported HTML).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl

from analysis.data.schemas import ApplicantProfile
from analysis.data.signal_rules import TIERS as SIGNAL_TIERS
from analysis.data.vocabulary import specialty_name
from analysis.model.probability import MatchModel, model_for
from analysis.viz import markup
from analysis.viz.explorer import (
    STEP2_RANGE,
    VISA_LABELS,
    ExplorerView,
    Filters,
    default_filters,
    person_for,
    signal_text,
    static_view,
)

__all__ = ["ProgramExplorer", "program_explorer", "redraw_benchmark"]


def _bundle(obj: Any) -> dict[str, Any]:
    """A display_data output for an object with `_repr_mimebundle_` or `_repr_html_`."""
    if hasattr(obj, "_repr_mimebundle_"):
        bundle = obj._repr_mimebundle_(None, None)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    else:
        data, metadata = {"text/html": obj._repr_html_(), "text/plain": repr(obj)}, {}
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


def _step2_default(model: MatchModel, filters: Filters, applicant: ApplicantProfile | None) -> int:
    if applicant is not None:
        return int(applicant.step2_for_model)
    return int(person_for(dataclasses.replace(filters, step2_score=None)).step2_for_model)


def _clip_step2(value: int) -> int:
    return int(min(max(value, STEP2_RANGE[0]), STEP2_RANGE[1]))


class ProgramExplorer:
    """The widget panel's logic: controls, the view they select, and redraw timing.

    `widget` is the ipywidgets box to display; `controls` maps a name ("specialty", "states",
    "visa", "min_friendliness", "step2", "program", "signal") to its widget; changing any
    control's value calls `refresh`, which recomputes the view and replaces the chart (an
    Output widget), the table and the totals (HTML widgets). "program" picks a program of the
    view and "signal" sets its signal (no signal, gold, silver, or a single-tier signal):
    P(match) in the key figures moves with it. Tests drive it by setting control values.
    """

    def __init__(
        self,
        programs: Any,
        applicant: ApplicantProfile | None = None,
        *,
        as_of: dt.date | None = None,
        top: int = 15,
    ) -> None:
        import ipywidgets as w

        self.model = model_for(programs, as_of=as_of)
        self.applicant = applicant
        self.top = top
        self.redraw_seconds: list[float] = []
        self.view: ExplorerView | None = None
        self._holding = False
        self._syncing = False
        start = default_filters(self.model, applicant)
        self.signals: dict[str, str] = start.signal_map()
        step2 = _clip_step2(_step2_default(self.model, start, applicant))
        self.controls: dict[str, Any] = self._make_controls(start, step2)
        self.reset_button = w.Button(description="Reset filters", tooltip="Back to the start")
        self.header = w.HTML()
        self.chart = w.Output()
        self.table = w.HTML()
        self.status = w.HTML()
        hint = w.HTML(
            "<small>States: none selected keeps every state (Ctrl/Cmd-click to pick several)."
            " Step 2 CK redraws the chances live. Pick a program and give it a signal to see"
            " P(match) move.</small>"
        )
        left = w.VBox(
            [self.controls[k] for k in ("specialty", "visa", "min_friendliness", "step2")]
            + [self.reset_button]
        )
        right = w.VBox([self.controls["states"], self.controls["program"], self.controls["signal"]])
        self.widget = w.VBox(
            [
                w.HBox([left, right]),
                hint,
                self.header,
                self.chart,
                self.table,
                self.status,
            ]
        )
        self.controls["specialty"].observe(self._on_specialty, names="value")
        for key in ("visa", "states", "min_friendliness", "step2"):
            self.controls[key].observe(self._on_change, names="value")
        self.controls["program"].observe(self._on_program, names="value")
        self.controls["signal"].observe(self._on_signal, names="value")
        self.reset_button.on_click(lambda _button: self.reset())
        self.refresh()

    def _make_controls(self, start: Filters, step2: int) -> dict[str, Any]:
        """The five controls, set to the starting filters."""
        import ipywidgets as w

        codes = self.model.specialties()
        return {
            "specialty": w.Dropdown(
                options=[
                    (f"{specialty_name(c)} ({c})", c) for c in sorted(codes, key=specialty_name)
                ],
                value=start.specialty,
                description="Specialty",
            ),
            "visa": w.Dropdown(
                options=[(label, code) for code, label in VISA_LABELS.items()],
                value=start.visa_needed,
                description="Visa need",
            ),
            "states": w.SelectMultiple(
                options=self._states_of(start.specialty),
                value=(),
                rows=7,
                description="States",
                layout=w.Layout(width="16em"),
            ),
            "min_friendliness": w.IntSlider(
                value=0,
                min=0,
                max=100,
                step=5,
                description="Min. score",
                continuous_update=False,
            ),
            "step2": w.IntSlider(
                value=step2,
                min=STEP2_RANGE[0],
                max=STEP2_RANGE[1],
                step=1,
                description="Step 2 CK",
                continuous_update=True,
            ),
            "program": w.Dropdown(options=[], description="Program", layout=w.Layout(width="30em")),
            "signal": w.Dropdown(options=[("No signal", "")], value="", description="Signal"),
        }

    # ---- state

    def _states_of(self, specialty: str) -> list[str]:
        states = (
            self.model.programs.filter(pl.col("specialty") == specialty)["state"]
            .drop_nulls()
            .unique()
            .sort()
            .to_list()
        )
        return states

    @property
    def filters(self) -> Filters:
        """The filters the controls currently select."""
        c = self.controls
        return Filters(
            specialty=c["specialty"].value,
            states=tuple(c["states"].value),
            visa_needed=c["visa"].value,
            min_friendliness=float(c["min_friendliness"].value),
            step2_score=int(c["step2"].value),
            signals=tuple(self.signals.items()),
        )

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Change several controls with one redraw at the end."""
        previous, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = previous
        if not previous:
            self.refresh()

    # ---- callbacks

    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._holding:
            self.refresh()

    def _on_specialty(self, change: dict[str, Any]) -> None:
        with self.hold():
            states = self.controls["states"]
            kept = tuple(s for s in states.value if s in self._states_of(change["new"]))
            states.options = self._states_of(change["new"])
            states.value = kept
            if self.applicant is None:  # the typical applicant of the new specialty
                typical = person_for(Filters(change["new"], visa_needed=self.filters.visa_needed))
                self.controls["step2"].value = _clip_step2(typical.step2_for_model)

    def _on_program(self, _change: dict[str, Any]) -> None:
        """Show the picked program's signal (no redraw: nothing changed yet)."""
        if not self._syncing:
            self._sync_signal()

    def _on_signal(self, change: dict[str, Any]) -> None:
        program = self.controls["program"].value
        if self._syncing or not program:
            return
        if change["new"]:
            self.signals[program] = change["new"]
        else:
            self.signals.pop(program, None)
        if not self._holding:
            self.refresh()

    def _sync_signal(self) -> None:
        """The signal control shows the specialty's tiers and the picked program's signal."""
        tiers = self.view.match.get("tiers", ("gold", "silver")) if self.view else ("single",)
        labels = {"gold": "Gold", "silver": "Silver", "single": "Signal"}
        program = self.controls["program"].value
        current = self.signals.get(program, "") if program else ""
        options = [("No signal", ""), *((labels[t], t) for t in tiers)]
        if current and current not in tiers:
            options.append((labels[current], current))
        control = self.controls["signal"]
        if tuple(control.options) == tuple(options) and control.value == current:
            return
        self._syncing = True
        try:
            control.options = options
            control.value = current
        finally:
            self._syncing = False

    def _sync_programs(self, view: ExplorerView) -> None:
        """Program choices: the view's eligible programs and the signaled ones, by name.

        The list is replaced only when it changes (a new specialty, filter or signal), not
        when the Step 2 CK slider moves: replacing 100-odd options costs a widget update.
        """
        frame = view.frame.filter(pl.col("eligible") | pl.col("signal").is_not_null())
        options = tuple(
            (
                f"{r['program_name']} ({r['state']})"
                + (f" · {r['signal']}" if r["signal"] else ""),
                r["program_id"],
            )
            for r in frame.sort("program_name", "program_id")
            .select("program_name", "state", "signal", "program_id")
            .iter_rows(named=True)
        )
        program = self.controls["program"]
        if options != tuple(program.options):
            keep = program.value if program.value in {v for _, v in options} else None
            self._syncing = True
            try:
                program.options = options
                program.value = keep if keep is not None else (options[0][1] if options else None)
            finally:
                self._syncing = False
        self._sync_signal()

    def set_signal(self, program_id: str, tier: str | None) -> ExplorerView:
        """Give a program a signal (None removes it) and redraw: what the controls do."""
        if tier is None:
            self.signals.pop(program_id, None)
        else:
            if tier not in SIGNAL_TIERS:
                raise ValueError(f"signal tiers must be one of {SIGNAL_TIERS}, not {tier!r}")
            self.signals[program_id] = tier
        return self.refresh()

    def reset(self) -> None:
        """Back to the default filters."""
        start = default_filters(self.model, self.applicant)
        self.signals = start.signal_map()
        with self.hold():
            self.controls["specialty"].value = start.specialty
            self.controls["visa"].value = start.visa_needed
            self.controls["states"].value = ()
            self.controls["min_friendliness"].value = 0
            self.controls["step2"].value = _clip_step2(
                _step2_default(self.model, start, self.applicant)
            )

    def refresh(self) -> ExplorerView:
        """Recompute the view for the current filters and redraw; record the time taken."""
        started = time.perf_counter()
        view = static_view(self.model, self.applicant, self.filters, top=self.top)
        self.header.value = view.header.html
        self.chart.outputs = (_bundle(view.chart),)
        self.table.value = view.table.html
        self.view = view
        self._sync_programs(view)
        seconds = time.perf_counter() - started
        self.redraw_seconds.append(seconds)
        self.status.value = markup.format_html(
            "<small>Redrawn in {ms} ms. Signals in {code}: {signals}.</small>",
            ms=f"{1000 * seconds:.0f}",
            code=view.filters.specialty,
            signals=signal_text(view.match),
        ).html
        return view


def program_explorer(
    programs: Any,
    applicant: ApplicantProfile | None = None,
    *,
    as_of: dt.date | None = None,
    top: int = 15,
) -> Any:
    """The program explorer as an ipywidgets panel (display it in JupyterLab).

    Args:
        programs: program table (polars/pandas frame) or a `MatchModel`.
        applicant: whose chances to show; None shows the typical applicant's.
        as_of: plan date for staleness of the facts (default today).
        top: rows in the table.

    Returns:
        An `ipywidgets.VBox`; its `explorer` attribute is the `ProgramExplorer` behind it
        (controls, current view, redraw times).
    """
    explorer = ProgramExplorer(programs, applicant, as_of=as_of, top=top)
    box = explorer.widget
    box.explorer = explorer
    return box


def redraw_benchmark(
    programs: Any,
    applicant: ApplicantProfile | None = None,
    *,
    step2_values: Sequence[int] = (230, 235, 240, 245, 250, 255, 260),
    as_of: dt.date | None = None,
) -> dict[str, float]:
    """Move the Step 2 CK slider through `step2_values` and time the redraws (seconds).

    Returns the first draw (which prepares the model for the visa need) and the median and
    maximum of the slider redraws.
    """
    started = time.perf_counter()
    explorer = ProgramExplorer(programs, applicant, as_of=as_of)
    first = time.perf_counter() - started
    explorer.redraw_seconds.clear()
    for value in step2_values:
        explorer.controls["step2"].value = value
    times = sorted(explorer.redraw_seconds)
    return {
        "first_draw_s": first,
        "redraw_median_s": times[len(times) // 2],
        "redraw_max_s": times[-1],
        "redraws": float(len(times)),
    }
