"""The append-only session journal: one JSON object per line, each fsynced as it is written.

Record types (``"t"`` key): ``start`` (first line), ``segment`` (a final Segment), ``gap`` (a Gap),
``retract`` (the echo text filter judged an earlier "You" segment an echo: ``action`` "drop" removes it
when the journal is read, "mark" keeps it with ``Segment.echo_score``), ``end`` (the clean-close marker; its absence means the session did not finish), ``speaker`` (a loopback
voice relabelled: ``op`` "merge" or "rename", ``from`` -> ``to``; applies to every segment of the journal
labelled ``from``, before or after it, so a rename written by another process still reaches later lines),
``note`` (the user's note, mark or flag during the meeting: ``kind`` note|mark|action|decision, ``text``,
``at`` session seconds, ``ref`` the segment id it flags or null; read into ``JournalContents.notes``).
Reading tolerates a torn
last line (the app was killed mid-write) and skips, but counts, any other undecodable line.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from meeting_tui import paths
from meeting_tui.types import Gap, Note, Retraction, Segment, Source

JOURNAL_NAME = "journal.jsonl"
FORMAT_VERSION = 1

Item = Union[Segment, Gap]


def segment_to_record(seg: Segment) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "t": "segment",
        "id": seg.id,
        "source": seg.source.value,
        "start": round(seg.start, 3),
        "end": round(seg.end, 3),
        "text": seg.text,
    }
    if seg.confidence is not None:
        rec["confidence"] = round(seg.confidence, 4)
    if seg.wall_start is not None:
        rec["wall_start"] = round(seg.wall_start, 3)
    if seg.extra:
        rec["extra"] = seg.extra
    if seg.speaker is not None:
        rec["speaker"] = seg.speaker
    return rec


def speaker_event_record(op: str, old: str, new: str) -> dict[str, Any]:
    """A journal line saying that the loopback voice labelled ``old`` is now ``new`` (merge or rename)."""
    return {"t": "speaker", "op": op, "from": old, "to": new}


def apply_speaker_events(segments: list[Segment], events: list[dict[str, Any]]) -> dict[str, str]:
    """Relabel ``segments`` in place by the journal's speaker records, in order; returns old -> new label."""
    alias: dict[str, str] = {}
    for ev in events:
        old, new = str(ev.get("from", "")), str(ev.get("to", ""))
        if not old or not new or old == new:
            continue
        for k, v in alias.items():
            if v == old:
                alias[k] = new
        alias.setdefault(old, new)
    for seg in segments:
        if seg.speaker is not None and seg.speaker in alias:
            seg.speaker = alias[seg.speaker]
    return alias


def gap_to_record(gap: Gap) -> dict[str, Any]:
    return {"t": "gap", "source": gap.source.value, "start": round(gap.start_s, 3), "end": round(gap.end_s, 3), "reason": gap.reason}


def retraction_to_record(seg: Segment, action: str, score: float) -> dict[str, Any]:
    return {"t": "retract", "id": seg.id, "source": seg.source.value, "action": action, "score": round(score, 2)}


def apply_retraction(items: list, rec: dict[str, Any]) -> None:
    """Drop (or mark) the segment a ``retract`` record names, in place (``Retraction.apply``)."""
    try:
        source = Source(rec.get("source"))
    except ValueError:
        return
    Retraction(source, rec.get("id"), "drop" if rec.get("action") == "drop" else "mark", rec.get("score")).apply(items)


NOTE_KINDS = ("note", "mark", "action", "decision")


def note_record(note: Note) -> dict[str, Any]:
    return {"t": "note", "kind": note.kind, "text": note.text, "at": round(note.at, 3), "ref": note.ref}


def record_to_note(rec: dict[str, Any]) -> Note:
    kind = str(rec.get("kind") or "note")
    ref = rec.get("ref")
    return Note(kind if kind in NOTE_KINDS else "note", str(rec.get("text") or ""), float(rec.get("at") or 0.0),
                int(ref) if isinstance(ref, int) else None)


