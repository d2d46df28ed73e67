"""What to tell the user about the mic and the speakers: nothing, "the mic hears your speakers", or
"wrong source".

The echo notice is a claim about the room, so it is only made on a sustained measurement: several
confident delay estimates (``delay.DelayEstimate``: the loopback's sound found in the mic at one lag,
coupling above ``min_coupling_db``) that agree on the delay and span at least ``sustain_s``. A real
echo path gives the same delay estimate after estimate; two voices that merely sound alike give a
chance correlation peak at a random lag, which the next disjoint window does not repeat (measured in
docs/echo.md). The delay
estimator's windows overlap (4 s windows, one estimate a second), so agreement only counts across
estimates far enough apart to share no audio.

A mic stream that *is* the loopback (the capture engine's wrong-source health state: the mic's device
vanished and the system moved its stream to the speakers' monitor) correlates perfectly with the
loopback, but it is not echo and headphones would not help: it is reported as wrong source with its
fix, never also as echo, and what was measured on it is forgotten. The engine's check lapses while
both streams are silent, so the wrong-source notice is only withdrawn after ``release_estimates``
estimates (about as many seconds of far-side sound) without the check firing again.
"""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass

import numpy as np

from meeting_tui.capture.similarity import similarity
from meeting_tui.echo.delay import DelayEstimate
from meeting_tui.types import HealthState

SAME_SIGNAL_RATE = 16_000
SAME_SIGNAL_BAND_HZ = 1_000.0
SAME_SIGNAL_PIECE_S = 0.25
SAME_SIGNAL_SLIDE_S = 0.005  # how far the two streams' latencies may slide within one estimate's window
ECHO_MESSAGE = "the mic hears your speakers: headphones help"
WRONG_SOURCE_MESSAGE = ("wrong source: the mic stream records the speakers' sound, not your mic (its device was "
                        "probably removed): pick your mic again")


class NoticeKind(str, enum.Enum):
    NONE = ""
    ECHO = "echo"
    WRONG_SOURCE = "wrong source"


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    message: str  # empty when there is nothing to say


_QUIET = Notice(NoticeKind.NONE, "")
_ECHO = Notice(NoticeKind.ECHO, ECHO_MESSAGE)
_WRONG = Notice(NoticeKind.WRONG_SOURCE, WRONG_SOURCE_MESSAGE)


