"""Minutes for a session folder: read, extract, check citations, render, write ``minutes.md`` atomically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from meeting_tui import paths
from meeting_tui.minutes.cite import keep_cited
from meeting_tui.minutes.errors import Cancelled, MinutesError
from meeting_tui.minutes.rules import Item, extract
from meeting_tui.minutes.source import MeetingText, read_meeting
from meeting_tui.minutes.render import render
from meeting_tui.minutes.templates import Template
from meeting_tui.session.exports import MINUTES_NAME
from meeting_tui.session.lock import is_locked


__all__ = ["Cancelled", "Minutes", "MinutesError", "make_minutes", "write_minutes"]

Progress = Callable[[float, str], None]  # (fraction done, what is happening)


@dataclass
class Minutes:
    text: str
    items: list[Item]
    dropped: int
    meeting: MeetingText
    engine: str = "rules"  # rules, openai or local
    unreadable: int = 0  # parts of the transcript whose model answer held no JSON
    template: Template | None = None


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


def check_session(folder: str | Path, labels=None) -> MeetingText:
    """The session's text, when minutes can be made of it. Raises MinutesError (still recording, nothing said,
    unreadable)."""
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
    return meeting


def make_minutes(folder: str | Path, template: Template, labels=None, *, engine=None,
                 progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False,
                 meeting: MeetingText | None = None) -> Minutes:
    """``engine`` None: the rule-based extractor; else a language-model engine (``llm.ChatEngine``). Raises
    MinutesError (still recording, nothing said, unreadable; the engine's failure; Cancelled)."""
    meeting = meeting or check_session(folder, labels)
    summary = None
    if engine is None:
        found = extract(meeting.lines, meeting.started)
    else:
        found, summary = engine.extract(meeting, template, progress or (lambda fraction, what: None), cancelled)
    if cancelled():
        raise Cancelled("minutes cancelled; nothing was written")
    flagged = user_items(meeting)
    # A line the user flagged is listed as they flagged it, once.
    flagged_ids = {i.line_id for i in flagged if i.source == "flag"}
    found = [i for i in found if meeting.transcript is not None or i.line_id not in flagged_ids]
    lines = {ln.id: ln for ln in meeting.lines}
    items, dropped = keep_cited(sorted(found + flagged, key=lambda i: i.at), lines, meeting.live_lines,
                                {ln.who for ln in meeting.lines})
    if engine is not None:
        dropped += engine.unplaced
    name = getattr(engine, "name", "rules")
    return Minutes(render(meeting, template, items, summary), items, dropped, meeting, name,
                   getattr(engine, "unreadable", 0), template)


def write_minutes(minutes: Minutes, extra: Path | None = None) -> Path:
    """``minutes.md`` beside the journal (atomic), and ``extra`` too when given. Raises OSError."""
    target = minutes.meeting.folder / MINUTES_NAME
    paths.atomic_write(target, minutes.text)
    if extra is not None:
        paths.atomic_write(extra, minutes.text)
    return target
