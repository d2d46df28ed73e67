"""The polished transcript of a session: ``polished.jsonl`` beside the live ``journal.jsonl``.

Written by ``meeting-tui polish`` (``meeting/polish.py``) after the meeting, with the same crash safety
as the journal: one fsynced line per record, a torn last line ignored by readers and set aside by
``recover_polished`` (to ``polished.torn``). An interrupted polish resumes where it stopped: sources
marked done are kept, the others continue after their last segment. The live transcript is never changed.

Records (key ``t``): ``start`` (model, beam_size, sources), ``resume``, ``segment`` (as in the journal),
``source_done`` (source, audio_s, asr_s), ``end`` (reason "done", totals).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meeting_tui import paths
from meeting_tui.session.journal import Item, JournalWriter, record_to_item, segment_to_record
from meeting_tui.types import Segment, Source

POLISHED_NAME = "polished.jsonl"
POLISHED_TORN = "polished.torn"
POLISH_LOCK = "polish.lock"


@dataclass
class PolishedTranscript:
    start: dict[str, Any] | None = None
    items: list[Segment] = field(default_factory=list)
    done: dict[Source, dict[str, Any]] = field(default_factory=dict)  # source -> its source_done record
    end: dict[str, Any] | None = None
    torn_tail: bytes = b""
    resumes: int = 0

    @property
    def complete(self) -> bool:
        return self.end is not None

    @property
    def model(self) -> str:
        return str((self.start or {}).get("model", "?"))

    @property
    def beam_size(self) -> int | None:
        return (self.start or {}).get("beam_size")

    def resume_at(self, source: Source) -> float:
        """Seconds of ``source`` already polished (0 when none; its whole length once done)."""
        return max((s.end for s in self.items if s.source == source), default=0.0)

    def describe(self) -> str:
        """What the exports say about where the text came from."""
        beam = f", beam {self.beam_size}" if self.beam_size else ""
        return f"polished after the meeting ({Path(self.model).name}{beam})"


def polished_path(folder: str | os.PathLike[str]) -> Path:
    return Path(folder) / POLISHED_NAME


def read_polished(folder: str | os.PathLike[str]) -> PolishedTranscript | None:
    """The polished transcript up to its last intact line; None when the session was never polished."""
    path = polished_path(folder)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    out = PolishedTranscript()
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        try:
            rec = json.loads(line.decode("utf-8")) if line.strip() else None
        except (UnicodeDecodeError, ValueError):
            rec = None
            if last:
                out.torn_tail = line
            continue
        if not isinstance(rec, dict):
            continue
        kind = rec.get("t")
        if kind == "start":
            out.start = rec
        elif kind == "resume":
            out.resumes += 1
        elif kind == "source_done":
            out.done[Source(rec["source"])] = rec
        elif kind == "end":
            out.end = rec
        else:
            try:
                item = record_to_item(rec)
            except (KeyError, ValueError, TypeError):
                continue
            if isinstance(item, Segment):
                out.items.append(item)
    return out


def recover_polished(folder: str | os.PathLike[str]) -> list[str]:
    """Set a torn last line aside (``polished.torn``) so appending can go on. Returns notes for the user."""
    path = polished_path(folder)
    current = read_polished(folder)
    if current is None or not current.torn_tail:
        return []
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        torn = Path(folder) / POLISHED_TORN
        with open(torn, "ab") as out:
            out.write(current.torn_tail + b"\n")
        paths.make_private(torn)
        fh.truncate(size - len(current.torn_tail))
        fh.flush()
        os.fsync(fh.fileno())
    return [f"polished transcript: set aside a partial last line ({len(current.torn_tail)} bytes)"]


class PolishedWriter:
    """Appends the polished transcript durably (each record fsynced on return)."""

    def __init__(self, folder: str | os.PathLike[str], *, model: str, beam_size: int, sources: list[Source],
                 restart: bool = False) -> None:
        path = polished_path(folder)
        if restart and path.exists():
            path.unlink()
        fresh = not path.exists() or path.stat().st_size == 0
        self._journal = JournalWriter(path)
        if fresh:
            self._journal.append({"t": "start", "kind": "polished", "v": 1, "model": model, "beam_size": beam_size,
                                  "sources": [s.value for s in sources], "wall": round(time.time(), 3)})
        else:
            self._journal.append({"t": "resume", "wall": round(time.time(), 3)})

    def segment(self, seg: Segment) -> None:
        self._journal.append(segment_to_record(seg))

    def source_done(self, source: Source, audio_s: float, asr_s: float) -> None:
        self._journal.append({"t": "source_done", "source": source.value, "audio_s": round(audio_s, 3),
                              "asr_s": round(asr_s, 3)})

    def end(self, **summary: Any) -> None:
        self._journal.append({"t": "end", "reason": "done", "wall": round(time.time(), 3), **summary})

    def close(self) -> None:
        self._journal.close()


def transcript_for_export(loaded: Any, *, prefer_live: bool = False) -> tuple[list[Item], str | None]:
    """The items to export for a ``LoadedSession`` and a note saying which transcript they are.

    A complete polished transcript wins (with the live gaps kept, so missing audio still shows); an
    unfinished one is not used (the note says so)."""
    polished = None if prefer_live else read_polished(loaded.info.path)
    if polished is None:
        return list(loaded.items), None
    if not polished.complete:
        return list(loaded.items), "live transcript (the polish was interrupted; run `meeting-tui polish` again)"
    gaps = [i for i in loaded.items if not isinstance(i, Segment)]
    return [*polished.items, *gaps], polished.describe()
