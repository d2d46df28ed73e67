"""Notes, marks and flags the user makes during a live meeting: journaled at once (fsynced), so that a
crash keeps them like the lines they sit between."""

from __future__ import annotations

import logging

from meeting_tui.session.journal import NOTE_KINDS, Note

log = logging.getLogger(__name__)


def take_note(meeting, kind: str, text: str = "", *, ref: int | None = None, at: float | None = None) -> Note | None:
    """Journal a note of ``kind`` (note, mark, action, decision) at ``at`` (default: the session's current
    time); the Note,
    or None when no session is recording (nothing to attach it to) or the journal cannot be written."""
    if kind not in NOTE_KINDS:
        raise ValueError(f"unknown note kind {kind!r}; one of {', '.join(NOTE_KINDS)}")
    session = getattr(meeting, "session", None)
    if session is None or session.closed:
        return None
    now = meeting.session_time() if at is None else at
    note = Note(kind, " ".join(text.split()), round(now if now is not None else 0.0, 3), ref)
    try:
        session.append_note(note)
    except (OSError, ValueError):
        log.exception("journal write failed")
        return None
    return note
