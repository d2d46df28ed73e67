"""Level metering: RMS and peak in dBFS over each metering interval."""

from __future__ import annotations

import math

import numpy as np

from meeting_tui.types import Level, Source

FLOOR_DB = -120.0
CLIP_LEVEL = 0.999  # float full scale; a peak this high means the signal was (or will be) clipped


def dbfs(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 1e-6 else FLOOR_DB


def block_stats(samples: np.ndarray) -> tuple[float, float]:
    """(mean square, peak) of a block of any shape."""
    if samples.size == 0:
        return 0.0, 0.0
    flat = samples.reshape(-1)
    return float(np.dot(flat, flat)) / flat.size, float(np.max(np.abs(flat)))


class LevelMeter:
    """Accumulates blocks between reads; ``read()`` returns the interval's level and starts a new one."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._sq = 0.0
        self._n = 0
        self._peak = 0.0

    def feed(self, samples: np.ndarray) -> tuple[float, float]:
        ms, peak = block_stats(samples)
        self._sq += ms * samples.size
        self._n += samples.size
        self._peak = max(self._peak, peak)
        return ms, peak

    def read(self) -> Level | None:
        """None when nothing arrived since the last read (the health monitor says why)."""
        if self._n == 0:
            return None
        rms = math.sqrt(self._sq / self._n)
        level = Level(self.source, dbfs(rms), dbfs(self._peak), self._peak >= CLIP_LEVEL)
        self._sq, self._n, self._peak = 0.0, 0, 0.0
        return level
