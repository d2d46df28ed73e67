"""Transcript exporters: plain text, Markdown, SubRip, WebVTT and JSON.

``render(items, fmt)`` turns Segments and Gaps into a string; ``export_file(items, path)`` writes one
atomically and raises ``ExportError`` (with the fix) when it cannot. Used by ``meeting-tui export`` for
sessions and by ``meeting-tui transcribe`` for audio files. Items are ordered by start time, since the
journal holds them in the order the transcriber finished them.
"""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from meeting_tui import paths
from meeting_tui.session.journal import Item, Note
from meeting_tui.session.store import load_session
from meeting_tui.types import Gap, Mode, Segment, Source

FORMATS = ("txt", "md", "srt", "vtt", "json")
EXTENSIONS = {"txt": ".txt", "md": ".md", "srt": ".srt", "vtt": ".vtt", "json": ".json"}
_SUFFIX_FORMATS = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".srt": "srt", ".vtt": "vtt", ".json": "json"}
DEFAULT_LABELS = {Source.MIC: "You", Source.LOOPBACK: "Them", Source.MIX: "Mixed"}

Labels = Mapping[Any, str]  # Source (or its value, "mic"...) -> label


class ExportError(Exception):
    """An export could not be written; the message says why and what to do."""


class UnknownFormatError(ExportError, ValueError):
    """The output's extension names no format (a usage error: nothing was done)."""


# --- helpers --------------------------------------------------------------------------------------------


def _label_map(labels: Labels | None) -> dict[Source, str]:
    out = dict(DEFAULT_LABELS)
    for key, value in (labels or {}).items():
        out[Source(key)] = value
    return out


def _who(item: Segment, labels: dict[Source, str]) -> str:
    """A line's speaker: its voice label ("Them 2", or the name it was given), else its source's label."""
    return item.speaker or labels[item.source]


def _start(item: Item) -> float:
    return item.start if isinstance(item, Segment) else item.start_s


def _end(item: Item) -> float:
    return item.end if isinstance(item, Segment) else item.end_s


