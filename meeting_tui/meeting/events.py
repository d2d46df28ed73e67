"""What a live meeting reports to its client (the dashboard, `record`, `monitor`): one typed event each.

Every event reaches ``MeetingListener.on_event`` on the meeting's event loop, in the order it happened,
whatever thread produced it (segments come from the transcriber's thread and are handed over).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Union

from meeting_tui.types import Gap, Health, HealthState, Level, Retraction, Segment, Source


@dataclass(frozen=True)
class SegmentEvent:
    """A final line, journaled before this is sent. ``said_at``: ``time.monotonic()`` when its last voiced
    sample reached the app (end of speech), so a client measures latency where it shows the line."""

    segment: Segment
    said_at: float | None = None


@dataclass(frozen=True)
class PartialEvent:
    """A hypothesis that the final with the same ``segment.id`` replaces (empty text: remove it)."""

    segment: Segment


@dataclass(frozen=True)
class RetractionEvent:
    """The echo text filter judged an already delivered "You" line an echo of "Them".

    ``action`` "drop": remove the line; "mark": keep it, flagged (``segment`` carries ``echo_score``)."""

    segment: Segment
    action: str
    score: float

    @property
    def retraction(self) -> Retraction:
        return Retraction.of(self.segment, self.action, self.score)


@dataclass(frozen=True)
class HealthEvent:
    """A source's health changed. ``session_s``: the session clock then (None outside a session);
    ``capture_s``: seconds since this capture started."""

    health: Health
    previous: HealthState | None
    session_s: float | None
    capture_s: float | None = None

    @property
    def time_s(self) -> float | None:
        return self.session_s if self.session_s is not None else self.capture_s


@dataclass(frozen=True)
class GapEvent:
    gap: Gap


@dataclass(frozen=True)
class LevelsEvent:
    levels: dict[Source, Level]


@dataclass(frozen=True)
class TranscriptionStatus:
    """The transcriber as a status line shows it. ``state``: off, loading, ready, failed, not installed."""

    model: str = ""
    state: str = "off"
    progress: float | None = None
    rtf: float | None = None
    lag_s: float | None = None
    queue: int | None = None
    load: str | None = None  # the load governor's step and why, when it has stepped down (transcribe/governor.py)


@dataclass(frozen=True)
class StatusEvent:
    status: TranscriptionStatus


@dataclass(frozen=True)
class SpeakerLabelEvent:
    """Far-side lines already delivered change speaker: ``kind`` "merge" (two voices were one) or "rename"
    (the user named a voice); every line labelled ``old`` (``line_ids`` among them) now reads ``new``."""

    kind: str
    old: str
    new: str
    line_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class NoticeEvent:
    """Something the user should read once. ``severity``: information, warning or error."""

    title: str
    text: str
    severity: str = "information"


MeetingEvent = Union[SegmentEvent, PartialEvent, RetractionEvent, HealthEvent, GapEvent, LevelsEvent, StatusEvent,
                     NoticeEvent, SpeakerLabelEvent]


class MeetingListener(Protocol):
    def on_event(self, event: MeetingEvent) -> None: ...
