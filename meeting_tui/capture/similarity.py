"""Is one stream a copy of the other? (A Pulse stream whose source vanished moves to the default
source silently, so the "mic" worker may end up recording the loopback.)"""

from __future__ import annotations

import numpy as np


def max_normalized_xcorr(a: np.ndarray, b: np.ndarray, max_lag: int) -> float:
    """Peak normalized cross-correlation of two equal-length signals over lags in ±max_lag."""
    n = min(len(a), len(b))
    if n < 2 * max_lag + 16:
        return 0.0
    a = a[:n] - a[:n].mean()
    b = b[:n] - b[:n].mean()
    denom = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    if denom < 1e-9:
        return 0.0
    size = 1 << int(np.ceil(np.log2(2 * n)))
    xc = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lags = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]])
    return float(np.max(np.abs(lags)) / denom)
