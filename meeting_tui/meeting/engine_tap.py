"""One capture engine's listener for the meeting: meters and health of the current engine to the client,
audio and gaps onto the session clock (re-timed: engine.t0 - session_t0), across restarts and mode
switches (each engine has its own tap; a replaced engine's meters no longer reach the client)."""

from __future__ import annotations

from typing import Any

from meeting_tui.capture.engine import CaptureEngine
from meeting_tui.meeting.clock import Retimer
from meeting_tui.meeting.events import LevelsEvent, NoticeEvent
from meeting_tui.types import SESSION_RATE, AudioChunk, Gap, Health, Level, Source


class EngineTap:
    """One engine's listener: meters and health of the current engine to the client, audio and gaps onto
    the session clock (re-timed: engine.t0 - session_t0)."""

    def __init__(self, meeting: Any, engine: CaptureEngine) -> None:  # meeting: the Meeting (meeting.py) that owns it
        self.meeting, self.engine = meeting, engine

    def _retimer(self) -> Retimer | None:
        t0 = self.meeting.session_t0
        return None if t0 is None else Retimer(self.engine.t0, t0)

    def _first_sample(self, chunk: AudioChunk) -> None:
        """A session opened before capture starts its clock at the first sample captured."""
        meeting = self.meeting
        if meeting._clock_waits_for_capture and self.engine is meeting.engine:
            meeting._clock_waits_for_capture = False
            meeting.session_t0 = self.engine.t0 + chunk.start / SESSION_RATE

    def on_levels(self, levels: dict[Source, Level]) -> None:
        if self.engine is self.meeting.engine:
            self.meeting._post(LevelsEvent(levels))

    def on_health(self, health: Health) -> None:
        if self.engine is self.meeting.engine:
            self.meeting._health_changed(health)

    def on_warning(self, text: str) -> None:
        if self.engine is self.meeting.engine:
            self.meeting._post(NoticeEvent("Devices", text, "warning"))

    def on_gap(self, gap: Gap) -> None:
        r = self._retimer()
        if r is not None:
            self.meeting._gap(r.gap(gap))

    def on_audio(self, chunk: AudioChunk) -> None:
        self._first_sample(chunk)
        r = self._retimer()
        shifted = r.chunk(chunk) if r is not None else None
        if shifted is not None:
            self.meeting._audio(shifted)

    def on_mix(self, chunk: AudioChunk) -> None:
        r = self._retimer()
        shifted = r.chunk(chunk) if r is not None else None
        if shifted is not None:
            self.meeting._mix(shifted)
