"""Meeting -> dashboard: the core's events, and the frame that shows them.

Levels are kept (latest only) and health is shown at once; transcript events go into a deque that a 30 Hz
timer drains into the transcript in one batch per frame, together with the meters (latency is measured
there, where the line is shown). Tests feed plain values through the same doors (``feed_*``).
"""

from __future__ import annotations

from typing import Iterable

from meeting_tui.meeting import (
    GapEvent,
    HealthEvent,
    LevelsEvent,
    MeetingEvent,
    NoticeEvent,
    PartialEvent,
    RetractionEvent,
    SegmentEvent,
    SpeakerLabelEvent,
    StatusEvent,
)
from meeting_tui.types import Gap, Health, HealthState, Level, Segment, Source
from meeting_tui.ui.widgets.transcript import Note

FRAME_S = 1 / 30
_DEAD_STATES = (HealthState.STALLED, HealthState.CRASHED, HealthState.STOPPED)


class CoreEvents:
    """Meeting -> app, on the event loop."""

    def __init__(self, app) -> None:
        self.app = app

    def on_event(self, event: MeetingEvent) -> None:
        app = self.app
        if isinstance(event, LevelsEvent):
            app.feed_levels(event.levels)
        elif isinstance(event, HealthEvent):
            app.feed_health(event.health)
        elif isinstance(event, (SegmentEvent, RetractionEvent)):
            app._incoming.append(event)  # shown (and its latency measured) at the next frame
        elif isinstance(event, PartialEvent):
            app.feed_items([event.segment])
        elif isinstance(event, GapEvent):
            app.feed_items([event.gap])
        elif isinstance(event, StatusEvent):
            app._update_status()
        elif isinstance(event, SpeakerLabelEvent):
            app.relabel_speaker(event)
        elif isinstance(event, NoticeEvent):
            app.notify(event.text, title=event.title, severity=event.severity,
                       timeout=20 if event.severity == "error" else 10)
            if event.title == "Echo":
                app.feed_items([Note(app._session_time(), event.text)])


class EventPump:
    """The core's events in, one frame at a time out. Mixed into ``MeetingApp``."""

    def feed_levels(self, levels: dict[Source, Level]) -> None:
        self._levels.update(levels)

    def feed_health(self, health: Health) -> None:
        self._health[health.source] = health
        if health.source in (Source.MIC, Source.LOOPBACK):
            self.panel(health.source).set_health(health)
            self._update_hints()

    def feed_items(self, items: Iterable[Segment | Gap | Note]) -> None:
        """Queue transcript items; thread-safe. They appear at the next frame, in one batch."""
        self._incoming.extend(items)

    def _frame(self) -> None:
        self.frames += 1
        now = self.clock()
        active = self.mode.sources if self.core.engine is not None or not self.capture_enabled else ()
        for source in (Source.MIC, Source.LOOPBACK):
            health = self._health.get(source)
            dead = health is not None and health.state in _DEAD_STATES
            level = self._levels.get(source) if source in active and not dead else None
            self.panel(source).show_level(level, now)
        if self._incoming:
            batch = []
            incoming = self._incoming
            while incoming:
                item = incoming.popleft()
                if isinstance(item, SegmentEvent):
                    self.core.latency.delivered(item.segment.source, item.said_at)
                    item = item.segment
                elif isinstance(item, RetractionEvent):
                    item = item.retraction
                batch.append(item)
            self.transcript.add_batch(batch)
