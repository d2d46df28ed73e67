"""The speaker stage as a pipeline wires it: listen to the loopback, label its final lines, journal changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meeting_tui.speakers.labeller import SpeakerEvent, SpeakerLabeller
from meeting_tui.speakers.tap import AudioTap
from meeting_tui.types import AudioChunk, Segment, Source


class SpeakerStage:
    """``engine.add_listener(stage)``; ``seg = stage.process(seg)`` before showing/journaling a final line.

    ``journal`` (e.g. ``Session.append_event``) receives one record per merge or rename, so that
    ``meeting-tui export`` and a recovered session show the labels the dashboard showed.
    """

    def __init__(self, labeller: SpeakerLabeller, *, source: Source = Source.LOOPBACK,
                 journal: Callable[[dict[str, Any]], None] | None = None,
                 on_event: Callable[[SpeakerEvent], None] | None = None) -> None:
        from meeting_tui.session.journal import speaker_event_record

        self.labeller = labeller
        self.source = source
        self.tap = AudioTap(source)
        self.journal = journal
        self.on_event = on_event  # public: the meeting attaches its own when the session opens
        self._record = speaker_event_record
        labeller.on_event = self._event

    def on_audio(self, chunk: AudioChunk) -> None:
        self.tap.on_audio(chunk)

    def process(self, segment: Segment) -> Segment:
        if segment.source is not self.source or not segment.final or not segment.text.strip():
            return segment
        return self.labeller.label(segment, self.tap.audio(segment.start, segment.end))

    def rename(self, old: str, new: str) -> SpeakerEvent:
        return self.labeller.rename(old, new)

    def finish(self, session_folder=None) -> None:
        """At the end of a session, when voice memory is on: refresh the named voices in the memory, and keep
        every voice of this session in its folder (voices.json) so that a later ``meeting-tui speakers
        rename`` can remember it under the new name."""
        if self.labeller.memory is None:
            return
        self.labeller.remember_all()
        if session_folder is not None:
            from pathlib import Path

            from meeting_tui.speakers.memory import FILENAME, VoiceMemory

            here = VoiceMemory(Path(session_folder) / FILENAME)
            for name, (centroid, seconds) in self.labeller.voices().items():
                here.remember(name, centroid, seconds)

    def _event(self, event: SpeakerEvent) -> None:
        if self.journal is not None:
            self.journal(self._record(event.kind, event.old, event.new))
        if self.on_event is not None:
            self.on_event(event)
