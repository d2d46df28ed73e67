"""Plain data shared by the headless core and its clients (UI, CLI, tests).

No Textual, no audio libraries: every module may import this one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

import numpy as np

#: The rate of the session clock and of everything handed to the transcriber.
SESSION_RATE = 16_000

#: A hole on the session clock at least this long is the machine asleep (Windows' monotonic clock counts
#: sleep and Modern Standby) or a long outage, not a pause: stages skip it instead of filling it with zeros
#: (an hour asleep would be about 230 MB of zeros per stream, processed in one loop turn).
SKIP_GAP_S = 30.0


class Source(str, enum.Enum):
    """Where audio comes from. "mix" is the gain-weighted sum of the other two."""

    MIC = "mic"
    LOOPBACK = "loopback"
    MIX = "mix"


class Mode(str, enum.Enum):
    MIC = "mic"  # mic only
    LOOPBACK = "loopback"  # loopback only
    MEETING = "meeting"  # both, one worker subprocess each
    MEETING_FFMPEG = "meeting-ffmpeg"  # both, one FFmpeg process

    @property
    def sources(self) -> tuple[Source, ...]:
        if self is Mode.MIC:
            return (Source.MIC,)
        if self is Mode.LOOPBACK:
            return (Source.LOOPBACK,)
        return (Source.MIC, Source.LOOPBACK)

    @property
    def label(self) -> str:
        return {
            Mode.MIC: "Mic only",
            Mode.LOOPBACK: "Loopback only",
            Mode.MEETING: "Meeting (two subprocesses)",
            Mode.MEETING_FFMPEG: "Meeting via FFmpeg",
        }[self]


@dataclass(frozen=True)
class DeviceRef:
    """A stable device identifier: name plus host API, never a bare index."""

    name: str
    hostapi: str

    def __str__(self) -> str:
        return f"{self.name} ({self.hostapi})"


@dataclass(frozen=True)
class DeviceInfo:
    ref: DeviceRef
    kind: Source  # MIC (capture device) or LOOPBACK (what the speakers play)
    channels: int
    samplerate: float
    is_default: bool = False
    virtual: str | None = None  # "VoiceMeeter", "VB-Cable", "Stereo Mix", ... when recognised
    description: str = ""


@dataclass
class AudioChunk:
    """Mono float32 audio at SESSION_RATE, placed on the session clock.

    ``start`` is a sample index on the session clock (0 = session start).
    """

    source: Source
    start: int
    samples: np.ndarray

    @property
    def end(self) -> int:
        return self.start + len(self.samples)

    @property
    def start_s(self) -> float:
        return self.start / SESSION_RATE

    @property
    def end_s(self) -> float:
        return self.end / SESSION_RATE


@dataclass(frozen=True)
class Level:
    """One meter reading for one source, over the last metering interval."""

    source: Source
    rms_db: float  # dBFS, -inf for digital silence
    peak_db: float
    clipped: bool = False


class HealthState(str, enum.Enum):
    STARTING = "starting"
    LIVE = "live"
    IDLE = "idle"  # loopback with nothing playing: not dead
    SILENT = "silent"  # digital silence while data arrives
    STALLED = "stalled"  # no frames arriving
    CRASHED = "crashed"  # worker exited; restarting
    WRONG_SOURCE = "wrong source"  # signal near-identical to the other stream
    STOPPED = "stopped"

    @property
    def is_problem(self) -> bool:
        return self in (HealthState.SILENT, HealthState.STALLED, HealthState.CRASHED, HealthState.WRONG_SOURCE)


@dataclass(frozen=True)
class Health:
    source: Source
    state: HealthState
    reason: str = ""
    last_error: str | None = None


@dataclass(frozen=True)
class Gap:
    """A span of the session clock with no audio from a source (restart, stall)."""

    source: Source
    start_s: float
    end_s: float
    reason: str


@dataclass
class Segment:
    """A transcribed span of speech. Times are seconds on the session clock."""

    source: Source
    start: float
    end: float
    text: str
    final: bool = True
    confidence: float | None = None  # mean token probability in [0, 1] where known
    wall_start: float | None = None  # UNIX time of ``start``
    id: int = 0
    extra: dict = field(default_factory=dict)
    speaker: str | None = None  # loopback voice label ("Them 2", or its new name); None: the source's label
    echo_score: float | None = None  # a "You" line the echo text filter marked as an echo: its score


@dataclass(frozen=True)
class Retraction:
    """The echo text filter judged a delivered "You" line an echo: ``action`` "drop" removes it, "mark" keeps
    it with ``Segment.echo_score`` set (how a marked line looks is the transcript view's: "(echo?)").

    ``apply`` is the one place a retraction changes a transcript: the journal read back, a session's live
    items and the dashboard's view all call it."""

    source: Source
    segment_id: int
    action: str  # "drop" | "mark"
    score: float | None = None

    @classmethod
    def of(cls, segment: Segment, action: str, score: float | None = None) -> "Retraction":
        return cls(segment.source, segment.id, action, segment.echo_score if score is None else score)

    @property
    def drops(self) -> bool:
        return self.action == "drop"

    def apply(self, items: list) -> int | None:
        """Drop or mark the segment this names in ``items``, in place; its index, or None when absent."""
        for index, item in enumerate(items):
            if isinstance(item, Segment) and item.id == self.segment_id and item.source is self.source:
                if self.drops:
                    del items[index]
                else:
                    items[index] = replace(item, echo_score=self.score)
                return index
        return None


@dataclass
class Note:
    """A note, mark or flag the user made during the meeting, at ``at`` session seconds."""

    kind: str
    text: str
    at: float
    ref: int | None = None  # the segment id a flag points at

    @property
    def start_s(self) -> float:  # sorts with gaps and segments in the exports
        return self.at

    @property
    def end_s(self) -> float:
        return self.at


@dataclass(frozen=True)
class DrainProgress:
    """How far a stop has got through the audio still queued for transcription when it was asked."""

    done_s: float  # audio seconds transcribed since the stop
    total_s: float  # audio seconds waiting when it was asked (grows if more arrives)
    pending_utterances: int = 0

    @property
    def fraction(self) -> float:
        return 1.0 if self.total_s <= 0 else min(1.0, self.done_s / self.total_s)
