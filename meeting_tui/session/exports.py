"""Writing a transcript in one of the export formats (``meeting_tui/export_formats``: name, extension, writer).

``render(items, fmt)`` turns Segments, Gaps and Notes into a string; ``export_file(items, path)`` writes one
atomically and raises ``ExportError`` (with the fix) when it cannot. Used by ``meeting-tui export`` for
sessions and by ``meeting-tui transcribe`` for audio files. Items are ordered by start time, since the
journal holds them in the order the transcriber finished them.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from meeting_tui import paths
from meeting_tui.export_formats import FORMAT_NAMES, by_name, for_suffix
from meeting_tui.export_formats.common import Item, ordered  # noqa: F401  ordered: for session/commands.py
from meeting_tui.session.store import load_session
from meeting_tui.types import Source

FORMATS = FORMAT_NAMES  # the names (settings, --format); the formats themselves are in export_formats
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


# --- public API -----------------------------------------------------------------------------------------


def render(items: Iterable[Item], fmt: str, *, labels: Labels | None = None, meta: Mapping[str, Any] | None = None) -> str:
    """The transcript as ``fmt`` (one of FORMATS).

    ``meta`` (all optional): title, session, started (ISO time), mode (a Mode value), duration_s, status;
    Markdown shows them under the title, JSON copies them.
    """
    export_format = by_name(fmt)
    if export_format is None:
        raise ValueError(f'unknown export format "{fmt}"; choose one of {", ".join(FORMATS)}')
    return export_format.writer(list(items), _label_map(labels), dict(meta or {}))


def format_for_path(path: str | os.PathLike[str]) -> str | None:
    """The format a file name implies by its extension, if any."""
    export_format = for_suffix(Path(path).suffix)
    return export_format.name if export_format else None


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
        choices = ", ".join(by_name(f).extension for f in FORMATS) + "".join(f", .{e}" for e in extra)
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
    return f"meeting-{stem}{by_name(fmt).extension}"


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