def record_to_item(rec: dict[str, Any]) -> Item | None:
    """A Segment or Gap from a journal record; None for other record types."""
    kind = rec.get("t")
    if kind == "segment":
        return Segment(
            source=Source(rec["source"]),
            start=float(rec["start"]),
            end=float(rec["end"]),
            text=str(rec["text"]),
            final=True,
            confidence=rec.get("confidence"),
            wall_start=rec.get("wall_start"),
            id=int(rec.get("id", 0)),
            extra=dict(rec.get("extra") or {}),
            speaker=str(rec["speaker"]) if rec.get("speaker") else None,
        )
    if kind == "gap":
        return Gap(Source(rec["source"]), float(rec["start"]), float(rec["end"]), str(rec.get("reason", "")))
    return None


def encode(rec: dict[str, Any]) -> bytes:
    # One line, no raw newlines inside (json escapes them), UTF-8 for readable transcripts.
    return (json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class JournalWriter:
    """Appends records durably. Thread-safe: the transcriber thread and the UI may both write."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
        self._fd: int | None = os.open(self.path, flags, paths.FILE_MODE)
        paths.make_private(self.path)
        self._lock = threading.Lock()

    def append(self, rec: dict[str, Any]) -> None:
        """Write one record and fsync it before returning (a crash after this keeps it). Raises OSError."""
        data = encode(rec)
        with self._lock:
            if self._fd is None:
                raise ValueError(f"journal {self.path} is closed")
            view = memoryview(data)
            while view:  # one write() nearly always suffices; loop for the rare short write
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None


@dataclass
class JournalContents:
    start: dict[str, Any] | None = None
    items: list[Item] = field(default_factory=list)
    end: dict[str, Any] | None = None
    torn_tail: bytes = b""  # an incomplete last line, left by a kill mid-write
    bad_lines: int = 0  # undecodable lines elsewhere (skipped)
    valid_length: int = 0  # bytes up to the end of the last complete line
    speaker_events: list[dict[str, Any]] = field(default_factory=list)  # "speaker" records, in order
    speaker_aliases: dict[str, str] = field(default_factory=dict)  # label written -> label now (applied)
    notes: list[Note] = field(default_factory=list)  # "note" records, in journal order

    @property
    def finished(self) -> bool:
        return self.end is not None

    @property
    def segments(self) -> list[Segment]:
        return [i for i in self.items if isinstance(i, Segment)]


def read_journal(path: str | os.PathLike[str]) -> JournalContents:
    """Read a journal, complete up to its last intact line. Never raises for damaged content."""
    data = Path(path).read_bytes()
    out = JournalContents()
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        last = nl == -1
        line = data[pos:] if last else data[pos:nl]
        rec = _decode(line)
        if last and rec is None:
            out.torn_tail = line
            break
        next_pos = len(data) if last else nl + 1
        if rec is None:
            out.bad_lines += int(bool(line.strip()))
        else:
            _add(out, rec)
        pos = next_pos
        if not last:
            out.valid_length = pos
    if out.speaker_events:
        out.speaker_aliases = apply_speaker_events(out.segments, out.speaker_events)
    return out


def _decode(line: bytes) -> dict[str, Any] | None:
    try:
        rec = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def _add(out: JournalContents, rec: dict[str, Any]) -> None:
    kind = rec.get("t")
    if kind == "start":
        out.start = rec
    elif kind == "end":
        out.end = rec
    elif kind == "retract":
        apply_retraction(out.items, rec)
    elif kind == "speaker":
        out.speaker_events.append(rec)
    elif kind == "note":
        try:
            out.notes.append(record_to_note(rec))
        except (ValueError, TypeError):
            out.bad_lines += 1
    else:
        try:
            item = record_to_item(rec)
        except (KeyError, ValueError, TypeError):
            out.bad_lines += 1
            return
        if item is not None:
            out.items.append(item)
