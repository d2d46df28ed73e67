"""Past sessions as the dashboard lists them (date, length, speakers, polished, minutes), and the
operations on one: its transcript to read, an export, deletion."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from meeting_tui.memory.vault import MINUTES_NAME
from meeting_tui.session.journal import JOURNAL_NAME, Item
from meeting_tui.session.lock import is_locked
from meeting_tui.session.polished import read_polished, transcript_for_export
from meeting_tui.session.store import load_session
from meeting_tui.types import Segment, Source


@dataclass
class SessionRow:
    id: str
    path: Path
    started_at: datetime | None
    duration_s: float
    speakers: list[str]
    segments: int
    polished: bool
    minutes: bool
    status: str  # done, recovered, unfinished, recording


def _labels(labels: Mapping[Source, str] | None) -> dict[Source, str]:
    return {Source.MIC: "You", Source.LOOPBACK: "Them", Source.MIX: "Mixed", **dict(labels or {})}


def speakers_of(items: list[Item], labels: Mapping[Source, str] | None = None) -> list[str]:
    names = _labels(labels)
    out: list[str] = []
    for seg in sorted((i for i in items if isinstance(i, Segment)), key=lambda s: s.start):
        who = seg.speaker or names.get(seg.source, seg.source.value)
        if who not in out:
            out.append(who)
    return out


def session_rows(root: str | os.PathLike[str], labels: Mapping[Source, str] | None = None) -> list[SessionRow]:
    """Every session under ``root``, newest first. A folder that cannot be read is left out."""
    rows = []
    try:
        folders = [Path(e.path) for e in os.scandir(root) if e.is_dir()]
    except OSError:
        return []
    for folder in folders:
        if not (folder / JOURNAL_NAME).is_file():
            continue
        try:
            loaded = load_session(folder)
            polished = read_polished(folder)
        except OSError:
            continue
        items, _ = transcript_for_export(loaded)
        rows.append(SessionRow(loaded.info.id, folder, loaded.info.started_at, loaded.info.duration_s,
                               speakers_of(items, labels), sum(isinstance(i, Segment) for i in items),
                               bool(polished and polished.complete), (folder / MINUTES_NAME).is_file(),
                               loaded.info.status))
    return sorted(rows, key=lambda r: (r.started_at.timestamp() if r.started_at else 0.0, r.id), reverse=True)


def transcript_of(folder: str | os.PathLike[str]) -> tuple[list[Item], str | None]:
    """The items to show for a past session (polished when complete) and which transcript it is."""
    return transcript_for_export(load_session(folder))


class DeleteRefused(RuntimeError):
    pass


def delete_session(folder: str | os.PathLike[str]) -> None:
    """Delete a session folder; refused while a process records it. Raises DeleteRefused, OSError."""
    folder = Path(folder)
    if is_locked(folder):
        raise DeleteRefused(f"{folder.name} is being recorded; stop it first")
    shutil.rmtree(folder)
