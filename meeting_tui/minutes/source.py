"""What the minutes are made from: a session's lines (polished text when a complete polish exists), its
notes and flags, its date, and who spoke each line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from meeting_tui.session.journal import Note
from meeting_tui.session.polished import transcript_for_export
from meeting_tui.session.store import load_session
from meeting_tui.types import Segment, Source

DEFAULT_LABELS = {Source.MIC: "You", Source.LOOPBACK: "Them", Source.MIX: "Mixed"}


@dataclass(frozen=True)
class Line:
    id: int
    at: float  # session seconds
    who: str  # "You", "Them", "Them 2", or the name a voice was renamed to
    text: str


@dataclass
class MeetingText:
    folder: Path
    started: datetime  # the meeting's date and time, for "by Friday"
    lines: list[Line]  # in time order
    notes: list[Note] = field(default_factory=list)
    live_lines: dict[int, Line] = field(default_factory=dict)  # flags cite the live line they were made on
    transcript: str | None = None  # "polished after the meeting (...)" when polished text was used


def read_meeting(folder: str | os.PathLike[str], labels: dict[Source, str] | None = None) -> MeetingText:
    """Raises OSError when the session cannot be read."""
    names = {**DEFAULT_LABELS, **(labels or {})}
    loaded = load_session(folder)
    items, transcript = transcript_for_export(loaded)
    aliases = loaded.journal.speaker_aliases

    def line(seg: Segment) -> Line:
        who = seg.speaker or names.get(seg.source, seg.source.value)
        return Line(seg.id, seg.start, aliases.get(who, who), " ".join(seg.text.split()))

    lines = sorted((line(s) for s in items if isinstance(s, Segment) and s.text.strip()), key=lambda ln: ln.at)
    live = {s.id: line(s) for s in loaded.journal.segments}
    started = loaded.info.started_at or datetime.fromtimestamp(Path(folder).stat().st_mtime)
    return MeetingText(Path(folder), started, lines, sorted(loaded.journal.notes, key=lambda n: n.at), live,
                       transcript)
