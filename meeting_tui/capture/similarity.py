"""Is one stream a copy of the other? (A Pulse stream whose source vanished moves to the default
source silently, so the "mic" worker may end up recording the loopback, with its own latency, and a
latency that keeps sliding while the moved stream settles.)"""

from __future__ import annotations

import numpy as np
import soxr


def low_band(x: np.ndarray, factor: int) -> np.ndarray:
    """The band below rate/(2*factor), at the original rate (soxr down and up again). Two captures of
    one signal differ by sub-sample offsets, which decorrelate the top of the band; the bottom is what
    identifies the signal, and it tolerates any fractional offset."""
    x = np.ascontiguousarray(x, np.float32)
    y = soxr.resample(soxr.resample(x, factor, 1, quality="HQ"), 1, factor, quality="HQ")
    return y[: len(x)]


def cross_correlation(a: np.ndarray, b: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, lags): the FFT cross-correlation of ``a`` against ``b`` (their common length) at the shifts
    -max_lag..max_lag; the one correlation the capture checks and the doctor share."""
    n = min(len(a), len(b))
    size = 1 << int(np.ceil(np.log2(2 * n)))
    xc = np.fft.irfft(np.fft.rfft(a[:n], size) * np.conj(np.fft.rfft(b[:n], size)), size)
    values = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]]) if max_lag else xc[:1]
    lags = np.concatenate([np.arange(max_lag + 1), np.arange(-max_lag, 0)]) if max_lag else np.zeros(1, int)
    return values, lags


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    denom = float(np.sqrt(np.dot(x, x) * np.dot(y, y)))
    return abs(float(np.dot(x, y))) / denom if denom > 1e-9 else 0.0


def similarity(a: np.ndarray, b: np.ndarray, max_lag: int, factor: int = 8, pieces: int = 8) -> float:
    """How near-identical ``a`` and ``b`` are, in [0, 1]: the median over ``pieces`` short slices of ``a``
    of the Pearson correlation with ``b`` at that slice's own best lag (±max_lag), on the low band. Short
    slices with their own lag tolerate a latency that slides; the median ignores a glitch. Slices where
    either side is digital silence (a pause on the loopback) say nothing and are left out; fewer than two
    left: 0. The lag is searched on every (factor/2)-th sample of the low band (alias-free there) and
    refined at full rate."""
    n = min(len(a), len(b))
    if n < 2 * max_lag + 16:
        return 0.0
    raw_a, raw_b = a[:n], b[:n]
    a, b = low_band(raw_a, factor), low_band(raw_b, factor)
    step = max(1, factor // 2)
    size = (n - 2 * max_lag) // pieces
    if size < 256:
        return 0.0
    scores = []
    for k in range(pieces):
        lo = max_lag + k * size
        if not (np.any(raw_a[lo:lo + size]) and np.any(raw_b[lo - max_lag:lo + size + max_lag])):
            continue
        piece = a[lo:lo + size]
        ref = b[lo - max_lag:lo + size + max_lag]
        coarse_piece, coarse_ref = piece[::step], ref[::step]
        m = 1 << int(np.ceil(np.log2(len(coarse_ref) + len(coarse_piece))))
        xc = np.fft.irfft(np.fft.rfft(coarse_ref, m) * np.conj(np.fft.rfft(coarse_piece, m)), m)
        at = int(np.argmax(np.abs(xc[: len(coarse_ref) - len(coarse_piece) + 1]))) * step
        best = 0.0
        for at_fine in range(max(0, at - step + 1), min(len(ref) - size, at + step - 1) + 1):
            best = max(best, _pearson(piece, ref[at_fine:at_fine + size]))
        scores.append(best)
    return float(np.median(scores)) if len(scores) >= 2 else 0.0
