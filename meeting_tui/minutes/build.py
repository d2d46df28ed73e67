"""Minutes for a session folder: read, extract, check citations, render, write ``minutes.md`` atomically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from meeting_tui import paths
from meeting_tui.minutes.cite import keep_cited
from meeting_tui.minutes.rules import Item, extract
from meeting_tui.minutes.source import MeetingText, read_meeting
from meeting_tui.minutes.render import render
from meeting_tui.minutes.templates import Template
from meeting_tui.session.exports import MINUTES_NAME
from meeting_tui.session.lock import is_locked


class MinutesError(Exception):
    """Minutes cannot be made; the message says why and the fix. Nothing was written."""


@dataclass
class Minutes:
    text: str
    items: list[Item]
    dropped: int
    meeting: MeetingText


def user_items(meeting: MeetingText) -> list[Item]:
    """The user's notes and marks, and their flags (which become items directly, citing the flagged line)."""
    out = []
    for note in meeting.notes:
        if note.kind in ("action", "decision"):
            line = meeting.live_lines.get(note.ref) if note.ref is not None else None
            kind = "action" if note.kind == "action" else "decision"
            out.append(Item(kind, note.text, note.ref, line.at if line else note.at,
                            owner=line.who if (line and kind == "action") else None, support=note.text, source="flag"))
        else:
            out.append(Item(note.kind, note.text, None, note.at, source=note.kind))
    return out


def make_minutes(folder: str | Path, template: Template, labels=None) -> Minutes:
    """Raises MinutesError (still recording, nothing said, unreadable)."""
    folder = Path(folder)
    if is_locked(folder):
        raise MinutesError(f"session {folder.name} is still recording: stop it first (r in the dashboard, Ctrl+C "
                           "for `record`), then run `meeting-tui minutes` again")
    try:
        meeting = read_meeting(folder, labels)
    except OSError as exc:
        raise MinutesError(f"cannot read session {folder}: {exc.strerror or exc}") from exc
    if not meeting.lines:
        raise MinutesError(f"session {folder.name} has no transcript lines, so there is nothing to take minutes "
                           "of: record or transcribe a meeting with speech first (`meeting-tui polish` can "
                           "re-transcribe its recorded audio)")
    found = extract(meeting.lines, meeting.started)
    flagged = user_items(meeting)
    # A line the user flagged is listed as they flagged it, once.
    flagged_ids = {i.line_id for i in flagged if i.source == "flag"}
    found = [i for i in found if meeting.transcript is not None or i.line_id not in flagged_ids]
    lines = {ln.id: ln for ln in meeting.lines}
    items, dropped = keep_cited(sorted(found + flagged, key=lambda i: i.at), lines, meeting.live_lines)
    return Minutes(render(meeting, template, items), items, dropped, meeting)


def write_minutes(minutes: Minutes, extra: Path | None = None) -> Path:
    """``minutes.md`` beside the journal (atomic), and ``extra`` too when given. Raises OSError."""
    target = minutes.meeting.folder / MINUTES_NAME
    paths.atomic_write(target, minutes.text)
    if extra is not None:
        paths.atomic_write(extra, minutes.text)
    return target
