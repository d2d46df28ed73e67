"""The status line, the panels' hints and the keys as the user's keymap has them."""

from __future__ import annotations

from textual.binding import Binding

from meeting_tui.meeting import TranscriptionStatus
from meeting_tui.types import Mode, Source
from meeting_tui.ui.actions import ACTIONS, MODE_ACTIONS, help_rows
from meeting_tui.ui.screens.help import HelpScreen
from meeting_tui.ui.widgets.health_badge import hint_for

STATUS_EVERY_S = 0.5


class StatusAndKeys:
    """Status line, hints, help. Mixed into ``MeetingApp``."""

    def _update_status(self) -> None:
        st = self._fixed_status or self.core.transcriber_stats()
        state = st.state
        if self.core.drain_fraction is not None:
            state = f"finishing transcript {self.core.drain_fraction * 100:.0f}%"
        session = self.core.session
        journal = str(session.path / "journal.jsonl") if session is not None else ""
        self.status.set_info(
            mode=self.mode.label + (" (demo)" if self.demo else "") + (" (read-only)" if self.read_only_note else ""),
            recording=self.core.recording,
            model=st.model or self.core.model_name(),
            model_state=state,
            model_progress=st.progress,
            rtf=st.rtf,
            lag_s=st.lag_s,
            queue=st.queue,
            load=st.load,
            session_file=journal,
            export_format=self.settings.session.export_format,
        )

    def set_transcriber_stats(self, stats: TranscriptionStatus) -> None:
        """For snapshots: show fixed transcriber figures."""
        self._fixed_status = stats
        self._update_status()

    def key_for(self, binding_id: str) -> str:
        """The display of the first key bound to ``binding_id`` (after the user's keymap)."""
        keys = self._keymap.get(binding_id)
        if keys is None:
            keys = next((a.key for a in ACTIONS if a.key and a.id == binding_id), None)
            if keys is None:
                return "?"
        first = keys.split(",")[0].strip()
        return self.get_key_display(Binding(first, ""))

    def _update_hints(self) -> None:
        keys = {"devices": self.key_for("devices")}
        keys.update({MODE_ACTIONS[m]: self.key_for(MODE_ACTIONS[m]) for m in Mode})
        for source in (Source.MIC, Source.LOOPBACK):
            health = self._health.get(source) if source in self.mode.sources else None
            self.panel(source).set_hint(hint_for(health, self.mode, keys, ffmpeg_available=self.ffmpeg_available))

    def help_keys(self) -> list[tuple[str, str]]:
        return help_rows(self._keymap, lambda key: self.get_key_display(Binding(key, "")))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_keys()))
