"""Residual echo mask: after a linear canceller, silence the time-frequency cells its echo estimate
still dominates, and leave the others untouched.

Why: in double talk a linear canceller leaves the far side's echo only 5-19 dB down on the rig (it can
only learn the echo path from the few moments the far side talks alone), and Whisper needs about 30 dB
to stop hearing it. Speech is sparse in time and frequency, so at any moment most cells belong to one
talker: an ideal binary mask (oracle, keep the cells where the user is louder than the echo) brings the
user's words back to 100 % on the rig's recordings. This mask estimates that one from what the canceller
already has: a cell is kept when the canceller's output there is above ``margin_db`` of its own echo
estimate (held with a reverberation decay, since the estimate's tail is its weakest part). Suppression
is to ``floor_db``, not to zero, and neighbouring bins decide together, so the voice is not left with
holes. The defaults (-3 dB, -20 dB) are the gentlest of the settings measured on the rig's recordings
(docs/echo.md): stricter ones (+3 dB, -30 dB) removed no more echo in double talk and lost 5 % of the
user's words there.

Not in the product's guard (``ResearchEchoGuard(residual_mask=True)`` in echo_research.py puts it back): once the
subband canceller learned the echo path well enough (about 20 dB removed while both talk) and the
transcripts were decoded as the app decodes them (beam 5, which keeps the user's words with the echo
15 dB down), the mask's cost in the user's words outweighed the echo it took: double talk keeps 98.0 %
of the user's words without it against 96.8 % with it on 24 rig recordings (docs/echo.md, stop 12).

``SpectralEchoMask`` decides the gains for spectra the caller already has (the subband canceller);
``ResidualEchoMask`` wraps it in a streaming STFT for a time-domain canceller: square-root Hann windows
of ``2 * hop`` samples, 50 % overlap, so its output lags the input by ``hop`` samples (one 10 ms frame).
"""

from __future__ import annotations

import numpy as np


class SpectralEchoMask:
    """Per-bin gains from the canceller's output spectrum and its echo estimate's, one frame at a time."""

    def __init__(self, *, margin_db: float = -3.0, floor_db: float = -20.0, decay_db_per_frame: float = 3.0,
                 smooth_bins: int = 3) -> None:
        self.margin = 10 ** (margin_db / 10)
        self.floor = 10 ** (floor_db / 20)
        self.decay = 10 ** (-decay_db_per_frame / 10)
        self.smooth = max(1, int(smooth_bins) | 1)  # odd: centred on the bin
        self._held: np.ndarray | None = None

    def clear(self) -> None:
        self._held = None

    def gain(self, E: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return self.gain_for_powers(E.real ** 2 + E.imag ** 2, Y.real ** 2 + Y.imag ** 2)

    def gain_for_powers(self, pe: np.ndarray, py: np.ndarray) -> np.ndarray:
        """The same from per-bin powers (output, echo estimate) the caller has already computed."""
        self._held = py if self._held is None else np.maximum(py, self._held * self.decay)
        keep = (pe > self.margin * self._held).astype(np.float64)
        # neighbouring bins decide together, so single cells do not flicker
        if self.smooth > 1:
            keep = np.convolve(keep, np.full(self.smooth, 1.0 / self.smooth), mode="same")
        return np.where(keep >= 0.5, 1.0, self.floor)


class ResidualEchoMask:
    def __init__(self, hop: int = 160, **options) -> None:
        self.hop = hop
        self.n = 2 * hop
        self.window = np.sqrt(np.hanning(self.n + 1)[:-1])
        self.spectral = SpectralEchoMask(**options)
        self._err = np.zeros(self.n)
        self._echo = np.zeros(self.n)
        self._ola = np.zeros(hop)

    def clear(self) -> None:
        """Forget the frame history (a new stretch of audio follows)."""
        self._err[:] = 0
        self._echo[:] = 0
        self._ola[:] = 0
        self.spectral.clear()

    def process(self, err: np.ndarray, echo: np.ndarray, active: bool = True) -> np.ndarray:
        """One frame of the canceller's output and its echo estimate in; one frame out, ``hop`` samples
        late. ``active=False`` passes the (delayed) output through untouched but keeps the state."""
        h = self.hop
        self._err = np.concatenate([self._err[h:], err])
        self._echo = np.concatenate([self._echo[h:], echo])
        E = np.fft.rfft(self._err * self.window)
        gain = self.spectral.gain(E, np.fft.rfft(self._echo * self.window))
        if active:
            E = E * gain
        frame = np.fft.irfft(E, self.n) * self.window
        out = self._ola + frame[:h]
        self._ola = frame[h:]
        return out
