"""Sessions left without an end marker (the app died): find them and close them properly.

An unfinished session can be exported as it is (``store.load_session`` reads up to the last intact line
and changes nothing). ``recover_session`` makes it a normal finished session: the torn last line is
moved to ``journal.torn``, an end marker (reason "recovered") is appended, audio headers are repaired.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from meeting_tui import paths
from meeting_tui.session.journal import JOURNAL_NAME, JournalWriter, read_journal
from meeting_tui.session.lock import SessionLock
from meeting_tui.session.store import SessionInfo, end_summary, item_end, list_sessions, load_session, read_meta, write_meta

TORN_NAME = "journal.torn"


def find_unfinished(root: str | os.PathLike[str] | None = None) -> list[SessionInfo]:
    """Sessions without an end marker that no running process is recording (newest first)."""
    return [info for info in list_sessions(root) if info.recoverable]


class SessionBusy(RuntimeError):
    """Another process is still recording this session."""


@dataclass
class RecoveryReport:
    info: SessionInfo
    torn_bytes: int = 0  # size of the partial last line set aside
    notes: list[str] = field(default_factory=list)  # audio files that could not be repaired


def recover_session(folder: str | os.PathLike[str]) -> RecoveryReport:
    """Close an unfinished session: keep every complete line, set the torn tail aside, mark the end.

    Does nothing to a finished session. Raises SessionBusy if it is being recorded, OSError on I/O errors.
    """
    folder = Path(folder)
    lock = SessionLock(folder)
    if not lock.acquire(write_pid=False):
        raise SessionBusy(f"Session {folder.name} is still being recorded by another meeting-tui.")
    try:
        journal_path = folder / JOURNAL_NAME
        contents = read_journal(journal_path)
        if contents.finished:
            return RecoveryReport(load_session(folder).info)
        report_torn = len(contents.torn_tail)
        _trim(journal_path, contents.torn_tail)
        notes = _repair_audio(folder)
        from meeting_tui.session.polished import recover_polished  # a polish killed mid-line: same repair

        notes += recover_polished(folder)
        duration = max((item_end(i) for i in contents.items), default=0.0)
        end = {"t": "end", "reason": "recovered", "wall": round(time.time(), 3), "duration_s": round(duration, 3), "segments": len(contents.segments)}
        if report_torn:
            end["torn_bytes"] = report_torn
        writer = JournalWriter(journal_path)
        try:
            writer.append(end)
        finally:
            writer.close()
        meta = read_meta(folder)
        meta.update(end_summary(end, end["wall"]))
        write_meta(folder, meta)
    finally:
        lock.release(remove=True)
    return RecoveryReport(load_session(folder).info, report_torn, notes)


def _trim(journal_path: Path, torn_tail: bytes) -> None:
    """Cut a torn last line (kept in journal.torn), and end the file with a newline before appending."""
    with open(journal_path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if torn_tail:
            torn_path = journal_path.with_name(TORN_NAME)
            with open(torn_path, "ab") as torn:
                torn.write(torn_tail + b"\n")
            paths.make_private(torn_path)
            size -= len(torn_tail)
            fh.truncate(size)
        if size:
            fh.seek(size - 1)
            if fh.read(1) != b"\n":  # a complete record that lost only its newline
                fh.write(b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def _repair_audio(folder: Path) -> list[str]:
    audio = folder / "audio"
    if not audio.is_dir():
        return []
    from meeting_tui.session.recorder import repair_audio  # soundfile only when there is audio

    return repair_audio(audio)
