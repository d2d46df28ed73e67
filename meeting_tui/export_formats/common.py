"""What the writers share: order, clock and cue times, speaker, note and gap wording."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Union

from meeting_tui.types import Gap, Note, Segment, Source

Item = Union[Segment, Gap, Note]


def who(item: Segment, labels: dict[Source, str]) -> str:
    """A line's speaker: its voice label ("Them 2", or the name it was given), else its source's label."""
    return item.speaker or labels[item.source]


def start_of(item: Item) -> float:
    return item.start if isinstance(item, Segment) else item.start_s


def end_of(item: Item) -> float:
    return item.end if isinstance(item, Segment) else item.end_s


def ordered(items: Iterable[Item]) -> list[Item]:
    """Final segments and gaps by start time (stable: equal starts keep journal order)."""
    return sorted((i for i in items if not (isinstance(i, Segment) and not i.final)), key=lambda i: (start_of(i), end_of(i)))


def one_line(text: str) -> str:
    return " ".join(text.split())


def clock(seconds: float) -> str:
    """H:MM:SS style, always with hours (sessions run past an hour)."""
    total = int(round(max(0.0, seconds) * 1000)) // 1000  # agree with the millisecond cue times
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def cue_time(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


NOTE_TITLES = {"note": "Note", "mark": "Mark", "action": "Action item", "decision": "Decision"}


def note_text(note: Note) -> str:
    return f"[{NOTE_TITLES.get(note.kind, 'Note')}{': ' + one_line(note.text) if note.text else ''}]"


def gap_text(gap: Gap, labels: dict[Source, str]) -> str:
    why = f": {gap.reason}" if gap.reason else ""
    return f"[no audio from {labels[gap.source]} for {duration(gap.end_s - gap.start_s)}{why}]"


def cue_bounds(item: Item) -> tuple[float, float]:
    start, end = start_of(item), end_of(item)
    if isinstance(item, Note):
        return start, start + 3.0  # long enough to read
    return start, max(end, start + 0.001)  # players drop cues that end before they start
