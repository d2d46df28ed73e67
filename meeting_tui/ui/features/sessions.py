"""Sessions: start and stop (with the language once it is decided), unfinished ones found and recovered."""

from __future__ import annotations

from textual import work

from meeting_tui.meeting import MeetingError
from meeting_tui.types import Source
from meeting_tui.ui.features.fix_hint import fix_hint
from meeting_tui.ui.widgets.transcript import Note
from meeting_tui.wording import plural


class SessionControl:
    """Sessions. Mixed into ``MeetingApp``."""

    @work(thread=True, exclusive=True, group="data-dir")
    def check_sessions_dir(self) -> None:
        from meeting_tui.meeting.recovery import sessions_dir_problem

        problem = sessions_dir_problem(self.core.sessions_dir)
        if problem:
            self.call_from_thread(self.notify, problem, title="Sessions", severity="error", timeout=30)

    def action_toggle_session(self) -> None:
        if self.core.recording:
            self.stop_session()
        else:
            self.start_session()

    def start_session(self) -> None:
        if self.read_only_note and not self.core.recording:
            self.notify(self.read_only_note, title="Read-only", severity="warning", timeout=10)
        if self.core.recording or not self.capture_enabled:
            return
        from meeting_tui.meeting.devices import session_blocker

        blocker = None if self.demo or self.files else session_blocker(self.mode, self._devices, self._device_error)
        if blocker:  # a session of nothing: refuse, saying why
            self.notify(f"Cannot start a session: {blocker}.\n{fix_hint()}", title="Session", severity="error", timeout=15)
            return
        try:
            path = self.core.start_session(setup=self.capture_setup())
        except MeetingError as exc:  # the model can never load: nothing was created
            self.notify(f"Cannot start a session: {exc}", title="Transcription", severity="error", timeout=20)
            return
        except OSError as exc:
            from meeting_tui import paths

            self.notify(f"Cannot start a session: {exc}. Set {paths.DATA_ENV} to a writable folder, or "
                        "[session] dir in the settings file.", severity="error", timeout=20)
            return
        self.last_session = path
        self.transcript.clear()
        self.feed_items([Note(0.0, f"session started · {self.mode.label}")])
        self.notify(f"Recording to {path}", title="Session", timeout=4)
        decode = self._decode_options()
        if decode is not None:  # a detected language is shown once it is decided (transcriber thread)
            decode.languages.on_change = lambda snap: self.call_from_thread(self._language_decided, snap)
        self._update_status()

    def _language_decided(self, snap) -> None:
        who = self.settings.ui.labels.mic if snap.source is Source.MIC else self.settings.ui.labels.loopback
        text = f"language of {who}: {snap.label} (palette: Language, to set it)"
        self.feed_items([Note(self._session_time(), text)])
        self.notify(text, title="Language")

    @work(exclusive=True, group="session")
    async def stop_session(self) -> None:
        self.notify("Finishing the transcript…", title="Session", timeout=3)
        path = await self.core.stop_session()
        self._update_status()
        if path is not None:
            from meeting_tui.paths import shown

            self.notify(f"Session saved in {shown(path)}", title="Session", timeout=6)
            self._offer_polish(path)
            from meeting_tui.ui.minutes_offer import offer_minutes

            offer_minutes(self, path)

    @work(thread=True, exclusive=True, group="recovery")
    def find_unfinished_sessions(self) -> None:
        from meeting_tui.meeting.recovery import unfinished

        found = unfinished(self.core.sessions_dir)
        if found:
            self.call_from_thread(self._show_unfinished, found)

    def _show_unfinished(self, found: list) -> None:
        self.unfinished = found
        names = ", ".join(info.id for info in found[:3]) + (" …" if len(found) > 3 else "")
        self.notify(f"{plural(len(found), 'session')} did not finish (the app was closed or crashed): {names}. "
                    "Their transcripts are safe: choose \"Recover unfinished sessions\" in the palette (ctrl+p).",
                    title="Unfinished sessions", severity="warning", timeout=15)

    @work(thread=True, exclusive=True, group="recovery")
    def action_recover_sessions(self) -> None:
        from meeting_tui.meeting.recovery import recover_all

        message, failed = recover_all(self.core.sessions_dir)
        self.unfinished = []
        self.call_from_thread(self.notify, message, title="Recovery", timeout=10,
                              severity="warning" if failed else "information")
