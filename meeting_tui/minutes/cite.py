"""Every item cites the line it rests on; an item whose cited line does not contain its supporting words
is dropped (the run says how many)."""

from __future__ import annotations

from meeting_tui.minutes.rules import Item, words
from meeting_tui.minutes.source import Line


def supported(item: Item, line: Line | None) -> bool:
    """All the item's supporting words appear in the cited line, in order."""
    if line is None:
        return False
    said, need = words(line.text), words(item.support)
    if not need:
        return True
    pos = 0
    for word in need:
        try:
            pos = said.index(word, pos) + 1
        except ValueError:
            return False
    return True


def keep_cited(items: list[Item], lines: dict[int, Line], live_lines: dict[int, Line]) -> tuple[list[Item], int]:
    """The items whose cited line supports them, and how many were dropped. The user's flags are checked
    against the live line they were made on; notes and marks cite no line and are kept."""
    kept, dropped = [], 0
    for item in items:
        if item.source in ("note", "mark"):
            kept.append(item)
            continue
        line = (live_lines if item.source == "flag" else lines).get(item.line_id) if item.line_id is not None else None
        if supported(item, line):
            kept.append(item)
        else:
            dropped += 1
    return kept, dropped
