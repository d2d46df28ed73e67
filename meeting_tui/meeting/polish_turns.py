"""The polished text laid on the live transcript's turns: polish may decode better, never regroup.

Offline Whisper cuts its segments where it likes; two lines the live transcript kept apart (two turns of "You"
with a pause between) can come back as one segment, and the second line's time is gone. ``keep_turns`` splits
each polished segment at the live lines it spans (by its words' times where the model gave them, else by the
share of the segment's time that falls in each line) and keeps a live line the polish left empty as it was,
so every live line keeps its own time and nothing the live transcript had is lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence


@dataclass
class Piece:
    start: float
    end: float
    text: str
    polished: bool = True  # False: the live line, kept because the polish had nothing for it


def keep_turns(segments: Sequence[Any], live: Sequence[tuple[float, float, str]], *, fill: bool = True) -> list[Piece]:
    """``segments``: polished (start, end, text, words) in session time; ``live``: one source's live lines
    (start, end, text). Returns the pieces in time order; with ``fill``, the live lines no polished text
    overlaps too (``unfilled`` gives them when the segments come one at a time)."""
    turns = sorted(live)
    pieces: list[Piece] = []
    for seg in segments:
        spanned = [i for i, (a, b, _) in enumerate(turns) if _overlap(seg.start, seg.end, a, b) > 0]
        if len(spanned) < 2:
            pieces.append(Piece(seg.start, seg.end, seg.text.strip()))
            continue
        for i, text in _split(seg, [turns[i] for i in spanned]):
            if text:
                a, b, _ = turns[spanned[i]]
                pieces.append(Piece(max(seg.start, a), min(seg.end, b), text))
    if fill:
        pieces += unfilled(turns, pieces)
    return sorted(pieces, key=lambda p: p.start)


def unfilled(live: Sequence[tuple[float, float, str]], pieces: Sequence[Any]) -> list[Piece]:
    """The live lines that no polished piece overlaps, kept as they were."""
    return [Piece(a, b, text.strip(), polished=False) for a, b, text in sorted(live)
            if text.strip() and not any(_overlap(p.start, p.end, a, b) > 0 for p in pieces)]


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def _split(seg: Any, turns: list[tuple[float, float, str]]) -> list[tuple[int, str]]:
    """The segment's text shared out among the turns it spans, in order."""
    words = getattr(seg, "words", None)
    buckets: list[list[str]] = [[] for _ in turns]
    if words:
        for w in words:
            mid = (w.start + w.end) / 2
            k = min(range(len(turns)), key=lambda i: 0 if turns[i][0] <= mid <= turns[i][1]
                    else min(abs(mid - turns[i][0]), abs(mid - turns[i][1])))
            buckets[k].append(w.word.strip())
    else:  # no word times: each turn gets the share of the words its part of the segment's time holds
        tokens = seg.text.split()
        shares = [max(0.0, _overlap(seg.start, seg.end, a, b)) for a, b, _ in turns]
        total = sum(shares) or 1.0
        at = 0
        for k, share in enumerate(shares):
            n = len(tokens) - at if k == len(turns) - 1 else round(len(tokens) * share / total)
            buckets[k] = tokens[at:at + n]
            at += n
    return [(k, " ".join(b).strip()) for k, b in enumerate(buckets)]
