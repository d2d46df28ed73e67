"""Every item cites the line it rests on; an item whose cited line does not contain its supporting words
is dropped (the run says how many). A language model's item paraphrases, so it is held to most of its
content words being in the line, and to an owner who is in the meeting or named in that line."""

from __future__ import annotations

import re

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


MODEL_SUPPORT = 0.6  # share of a model item's content words its line must hold
_FILLER = frozenset("""a an the and or but if then so of to in on at by for with from into about as is are was were be
been being it its this that these those i you he she we they me him her us them my your our their will would shall
should can could may might must do does did done have has had not no yes please just also very really going gonna let
lets let's ok okay well there here what who when where why how which all any some each every""".split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower()) if w not in _FILLER}


def model_supported(item: Item, line: Line | None, speakers: set[str]) -> bool:
    """Most of the item's content words are in the line, and its owner is a speaker or named in the line."""
    if line is None:
        return False
    need = content_stems(item.support or item.text)
    if not need or len(need & content_stems(line.text)) / len(need) < MODEL_SUPPORT:
        return False
    return not item.owner or item.owner in speakers or item.owner.lower() in line.text.lower()


def keep_cited(items: list[Item], lines: dict[int, Line], live_lines: dict[int, Line],
               speakers: set[str] | None = None) -> tuple[list[Item], int]:
    """The items whose cited line supports them, and how many were dropped. The user's flags are checked
    against the live line they were made on; notes and marks cite no line and are kept."""
    kept, dropped = [], 0
    for item in items:
        if item.source in ("note", "mark"):
            kept.append(item)
            continue
        line = (live_lines if item.source == "flag" else lines).get(item.line_id) if item.line_id is not None else None
        ok = model_supported(item, line, speakers or set()) if item.source == "llm" else supported(item, line)
        if ok:
            kept.append(item)
        else:
            dropped += 1
    return kept, dropped
