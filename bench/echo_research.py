"""Echo guard variants the bench measures against the product's guard (meeting_tui/echo/guard.py):
other warm-up outputs, other double-talk paths (the subband or the Kalman canceller alone, NLMS), and the
residual echo mask (echo_postfilter.py) after the path. docs/echo.md has what each measured and why the
product keeps none of them.

    guard = ResearchEchoGuard(16000, backend="webrtc", warmup="mixed", residual_mask=True)

Takes the product's settings (``EchoGuardSettings`` fields) as keywords too, so ``echo_bench.py
--variant "name:key=value,..."`` can name either.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from meeting_tui.echo.dual import BestOfEchoPaths
from meeting_tui.echo.guard import EchoGuard
from meeting_tui.echo.guard_settings import EchoGuardSettings
from meeting_tui.echo.linear import LinearEchoCanceller, TimeDomainEchoPath
from meeting_tui.echo.subband import SubbandEchoCanceller

from bench.echo_postfilter import ResidualEchoMask, SpectralEchoMask

SETTINGS = {f.name for f in dataclasses.fields(EchoGuardSettings)}


class NlmsEchoCanceller(LinearEchoCanceller):
    """NLMS (Speex MDF style) in place of the Kalman update: ``W_p += mu conj(X_{t-p}) E / (sum_p
    |X_{t-p}|^2 + delta)``; must be frozen while the near end talks (double talk makes it diverge)."""

    method = "nlms"

    def adapt(self) -> None:
        if self.Xpow[0].sum() <= self.delta / self.partitions * self.bins:
            return  # the reference is silent: nothing to learn
        h = self.hop
        E = np.fft.rfft(np.concatenate([np.zeros(h), self.err]))
        # per-bin normalisation, floored at a tenth of the mean over bins: weak bins next to strong ones
        # would otherwise take huge steps, and with the gradient constraint that can diverge
        p = self.Xpow.sum(axis=0)
        g = self.mu * E / (np.maximum(p, 0.1 * p.mean()) + self.delta)
        self.W += np.conj(self.X) * g
        # gradient constraint: each partition's impulse response is ``hop`` samples long
        w = np.fft.irfft(self.W, self.n, axis=1)
        w[:, h:] = 0
        self.W = np.fft.rfft(w, axis=1)
        self.updates += 1


def linear_canceller(hop: int, partitions: int, method: str = "kalman", **options) -> LinearEchoCanceller:
    if method not in ("kalman", "nlms"):
        raise ValueError(f"unknown method {method!r}")
    cls = NlmsEchoCanceller if method == "nlms" else LinearEchoCanceller
    return cls(hop, partitions, **options)


def make_research_path(frame: int, sample_rate: int, method: str, length_ms: float | None, options: dict | None,
                       mask_options: dict | None, adapt: str | None = None):
    """A double-talk path: ``dual`` (the product's: subband and Kalman side by side), ``subband``,
    ``kalman`` or ``nlms``, with the residual echo mask after it when ``mask_options`` is given.
    ``length_ms`` and ``options`` go to the subband canceller with ``dual``."""
    if method == "dual":
        return BestOfEchoPaths(make_research_path(frame, sample_rate, "subband", length_ms, options, mask_options),
                               make_research_path(frame, sample_rate, "kalman", None, None, mask_options))
    options = dict(options or {})
    if length_ms is None:  # the echo path's length each method models best on the rig (docs/echo.md)
        length_ms = 480.0 if method == "subband" else 320.0
    if method == "subband":
        options.setdefault("taps", max(1, int(round(length_ms / 1000 * sample_rate / frame))))
        mask = SpectralEchoMask(**mask_options) if mask_options is not None else None
        return SubbandEchoCanceller(frame, sample_rate=sample_rate, mask=mask, **options)
    partitions = max(1, int(round(length_ms / 1000 * sample_rate / frame)))
    mask = ResidualEchoMask(frame, **mask_options) if mask_options is not None else None
    always = method == "kalman" if adapt is None else adapt == "always"
    return TimeDomainEchoPath(linear_canceller(frame, partitions, method=method, **options), mask, always)


class ResearchEchoGuard(EchoGuard):
    """The product's guard with the variants: ``warmup`` also "linear" (the linear path's output while
    learning), "detect" (the gated output, its detector heard before it is trusted) or "mixed" (the raw
    mic, the linear path's output while both talk); ``linear_method``, ``linear_adapt``, ``linear_options``
    (make_research_path); ``residual_mask`` with ``mask_options``; ``sleep=False``: the cancellers never
    sleep (meeting_tui/echo/idle.py)."""

    WARMUPS = ("off", "raw", "linear", "detect", "mixed")

    def __init__(self, sample_rate: int = 16_000, *, backend="auto", enabled: bool = True, on_status=None,
                 linear_method: str = "dual", linear_adapt: str | None = None, linear_options: dict | None = None,
                 residual_mask: bool = False, mask_options: dict | None = None, sleep: bool = True,
                 **settings) -> None:
        unknown = set(settings) - SETTINGS
        if unknown:
            raise TypeError(f"unknown guard options: {', '.join(sorted(unknown))}")
        self._research = (linear_method, linear_adapt, linear_options, (mask_options or {}) if residual_mask else None)
        self._early_mix = 0.0  # warmup "mixed": 1 where the warm-up output is the linear path's
        super().__init__(sample_rate, backend=backend, enabled=enabled, settings=EchoGuardSettings(**settings),
                         on_status=on_status)
        if not sleep:  # the cancellers run from the first frame, as before issue 28 (idle.py)
            self._asleep = False

    def _make_double_talk_path(self):
        method, adapt, options, mask = self._research
        return make_research_path(self.frame, self.sample_rate, method, self.settings.linear_ms, options, mask, adapt)

    def _detector_trusted(self) -> bool:
        return self._lin_trusted or (self.warmup == "detect" and not self._warm and self._lin_detect is not None)

    def _warm_output(self, t: int, mic: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self.warmup == "detect":  # the gated output, with the detector heard before it is trusted
            f = self.frame
            buf = np.concatenate([self._raw_prev, mic])
            self._raw_prev = buf[f:]
            learned = self._lin_trusted or (self._far_s >= self._warmup_max and self._coupling is not None)
            if not self._warm and learned and not self._double:
                self._warm = True
                self.warm_at = t
            self._warm_mix = 1.0
            return y
        return super()._warm_output(t, mic, y)

    def _warm_up_output(self, raw: np.ndarray) -> np.ndarray:
        if self.warmup == "mixed" and self._lin_out is not None:
            # the raw mic while the user or the far side talks alone (the far side's words come through
            # whole, for the text filter to catch), the linear path's output while both talk
            f = self.frame
            e0, e1 = self._early_mix, self._out_mix
            self._early_mix = e1
            w = np.linspace(e0, e1, f, dtype=np.float32) if e0 != e1 else e1
            return ((1 - w) * raw + w * self._lin_out).astype(np.float32)
        if self.warmup == "linear" and self._lin_out is not None:
            return self._lin_out
        return raw
