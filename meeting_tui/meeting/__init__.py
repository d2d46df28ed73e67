"""One live meeting, headless: what `record`, `monitor` and the dashboard drive (see meeting.py)."""

from meeting_tui.meeting.events import (
    GapEvent,
    HealthEvent,
    LevelsEvent,
    MeetingEvent,
    MeetingListener,
    NoticeEvent,
    PartialEvent,
    RetractionEvent,
    SegmentEvent,
    SpeakerLabelEvent,
    StatusEvent,
    TranscriptionStatus,
)
from meeting_tui.meeting.meeting import Meeting, MeetingError
from meeting_tui.meeting.transcriber_setup import transcriber_config
from meeting_tui.meeting.setup import CaptureSetup

__all__ = [
    "CaptureSetup", "GapEvent", "HealthEvent", "LevelsEvent", "Meeting", "MeetingError", "MeetingEvent",
    "MeetingListener", "NoticeEvent", "PartialEvent", "RetractionEvent", "SegmentEvent", "SpeakerLabelEvent", "StatusEvent",
    "TranscriptionStatus", "transcriber_config",
]
