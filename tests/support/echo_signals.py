"""Echo test signals shared by tests/ and bench/: speech (espeak-ng voices, or shaped noise without it), a
synthetic room, levels, and feeding a guard or a subband canceller as the engine would."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np

from meeting_tui.types import AudioChunk, Source

RATE = 16_000


def speech(text: str, voice: str, tmp_path, seed: int) -> np.ndarray:
    if shutil.which("espeak-ng"):
        import soundfile as sf
        import soxr

        path = tmp_path / f"s{seed}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
        x, sr = sf.read(str(path), dtype="float32")
        x = soxr.resample(x, sr, RATE).astype(np.float32)
        return x / np.max(np.abs(x)) * 0.5
    # shaped noise in syllable-like bursts
    rng = np.random.default_rng(seed)
    n = RATE * 4
    env = (np.sin(np.arange(n) * 2 * np.pi * 4 / RATE) > 0.2).astype(np.float32)
    return (rng.standard_normal(n).astype(np.float32) * env * 0.1).astype(np.float32)

def room(x: np.ndarray, delay_ms: float, atten_db: float, seed: int = 0, rt_ms: float = 120.0) -> np.ndarray:
    """Delay, attenuation and an exponentially decaying reverberant tail."""
    rng = np.random.default_rng(seed)
    n = int(RATE * rt_ms / 1000 * 2)
    rir = rng.standard_normal(n) * np.exp(-np.arange(n) / (RATE * rt_ms / 1000 / 6.9)) * 0.25
    rir[0] = 1.0
    rir /= np.sqrt(np.sum(rir ** 2))
    y = np.convolve(x, rir)[: len(x)] * 10 ** (-atten_db / 20)
    d = int(RATE * delay_ms / 1000)
    return np.concatenate([np.zeros(d, np.float32), y[: len(x) - d]]).astype(np.float32)

def two_voices(tmp) -> tuple[np.ndarray, np.ndarray]:
    """(the far side: two sentences, the user: one), espeak-ng voices or shaped noise."""
    remote = np.concatenate([
        speech("The quarterly budget review shows marketing spent far too much on conference travel.", "en-us", tmp, 1),
        speech("Please send the revised spreadsheet before Thursday afternoon.", "en-us", tmp, 2),
    ])
    local = speech("My garden tomatoes finally turned red yesterday.", "en+f2", tmp, 3)
    return remote, local

def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2) + 1e-15))

def run(guard, mic: np.ndarray, ref: np.ndarray | None, chunk: int = 1600, ref_lag: int = 0):
    """Feed as the engine would: chunks placed on the clock; the loopback may arrive ``ref_lag`` late."""
    outs = []
    n = len(mic)
    for i in range(0, n + ref_lag, chunk):
        if ref is not None and 0 <= i - ref_lag < n:
            j = i - ref_lag
            guard.push_reference(AudioChunk(Source.LOOPBACK, j, ref[j:j + chunk]))
        if i < n:
            o = guard.push_mic(AudioChunk(Source.MIC, i, mic[i:i + chunk]))
            if o is not None:
                outs.append(o)
    o = guard.flush()
    if o is not None:
        outs.append(o)
    return outs

def stitch(outs: list[AudioChunk], n: int) -> np.ndarray:
    y = np.zeros(n, np.float32)
    for o in outs:
        y[o.start:o.end] = o.samples[: max(0, min(o.end, n) - o.start)]
    return y

def subband_run(sec, mic: np.ndarray, ref: np.ndarray, learn: bool | int = True) -> np.ndarray:
    """Stream ``mic``/``ref`` through ``sec`` in hops (all far-only as far as the caller knows, frozen
    with ``learn=False``, or far-only up to sample ``learn``); the output realigned with the input."""
    h = sec.hop
    out = []
    for i in range(0, len(mic) - h + 1, h):
        sec.filter(mic[i:i + h], ref[i:i + h])
        if learn is True or (learn is not False and i + h <= learn):
            sec.adapt(True)
        out.append(sec.output())
    return np.concatenate(out)[sec.delay_frames * h:]
