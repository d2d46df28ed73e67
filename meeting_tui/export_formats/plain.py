"""Plain text and Markdown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from meeting_tui.export_formats.common import NOTE_TITLES, Item, clock, duration, gap_text, note_text, one_line, ordered, who
from meeting_tui.types import Mode, Note, Segment, Source


def to_text(items: Iterable[Item], labels: dict[Source, str], meta: Mapping[str, Any]) -> str:
    lines = []
    if meta.get("title"):
        lines += [str(meta["title"]), *([f"Transcript {meta['transcript']}"] if meta.get("transcript") else []), ""]
    if meta.get("minutes"):  # the minutes first (minutes.md, written by `meeting-tui minutes`)
        lines += [str(meta["minutes"]).strip(), "", "Transcript", ""]
    for item in ordered(items):
        if isinstance(item, Segment):
            lines.append(f"[{clock(item.start)}] {who(item, labels)}: {one_line(item.text)}")
        elif isinstance(item, Note):
            lines.append(f"[{clock(item.at)}] {note_text(item)}")
        else:
            lines.append(f"[{clock(item.start_s)}] {gap_text(item, labels)}")
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
            text = one_line(item.text).translate(_MD_SPECIAL)
            lines.append(f"**{who(item, labels)}** `{clock(item.start)}`  ")
            lines += [text, ""]
        elif isinstance(item, Note):
            said = f": {one_line(item.text).translate(_MD_SPECIAL)}" if item.text else ""
            lines += [f"> `{clock(item.at)}` **{NOTE_TITLES.get(item.kind, 'Note')}**{said}", ""]
        else:
            lines += [f"> `{clock(item.start_s)}` *{gap_text(item, labels).translate(_MD_SPECIAL)}*", ""]
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
        facts.append(duration(meta["duration_s"]))
    if meta.get("status") == "unfinished":
        facts.append("unfinished (the app stopped before the end)")
    if meta.get("transcript"):  # which transcript: "polished after the meeting (...)"
        facts.append(str(meta["transcript"]))
    return facts
