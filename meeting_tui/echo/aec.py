"""Echo cancellers behind one small interface: 10 ms frames in, 10 ms frames out.

- ``WebRtcAec``: the WebRTC audio processing module (AEC3: adaptive linear filter, its own delay
  tracking, and a residual-echo suppressor) as shipped in ``livekit`` (``livekit.rtc.AudioProcessingModule``).
  Wheels for Windows, Linux (x86-64, arm64) and macOS (x86-64, arm64), ABI-independent.
- ``SpectralEchoGate``: the fallback when livekit cannot be imported. No adaptive filter: it predicts the
  echo's short-time spectrum from the aligned loopback (learned per-band coupling times a decaying
  reverberation envelope) and gates the mic bands and frames that the loopback explains. Cheaper and
  cruder: it leaves the user's speech alone where it is louder than the predicted echo.

Both take float32 frames of ``frame`` samples at ``sample_rate`` and return a float32 frame.
"""

from __future__ import annotations

import numpy as np


class EchoBackend:
    name = "none"
    frame: int
    #: the output lags the input by this many samples (the guard drops them at the stream's start)
    latency: int = 0
    #: True: the guard must align the loopback to the echo; False: the canceller tracks delays itself
    #: (within ``tracks_delay_ms``) and the guard only steps in when the mic leads or lags beyond that
    needs_alignment: bool = True
    tracks_delay_ms: tuple[float, float] = (0.0, 0.0)

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


def webrtc_available() -> bool:
    try:
        from livekit.rtc import AudioProcessingModule  # noqa: F401
    except Exception:  # ImportError, or the native library failing to load
        return False
    return True


class WebRtcAec(EchoBackend):
    """WebRTC AEC3 through livekit's FFI. Two FFI calls per 10 ms frame (about 1% of one core)."""

    name = "webrtc-aec3"
    needs_alignment = False
    tracks_delay_ms = (5.0, 400.0)

    def __init__(self, sample_rate: int = 16_000, *, high_pass_filter: bool = True,
                 noise_suppression: bool = False) -> None:
        from livekit import rtc

        self.sample_rate = sample_rate
        self.frame = sample_rate // 100
        # No AGC: the transcriber wants the level the user set; no NS by default: Whisper copes with
        # noise better than with the musical artefacts NS can leave.
        self._apm = rtc.AudioProcessingModule(echo_cancellation=True, high_pass_filter=high_pass_filter,
                                              noise_suppression=noise_suppression, auto_gain_control=False)
        self._apm.set_stream_delay_ms(0)  # the guard aligns the loopback itself
        self._near = rtc.AudioFrame.create(sample_rate, 1, self.frame)
        self._far = rtc.AudioFrame.create(sample_rate, 1, self.frame)
        self._near_buf = np.frombuffer(self._near._data, dtype=np.int16)
        self._far_buf = np.frombuffer(self._far._data, dtype=np.int16)
        self.latency = _webrtc_latency(sample_rate, high_pass_filter, noise_suppression)

    @staticmethod
    def _to_i16(x: np.ndarray, out: np.ndarray) -> None:
        np.clip(x * 32768.0, -32768, 32767, out=x)
        out[:] = x

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        self._to_i16(np.array(ref, dtype=np.float32), self._far_buf)
        self._apm.process_reverse_stream(self._far)
        self._to_i16(np.array(mic, dtype=np.float32), self._near_buf)
        self._apm.process_stream(self._near)
        return self._near_buf.astype(np.float32) / 32768.0


_LATENCY: dict[tuple, int] = {}


def _webrtc_latency(sample_rate: int, hpf: bool, ns: bool) -> int:
    """The module buffers internally (128 samples at 16 kHz with livekit 1.2). Measured once per
    configuration, with noise through a throwaway instance (about 0.1 s of CPU, once), so that the guard can
    keep the output on the mic's clock whatever a future version does."""
    key = (sample_rate, hpf, ns)
    if key not in _LATENCY:
        from livekit import rtc

        f = sample_rate // 100
        apm = rtc.AudioProcessingModule(echo_cancellation=True, high_pass_filter=hpf, noise_suppression=ns)
        apm.set_stream_delay_ms(0)
        x = (np.random.default_rng(0).standard_normal(f * 60) * 3000).astype(np.int16)
        far = rtc.AudioFrame.create(sample_rate, 1, f)
        y = np.zeros(len(x), np.float64)
        for i in range(0, len(x), f):
            apm.process_reverse_stream(far)
            near = rtc.AudioFrame(bytearray(x[i:i + f].tobytes()), sample_rate, 1, f)
            apm.process_stream(near)
            y[i:i + f] = np.frombuffer(near._data, dtype=np.int16)
        seg = x[f * 20:f * 50].astype(np.float64)
        cc = [abs(np.dot(y[f * 20 + k:f * 50 + k], seg)) for k in range(0, f * 5)]
        _LATENCY[key] = int(np.argmax(cc))
    return _LATENCY[key]


