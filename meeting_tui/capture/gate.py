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
    flat = np.abs(samples).max(axis=1) if samples.ndim > 1 else np.abs(samples)
    end = int(np.flatnonzero(flat)[-1]) + 1
    return dbfs(float(flat[max(0, end - n):end].max()))


def faded_out(tail: float | None) -> bool:
    """The zeros came after the sound had faded: a gate closing, not a mute."""
    return tail is not None and tail < GATE_CLOSES_BELOW_DB
