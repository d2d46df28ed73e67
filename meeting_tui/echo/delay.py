"""Delay and coupling between the loopback (what the speakers played) and the mic.

GCC-PHAT over a few seconds of both streams: the lag of the cross-correlation peak is how much later
the loopback's sound reaches the mic; the peak's height over the correlation floor says whether the
mic hears the speakers at all. The coupling is the level of the echo relative to the loopback, taken
from short-time energies at that lag (a low percentile, so the user's own speech does not inflate it).

Pure numpy; about 2 ms of CPU per estimate (two 64k-point FFTs), run once a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DelayEstimate:
    delay_samples: int  # mic lags the loopback by this many samples (negative: mic leads)
    confidence: float  # correlation peak over the floor; above ~6 the echo path is real
    coupling_db: float | None  # echo level relative to the loopback, dB (e.g. -3.2); None if unknown
    sample_rate: int

    @property
    def delay_ms(self) -> float:
        return 1000.0 * self.delay_samples / self.sample_rate


def _frame_power(x: np.ndarray, hop: int) -> np.ndarray:
    n = len(x) // hop
    if n == 0:
        return np.zeros(0)
    return np.mean(x[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1)


class DelayEstimator:
    """Estimate the echo delay and coupling from equal-length, index-aligned mic and loopback blocks."""

    def __init__(self, sample_rate: int = 16_000, *, max_delay_ms: float = 500.0, max_lead_ms: float = 150.0,
                 min_ref_dbfs: float = -50.0, min_active: float = 0.15) -> None:
        self.sample_rate = sample_rate
        self.max_delay = int(sample_rate * max_delay_ms / 1000)
        self.max_lead = int(sample_rate * max_lead_ms / 1000)
        self.min_ref_power = 10 ** (min_ref_dbfs / 10)
        self.min_active = min_active

    def ref_activity(self, ref: np.ndarray) -> float:
        """Fraction of 20 ms frames in which the loopback plays something."""
        p = _frame_power(ref, self.sample_rate // 50)
        return float(np.mean(p > self.min_ref_power)) if len(p) else 0.0

    def estimate(self, mic: np.ndarray, ref: np.ndarray) -> DelayEstimate | None:
        """None when the loopback was too quiet to tell anything."""
        n = min(len(mic), len(ref))
        if n < self.sample_rate // 2 or self.ref_activity(ref[:n]) < self.min_active:
            return None
        mic = np.asarray(mic[:n], dtype=np.float64)
        ref = np.asarray(ref[:n], dtype=np.float64)
        if not np.any(mic):
            return DelayEstimate(0, 0.0, None, self.sample_rate)
        nfft = 1 << int(np.ceil(np.log2(n + self.max_delay + self.max_lead)))
        win = np.hanning(n)
        m = np.fft.rfft(mic * win, nfft)
        r = np.fft.rfft(ref * win, nfft)
        cross = m * np.conj(r)
        # Partial PHAT (beta 0.8) and a 100 Hz-6 kHz band: sharp peaks, robust to hum and reverberation.
        mag = np.abs(cross)
        cross = cross / np.maximum(mag, 1e-12) ** 0.8
        freqs = np.fft.rfftfreq(nfft, 1.0 / self.sample_rate)
        cross[(freqs < 100) | (freqs > 6000)] = 0
        cc = np.fft.irfft(cross, nfft)
        lags = np.concatenate([cc[-self.max_lead:], cc[: self.max_delay + 1]]) if self.max_lead else cc[: self.max_delay + 1]
        a = np.abs(lags)
        k = int(np.argmax(a))
        peak = a[k]
        guard = max(1, self.sample_rate // 200)  # exclude +-5 ms around the peak from the floor
        floor_vals = np.concatenate([a[: max(0, k - guard)], a[k + guard:]])
        floor = float(np.mean(floor_vals) + 2.0 * np.std(floor_vals)) if len(floor_vals) else 1e-12
        confidence = float(peak / max(floor, 1e-12))
        delay = k - self.max_lead
        return DelayEstimate(delay, confidence, self._coupling(mic, ref, delay), self.sample_rate)

    def _coupling(self, mic: np.ndarray, ref: np.ndarray, delay: int) -> float | None:
        hop = self.sample_rate // 50
        if delay >= 0:
            m, r = mic[delay:], ref[: len(ref) - delay]
        else:
            m, r = mic[: len(mic) + delay], ref[-delay:]
        pm, pr = _frame_power(m, hop), _frame_power(r, hop)
        # Smooth over ~100 ms so that reverberation and small misalignments count with the direct sound.
        k = np.ones(5) / 5
        pm, pr = np.convolve(pm, k, "same"), np.convolve(pr, k, "same")
        active = pr > self.min_ref_power
        if np.count_nonzero(active) < 5:
            return None
        ratio = pm[active] / pr[active]
        # A low percentile: frames where the user also speaks (double talk) only raise the ratio.
        val = float(np.percentile(ratio, 15))
        return float(10 * np.log10(max(val, 1e-12)))
