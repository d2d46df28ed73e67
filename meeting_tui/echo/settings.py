"""The echo guard's settings, as plain data for meeting_tui/settings.py to expose and validate."""

from __future__ import annotations

from dataclasses import dataclass

from meeting_tui.types import Mode


@dataclass(frozen=True)
class EchoSettings:
    enabled: bool = True  # clean the mic with the loopback (meeting modes only)
    backend: str = "auto"  # "auto" (WebRTC AEC3 if livekit loads, else the gate), "webrtc", "gate"
    text_filter: str = "drop"  # "drop", "mark" (keep, with extra["echo"]) or "off"
    text_window_s: float = 4.0
    text_threshold: float = 0.6

    def active_for(self, mode: Mode) -> bool:
        """The guard needs both sources: on by default in meeting modes, never in single-source modes."""
        return self.enabled and mode in (Mode.MEETING, Mode.MEETING_FFMPEG)

    def make_guard(self, sample_rate: int = 16_000, **kw):
        from meeting_tui.echo.guard import EchoGuard

        return EchoGuard(sample_rate, backend=self.backend, **kw)

    def make_text_filter(self):
        """None when the text filter is off."""
        if self.text_filter == "off":
            return None
        from meeting_tui.echo.text import TextEchoFilter

        return TextEchoFilter(window_s=self.text_window_s, threshold=self.text_threshold, action=self.text_filter)
