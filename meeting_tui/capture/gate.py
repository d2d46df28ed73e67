"""Telling a noise gate from a mute: both send exact zeros, but a gate closes only once the voice has
faded (its threshold and release sit far below speech), while a mute or a blocked device cuts the sound
off at whatever level it had. The level of the last sound before the zeros says which one it was."""

from __future__ import annotations

import numpy as np

from meeting_tui.capture.levels import dbfs

TAIL_S = 0.02  # the sound just before the zeros
GATE_CLOSES_BELOW_DB = -40.0  # a tail quieter than this faded out: a gate (speech is -30..-10 dBFS)


def tail_db(samples: np.ndarray, samplerate: float) -> float | None:
    """Peak level (dBFS) of the last ``TAIL_S`` before the block's trailing zeros; None: all zeros."""
    n = max(1, int(TAIL_S * samplerate))
    # Runs on every frame: a block that ends in sound (most do) needs only its last TAIL_S, and one of
    # zeros only a test for any sound; the scan per sample is for a block whose sound stops inside it.
    if len(samples) and samples[-1].any():
        return dbfs(float(np.abs(samples[-n:]).max()))
    if not samples.any():
        return None
    flat = _envelope(samples)
    end = int(np.flatnonzero(flat)[-1]) + 1
    return dbfs(float(flat[max(0, end - n):end].max()))


class StreamTail:
    """``tail_db`` of a stream rather than of one block. A mute lands wherever it lands: just after a block
    boundary, the new block holds only the sound server's resampler ringing down (a few samples near
    -42 dBFS, then zeros), which judged alone reads as a fade, and the mute as a gate. So the stream's last
    ``TAIL_S`` before each block is kept and judged with it."""

    def __init__(self) -> None:
        self._before = np.zeros(0, np.float32)  # |samples| of the stream's last TAIL_S, channels folded

    def feed(self, samples: np.ndarray, samplerate: float) -> float | None:
        """The block's ``tail_db``, looking back into earlier blocks; None: the block is all zeros."""
        n = max(1, int(TAIL_S * samplerate))
        if len(samples) >= n and samples[-1].any():  # most blocks: the block alone decides
            self._before = _envelope(samples[-n:])
            return dbfs(float(self._before.max()))
        joined = np.concatenate([self._before, _envelope(samples)])
        self._before = joined[-n:]
        return tail_db(joined, samplerate) if samples.any() else None


def _envelope(samples: np.ndarray) -> np.ndarray:
    """|samples|, the loudest channel of each frame."""
    return np.abs(samples).max(axis=1) if samples.ndim > 1 else np.abs(samples)


def faded_out(tail: float | None) -> bool:
    """The zeros came after the sound had faded: a gate closing, not a mute."""
    return tail is not None and tail < GATE_CLOSES_BELOW_DB
