"""Helpers for capture tests: run a real engine and record what it reports."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import soundfile as sf

from meeting_tui.types import SESSION_RATE, HealthState, Source


class Recorder:
    """An engine listener that keeps everything it is told, with arrival times."""

    def __init__(self) -> None:
        self.audio: dict[Source, list] = {Source.MIC: [], Source.LOOPBACK: []}
        self.mix: list = []
        self.health: list[tuple[float, object]] = []
        self.levels: list[tuple[float, dict]] = []
        self.gaps: list = []

    def on_audio(self, chunk):
        self.audio[chunk.source].append(chunk)

    def on_mix(self, chunk):
        self.mix.append(chunk)

    def on_health(self, h):
        self.health.append((time.monotonic(), h))

    def on_levels(self, levels):
        self.levels.append((time.monotonic(), levels))

    def on_gap(self, gap):
        self.gaps.append(gap)

    def samples(self, source: Source, last_s: float | None = None) -> np.ndarray:
        chunks = self.audio[source]
        x = np.concatenate([c.samples for c in chunks]) if chunks else np.zeros(0, np.float32)
        return x[-int(last_s * SESSION_RATE):] if last_s else x

    def states(self, source: Source) -> list[HealthState]:
        return [h.state for _, h in self.health if h.source is source]

    def first_state_after(self, source: Source, state: HealthState, t: float) -> float | None:
        for at, h in self.health:
            if h.source is source and h.state is state and at >= t:
                return at
        return None


async def wait_for(predicate, timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


def dominant_freq(x: np.ndarray, rate: int = SESSION_RATE) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


def write_tone(path, freq: float, seconds: float, rate: int = 48000, amp: float = 0.4) -> str:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)
    return str(path)
