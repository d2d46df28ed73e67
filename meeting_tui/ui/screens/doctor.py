"""The doctor, from the dashboard: run `meeting-tui doctor`'s probes and apply its recommendation with one key."""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class DoctorScreen(ModalScreen[object]):
    """Dismisses with the doctor's Recommendation when the user applies it (``a``), else None."""

    BINDINGS = [
        Binding("a", "apply", "Apply recommendation", id="doctor.apply"),
        Binding("escape,q", "close", "Close", id="doctor.close"),
    ]

    DEFAULT_CSS = """
    DoctorScreen { align: center middle; }
    DoctorScreen > #doctor { width: 96; max-width: 95%; height: 80%; border: thick $primary;
        background: $surface; padding: 0 1; }
    """

    def __init__(self, run: Callable[[Callable[[str], None]], object]) -> None:
        """``run(progress)`` runs the probes (blocking; called on a thread) and returns a DoctorReport."""
        super().__init__()
        self._run = run
        self.report = None
        self._lines: list[str] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="doctor"):
            yield Static(Text("Doctor: probing each capture configuration for a few seconds…", style="bold"))
            yield Static("", id="doctor-body", markup=False)  # probe output: device names, errors

    def on_mount(self) -> None:
        self.probe()

    @work(thread=True, exclusive=True, group="doctor")
    def probe(self) -> None:
        def progress(msg: str) -> None:
            self.app.call_from_thread(self._progress, msg)

        try:
            report = self._run(progress)
        except Exception as exc:  # a probe that cannot even start: say why, keep the dashboard
            self.app.call_from_thread(self._show_error, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show, report)

    def _progress(self, msg: str) -> None:
        self._lines.append(f"… {msg}")
        self.query_one("#doctor-body", Static).update("\n".join(self._lines))

    def _show_error(self, message: str) -> None:
        self.query_one("#doctor-body", Static).update(Text(f"The doctor could not run: {message}", style="red"))

    def _show(self, report) -> None:
        from meeting_tui.doctor.probes import format_report

        self.report = report
        rec = report.recommendation
        hint = ("\n\nPress a to apply: mode " + rec.mode.label + ", saved to settings." if rec.mode is not None
                else "\n\nNo mode has both streams live; see the hints above.")
        self.query_one("#doctor-body", Static).update(Text(format_report(report) + hint))

    def action_apply(self) -> None:
        if self.report is not None and self.report.recommendation.mode is not None:
            self.dismiss(self.report.recommendation)

    def action_close(self) -> None:
        self.dismiss(None)
