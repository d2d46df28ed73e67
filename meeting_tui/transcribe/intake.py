"""The transcriber's intake: audio handed over on the event loop (cheap: a copy and a queue), taken off
by the transcriber's thread; when each sample arrived, for the latency of the line it ends up in."""

from __future__ import annotations

import bisect
import collections
import threading
import time
from typing import Iterator

import numpy as np

from meeting_tui.transcribe.vad_segmenter import WINDOW as VAD_WINDOW
from meeting_tui.transcribe.vad_segmenter import VadConfig
from meeting_tui.types import SESSION_RATE, Source

Chunk = tuple[Source, int, np.ndarray, float]  # (source, start sample, samples, monotonic arrival)
# A line's arrival is looked up at its speech end, close behind the newest chunk taken: two minutes of
# arrivals are plenty; kept longer they only grew with the meeting (docs/cost.md, What grows).
ARRIVALS_KEEP_S = 120.0
ARRIVALS_TRIM_AT = 2048  # entries per source before the old ones are cut (not on every chunk)


class Intake:
    def __init__(self, streams: tuple[Source, ...], vad: VadConfig, wake: threading.Event) -> None:
        self.vad = vad
        self.wake = wake
        self._lock = threading.Lock()
        self._queue: collections.deque[Chunk] = collections.deque()
        self.samples = 0  # samples queued
        self._window_due: dict[Source, int] = {}  # per source, the session sample that completes a VAD window
        self._arrivals: dict[Source, tuple[list[int], list[float]]] = {s: ([], []) for s in streams}
        self.audio_in = {s: 0.0 for s in streams}  # seconds taken off, per source

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, source: Source, data: np.ndarray, start: int, now: float) -> None:
        end = start + len(data)
        with self._lock:
            self._queue.append((source, start, data, now))
            self.samples += len(data)
            # Wake the thread only when this source completes a VAD window: nothing can be decided on
            # less, and waking on every block costs CPU (docs/transcription.md, Benchmark). After a gap the
            # VAD may start its windows anew.
            due = self._window_due.get(source)
            if due is None or start - due > self.vad.max_gap_fill_s * SESSION_RATE:
                due = start + VAD_WINDOW
            woke = end >= due
            if woke:
                due += ((end - due) // VAD_WINDOW + 1) * VAD_WINDOW
            self._window_due[source] = due
        if woke:
            self.wake.set()

    def take(self) -> Iterator[Chunk]:
        """Each queued chunk, oldest first, until none is left (the transcriber's thread)."""
        while True:
            with self._lock:
                try:
                    chunk = self._queue.popleft()
                except IndexError:
                    return
                self.samples -= len(chunk[2])
            source, start, data, arrival = chunk
            self.audio_in[source] += len(data) / SESSION_RATE
            ends, times = self._arrivals[source]
            ends.append(start + len(data))
            times.append(arrival)
            if len(ends) >= ARRIVALS_TRIM_AT:
                cut = bisect.bisect_left(ends, ends[-1] - ARRIVALS_KEEP_S * SESSION_RATE)
                del ends[:cut], times[:cut]
            yield chunk

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.samples = 0

    def oldest_arrival(self) -> float | None:
        try:
            return self._queue[0][3]
        except IndexError:
            return None

    def arrival(self, source: Source, sample: int) -> float:
        """When session sample ``sample`` of ``source`` reached us (monotonic)."""
        ends, times = self._arrivals[source]
        if not ends:
            return time.monotonic()
        i = bisect.bisect_left(ends, sample)
        return times[min(i, len(times) - 1)]
