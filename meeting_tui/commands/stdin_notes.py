"""`record` takes notes: each line typed on stdin (a terminal or a pipe) becomes a note at the current
session time. Stdin from /dev/null or a file is left alone."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import threading
from collections.abc import Callable

from meeting_tui.meeting.notes import take_note


def stdin_takes_notes(stream=None) -> bool:
    """True for a terminal or a pipe; False for /dev/null, a file, or no stdin at all."""
    stream = sys.stdin if stream is None else stream
    try:
        if stream is None or stream.closed:
            return False
        fd = stream.fileno()
        return os.isatty(fd) or stat.S_ISFIFO(os.fstat(fd).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def read_notes(meeting, on_note: Callable[[object], None]) -> threading.Thread | None:
    """Read stdin on a daemon thread; each non-empty line is journaled on the event loop as a note, then
    ``on_note(note)`` runs there. Returns the thread, or None when stdin takes no notes."""
    if not stdin_takes_notes():
        return None
    loop = asyncio.get_running_loop()

    def note(text: str) -> None:
        taken = take_note(meeting, "note", text)
        if taken is not None:
            on_note(taken)

    def reader() -> None:
        try:
            for line in sys.stdin:
                if line.strip():
                    loop.call_soon_threadsafe(note, line.strip())
        except (OSError, ValueError, RuntimeError):  # stdin closed, or the loop finished first
            pass

    thread = threading.Thread(target=reader, name="stdin-notes", daemon=True)
    thread.start()
    return thread
