"""Log-mel features for the d-vector embedder, in NumPy.

The embedder was trained on librosa's ``melspectrogram`` (Slaney mel scale and norm, periodic Hamming
window of 400 samples centred in a 512-point FFT, hop 160, no centre padding, power 2) followed by
``log10(S + 1e-10)``. This module reproduces that recipe so that the app does not import librosa (and its
JIT compiler) at run time; tests/test_speakers.py checks it against librosa where librosa is installed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

RATE = 16_000
N_FFT = 512
WIN = 400
HOP = 160
N_MELS = 40


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    mel = hz / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


@lru_cache(maxsize=1)
def mel_basis() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) Slaney-normalised triangular filters, as ``librosa.filters.mel``."""
    fft_freqs = np.linspace(0, RATE / 2, N_FFT // 2 + 1)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(RATE / 2), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    n = np.arange(WIN)
    hamming = 0.54 - 0.46 * np.cos(2 * np.pi * n / WIN)  # periodic, as scipy's get_window(fftbins=True)
    pad = (N_FFT - WIN) // 2
    return np.pad(hamming, (pad, N_FFT - WIN - pad)).astype(np.float32)


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(frames, N_MELS) log10 mel power of 16 kHz mono audio; no frames for audio shorter than N_FFT."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if len(audio) < N_FFT:
        return np.zeros((0, N_MELS), dtype=np.float32)
    n_frames = 1 + (len(audio) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        audio, shape=(n_frames, N_FFT), strides=(audio.strides[0] * HOP, audio.strides[0]), writeable=False
    )
    spec = np.fft.rfft(frames * _window(), axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    return np.log10(power @ mel_basis().T + 1e-10).astype(np.float32)
