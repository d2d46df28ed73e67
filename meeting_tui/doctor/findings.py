"""The doctor's findings: what each probe heard (``SourceResult``, ``ProbeResult``), the report, and how
captured audio is judged (levels, live or silent, echo); the quiet test signal played meanwhile."""

from __future__ import annotations

import math
import os
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from meeting_tui.capture.frames import FLAG_SYNTH_SILENCE, Frame
from meeting_tui.capture.similarity import cross_correlation
from meeting_tui.types import Mode, Source


LIVE_DB = -80.0  # below this (or digital zeros) a source carries no usable signal
ECHO_CORR = 0.3  # normalized cross-correlation above which the mic hears the speakers
SKIP_S = 0.3  # start-up transient ignored in every probe
TONE_AMP = 0.1  # -20 dBFS peak: audible but quiet
TONE_RATE = 48_000


# ------------------------------------------------------------------------------------------- results

@dataclass
class SourceResult:
    source: str
    state: str  # "live", "silent" (digital zeros), "low", "idle" (only synthesized silence), "no data"
    rms_db: float = float("-inf")
    peak_db: float = float("-inf")
    seconds: float = 0.0  # captured (real) audio
    synthesized_s: float = 0.0

    @property
    def live(self) -> bool:
        return self.state == "live"


@dataclass
class ProbeResult:
    name: str
    sources: dict[str, SourceResult] = field(default_factory=dict)
    error: str | None = None
    hint: str | None = None
    echo_corr: float | None = None
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def both_live(self) -> bool:
        return (not self.error and all(s in self.sources and self.sources[s].live
                                       for s in (Source.MIC.value, Source.LOOPBACK.value)))

    def live(self, source: Source) -> bool:
        s = self.sources.get(source.value)
        return bool(s and s.live and not self.error)


@dataclass
class Recommendation:
    route: str  # "meeting", "meeting-ffmpeg", "voicemeeter", "mic", "loopback", "none"
    mode: Mode | None
    text: str
    mic_device: str | None = None
    loopback_device: str | None = None
    hostapi: str = ""  # of the mic device
    loopback_hostapi: str = ""


@dataclass
class DoctorReport:
    probes: list[ProbeResult]
    recommendation: Recommendation
    warnings: list[str] = field(default_factory=list)
    plan: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        def clean(v):
            if isinstance(v, float) and math.isinf(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            if isinstance(v, Mode):
                return v.value
            return v
        rec = asdict(self.recommendation)
        rec["mode"] = self.recommendation.mode.value if self.recommendation.mode else None
        return clean({"probes": [asdict(p) for p in self.probes], "recommendation": rec,
                      "warnings": self.warnings, "plan": self.plan})

# ------------------------------------------------------------------------------------------- analysis

def level_db(x: np.ndarray) -> tuple[float, float]:
    if x.size == 0:
        return float("-inf"), float("-inf")
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    peak = float(np.max(np.abs(x)))
    return (20 * math.log10(rms) if rms > 0 else float("-inf"), 20 * math.log10(peak) if peak > 0 else float("-inf"))


def classify(real: np.ndarray, rate: int, synth_frames: int, source: str) -> SourceResult:
    rms, peak = level_db(real)
    seconds = len(real) / rate if rate else 0.0
    synth = synth_frames / rate if rate else 0.0
    if len(real) == 0:
        state = "idle" if synth_frames else "no data"
    elif not np.any(real):
        state = "silent"
    elif rms < LIVE_DB:
        state = "low"
    else:
        state = "live"
    return SourceResult(source, state, rms, peak, round(seconds, 3), round(synth, 3))


def analyze_frames(frames: list[Frame], channel_sources: list[str], skip_s: float = SKIP_S) -> tuple[dict[str, SourceResult], dict[str, np.ndarray], int]:
    """Per-source results from a worker's frames; also the real audio per source (for correlation)."""
    if not frames:
        return {s: SourceResult(s, "no data") for s in channel_sources}, {}, 0
    rate = frames[0].samplerate
    t0 = frames[0].capture_time + skip_s
    real: dict[str, list[np.ndarray]] = {s: [] for s in channel_sources}
    synth = 0
    for f in frames:
        if f.capture_time < t0:
            continue
        if f.flags & FLAG_SYNTH_SILENCE:
            synth += len(f.samples)
            continue
        for ch, s in enumerate(channel_sources):
            col = f.samples[:, ch] if f.samples.shape[1] > ch else f.samples.mean(axis=1)
            real[s].append(col)
    audio = {s: (np.concatenate(v) if v else np.zeros(0, np.float32)) for s, v in real.items()}
    return {s: classify(audio[s], rate, synth, s) for s in channel_sources}, audio, rate


def _to_rate(x: np.ndarray, rate: int, target: int = 16_000) -> np.ndarray:
    if rate == target or len(x) == 0:
        return x.astype(np.float64)
    n = int(len(x) * target / rate)
    return np.interp(np.arange(n) * rate / target, np.arange(len(x)), x).astype(np.float64)


def echo_correlation(mic: np.ndarray, mic_rate: int, loop: np.ndarray, loop_rate: int, max_lag_s: float = 0.5) -> float | None:
    """Peak normalized cross-correlation of mic and loopback within ±max_lag_s (None: too little audio)."""
    a, b = _to_rate(mic, mic_rate), _to_rate(loop, loop_rate)
    n = min(len(a), len(b))
    if n < 16_000 // 2:
        return None
    a, b = a[-n:] - a[-n:].mean(), b[-n:] - b[-n:].mean()
    ea, eb = float(np.dot(a, a)), float(np.dot(b, b))
    if ea <= 0 or eb <= 0:
        return 0.0
    window, _ = cross_correlation(a, b, int(max_lag_s * 16_000))
    return float(np.max(np.abs(window)) / math.sqrt(ea * eb))


def test_signal(seconds: float, rate: int = TONE_RATE, amp: float = TONE_AMP) -> np.ndarray:
    """A quiet 300 → 3000 Hz sweep repeated every second: unmistakable in a cross-correlation."""
    t = np.arange(rate) / rate
    f0, f1 = 300.0, 3000.0
    sweep = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / 2))
    fade = np.minimum(1.0, np.minimum(t, 1 - t) / 0.01)
    one = (amp * sweep * fade).astype(np.float32)
    reps = int(math.ceil(seconds))
    return np.tile(one, reps)[: int(seconds * rate)]


def write_test_signal(path: str | os.PathLike, seconds: float, rate: int = TONE_RATE, channels: int = 2) -> Path:
    x = (test_signal(seconds, rate) * 32767).astype("<i2")
    if channels > 1:
        x = np.repeat(x[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return Path(path)
