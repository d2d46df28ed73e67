"""The polished text laid on the live transcript's lines: polish may decode better, never regroup.

Offline Whisper cuts its segments where it likes and its segment times drift by seconds (measured: a line said
at 8.6 s came back at 6 s); two lines the live transcript kept apart can come back as one segment, and the
second line's time is gone. The live lines' times come from voice detection on the audio as it arrived and
are right. So ``keep_turns`` gives each polished word (by its time where the model gave word times, else each
segment's share of its time in each line) to the live line it falls in, and each live line that got words
becomes one polished line with the live line's times. Words said where the live transcript has no line (it
missed them) stay polished lines of their own. A live line the polish left empty is kept as it was. So every
live line keeps its time, no two are merged, and nothing the live transcript had is lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

NEAR_S = 1.0  # a word this close to a live line (outside it) belongs to it: voice detection trims the edges


@dataclass
class Piece:
    start: float
    end: float
    text: str
    polished: bool = True  # False: the live line, kept because the polish had nothing for it
    segment: int | None = None  # the polished segment a line outside the live ones came from


def keep_turns(segments: Sequence[Any], live: Sequence[tuple[float, float, str]]) -> list[Piece]:
    """``segments``: polished (start, end, text, words) in session time; ``live``: one source's live lines
    (start, end, text). Returns the polished lines in time order."""
    turns = sorted(t for t in live if t[2].strip())
    units: list[tuple[int | None, int, float, float, str]] = []  # (live line, polished segment, start, end, text)
    for n, seg in enumerate(segments):
        for start, end, text in _units(seg, turns):
            units.append((_turn_of(start, end, turns), n, start, end, text))
    pieces: list[Piece] = []
    by_turn: dict[int, list[str]] = {}
    for turn, n, start, end, text in units:
        if turn is not None:
            by_turn.setdefault(turn, []).append(text)
        elif pieces and pieces[-1].segment == n:
            pieces[-1].end, pieces[-1].text = end, f"{pieces[-1].text} {text}"
        else:
            pieces.append(Piece(start, end, text, segment=n))
    for i, (a, b, text) in enumerate(turns):
        said = " ".join(by_turn.get(i, [])).strip()
        pieces.append(Piece(a, b, said) if said else Piece(a, b, text.strip(), polished=False))
    return sorted(pieces, key=lambda p: p.start)


def _units(seg: Any, turns: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    words = [w for w in (getattr(seg, "words", None) or []) if w.word.strip()]
    if words:
        return [(w.start, w.end, w.word.strip()) for w in words]
    spanned = [t for t in turns if _overlap(seg.start, seg.end, t[0], t[1]) > 0]
    if len(spanned) < 2:
        return [(seg.start, seg.end, seg.text.strip())]
    # no word times: each line the segment spans gets the share of its words that its part of the time holds
    tokens = seg.text.split()
    shares = [_overlap(seg.start, seg.end, a, b) for a, b, _ in spanned]
    out, at = [], 0
    for k, (a, b, _) in enumerate(spanned):
        n = len(tokens) - at if k == len(spanned) - 1 else round(len(tokens) * shares[k] / sum(shares))
        if tokens[at:at + n]:
            out.append((max(seg.start, a), min(seg.end, b), " ".join(tokens[at:at + n])))
        at += n
    return out


def _turn_of(start: float, end: float, turns: list[tuple[float, float, str]]) -> int | None:
    mid = (start + end) / 2
    best, gap = None, NEAR_S
    for i, (a, b, _) in enumerate(turns):
        d = 0.0 if a <= mid <= b else min(abs(mid - a), abs(mid - b))
        if d <= gap:
            best, gap = i, d
    return best


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)