class EchoNotice:
    """Feed it every delay estimate (``observe``) and the mic's health state (``mic_health``); read
    ``notice``. Times are session-clock samples. Not thread-safe: call from one thread."""

    def __init__(self, sample_rate: int = 16_000, *, min_confidence: float = 4.0, min_coupling_db: float = -40.0,
                 agree_ms: float = 15.0, sustain_s: float = 6.0, min_estimates: int = 3, min_share: float = 0.6,
                 hold_s: float = 20.0, keep_s: float = 30.0, release_estimates: int = 8) -> None:
        self.sample_rate = sample_rate
        self.min_confidence = min_confidence
        self.min_coupling_db = min_coupling_db
        self.agree = int(sample_rate * agree_ms / 1000)
        self.sustain = int(sample_rate * sustain_s)
        self.min_estimates = min_estimates
        self.min_share = min_share
        self.hold = int(sample_rate * hold_s)
        self.keep = int(sample_rate * keep_s)
        # (at, delay) of every estimate in the last ``keep_s``; delay None where it was not echo-like
        self._seen: collections.deque[tuple[int, int | None]] = collections.deque()
        self._echo = False
        self._last_hit: int | None = None
        self._wrong_source = False
        self.release_estimates = release_estimates  # far-side estimates (about seconds) to leave wrong source
        self._release_left = 0
        self._measured_wrong = False  # the guard's own check (``same_signal``) says wrong source
        self._same_run = 0
        self._not_same_run = 0

    @property
    def echo_measured(self) -> bool:
        """Echo is measured and the mic is its own stream (not the loopback)."""
        return self._echo and not self.wrong_source

    @property
    def wrong_source(self) -> bool:
        return self._wrong_source or bool(self._release_left) or self._measured_wrong

    @property
    def notice(self) -> Notice:
        if self.wrong_source:
            return _WRONG
        return _ECHO if self._echo else _QUIET

    @staticmethod
    def is_same_signal(mic: np.ndarray, ref: np.ndarray, est: DelayEstimate) -> bool:
        """The mic carries the loopback itself, not its echo: near-identical (Pearson correlation 0.99 or
        more) at the same level (coupling -1 dB or more). An echo through a room is coloured and
        reverberant, and quieter. Judged piece by piece (``SAME_SIGNAL_PIECE_S``), each at its own lag near
        the estimate's: the two capture workers' latencies slide by a millisecond or more within one
        estimate's window, which alone takes a whole window's correlation under 0.99."""
        if est.coupling_db is None or est.coupling_db < -1.0:
            return False
        d = est.delay_samples
        m, r = (mic[d:], ref[:len(ref) - d]) if d >= 0 else (mic[:len(mic) + d], ref[-d:])
        n = min(len(m), len(r))
        slack = int(SAME_SIGNAL_RATE * SAME_SIGNAL_SLIDE_S)
        pieces = (n - 2 * slack) // int(SAME_SIGNAL_RATE * SAME_SIGNAL_PIECE_S)
        if pieces < 2:
            return False
        return similarity(m[:n], r[:n], slack, factor=SAME_SIGNAL_RATE // int(2 * SAME_SIGNAL_BAND_HZ),
                          pieces=pieces) >= 0.99

    def is_echo_like(self, est: DelayEstimate) -> bool:
        return (est.confidence >= self.min_confidence and est.coupling_db is not None
                and est.coupling_db >= self.min_coupling_db)

    def observe(self, at: int, est: DelayEstimate | None, same_signal: bool = False) -> bool:
        """One delay estimate ending at session sample ``at`` (None: the loopback was too quiet to
        tell, which changes nothing). ``same_signal``: the mic carried the loopback itself in that
        window (``is_same_signal``). Returns whether the notice changed."""
        if est is None:
            return False
        before = self.notice
        # The guard's own wrong-source check, beside the engine's (which misses speech with pauses):
        # two such windows in a row, withdrawn after ``release_estimates`` without one.
        self._same_run = self._same_run + 1 if same_signal else 0
        if same_signal:
            self._not_same_run = 0
        elif not self.is_echo_like(est) or est.coupling_db < -3.0:
            # clearly another signal: a window that merely misses 0.99 (the streams' latencies slide
            # within it) while the level stays the loopback's counts neither way
            self._not_same_run += 1
        if self._same_run >= 2 and not self._measured_wrong:
            self._measured_wrong = True
            self._seen.clear()
            self._echo = False
            self._last_hit = None
        elif self._measured_wrong and self._not_same_run >= self.release_estimates:
            self._measured_wrong = False
        if self._wrong_source:
            return self.notice != before
        if self._release_left:
            # just out of wrong source: the check lapses whenever both streams fall silent, so the notice
            # stays until the far side has played for a while without the check firing again
            self._release_left -= 1
            return self.notice != before
        if self._measured_wrong:
            return self.notice != before
        hit = self.is_echo_like(est)
        self._seen.append((at, est.delay_samples if hit else None))
        while self._seen and self._seen[0][0] < at - self.keep:
            self._seen.popleft()
        if hit:
            self._last_hit = at
            if not self._echo and self._sustained():
                self._echo = True
        elif self._echo and (self._last_hit is None or at - self._last_hit > self.hold):
            # the loopback played for ``hold_s`` and the mic never followed it: the echo is gone
            self._echo = False
            self._seen.clear()
        return self.notice != before

    def mic_health(self, state: HealthState) -> bool:
        """The capture engine's health state of the mic stream. Returns whether the notice changed."""
        before = self.notice
        wrong = state is HealthState.WRONG_SOURCE
        if wrong and not self._wrong_source:
            # what was measured on (or just before) the loopback's own stream says nothing about the room
            self._seen.clear()
            self._echo = False
            self._last_hit = None
        if wrong:
            self._release_left = self.release_estimates
        self._wrong_source = wrong
        return self.notice != before

    def _sustained(self) -> bool:
        """At least ``min_estimates`` echo-like estimates agreeing on the delay (within ``agree_ms``),
        the first and last ``sustain_s`` apart, and most (``min_share``) of all the estimates made
        between them: chance peaks land at a different lag each time, so even a run of them that
        happens to agree three times is outnumbered by the others."""
        hits = [(t, d) for t, d in self._seen if d is not None]
        for _, d in hits:
            group = [t for t, e in hits if abs(e - d) <= self.agree]
            if len(group) < self.min_estimates or group[-1] - group[0] < self.sustain:
                continue
            between = sum(1 for t, _ in self._seen if group[0] <= t <= group[-1])
            if len(group) >= self.min_share * between:
                return True
        return False