class SpectralEchoGate(EchoBackend):
    """Fallback: spectral gating of what the aligned loopback explains (no adaptive filter).

    Per bin f and 10 ms hop t: predicted echo E = H(f) * S(f, t), with S the loopback power spectrum
    held with a 150 ms decay (reverberation, small delay errors) and H the coupling of f's 400 Hz band:
    mic power over held loopback power, summed over the last second of frames where the loopback plays
    and the mic is not far above the prediction (double talk would inflate it).
    Gain = max(floor, 1 - over * E / |Y|^2), smoothed; overlap-add with a sqrt-Hann window.
    """

    name = "spectral-gate"

    def __init__(self, sample_rate: int = 16_000, *, over: float = 4.0, floor_db: float = -40.0,
                 decay_ms: float = 150.0) -> None:
        self.sample_rate = sample_rate
        self.frame = sample_rate // 100
        self.n = 2 * self.frame
        self.win = np.sqrt(np.hanning(self.n + 1)[:-1]).astype(np.float64)
        self.over = over
        self.floor = 10 ** (floor_db / 20)
        self.alpha = 10 ** (-2.0 * 10.0 / decay_ms)  # the held loopback power falls 20 dB per decay_ms
        bins = self.n // 2 + 1
        # 20 bands of about 400 Hz; each bin belongs to one
        edges = np.linspace(0, bins, 21).astype(int)
        self._bands = np.zeros((20, bins))
        for i in range(20):
            self._bands[i, edges[i]:edges[i + 1]] = 1.0
        self._band_width = np.diff(edges).astype(float)
        self.Hb = np.full(20, 1.0)  # start by assuming strong coupling (0 dB); learned within a second
        self.H = self._bands.T @ self.Hb
        self._num = np.zeros(20)
        self._den = np.zeros(20)
        self.lam = 0.99  # about 1 s of memory
        self.S = np.zeros(bins)
        self.gain = np.ones(bins)
        self._mic_prev = np.zeros(self.frame)
        self._ref_prev = np.zeros(self.frame)
        self._ola = np.zeros(self.frame)
        self.latency = self.frame
        self.min_ref_power = 1e-6 * 0.5 * self.n  # about -60 dBFS

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        m = np.concatenate([self._mic_prev, mic]).astype(np.float64)
        r = np.concatenate([self._ref_prev, ref]).astype(np.float64)
        self._mic_prev = np.asarray(mic, dtype=np.float64)
        self._ref_prev = np.asarray(ref, dtype=np.float64)
        Y = np.fft.rfft(m * self.win)
        X = np.fft.rfft(r * self.win)
        py = Y.real ** 2 + Y.imag ** 2 + 1e-12
        px = X.real ** 2 + X.imag ** 2
        self.S = np.maximum(px, self.alpha * self.S)
        # coupling per band: ratio of recursive sums of mic and held-loopback power over frames where
        # the loopback plays in that band and the mic is not far above the current prediction (the
        # user talking over it would inflate the estimate)
        pyb = self._bands @ py
        sb = self._bands @ self.S
        upd = (sb > self.min_ref_power * self._band_width) & (pyb < 4.0 * np.maximum(self.Hb, 0.1) * sb)
        self._num[upd] = self.lam * self._num[upd] + pyb[upd]
        self._den[upd] = self.lam * self._den[upd] + sb[upd]
        have = self._den > 0
        self.Hb[have] = np.clip(self._num[have] / self._den[have], 1e-5, 4.0)
        self.H = self._bands.T @ self.Hb
        echo = self.H * self.S
        g = np.clip(1.0 - self.over * echo / py, self.floor, 1.0)
        # whole frame explained by the loopback: gate it
        if echo.sum() * self.over >= py.sum():
            g[:] = self.floor
        self.gain = np.where(g < self.gain, g, 0.5 * self.gain + 0.5 * g)  # fast attack, 20 ms release
        out = np.fft.irfft(Y * self.gain, self.n) * self.win
        res = self._ola + out[: self.frame]
        self._ola = out[self.frame:]
        return res.astype(np.float32)


def make_backend(name: str, sample_rate: int = 16_000) -> EchoBackend:
    """``auto`` (WebRTC if livekit loads, else the gate), ``webrtc`` or ``gate``."""
    if name == "gate":
        return SpectralEchoGate(sample_rate)
    if name in ("auto", "webrtc"):
        try:
            return WebRtcAec(sample_rate)
        except Exception:
            if name == "webrtc":
                raise
            return SpectralEchoGate(sample_rate)
    raise ValueError(f"unknown echo backend {name!r} (auto, webrtc, gate)")
