"""Speakers and words: far-side voice labels, renames, the vocabulary and the language of each source."""

from __future__ import annotations

from meeting_tui.types import Source
from meeting_tui.ui.widgets.transcript import Note


class SpeakersAndWords:
    """Speakers, vocabulary, language. Mixed into ``MeetingApp``."""

    def relabel_speaker(self, event) -> None:
        """Far-side lines change speaker (voices merged, or renamed): every shown line follows at once."""
        self.transcript.relabel(event.old, event.new)
        what = "is the same voice as" if event.kind == "merge" else "is now"
        self.feed_items([Note(self._session_time(), f"{event.old} {what} {event.new}")])

    def action_toggle_speakers(self) -> None:
        on = not self.settings.speakers.enabled
        notice = self.store.set("speakers.enabled", on)  # saved at once
        when = "from the next session" if self.core.recording else "when a session starts"
        self.notify(notice or f"Speaker labels {'on' if on else 'off'} {when}.", title="Speakers")

    def action_rename_speaker(self, speaker: str) -> None:
        from meeting_tui.ui.screens.rename_speaker import RenameSpeaker

        def done(name: str | None) -> None:
            if not name:
                return
            try:
                self.core.rename_speaker(speaker, name)
            except Exception as exc:  # labels off, or the session ended meanwhile
                self.notify(f"Cannot rename {speaker}: {exc}", title="Speakers", severity="warning")

        self.push_screen(RenameSpeaker(speaker), done)

    def _decode_options(self):
        live = self.core.transcription
        return live.config.decode if live is not None else None

    def action_edit_vocabulary(self) -> None:
        from meeting_tui.ui.screens.words import open_vocabulary_editor

        open_vocabulary_editor(self, self.store, self._decode_options())

    def action_pick_language(self) -> None:
        from meeting_tui.ui.screens.words import open_language_picker

        open_language_picker(self, self.store, self._decode_options(), self.mode.sources,
                             {Source.MIC: self.settings.ui.labels.mic, Source.LOOPBACK: self.settings.ui.labels.loopback})
