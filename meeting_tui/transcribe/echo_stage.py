"""The echo guard's place in the pipeline: between the capture engine and the transcriber.

``EchoStage`` is an engine listener that hands the loopback through unchanged and the mic cleaned of
what the speakers played (meeting_tui.echo.EchoGuard), so "Them" is not transcribed a second time under
"You". Meters and recordings stay on the raw mic: they listen to the engine directly, not to this stage.
``SegmentEchoFilter`` is the second line of defence, on text: it holds each final "You" segment briefly
and drops (or marks) it when it repeats recent "Them" words.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from meeting_tui.types import AudioChunk, Mode, Segment, Source

log = logging.getLogger("meeting_tui.echo")


class EchoStage:
    def __init__(self, downstream, guard, *, on_status: Callable | None = None) -> None:
        self.downstream = downstream
        self.guard = guard
        self.on_status = on_status
        self._last_notice = None

    def on_audio(self, chunk: AudioChunk) -> None:
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
        """The engine's health of each stream: a mic stream that is the loopback is wrong source, not echo."""
        if health.source is Source.MIC:
            self.guard.set_mic_health(health.state)
            self._report()

    def flush(self) -> None:
        """At stop, before the transcriber drains: release the mic audio the guard still holds."""
        cleaned = self.guard.flush()
        if cleaned is not None:
            self.downstream.on_audio(cleaned)

    def _report(self) -> None:
        status = self.guard.status
        if status.notice != self._last_notice:  # echo, wrong source or nothing (echo.notice.EchoNotice)
            self._last_notice = status.notice
            if self.on_status is not None:
                self.on_status(status)


class SegmentEchoFilter:
    """Wraps a final-segment callback; thread-safe (the transcriber thread feeds, a UI timer ticks)."""

    def __init__(self, text_filter, publish: Callable[[Segment], None]) -> None:
        self.filter = text_filter
        self.publish = publish
        self._lock = threading.Lock()

    def __call__(self, seg: Segment) -> None:
        if not seg.final:
            self.publish(seg)
            return
        with self._lock:
            out = self.filter.feed(seg) + self.filter.tick(seg.end)
        for s in out:
            self.publish(s)

    def tick(self, now_s: float) -> None:
        with self._lock:
            out = self.filter.tick(now_s)
        for s in out:
            self.publish(s)

    def flush(self) -> None:
        with self._lock:
            out = self.filter.flush()
        for s in out:
            self.publish(s)

    @property
    def dropped(self) -> list[Segment]:
        return list(self.filter.dropped)


class EchoWiring:
    """Engine → (echo stage) → transcriber, and the text filter in front of the segment consumer.

    Use: ``echo = EchoWiring.from_settings(settings, mode, style)``; build the transcriber with
    ``on_segment=echo.segment_callback(publish)``; ``echo.attach(engine, transcriber)``; at stop, after
    ``engine.stop()``: ``echo.flush_audio()``, drain the transcriber, then ``echo.flush_text()``.
    """

    def __init__(self, guard=None, text_filter=None, on_status: Callable | None = None) -> None:
        self.guard = guard
        self.text_filter = text_filter
        self.on_status = on_status
        self.stage: EchoStage | None = None
        self.segments: SegmentEchoFilter | None = None

    @classmethod
    def from_settings(cls, settings, mode: Mode, style: str, on_status: Callable | None = None) -> "EchoWiring":
        from meeting_tui.echo import EchoSettings

        cfg = getattr(settings, "echo", None)
        echo = EchoSettings(enabled=True if cfg is None else bool(cfg.enabled),
                            text_filter="mark" if cfg is None else cfg.dedupe)
        if style != "separate" or not echo.active_for(mode):
            return cls(on_status=on_status)
        try:
            guard = echo.make_guard()
        except Exception as exc:  # a broken optional backend must not stop transcription
            log.warning("echo guard unavailable, transcribing the raw mic: %s", exc)
            guard = None
        return cls(guard, echo.make_text_filter(), on_status)

    @property
    def active(self) -> bool:
        return self.guard is not None

    def segment_callback(self, publish: Callable[[Segment], None]) -> Callable[[Segment], None]:
        if self.text_filter is None:
            return publish
        self.segments = SegmentEchoFilter(self.text_filter, publish)
        return self.segments

    def attach(self, engine, transcriber) -> None:
        if self.guard is not None:
            self.stage = EchoStage(transcriber, self.guard, on_status=self.on_status)
            engine.add_listener(self.stage)
        else:
            engine.add_listener(transcriber)

    def detach(self, engine, transcriber) -> None:
        engine.remove_listener(self.stage or transcriber)

    def flush_audio(self) -> None:
        if self.stage is not None:
            self.stage.flush()

    def flush_text(self) -> None:
        if self.segments is not None:
            self.segments.flush()

    def tick(self, now_s: float) -> None:
        if self.segments is not None:
            self.segments.tick(now_s)
