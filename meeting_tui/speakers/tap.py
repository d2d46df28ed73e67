"""A capture-engine listener that keeps the last minutes of one source, to cut out a segment's audio."""

from __future__ import annotations

import threading

import numpy as np

from meeting_tui.types import SESSION_RATE, AudioChunk, Source


class AudioTap:
    def __init__(self, source: Source = Source.LOOPBACK, keep_s: float = 180.0) -> None:
        self.source = source
        self._buf = np.zeros(int(keep_s * SESSION_RATE), dtype=np.float32)
        self._end = 0  # session-clock sample index one past the newest sample held
        self._lock = threading.Lock()

    def on_audio(self, chunk: AudioChunk) -> None:
        if chunk.source is not self.source:
            return
        self.write(chunk.start, chunk.samples)

    def write(self, start: int, samples: np.ndarray) -> None:
        n, size = len(samples), len(self._buf)
        with self._lock:
            if n >= size:
                samples, start, n = samples[-size:], start + n - size, size
            if start > self._end:  # a gap: silence in between
                self._put(self._end, np.zeros(min(start - self._end, size), np.float32))
            self._put(start, samples)
            self._end = max(self._end, start + n)

    def _put(self, start: int, samples: np.ndarray) -> None:
        size = len(self._buf)
        i = start % size
        first = min(len(samples), size - i)
        self._buf[i : i + first] = samples[:first]
        self._buf[: len(samples) - first] = samples[first:]

    def audio(self, start_s: float, end_s: float) -> np.ndarray:
        """The source's samples from start_s to end_s (session clock); only what is still held."""
        with self._lock:
            size = len(self._buf)
            lo = max(int(start_s * SESSION_RATE), self._end - size, 0)
            hi = min(int(end_s * SESSION_RATE), self._end)
            if hi <= lo:
                return np.zeros(0, np.float32)
            idx = np.arange(lo, hi) % size
            return self._buf[idx].copy()
