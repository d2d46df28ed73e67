"""One session clock across capture restarts.

Each capture engine counts samples from its own start (``engine.t0``, monotonic). A session keeps one clock
from ``session_t0``: an engine's chunks and gaps are shifted by ``engine.t0 - session_t0`` before they reach
the transcriber and the journal, so times keep increasing through mode and device switches.
"""

from __future__ import annotations

from meeting_tui.types import SESSION_RATE, AudioChunk, Gap


class Retimer:
    """Places one engine's output on the session clock that starts at ``session_t0`` (monotonic)."""

    def __init__(self, engine_t0: float, session_t0: float) -> None:
        self.offset = int(round((engine_t0 - session_t0) * SESSION_RATE))

    def chunk(self, chunk: AudioChunk) -> AudioChunk | None:
        """The chunk on the session clock; what falls before the session start is cut (None: all of it)."""
        start = chunk.start + self.offset
        samples = chunk.samples
        if start < 0:
            samples = samples[-start:]
            start = 0
            if not len(samples):
                return None
        return AudioChunk(chunk.source, start, samples)

    def gap(self, gap: Gap) -> Gap:
        off = self.offset / SESSION_RATE
        return Gap(gap.source, max(0.0, gap.start_s + off), max(0.0, gap.end_s + off), gap.reason)