def ordered(items: Iterable[Item]) -> list[Item]:
    """Final segments and gaps by start time (stable: equal starts keep journal order)."""
    return sorted((i for i in items if not (isinstance(i, Segment) and not i.final)), key=lambda i: (_start(i), _end(i)))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clock(seconds: float) -> str:
    """H:MM:SS style, always with hours (sessions run past an hour)."""
    total = int(round(max(0.0, seconds) * 1000)) // 1000  # agree with the millisecond cue times
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _cue_time(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


_NOTE_TITLES = {"note": "Note", "mark": "Mark", "action": "Action item", "decision": "Decision"}


def _note_text(note: Note) -> str:
    return f"[{_NOTE_TITLES.get(note.kind, 'Note')}{': ' + _one_line(note.text) if note.text else ''}]"


def _gap_text(gap: Gap, labels: dict[Source, str]) -> str:
    why = f": {gap.reason}" if gap.reason else ""
    return f"[no audio from {labels[gap.source]} for {_duration(gap.end_s - gap.start_s)}{why}]"


def _cue_bounds(item: Item) -> tuple[float, float]:
    start, end = _start(item), _end(item)
    if isinstance(item, Note):
        return start, start + 3.0  # long enough to read
    return start, max(end, start + 0.001)  # players drop cues that end before they start


# --- formats --------------------------------------------------------------------------------------------


def to_text(items: Iterable[Item], labels: dict[Source, str], meta: Mapping[str, Any]) -> str:
    lines = []
    if meta.get("title"):
        lines += [str(meta["title"]), *([f"Transcript {meta['transcript']}"] if meta.get("transcript") else []), ""]
    if meta.get("minutes"):  # the minutes first (minutes.md, written by `meeting-tui minutes`)
        lines += [str(meta["minutes"]).strip(), "", "Transcript", ""]
    for item in ordered(items):
        if isinstance(item, Segment):
            lines.append(f"[{_clock(item.start)}] {_who(item, labels)}: {_one_line(item.text)}")
        elif isinstance(item, Note):
            lines.append(f"[{_clock(item.at)}] {_note_text(item)}")
        else:
            lines.append(f"[{_clock(item.start_s)}] {_gap_text(item, labels)}")
    return "\n".join(lines) + "\n"


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|"})


def to_markdown(items: Iterable[Item], labels: dict[Source, str], meta: Mapping[str, Any]) -> str:
    lines = [f"# {meta.get('title') or 'Transcript'}", ""]
    facts = _facts(meta)
    if facts:
        lines += [" · ".join(facts), ""]
    if meta.get("minutes"):  # the minutes first, their headings one level down
        body = str(meta["minutes"]).strip().splitlines()
        body = body[1:] if body and body[0].startswith("# ") else body
        lines += ["## Minutes", "", *[("#" + ln if ln.startswith("## ") else ln) for ln in body], "", "## Transcript", ""]
    for item in ordered(items):
        if isinstance(item, Segment):
            text = _one_line(item.text).translate(_MD_SPECIAL)
            lines.append(f"**{_who(item, labels)}** `{_clock(item.start)}`  ")
            lines += [text, ""]
        elif isinstance(item, Note):
            said = f": {_one_line(item.text).translate(_MD_SPECIAL)}" if item.text else ""
            lines += [f"> `{_clock(item.at)}` **{_NOTE_TITLES.get(item.kind, 'Note')}**{said}", ""]
        else:
            lines += [f"> `{_clock(item.start_s)}` *{_gap_text(item, labels).translate(_MD_SPECIAL)}*", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _facts(meta: Mapping[str, Any]) -> list[str]:
    facts = []
    if meta.get("started"):
        facts.append(f"Started {str(meta['started'])[:16].replace('T', ' ')}")
    elif meta.get("saved"):
        facts.append(f"Saved {str(meta['saved'])[:16].replace('T', ' ')}")
    if meta.get("mode"):
        try:
            facts.append(Mode(meta["mode"]).label)
        except ValueError:
            facts.append(str(meta["mode"]))
    if isinstance(meta.get("duration_s"), (int, float)):
        facts.append(_duration(meta["duration_s"]))
    if meta.get("status") == "unfinished":
        facts.append("unfinished (the app stopped before the end)")
    if meta.get("transcript"):  # which transcript: "polished after the meeting (...)"
        facts.append(str(meta["transcript"]))
    return facts


def to_srt(items: Iterable[Item], labels: dict[Source, str], meta: Mapping[str, Any]) -> str:
    blocks = []
    for n, item in enumerate(_cues(items), start=1):
        start, end = _cue_bounds(item)
        text = f"{_who(item, labels)}: {_one_line(item.text)}" if isinstance(item, Segment) else \
            _note_text(item) if isinstance(item, Note) else _gap_text(item, labels)
        blocks.append(f"{n}\n{_cue_time(start, ',')} --> {_cue_time(end, ',')}\n{text}\n")
    return "\n".join(blocks)


def _cues(items: Iterable[Item]) -> list[Item]:
    """Subtitle cues: lines, gaps and notes with words (a bare mark says nothing on screen)."""
    return [i for i in ordered(items) if not (isinstance(i, Note) and not i.text)]


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(items: Iterable[Item], labels: dict[Source, str], meta: Mapping[str, Any]) -> str:
    blocks = ["WEBVTT\n"]
    for n, item in enumerate(_cues(items), start=1):
        start, end = _cue_bounds(item)
        if isinstance(item, Segment):  # a voice span: players can style or show the speaker
            text = f"<v {_vtt_escape(_who(item, labels))}>{_vtt_escape(_one_line(item.text))}"
        elif isinstance(item, Note):
            text = _vtt_escape(_note_text(item))
        else:
            text = _vtt_escape(_gap_text(item, labels))
        blocks.append(f"{n}\n{_cue_time(start, '.')} --> {_cue_time(end, '.')}\n{text}\n")
    return "\n".join(blocks)


def to_json(items: Iterable[Item], labels: dict[Source, str], meta: Mapping[str, Any]) -> str:
    out_items = []
    for item in ordered(items):
        if isinstance(item, Segment):
            rec: dict[str, Any] = {
                "type": "segment",
                "source": item.source.value,
                "speaker": _who(item, labels),
                "start": round(item.start, 3),
                "end": round(item.end, 3),
                "text": item.text.strip(),
            }
            if item.confidence is not None:
                rec["confidence"] = round(item.confidence, 4)
            if item.wall_start is not None:
                rec["wall_start"] = round(item.wall_start, 3)
        elif isinstance(item, Note):
            rec = {"type": "note", "kind": item.kind, "text": item.text, "start": round(item.at, 3), "ref": item.ref}
        else:
            rec = {
                "type": "gap",
                "source": item.source.value,
                "speaker": labels[item.source],
                "start": round(item.start_s, 3),
                "end": round(item.end_s, 3),
                "reason": item.reason,
            }
        out_items.append(rec)
    doc = {
        "format": "meeting-tui-transcript",
        "version": 1,
        "meta": dict(meta),
        "labels": {s.value: label for s, label in labels.items()},
        "items": out_items,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


_RENDERERS: dict[str, Callable[[Iterable[Item], dict[Source, str], Mapping[str, Any]], str]] = {
    "txt": to_text,
    "md": to_markdown,
    "srt": to_srt,
    "vtt": to_vtt,
    "json": to_json,
}


# --- public API -----------------------------------------------------------------------------------------


def render(items: Iterable[Item], fmt: str, *, labels: Labels | None = None, meta: Mapping[str, Any] | None = None) -> str:
    """The transcript as ``fmt`` (one of FORMATS).

    ``meta`` (all optional): title, session, started (ISO time), mode (a Mode value), duration_s, status;
    Markdown shows them under the title, JSON copies them.
    """
    if fmt not in _RENDERERS:
        raise ValueError(f'unknown export format "{fmt}"; choose one of {", ".join(FORMATS)}')
    return _RENDERERS[fmt](list(items), _label_map(labels), dict(meta or {}))


def format_for_path(path: str | os.PathLike[str]) -> str | None:
    """The format a file name implies by its extension, if any."""
    return _SUFFIX_FORMATS.get(Path(path).suffix.lower())


def check_output(
    path: str | os.PathLike[str], fmt: str | None = None, *, extra: tuple[str, ...] = (), option: str = "--format"
) -> str:
    """The format to write ``path`` in, checked before any work so that a command fails before writing.

    ``fmt`` when given, else the one the extension names; ``extra`` adds formats the caller writes itself
    (e.g. "jsonl"). Raises UnknownFormatError listing the formats (and ``option``, if the command has
    one) when the extension names none, and ExportError when the file could not be written there.
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    fmt = fmt or format_for_path(path) or (suffix[1:] if suffix[1:] in extra else None)
    if fmt is None:
        choices = ", ".join(EXTENSIONS[f] for f in FORMATS) + "".join(f", .{e}" for e in extra)
        what = f'the extension "{path.suffix}"' if path.suffix else "a file name without an extension"
        how = f", or choose one with {option} ({', '.join(FORMATS)})" if option else ""
        raise UnknownFormatError(f'Cannot tell the output format from {what} ({path}): end the name with '
                                 f"{choices}{how}. Nothing was written.")
    try:
        _check_target(path)
    except OSError as exc:
        raise ExportError(_explain(path, exc)) from exc
    return fmt


MINUTES_NAME = "minutes.md"  # written beside the journal by `meeting-tui minutes`


def minutes_of(session_folder: str | os.PathLike[str]) -> dict[str, str]:
    """``{"minutes": text}`` for ``meta`` when the session has minutes, else ``{}``."""
    try:
        text = (Path(session_folder) / MINUTES_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return {"minutes": text} if text.strip() else {}


def default_filename(stem: str, fmt: str) -> str:
    """E.g. ``default_filename("2024-05-01_14-03-22", "srt")`` -> ``"meeting-2024-05-01_14-03-22.srt"``."""
    return f"meeting-{stem}{EXTENSIONS[fmt]}"


def saved_meta(session_folder: str | os.PathLike[str] | None, mode: str, *, now: float | None = None) -> dict[str, Any]:
    """``meta`` for saving a transcript that is on screen (the dashboard's Save), with the date and session
    id that `meeting-tui export` writes: those of the session folder when there is one, else the time of
    saving. The folder is one this app is recording or has just closed: no end marker means still going."""
    if session_folder is not None:
        try:
            meta = load_session(session_folder).export_meta()
        except (OSError, ValueError):
            meta = None
        if meta:
            if meta.get("status") in ("recording", "unfinished"):  # not over yet: no duration, no status
                meta.pop("duration_s", None)
                meta.pop("status", None)
            meta.setdefault("mode", mode)
            return meta
    saved = datetime.fromtimestamp(time.time() if now is None else now).astimezone()
    return {"title": f"Meeting {saved:%Y-%m-%d %H:%M}", "saved": saved.isoformat(timespec="seconds"), "mode": mode}


def export_file(
    items: Iterable[Item],
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    labels: Labels | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Path:
    """Write the transcript to ``path`` atomically (0o600 on POSIX); ``fmt`` defaults from the extension.

    Raises ExportError naming the problem and the fix; nothing else is touched when it fails.
    """
    path = Path(path).expanduser()
    fmt = fmt or format_for_path(path)
    if fmt is None:
        fmt = check_output(path)  # raises UnknownFormatError naming the formats
    text = render(items, fmt, labels=labels, meta=meta)
    try:
        _check_target(path)
        paths.atomic_write(path, text)
    except OSError as exc:
        raise ExportError(_explain(path, exc)) from exc
    return path


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
    parent = path.parent
    for ancestor in (parent, *parent.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, f"{ancestor} is a file, not a folder", str(path))
            break
    if not parent.exists():
        raise FileNotFoundError(errno.ENOENT, f"the folder {parent} does not exist", str(path))


def _explain(path: Path, exc: OSError) -> str:
    fix = "Choose another file with -o/--output (a folder you can write to)."
    if isinstance(exc, IsADirectoryError):
        return f"Cannot write the export to {path}: it is a folder. Give a file name, e.g. -o {path / 'transcript.txt'}."
    if isinstance(exc, NotADirectoryError):
        return f"Cannot write the export to {path}: {exc.strerror}. {fix}"
    if isinstance(exc, FileNotFoundError):
        return f"Cannot write the export to {path}: {exc.strerror}. Create it first, or {fix[0].lower()}{fix[1:]}"
    if isinstance(exc, PermissionError):
        return f"Cannot write the export to {path}: permission denied. {fix}"
    if exc.errno in (errno.EROFS, errno.EACCES):
        return f"Cannot write the export to {path}: the location is read-only. {fix}"
    if exc.errno == errno.ENOSPC:
        return f"Cannot write the export to {path}: the disk is full. Free some space or {fix[0].lower()}{fix[1:]}"
    return f"Cannot write the export to {path}: {exc.strerror or exc}. {fix}"
