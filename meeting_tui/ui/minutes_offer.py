"""Minutes from the dashboard: offered after a session stops (as polish is), made in the background by
``minutes/job.py`` (the same code as `meeting-tui minutes`, the engine of the settings) with progress, at the
lowest CPU priority so that a meeting being recorded comes first; the same key or palette entry cancels
(nothing is written). When done they are listed (``screens/minutes_view.py``); Enter on an item jumps to its
line in the transcript, or opens the session at that time when the line is no longer on screen."""

from __future__ import annotations

from pathlib import Path

KEY_ID = "minutes.make"
TITLE = "Minutes"


class MinutesRun:
    """The dashboard's minutes state: the job being run, the last minutes made."""

    def __init__(self, app) -> None:
        self.app = app
        self.job = None
        self.minutes = None  # the last Minutes made, for "show"
        self.about = ""
        self.offered: Path | None = None
        self._step = ""

    @property
    def running(self) -> bool:
        return self.job is not None

    def toggle(self) -> None:
        """Make the last session's minutes; while they are being made, cancel them."""
        if self.job is not None:
            self.job.cancel()
            self.app.notify("Cancelling the minutes…", title=TITLE, timeout=3)
            return
        from meeting_tui.minutes.job import MinutesJob

        app = self.app
        path = self.offered or app.last_session
        if path is None:
            app.notify(f"No session yet: record one ({app.key_for('session.toggle')}), stop it, then make its "
                       "minutes.", title=TITLE, severity="warning")
            return
        self._step = ""
        engine = app.settings.minutes.engine
        self.job = MinutesJob(path, app.settings, on_progress=self._progress,
                              on_done=lambda result: app.call_from_thread(self._done, result))
        app.notify(f"Making the minutes of {path.name} ({engine}; {app.key_for(KEY_ID)} cancels)…", title=TITLE,
                   timeout=4)
        self.job.start()

    def _progress(self, fraction: float, what: str) -> None:  # the job's thread: once per step (a part)
        if what != self._step and fraction < 1.0:
            self._step = what
            self.app.call_from_thread(self.app.notify, f"Minutes: {fraction * 100:.0f}% {what} "
                                      f"({self.app.key_for(KEY_ID)} cancels)", title=TITLE, timeout=4)

    def _done(self, result) -> None:
        self.job = None
        app = self.app
        if not result.ok:
            app.notify(result.message, title=TITLE, severity="information" if result.cancelled else "warning",
                       timeout=10)
            return
        minutes = result.minutes
        self.minutes = minutes
        self.about = "rule-based" if minutes.engine == "rules" else f"by {minutes.engine}"
        app.last_minutes = result.path
        hint = (" Rule-based: no LLM engine is configured ([minutes] engine in the settings)."
                if minutes.engine == "rules" else "")
        if app.core.session is None:
            app.notify(f"{result.message}; written to {result.path}.{hint}", title=TITLE, timeout=10)
            self.show()
        else:  # a meeting is being recorded: no list over it
            app.notify(f"{result.message}; written to {result.path}. Palette: \"Minutes: show the last made\".{hint}",
                       title=TITLE, timeout=10)

    def show(self) -> None:
        from meeting_tui.ui.screens.minutes_view import MinutesView

        if self.minutes is None:
            self.app.notify("No minutes made yet in this window.", title=TITLE)
            return
        self.app.push_screen(MinutesView(self.minutes, self.about), self.jump)

    def jump(self, item) -> None:
        """To the item's line in the dashboard's transcript; else the session, read-only, at that time."""
        if item is None:
            return
        app = self.app
        folder = self.minutes.meeting.folder
        shows_it = app.core.session is None and app.last_session == folder
        if shows_it and app.transcript.jump_to(item.line_id, item.at) is not None:
            app.transcript.focus()
            return
        from meeting_tui.ui.screens.session_view import SessionView

        app.push_screen(SessionView(folder, app._labels, at=item.at))


def minutes_run(app) -> MinutesRun:
    run = getattr(app, "_minutes_run", None)
    if run is None:
        run = app._minutes_run = MinutesRun(app)
    return run


def offer_minutes(app, path: Path) -> None:
    minutes_run(app).offered = path
    app.notify(f"Minutes (decisions, action items, open questions): press {app.key_for(KEY_ID)}, or choose "
               "\"Minutes of the last session\" in the palette (ctrl+p).", title=TITLE, timeout=10)
