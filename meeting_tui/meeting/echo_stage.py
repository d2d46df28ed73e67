"""The echo guard's place in the pipeline: between the capture engine and the transcriber.

``EchoStage`` is an engine listener that hands the loopback through unchanged and the mic cleaned of
what the speakers played (meeting_tui.echo.EchoGuard), so "Them" is not transcribed a second time under
"You". Meters and recordings stay on the raw mic: they listen to the engine directly, not to this stage.
``EchoVerdicts`` is the second line of defence, on text: a "You" line is delivered as soon as it is final;
once the loopback has been transcribed past it (or ``hold_s`` of session time later), it is judged, and a
line that repeats recent "Them" words is retracted (or marked) where it is shown.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from meeting_tui.settings import EchoSettings
from meeting_tui.types import SESSION_RATE, SKIP_GAP_S, AudioChunk, HealthState, Mode, Segment, Source

log = logging.getLogger("meeting_tui.echo")
#: An unpaced replay's mic waits this long for its loopback (audio time): the whole of any recording.
UNPACED_WAIT_MS = 24 * 3600 * 1000.0


class EchoStage:
    def __init__(self, downstream, guard, *, on_status: Callable | None = None,
                 rebuild: Callable | None = None) -> None:
        """``rebuild`` makes a fresh guard after a skipped sleep (``SKIP_GAP_S``): the old one would fill the
        hole with silence and run its canceller over all of it in one call."""
        self.downstream = downstream
        self.guard = guard
        self.on_status = on_status
        self._rebuild = rebuild
        self._ends: dict[Source, int] = {}
        self._last_notice = None

    def _skip_if_slept(self, chunk: AudioChunk) -> None:
        end = self._ends.get(chunk.source)
        self._ends[chunk.source] = chunk.start + len(chunk.samples)
        if self._rebuild is None or end is None or chunk.start - end < SKIP_GAP_S * SESSION_RATE:
            return
        self.flush()
        fresh = self._rebuild()
        if fresh is not None:
            self.guard = fresh
            self._ends = {chunk.source: self._ends[chunk.source]}

    def on_audio(self, chunk: AudioChunk) -> None:
        if chunk.source in (Source.MIC, Source.LOOPBACK):
            self._skip_if_slept(chunk)
        if chunk.source is Source.LOOPBACK:
            self.guard.push_reference(chunk)
            self.downstream.on_audio(chunk)
        elif chunk.source is Source.MIC:
            cleaned = self.guard.push_mic(chunk)
            if cleaned is not None:
                self.downstream.on_audio(cleaned)
            self._report()
        else:
            self.downstream.on_audio(chunk)

    def on_mix(self, chunk: AudioChunk) -> None:
        self.downstream.on_mix(chunk)

    def on_health(self, health) -> None:
        """The engine's health of each stream: a mic stream that is the loopback is wrong source, not echo; a
        loopback that ended (a replayed file) is waited for no longer."""
        if health.source is Source.MIC:
            self.guard.set_mic_health(health.state)
            self._report()
        elif health.source is Source.LOOPBACK and health.state is HealthState.STOPPED:
            cleaned = self.guard.reference_ended()
            if cleaned is not None:
                self.downstream.on_audio(cleaned)

    def flush(self) -> None:
        """At stop, before the transcriber drains: release the mic audio the guard still holds."""
        cleaned = self.guard.flush()
        if cleaned is not None:
            self.downstream.on_audio(cleaned)

    def _report(self) -> None:
        notice = self.guard.notice.notice  # echo, wrong source or nothing (echo.notice.EchoNotice)
        if notice != self._last_notice:  # the whole status (its ERLE over 1000 frames) only when it changed
            self._last_notice = notice
            if self.on_status is not None:
                self.on_status(self.guard.status)


@dataclass(frozen=True)
class Verdict:
    segment: Segment  # the "You" line as delivered
    score: float


class EchoVerdicts:
    """Judges delivered "You" lines against the "Them" lines around them. Thread-safe (the transcriber's
    thread feeds finals, the meeting's timer ticks)."""

    def __init__(self, text_filter) -> None:
        self.filter = text_filter  # a TextEchoFilter in "mark" mode: it returns each line with its verdict
        self._lock = threading.Lock()

    def feed(self, seg: Segment) -> list[Verdict]:
        with self._lock:
            out = self.filter.feed(seg) + self.filter.tick(seg.end)
        return _echoes(out)

    def set_echo_delay(self, delay_s: float) -> None:
        """The audio guard measured the echo: an answer starts no earlier than this after a question ends."""
        with self._lock:
            self.filter.echo_delay_s = max(0.0, delay_s)

    def tick(self, now_s: float) -> list[Verdict]:
        with self._lock:
            return _echoes(self.filter.tick(now_s))

    def flush(self) -> list[Verdict]:
        with self._lock:
            return _echoes(self.filter.flush())


def _echoes(released: list[Segment]) -> list[Verdict]:
    return [Verdict(s, float(s.echo_score)) for s in released
            if s.source is Source.MIC and s.echo_score is not None]


@dataclass(frozen=True)
class EchoPlan:
    """What echo handling a meeting gets from the settings (meeting_tui.settings.EchoSettings): the audio
    guard's factory and the text action."""

    guard_enabled: bool = False
    backend: str = "auto"
    text_action: str = "off"  # "drop", "mark" or "off"
    text_window_s: float = 4.0
    text_threshold: float = 0.6

    @classmethod
    def from_settings(cls, settings, style: str, *, no_guard: bool = False) -> "EchoPlan":
        cfg = getattr(settings, "echo", None) or EchoSettings()
        enabled = cfg.enabled and not no_guard and style == "separate"
        return cls(enabled, cfg.backend, cfg.dedupe if enabled else "off", cfg.text_window_s, cfg.text_threshold)

    def active_for(self, mode: Mode) -> bool:
        """The guard needs both sources: meeting modes only."""
        return self.guard_enabled and mode in (Mode.MEETING, Mode.MEETING_FFMPEG)

    def make_guard(self, paced: bool = True):
        """The audio guard, or None when it cannot load (a broken optional backend must not stop transcription).
        Unpaced (recordings replayed as fast as they are read), a mic frame waits for its loopback however far
        the other worker lags: its wait is bounded only to keep a live meeting's mic moving."""
        if not self.guard_enabled:
            return None
        from meeting_tui.echo import EchoGuard
        from meeting_tui.echo.guard_settings import EchoGuardSettings

        settings = EchoGuardSettings() if paced else EchoGuardSettings(max_wait_ms=UNPACED_WAIT_MS)
        try:
            return EchoGuard(16_000, backend=self.backend, settings=settings)
        except Exception as exc:
            log.warning("echo guard unavailable, transcribing the raw mic: %s", exc)
            return None

    def make_verdicts(self) -> EchoVerdicts | None:
        if self.text_action == "off":
            return None
        from meeting_tui.echo.text import TextEchoFilter

        # Always "mark": the meeting retracts (drop) or flags (mark) delivered lines itself.
        return EchoVerdicts(TextEchoFilter(window_s=self.text_window_s, threshold=self.text_threshold, action="mark"))
