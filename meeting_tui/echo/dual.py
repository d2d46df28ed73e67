"""Two double-talk echo paths side by side; the output follows whichever currently removes more.

Why two: the subband least-squares canceller (``subband.py``) models the echo far better once it has
learned it, but it learns only from frames it is sure are far-only, so when the echo path changes
under it (a stream that jumps or drifts, a laptop moved) it can be left behind; the time-domain Kalman
filter (``linear.py``) is coarser but adapts all the time and follows such changes within a second or
two. Like the foreground/background filters of classic echo cancellers, both run and the one whose
output (before the mask) is quieter relative to the mic over the last half second is let out: echo it
failed to remove is the only thing that makes one louder than the other, since neither removes the
user's voice. Costs the sum of both (0.05-0.09 CPU s per audio second on the rig's recordings, 0.15 in
the worst case, ``bench/echo_cost.py``).
"""

from __future__ import annotations

import collections

import numpy as np


class BestOfEchoPaths:
    def __init__(self, primary, fallback, *, smooth: float = 0.95, hysteresis_db: float = 1.0) -> None:
        self.paths = (primary, fallback)
        self.delay_frames = max(p.delay_frames for p in self.paths)
        self.smooth = smooth
        self.hysteresis = 10 ** (hysteresis_db / 10)
        self._sums = np.zeros((2, 2))  # per path: smoothed (mic power, output power)
        self._powers = np.zeros((2, 2))  # per path: (mic power, output power) of the last frame
        self.choice = 0  # index of the path let out
        self._last_choice = 0
        self._queues: list[collections.deque] = [collections.deque() for _ in self.paths]
        self.clear()

    def clear(self) -> None:
        for p, q in zip(self.paths, self._queues):
            p.clear()
            q.clear()
            # the faster path's output waits until the slower one's catches up
            q.extend(np.zeros(p.hop) for _ in range(self.delay_frames - p.delay_frames))

    @property
    def powers(self) -> tuple[float, float]:
        """(mic power, output power) of the path let out, on the fallback path's scale (the paths
        measure power in different domains; the caller adds them up over time)."""
        pm, pe = self._powers[self.choice]
        ref_pm = self._powers[-1, 0]
        return (float(ref_pm), float(pe * ref_pm / pm)) if pm > 0 else (float(ref_pm), float(ref_pm))

    def filter(self, mic: np.ndarray, ref: np.ndarray) -> None:
        for p in self.paths:
            p.filter(mic, ref)
        self._powers = np.array([p.powers for p in self.paths])
        self._sums = self.smooth * self._sums + self._powers
        ratio = self._sums[:, 1] / np.maximum(self._sums[:, 0], 1e-20)
        other = 1 - self.choice
        if ratio[other] * self.hysteresis < ratio[self.choice]:
            self.choice = other

    @property
    def detector_powers(self) -> tuple[float, float]:
        """(mic power, output power) of the path whose detector ``hears_user`` asks: the primary."""
        return self.paths[0].detector_powers

    def hears_user(self, margin: float) -> bool | None:
        """The primary (subband) path's near-end detector, whichever path is let out."""
        return self.paths[0].hears_user(margin)

    def adapt(self, far_only: bool = True) -> None:
        for p in self.paths:
            p.adapt(far_only)

    def shift(self, samples: int) -> None:
        for p in self.paths:
            p.shift(samples)

    def output(self) -> np.ndarray:
        outs = []
        for p, q in zip(self.paths, self._queues):
            q.append(np.asarray(p.output(), np.float64))
            outs.append(q.popleft())
        y = outs[self.choice]
        if self.choice != self._last_choice:  # crossfade over the frame: no click at the switch
            ramp = np.linspace(0.0, 1.0, len(y))
            y = ramp * y + (1 - ramp) * outs[self._last_choice]
            self._last_choice = self.choice
        return y
