"""Second line of defence: a "You" segment that repeats what "Them" said a moment ago is echo.

The audio guard removes most of the echo; what slips through is usually a few words of it, transcribed
from the mic a little after the loopback's own transcript of the same words. ``TextEchoFilter`` keeps the
loopback's recent final segments and scores each mic segment by how many of its words (fuzzy: equal, or
close spellings of words of four letters and more) occur in loopback segments within ``window_s``
seconds of it. Stop words count a third. A segment scoring at least ``threshold`` is dropped (or marked,
with ``Segment.echo_score``). Short segments (fewer than three words) count as echo only if every word
matches and a loopback segment overlaps them in time: the user's "yes" or "okay" stays. A line that
reuses a question's words to answer it is not echo (meeting_tui.echo.reply).

Mic and loopback are transcribed by separate workers, so a mic segment can be final before the
loopback's. ``feed`` holds mic segments until the loopback has been transcribed past their end (told
by ``advance`` or by a later loopback segment) or for at most ``hold_s`` seconds of session time.
"""

from __future__ import annotations

import collections
import difflib
import re
from dataclasses import dataclass, field, replace

from meeting_tui.echo.reply import is_answer
from meeting_tui.types import Segment, Source

STOP_WORDS = frozenset(
    "a an the and or but so of to in on at by for with from as is are was were be been it its this that "
    "these those i you he she we they me my your our their his her them us do does did not no yes can "
    "will would should could have has had what who which there here then than just oh um uh ah".split()
)

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    """Lower-case words without punctuation ("Don't!" -> ["don't"])."""
    return [w.strip("'") for w in _WORD.findall(text.lower()) if w.strip("'")]


def _similar(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) < 4 or len(b) < 4:
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


@dataclass(frozen=True)
class EchoVerdict:
    is_echo: bool
    score: float  # weighted fraction of the mic segment's words found in recent loopback text
    matched: tuple[str, ...] = ()
    loopback_ids: tuple[int, ...] = ()


@dataclass
class TextEchoFilter:
    """Drop or mark mic segments whose words repeat recent loopback segments."""

    window_s: float = 4.0  # how far apart in time the loopback segment may be
    threshold: float = 0.6
    action: str = "drop"  # "drop" or "mark"
    hold_s: float = 3.0
    echo_delay_s: float = 0.0  # speakers-to-mic delay, when the audio guard has measured it
    keep_s: float = 30.0  # loopback history kept
    dropped: list[Segment] = field(default_factory=list)
    _loop: collections.deque = field(default_factory=lambda: collections.deque(maxlen=200))
    _held: list[Segment] = field(default_factory=list)
    _loop_done_s: float = 0.0

    def __post_init__(self) -> None:
        if self.action not in ("drop", "mark"):
            raise ValueError(f"action must be 'drop' or 'mark', not {self.action!r}")

    # --------------------------------------------------------------- scoring
    def add_loopback(self, seg: Segment) -> None:
        if not seg.final:
            return
        self._loop.append(seg)
        self._loop_done_s = max(self._loop_done_s, seg.end)
        while self._loop and self._loop[0].end < seg.end - self.keep_s:
            self._loop.popleft()

    def check(self, seg: Segment) -> EchoVerdict:
        """Is this mic segment an echo of recent loopback speech? (No side effects.)"""
        mic_words = words(seg.text)
        if not mic_words:
            return EchoVerdict(False, 0.0)
        near = [s for s in self._loop if s.start - self.window_s <= seg.end and s.end + self.window_s >= seg.start]
        if not near:
            return EchoVerdict(False, 0.0)
        pool = [(w, s) for s in near for w in words(s.text)]
        unused = list(pool)
        sources: list[Segment] = []
        total = matched_w = 0.0
        matched: list[str] = []
        for w in mic_words:
            weight = 1 / 3 if w in STOP_WORDS else 1.0
            total += weight
            for i, (u, src) in enumerate(unused):
                if _similar(w, u):
                    matched_w += weight
                    matched.append(w)
                    if src not in sources:
                        sources.append(src)
                    del unused[i]
                    break
        score = matched_w / total if total else 0.0
        content = [w for w in mic_words if w not in STOP_WORDS]
        if len(mic_words) < 3 or not content:
            overlap = any(s.start - 0.5 <= seg.end and s.end + 0.5 >= seg.start for s in near)
            is_echo = overlap and len(matched) == len(mic_words)
        else:
            is_echo = score >= self.threshold
        if is_echo:
            sources.sort(key=lambda s: s.start)
            is_echo = not is_answer(seg, mic_words, [(s, words(s.text)) for s in sources], self.echo_delay_s)
        return EchoVerdict(is_echo, score, tuple(matched), tuple(s.id for s in near))

    # --------------------------------------------------------------- streaming
    def feed(self, seg: Segment) -> list[Segment]:
        """Any final segment in; the segments to publish now out (loopback ones pass straight through)."""
        if seg.source is Source.LOOPBACK:
            self.add_loopback(seg)
            return [seg] + self._release(force_before=None)
        if seg.source is not Source.MIC or not seg.final:
            return [seg]
        self._held.append(seg)
        # a mic segment long after a held one means session time has moved on by hold_s
        return self._release(force_before=seg.end - self.hold_s)

    def advance(self, loopback_done_s: float) -> list[Segment]:
        """The loopback transcriber has finished everything up to this session time."""
        self._loop_done_s = max(self._loop_done_s, loopback_done_s)
        return self._release(force_before=None)

    def tick(self, now_s: float) -> list[Segment]:
        """Release mic segments held longer than ``hold_s`` of session time."""
        return self._release(force_before=now_s - self.hold_s)

    def flush(self) -> list[Segment]:
        return self._release(force_before=float("inf"))

    def _release(self, force_before: float | None) -> list[Segment]:
        out: list[Segment] = []
        keep: list[Segment] = []
        for seg in self._held:
            ready = self._loop_done_s >= seg.end + 0.5 or (force_before is not None and seg.end <= force_before)
            if not ready:
                keep.append(seg)
                continue
            verdict = self.check(seg)
            if verdict.is_echo:
                if self.action == "drop":
                    self.dropped.append(seg)
                    continue
                seg = replace(seg, echo_score=round(verdict.score, 2))
            out.append(seg)
        self._held = keep
        return out
