"""Is one stream a copy of the other? (A Pulse stream whose source vanished moves to the default
source silently, so the "mic" worker may end up recording the loopback, with its own latency.)"""

from __future__ import annotations

import numpy as np
import soxr


def best_lag(a: np.ndarray, b: np.ndarray, max_lag: int) -> int:
    """The shift of ``b`` against ``a`` (in samples, ±max_lag) where they match best (FFT correlation)."""
    n = min(len(a), len(b))
    size = 1 << int(np.ceil(np.log2(2 * n)))
    xc = np.fft.irfft(np.fft.rfft(a[:n], size) * np.conj(np.fft.rfft(b[:n], size)), size)
    candidates = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]])
    i = int(np.argmax(np.abs(candidates)))
    return i if i <= max_lag else i - len(candidates)


def low_band(x: np.ndarray, factor: int) -> np.ndarray:
    """The band below rate/(2*factor), at the original rate (soxr down and up again). Two captures of
    one signal differ by sub-sample offsets, which decorrelate the top of the band; the bottom is what
    identifies the signal, and it tolerates any fractional offset."""
    x = np.ascontiguousarray(x, np.float32)
    y = soxr.resample(soxr.resample(x, factor, 1, quality="HQ"), 1, factor, quality="HQ")
    return y[: len(x)]


def similarity(a: np.ndarray, b: np.ndarray, max_lag: int, factor: int = 8) -> float:
    """|Pearson correlation| of the overlapping parts of ``a`` and ``b`` at their best lag, in [0, 1],
    measured on their low band (below rate/(2*factor))."""
    a, b = low_band(a, factor), low_band(b, factor)
    n = min(len(a), len(b))
    if n < 2 * max_lag + 16:
        return 0.0
    a = a[:n] - a[:n].mean()
    b = b[:n] - b[:n].mean()
    lag = best_lag(a, b, max_lag)
    x, y = (a[lag:], b[: n - lag]) if lag >= 0 else (a[: n + lag], b[-lag:])
    denom = float(np.sqrt(np.dot(x, x) * np.dot(y, y)))
    return abs(float(np.dot(x, y))) / denom if denom > 1e-9 else 0.0
