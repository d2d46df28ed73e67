"""What of a session folder is searchable: rows for the index, read from the session's own files.

Each source file has a kind and a reader. Append-only JSON-lines files (the journal, the polished
transcript) are read from an offset, so a growing journal costs only its new lines; whole documents
(minutes, notes files) are read again when they change. A record type nobody knows is skipped, so newer
sessions never break an older index: to index a new record type, add a function to ``RECORD_READERS``;
a new file, a line to ``DOCUMENTS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meeting_tui.session.journal import JOURNAL_NAME
from meeting_tui.session.polished import POLISHED_NAME


@dataclass
class Row:
    """One searchable line: its text, where it is (seconds on the session clock, None for documents)."""

    text: str
    kind: str  # "live", "polished", "note", "minutes", ...
    start: float | None = None
    end: float | None = None
    source: str | None = None  # "mic", "loopback", "mix"
    speaker: str | None = None  # a loopback voice's label ("Them 2"); None: the source's label
    seg_id: int | None = None


@dataclass
class Changes:
    """What the new lines of one file say: rows to add and edits to rows already indexed."""

    rows: list[Row] = field(default_factory=list)
    drops: list[tuple[int, str]] = field(default_factory=list)  # (segment id, source) retracted
    renames: list[tuple[str, str]] = field(default_factory=list)  # speaker label old -> new
    complete: bool = False  # the file's end record was read (a finished polish)
    consumed: int = 0  # bytes read up to the end of the last complete line


def _segment(rec: dict[str, Any], kind: str, out: Changes) -> None:
    text = str(rec.get("text") or "").strip()
    if not text:
        return
    out.rows.append(Row(text=text, kind=kind, start=_num(rec.get("start")), end=_num(rec.get("end")),
                        source=str(rec.get("source") or "") or None,
                        speaker=str(rec["speaker"]) if rec.get("speaker") else None,
                        seg_id=int(rec["id"]) if isinstance(rec.get("id"), int) else None))


def _note(rec: dict[str, Any], kind: str, out: Changes) -> None:
    # A note typed during the meeting; its time may be called start, at or time.
    text = str(rec.get("text") or "").strip()
    if text:
        at = next((_num(rec.get(k)) for k in ("start", "at", "time") if _num(rec.get(k)) is not None), None)
        out.rows.append(Row(text=text, kind="note", start=at, end=at, source=rec.get("source")))


def _retract(rec: dict[str, Any], kind: str, out: Changes) -> None:
    if rec.get("action") == "drop" and isinstance(rec.get("id"), int):
        out.drops.append((int(rec["id"]), str(rec.get("source") or "")))


def _speaker(rec: dict[str, Any], kind: str, out: Changes) -> None:
    old, new = str(rec.get("from") or ""), str(rec.get("to") or "")
    if old and new and old != new:
        out.renames.append((old, new))


def _end(rec: dict[str, Any], kind: str, out: Changes) -> None:
    out.complete = True


# record type ("t") -> reader; everything else (start, gap, resume, source_done, types added later) is skipped
RECORD_READERS: dict[str, Callable[[dict[str, Any], str, Changes], None]] = {
    "segment": _segment,
    "note": _note,
    "retract": _retract,
    "speaker": _speaker,
    "end": _end,
}


@dataclass(frozen=True)
class LinesFile:
    name: str
    kind: str  # the kind of its segments


@dataclass(frozen=True)
class Document:
    name: str
    kind: str


LINE_FILES = (LinesFile(JOURNAL_NAME, "live"), LinesFile(POLISHED_NAME, "polished"))
DOCUMENTS = (Document("minutes.md", "minutes"), Document("notes.md", "note"))


def read_lines(data: bytes, kind: str) -> Changes:
    """The changes in ``data`` (a file's bytes from the last offset); an unterminated last line is left for
    next time, a damaged line skipped."""
    out = Changes()
    end = data.rfind(b"\n") + 1
    for line in data[:end].split(b"\n"):
        if not line.strip():
            continue
        try:
            rec = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        reader = RECORD_READERS.get(rec.get("t")) if isinstance(rec, dict) else None
        if reader is None:
            continue
        try:
            reader(rec, kind, out)
        except (KeyError, ValueError, TypeError):
            continue
    out.consumed = end
    return out


def read_document(path: Path, kind: str) -> list[Row]:
    """A Markdown document as rows: one per paragraph or list item, front matter and headings skipped."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if text.startswith("---\n"):
        close = text.find("\n---", 4)
        text = text[close + 4:] if close != -1 else text
    rows = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*+> ").strip()
        if line and not line.startswith("#"):
            rows.append(Row(text=line, kind=kind))
    return rows


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
