"""Subtitles: SubRip and WebVTT (one cue per line, note with words or gap)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from meeting_tui.export_formats.common import Item, cue_bounds, cue_time, gap_text, note_text, one_line, ordered, who
from meeting_tui.types import Note, Segment, Source


def to_srt(items: Iterable[Item], labels: dict[Source, str], meta: Mapping[str, Any]) -> str:
    blocks = []
    for n, item in enumerate(_cues(items), start=1):
        start, end = cue_bounds(item)
        text = f"{who(item, labels)}: {one_line(item.text)}" if isinstance(item, Segment) else \
            note_text(item) if isinstance(item, Note) else gap_text(item, labels)
        blocks.append(f"{n}\n{cue_time(start, ',')} --> {cue_time(end, ',')}\n{text}\n")
    return "\n".join(blocks)


def _cues(items: Iterable[Item]) -> list[Item]:
    """Subtitle cues: lines, gaps and notes with words (a bare mark says nothing on screen)."""
    return [i for i in ordered(items) if not (isinstance(i, Note) and not i.text)]


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(items: Iterable[Item], labels: dict[Source, str], meta: Mapping[str, Any]) -> str:
    blocks = ["WEBVTT\n"]
    for n, item in enumerate(_cues(items), start=1):
        start, end = cue_bounds(item)
        if isinstance(item, Segment):  # a voice span: players can style or show the speaker
            text = f"<v {_vtt_escape(who(item, labels))}>{_vtt_escape(one_line(item.text))}"
        elif isinstance(item, Note):
            text = _vtt_escape(note_text(item))
        else:
            text = _vtt_escape(gap_text(item, labels))
        blocks.append(f"{n}\n{cue_time(start, '.')} --> {cue_time(end, '.')}\n{text}\n")
    return "\n".join(blocks)
