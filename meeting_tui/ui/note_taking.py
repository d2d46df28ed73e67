"""The dashboard's note keys: a typed note, a mark, the latest line flagged as an action item or a
decision. Each is journaled at once (meeting/notes.py) and shown as a line in the transcript."""

from __future__ import annotations

from meeting_tui.meeting.notes import take_note
from meeting_tui.session.journal import JOURNAL_NAME, Note, read_journal
from meeting_tui.ui.widgets.transcript import Note as ScreenNote
from meeting_tui.ui.widgets.transcript import clock

_SHOWN = {"note": "note", "mark": "★ mark", "action": "action item", "decision": "decision"}


def shown(note: Note) -> str:
    return f"{_SHOWN.get(note.kind, note.kind)}: {note.text}" if note.text else _SHOWN.get(note.kind, note.kind)


def take(app, kind: str, text: str = "", *, ref: int | None = None, at: float | None = None) -> Note | None:
    """Journal a note and show it; with no session recording, say how to start one."""
    note = take_note(app.core, kind, text, ref=ref, at=at)
    if note is None:
        app.notify(f"No session is recording: press {app.key_for('session.toggle')} to start one, then take notes.",
                   severity="warning", timeout=6)
        return None
    app.feed_items([ScreenNote(note.at, shown(note))])
    return note


def ask_note(app) -> None:
    """Open the note box; the note's time is the moment the key was pressed, not when Enter was."""
    from meeting_tui.ui.screens.note_input import NoteInput

    if app.core.session is None:
        take(app, "note")  # says how to start a session
        return
    at = app.core.session_time() or 0.0
    app.push_screen(NoteInput(clock(at)), callback=lambda text: take(app, "note", text, at=at) if text else None)


def flag_line(app, kind: str) -> Note | None:
    """Flag a line as an action item or a decision: the chosen one (jumped to from the minutes), else while
    scrolled up the last line in view, else the newest."""
    line = app.transcript.line_to_flag()
    if line is None:
        app.notify("No line to flag yet: flags apply to the line chosen, the last one in view when scrolled up, "
                   "else the newest.", severity="warning")
        return None
    return take(app, kind, line.text.strip(), ref=line.id)


def notes_for_export(app) -> list[Note]:
    """The session's notes for Save: the live session's, else those of the session just stopped."""
    session = app.core.session
    if session is not None:
        return list(session.notes)
    if app.last_session is None:
        return []
    try:
        return read_journal(app.last_session / JOURNAL_NAME).notes
    except OSError:
        return []
