"""The transcript formats, once: a format is one ``ExportFormat`` (name, extension, writer) in ``FORMATS``.

Everything that offers or writes a format reads this tuple: the settings' ``session.export_format``, the
writers' dispatch and the extension check (``session/exports.py``), the dashboard's ``e`` key and palette,
``meeting-tui export --format`` and ``transcribe -o``. Adding a format is one entry here (and its writer).
A writer takes the ordered items (Segments, Gaps, Notes), the labels by source and the session's facts
(``meta``: title, started, mode, duration_s, status, minutes...) and returns the file's text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meeting_tui.export_formats.common import Item
from meeting_tui.export_formats.json_doc import to_json
from meeting_tui.export_formats.plain import to_markdown, to_text
from meeting_tui.export_formats.subtitles import to_srt, to_vtt
from meeting_tui.types import Source
Writer = Callable[[Iterable[Item], dict[Source, str], Mapping[str, Any]], str]


@dataclass(frozen=True)
class ExportFormat:
    name: str  # what the settings, --format and the palette call it
    extension: str  # the file name's ending it writes, with the dot
    writer: Writer
    title: str  # in help texts: "write a session's transcript as text, Markdown, ..."
    aliases: tuple[str, ...] = ()  # other endings read as this format (".markdown")


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("txt", ".txt", to_text, "text", aliases=(".text",)),
    ExportFormat("md", ".md", to_markdown, "Markdown", aliases=(".markdown",)),
    ExportFormat("srt", ".srt", to_srt, "SRT"),
    ExportFormat("vtt", ".vtt", to_vtt, "WebVTT"),
    ExportFormat("json", ".json", to_json, "JSON"),
)

FORMAT_NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)
_BY_NAME = {f.name: f for f in FORMATS}
_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in (f.extension, *f.aliases)}


def titles() -> str:
    """"text, Markdown, SRT, WebVTT or JSON"."""
    names = [f.title for f in FORMATS]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def extensions(sep: str = " ") -> str:
    """".txt .md .srt .vtt .json"."""
    return sep.join(f.extension for f in FORMATS)


def by_name(name: str) -> ExportFormat | None:
    return _BY_NAME.get(name)


def for_suffix(suffix: str) -> ExportFormat | None:
    """The format a file name's ending (".srt", any case) names, if any."""
    return _BY_SUFFIX.get(suffix.lower())


def next_format(name: str) -> str:
    """The format after ``name`` (the dashboard's ``e`` key cycles through them)."""
    return FORMAT_NAMES[(FORMAT_NAMES.index(name) + 1) % len(FORMAT_NAMES)] if name in _BY_NAME else FORMAT_NAMES[0]
