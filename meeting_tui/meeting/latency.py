"""Latency where the user sees a line: end of speech -> the line delivered to the client, per source."""

from __future__ import annotations

import statistics
import threading
import time

from meeting_tui.types import Source


class ClientLatency:
    def __init__(self) -> None:
        self._seen: dict[Source, list[float]] = {}
        self._lock = threading.Lock()

    def delivered(self, source: Source, said_at: float | None, now: float | None = None) -> float | None:
        """Count a line the client has just shown; returns its latency in seconds."""
        if said_at is None:
            return None
        latency = max(0.0, (time.monotonic() if now is None else now) - said_at)
        with self._lock:
            self._seen.setdefault(source, []).append(latency)
        return latency

    def values(self, source: Source | None = None) -> list[float]:
        with self._lock:
            if source is not None:
                return list(self._seen.get(source, []))
            return [v for vs in self._seen.values() for v in vs]

    def median(self, source: Source | None = None) -> float | None:
        values = self.values(source)
        return statistics.median(values) if values else None

    def summary(self, labels: dict[Source, str]) -> str:
        """E.g. "latency You 0.9 s, Them 1.1 s" or "no lines delivered"."""
        parts = [f"{labels.get(s, s.value)} {statistics.median(v):.1f} s" for s, v in sorted(
            ((s, self.values(s)) for s in list(self._seen)), key=lambda sv: sv[0].value) if v]
        return ("median latency " + ", ".join(parts)) if parts else "no lines delivered"

    def as_dict(self, labels: dict[Source, str]) -> dict:
        """Per label: lines counted, p50 and p95 in seconds."""
        out = {}
        for source in list(self._seen):
            v = sorted(self.values(source))
            if v:
                out[labels.get(source, source.value)] = {
                    "n": len(v), "p50": round(statistics.median(v), 3),
                    "p95": round(v[min(len(v) - 1, int(0.95 * len(v)))], 3)}
        return out
