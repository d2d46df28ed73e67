"""The echo guard's cancellers sleep until an echo is measured.

Until the delay estimate first gives a coupling (a confident echo path), the guard lets the raw mic out
(warm-up ``raw``, double_talk.py) and the gate stays open: AEC3 and the double-talk paths run only to
learn. With headphones, or on a call where the mic never hears the speakers, that is all of the session,
and it was most of the guard's CPU (docs/cost.md). So until then the frames the cancellers would have
been fed are only logged (the last ``IDLE_LOG_S`` seconds), and when the echo is measured the cancellers
run through the log first, in order, exactly as they would have run on it, and on from there. Where the
echo is measured within ``IDLE_LOG_S`` of the session's start (about a second after the far side's first
words in every recorded scenario) the output is the same to the sample; later, the cancellers start from
the log's last seconds (what they learned from frames before it was near-end audio over a silent
loopback, or a far side without an echo, which teaches them nothing they keep).
"""

from __future__ import annotations

import collections

import numpy as np

#: seconds of frames kept for the cancellers while they sleep: 2.6 MB; the catch-up runs them over as much
#: audio at once (about 0.05 CPU s per second of it), once per session
IDLE_LOG_S = 10.0

_CLEAR = None  # a log entry: the paths' frame history is cleared here (EchoGuard._replay)


class IdleUntilEcho:
    """Mixed into ``EchoGuard``: the cancellers' part of a frame (``_paths``), run or logged."""

    def _init_idle(self) -> None:
        # only where the output ignores the cancellers until the echo is measured: the raw warm-up
        self._asleep = self.enabled and self.linear is not None and self.warmup == "raw"
        self._idle_log: collections.deque = collections.deque(
            maxlen=int(IDLE_LOG_S * self.sample_rate / self.frame))

    def _feed_paths(self, t: int, mic: np.ndarray, ref: np.ndarray) -> np.ndarray | None:
        """Feed one frame to the cancellers (AEC3, the double-talk path, the gate); their output, or None
        while they sleep (the frame is logged)."""
        lm = lref = None
        if self.enabled and self.linear is not None:
            # the linear canceller runs on the backend's clock: mic delayed by the backend's latency
            buf = np.concatenate([self._lin_prev, mic])
            lm, self._lin_prev = buf[: self.frame], buf[self.frame:]
            ls = self._lin_shift if self._lin_shift is not None else 0
            lref = self._ref_frame(t - len(self._lin_prev) - ls, self.frame)
        if self._asleep:
            self._idle_log.append((t, mic, ref, lm, lref))
            return None
        return self._paths(t, mic, ref, lm, lref)

    def _paths(self, t: int, mic: np.ndarray, ref: np.ndarray, lm, lref) -> np.ndarray:
        y = self.backend.process(mic, ref) if self.enabled else mic
        if lm is not None:
            self.linear.filter(lm, lref)
        if self.enabled and self.residual_gate:
            y = self._gate_residual(t, y)
        return y

    def _clear_paths(self) -> None:
        """The double-talk path's frame history starts again (logged while the cancellers sleep)."""
        if self._asleep:
            self._idle_log.append(_CLEAR)
            return
        self.linear.clear()
        self._reset_lag()

    def _wake(self) -> None:
        """The echo is measured: the cancellers run through the logged frames, then on for good."""
        if not self._asleep:
            return
        self._asleep = False
        for entry in self._idle_log:
            if entry is _CLEAR:
                self._clear_paths()
            else:
                self._paths(*entry)
        self._idle_log.clear()
