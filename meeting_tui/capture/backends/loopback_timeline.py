"""Where WASAPI loopback blocks sit on the monotonic clock, and the zeros to synthesize while nothing plays
(WASAPI loopback delivers no packets at all then: idle, not dead). Pure logic, tested on every OS."""

from __future__ import annotations

class LoopbackTimeline:
    """Capture times for loopback blocks, and the zeros to synthesize while nothing plays.

    All times are ``time.monotonic()`` seconds. ``end`` is where the last emitted block ended.
    - Real packets while playback is continuous are laid end to end (callback jitter does not move them);
      only a large disagreement with the clock (> ``reanchor_s``) re-anchors.
    - After an idle spell, the first real packet is placed at its measured time and any hole before it
      is filled with synthesized zeros.
    - ``silence(now)`` returns the zeros due: everything up to ``now - grace_s`` that no packet covered.
      ``grace_s`` must exceed the normal packet interval and jitter, so zeros never land inside audio.
    """

    def __init__(self, samplerate: int, *, grace_s: float = 0.25, tolerance_s: float = 0.1,
                 reanchor_s: float = 0.5, max_block: int | None = None) -> None:
        if grace_s <= tolerance_s:
            raise ValueError("grace_s must be larger than tolerance_s")
        self.rate = int(samplerate)
        self.grace_s, self.tolerance_s, self.reanchor_s = grace_s, tolerance_s, reanchor_s
        self.max_block = max_block or self.rate // 10  # zeros go out in blocks of at most 100 ms
        self.end: float | None = None
        self.last_real: float | None = None  # monotonic time the last real packet arrived
        self.real_frames = 0
        self.synth_frames = 0

    def start(self, now: float) -> None:
        self.end = now

    def _blocks(self, start: float, frames: int) -> list[tuple[float, int]]:
        out = []
        while frames > 0:
            n = min(frames, self.max_block)
            out.append((start, n))
            start += n / self.rate
            frames -= n
        return out

    def real(self, frames: int, now: float) -> tuple[float, list[tuple[float, int]]]:
        """A packet of ``frames`` arrived at ``now``: (its capture time, zero blocks to emit before it)."""
        measured = now - frames / self.rate
        zeros: list[tuple[float, int]] = []
        continuous = self.last_real is not None and now - self.last_real < self.grace_s
        if self.end is None:
            t = measured
        elif continuous:
            t = self.end if abs(measured - self.end) <= self.reanchor_s else measured
        elif measured > self.end + self.tolerance_s:
            gap = int(round((measured - self.end) * self.rate))
            zeros = self._blocks(self.end, gap)
            self.synth_frames += gap
            t = self.end + gap / self.rate
        else:  # close enough (within tolerance): keep the timeline contiguous
            t = self.end
        self.end = t + frames / self.rate
        self.last_real = now
        self.real_frames += frames
        return t, zeros

    def silence(self, now: float) -> list[tuple[float, int]]:
        """Zero blocks (capture time, frames) covering the idle span up to ``now - grace_s``."""
        if self.end is None:
            return []
        if self.last_real is not None and now - self.last_real < self.grace_s:
            return []
        due = int((now - self.grace_s - self.end) * self.rate)
        if due < self.rate // 100:  # less than 10 ms: wait for more
            return []
        blocks = self._blocks(self.end, due)
        self.end += due / self.rate
        self.synth_frames += due
        return blocks
