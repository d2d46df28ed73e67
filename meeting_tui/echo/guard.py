"""EchoGuard: removes from the mic what the speakers played, using the loopback as the reference.

Streaming and clock-based: mic and loopback chunks carry sample indices on the shared session clock.
The guard buffers both, estimates the residual delay (GCC-PHAT, once a second) and feeds the echo
canceller 10 ms mic frames together with the loopback frames that were played just before them
(the loopback is shifted by the estimated delay minus a 10 ms margin, so the canceller always sees the
reference before its echo, even when the mic's clock placement leads the loopback's). A mic frame is
processed once the loopback covering it has arrived, or once the mic is ``max_wait_ms`` ahead of the
loopback (then the missing loopback counts as silence: an idle or stalled loopback never holds the mic
back for long).

After the canceller, a residual gate silences what it left while only the far side talks; while the
user talks over the far side (by AEC3's output or by the linear path's own near-end detector), a linear
double-talk path (``make_double_talk_path``) replaces the canceller's output; and the
first ``prime_s`` seconds of far-side speech are processed twice (see ``_replay``) so that the words
spoken while the canceller converges do not leak. docs/echo.md has the design and the measurements.

Only the transcriber gets the cleaned audio: level meters keep showing the raw mic.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from meeting_tui.echo.aec import EchoBackend, make_backend
from meeting_tui.echo.delay import DelayEstimate, DelayEstimator
from meeting_tui.echo.double_talk import DoubleTalkGate, make_double_talk_path
from meeting_tui.echo.idle import IdleUntilEcho
from meeting_tui.echo.notice import ECHO_MESSAGE, EchoNotice, Notice, NoticeKind
from meeting_tui.echo.guard_settings import EchoGuardSettings
from meeting_tui.types import AudioChunk, HealthState, Source

__all__ = ["ECHO_MESSAGE", "EchoGuard", "EchoGuardSettings", "EchoStatus", "make_double_talk_path"]


@dataclass(frozen=True)
class EchoStatus:
    """What the dashboard shows. ``message`` is empty when there is nothing to say."""

    present: bool
    coupling_db: float | None
    delay_ms: float | None
    erle_db: float | None  # how much the guard lowered the mic while the loopback played
    backend: str
    enabled: bool
    notice: Notice = Notice(NoticeKind.NONE, "")  # what to tell the user (echo.notice.EchoNotice)

    @property
    def wrong_source(self) -> bool:
        return self.notice.kind is NoticeKind.WRONG_SOURCE

    @property
    def message(self) -> str:
        return self.notice.message


def _unpack(audio: AudioChunk | np.ndarray) -> tuple[int | None, np.ndarray]:
    """(session-clock start or None for "follows the last", mono float32 samples)."""
    if isinstance(audio, AudioChunk):
        return audio.start, np.asarray(audio.samples, dtype=np.float32).reshape(-1)
    return None, np.asarray(audio, dtype=np.float32).reshape(-1)


class EchoGuard(DoubleTalkGate, IdleUntilEcho):
    """Cancel or gate the loopback's echo in the mic stream.

    ``backend``: ``auto`` (WebRTC AEC3 from livekit, else the spectral gate), ``webrtc`` or ``gate``.
    ``enabled=False`` passes the mic through untouched but still detects echo (for the hint).
    ``settings``: the tunables (guard_settings.py). Variants measured against this guard (other warm-ups,
    other linear paths, a residual echo mask) live in bench/echo_research.py.
    """

    #: The warm-up outputs this guard knows (bench/echo_research.py adds the variants it measures).
    WARMUPS = ("off", "raw")

    def __init__(self, sample_rate: int = 16_000, *, backend: str | EchoBackend = "auto", enabled: bool = True,
                 settings: EchoGuardSettings | None = None,
                 on_status: Callable[[EchoStatus], None] | None = None) -> None:
        s = self.settings = settings or EchoGuardSettings()
        self.sample_rate = sample_rate
        self.backend = backend if isinstance(backend, EchoBackend) else make_backend(backend, sample_rate)
        self.frame = self.backend.frame
        self.enabled = enabled
        self.max_wait = int(sample_rate * s.max_wait_ms / 1000)
        self.lookahead = int(sample_rate * s.lookahead_ms / 1000)
        self.estimator = DelayEstimator(sample_rate)
        self.estimate_every = int(sample_rate * s.estimate_every_s)
        self.window = int(sample_rate * s.estimate_window_s)
        self.min_confidence = s.min_confidence
        self.min_coupling_db = s.min_coupling_db
        self.on_status = on_status
        self.prime = int(sample_rate * s.prime_s)
        self._prime_at: int | None = None
        self._primed = False
        self._out = np.zeros(0, dtype=np.float32)  # processed, not yet released; starts at _out_start
        self._out_start: int | None = None
        self._active_power = 10 ** (-50 / 10)
        self.residual_gate = s.residual_gate
        self._gate_margin = 10 ** (s.gate_margin_db / 10)
        self._gate_floor = 10 ** (s.gate_floor_db / 20)
        self._gate_hangover = int(sample_rate * s.gate_hangover_ms / 1000)
        self._gate_decay = 10 ** (-2.0 * (self.frame / sample_rate) / 0.150)
        # Double talk: a linear canceller (no suppressor) whose output replaces the backend's while the
        # user talks over the far side. Default: on with a backend that suppresses (AEC3).
        double_talk = s.double_talk if s.double_talk is not None else not self.backend.needs_alignment
        self.linear = self._make_double_talk_path() if double_talk and s.residual_gate else None
        self._lin_pre = int(sample_rate * s.linear_pre_ms / 1000)
        self._lin_shift: int | None = None  # loopback index = mic index - _lin_shift, for the linear filter
        self._lin_prev = np.zeros(self.backend.latency, np.float32)  # mic delayed by the backend's latency
        self._mix = 0.0  # 1: the linear canceller's output, 0: the backend's
        # The double-talk path's output lags by ``delay_frames`` frames (its STFT); the backend's output
        # and the gate's decisions are held back by as much so that both paths line up.
        self._lag = self.linear.delay_frames if self.linear is not None else 0
        self._held: collections.deque = collections.deque()
        self._applied = (0.0, 1.0)  # (mix, gate gain) at the end of the last frame let out
        self._reset_lag()
        # Warm-up: until the double-talk detector is trusted (the echo path learned), let out the raw
        # mic instead of the gated output, then hand over with a one-frame crossfade; "off": the gated
        # output from the first frame (docs/echo.md, Warm-up).
        if s.warmup not in self.WARMUPS:
            raise ValueError(f"warmup must be one of {', '.join(self.WARMUPS)}, not {s.warmup!r}")
        self.warmup = s.warmup if self.linear is not None else "off"
        self._warm = self.warmup == "off"  # handed over to the gated output
        self._warm_mix = 1.0 if self._warm else 0.0  # 1: the gated output, 0: the warm-up output
        self._warmup_max = float(s.warmup_max_s)
        self._far_s = 0.0  # seconds in which the loopback played
        self._double = False  # the gate's verdict on the last frame: the user talks over the far side
        self._lin_out: np.ndarray | None = None  # the linear path's output on the last frame
        self._out_mix = 0.0  # 1 where the frame let out is the linear path's (both talk), else 0
        self.warm_at: int | None = None  # session sample where the guard handed over
        self._raw_prev = np.zeros(self.latency, np.float32)  # the raw mic, delayed as the output is
        self._lin_min_erle = 10 ** (s.linear_min_erle_db / 10)
        self._lin_detect = None if s.linear_detect_db is None else 10 ** (s.linear_detect_db / 10)
        self._lin_detect_erle_db = s.linear_detect_erle_db
        self._lin_pm = 0.0  # mic and linear output power while the far side talks alone (decaying sums)
        self._lin_pe = 0.0
        # per-frame ERLE (dB) of the linear path on the recent frames where the far side plays and
        # AEC3's output does not say the user talks: the detector's own verdict stays out of it
        if s.linear_trust_frames < 1:
            raise ValueError("linear_trust_frames must be at least 1")
        self._lin_erles: collections.deque = collections.deque(maxlen=int(s.linear_trust_frames))
        self._lin_trust_min = (int(s.linear_trust_frames) + 1) // 2  # no verdict on fewer than half of them
        self._lin_trusted = False  # the verdict on ``_lin_erles``, updated when a frame is added to it
        self.double_talk_s = 0.0
        self._ref_held = 0.0
        self._open_until = -(1 << 62)
        # mic: unprocessed samples from _mic_pos; history of raw mic for the estimator
        self._mic = np.zeros(0, dtype=np.float32)
        self._mic_pos: int | None = None
        # loopback: samples [_ref_start, _ref_end)
        self._ref = np.zeros(0, dtype=np.float32)
        self._ref_start: int | None = None
        self._hist = np.zeros(0, dtype=np.float32)  # raw mic, ending at _mic_pos
        self._out_pending = 0  # backend latency still to drop at the stream's start
        self._shift = 0  # loopback index = mic index - _shift
        self._since_estimate = 0
        self._estimates: collections.deque[DelayEstimate] = collections.deque(maxlen=5)
        self.notice = EchoNotice(sample_rate, min_confidence=s.min_confidence, hold_s=s.hold_s)
        self._coupling: float | None = None
        self._delay: float | None = None
        self._pow = collections.deque(maxlen=1000)  # (mic power, out power) while the loopback plays
        self.cpu_s = 0.0
        self.audio_s = 0.0
        self._started = False
        self._init_idle()

    # ------------------------------------------------------------------ public
    def _make_double_talk_path(self):
        return make_double_talk_path(self.frame, self.sample_rate, self.settings.linear_ms)

    @property
    def echo_present(self) -> bool:
        """Echo measured for a sustained time (``EchoNotice``), and the mic is not the loopback."""
        return self.notice.echo_measured

    @property
    def coupling_db(self) -> float | None:
        return self._coupling

    @property
    def delay_ms(self) -> float | None:
        return self._delay

    @property
    def erle_db(self) -> float | None:
        if len(self._pow) < 50:
            return None
        p = np.asarray(self._pow)
        return float(10 * np.log10(p[:, 0].sum() / max(p[:, 1].sum(), 1e-12)))

    @property
    def status(self) -> EchoStatus:
        return EchoStatus(self.notice.echo_measured, self._coupling, self._delay, self.erle_db, self.backend.name,
                          self.enabled, self.notice.notice)

    def set_mic_health(self, state: HealthState) -> None:
        """The capture engine's health state of the mic stream: a mic that is the loopback's stream
        (wrong source) is reported as such, never as echo. Calls ``on_status`` when the notice changes."""
        if self.notice.mic_health(state) and self.on_status is not None:
            self.on_status(self.status)

    @property
    def latency(self) -> int:
        """Samples by which the output lags the input: the backend's buffering plus the double-talk path's lag."""
        if not self.enabled:
            return 0
        return self.backend.latency + self._lag * self.frame

    @property
    def processed_to(self) -> int | None:
        """The session-clock sample up to which the mic has been processed (None before any mic)."""
        return self._mic_pos

    @property
    def cpu_per_audio_s(self) -> float:
        return self.cpu_s / self.audio_s if self.audio_s else 0.0

    def push_reference(self, ref: AudioChunk | np.ndarray) -> None:
        """Add loopback audio (an AudioChunk on the session clock, or samples following the last)."""
        start, x = _unpack(ref)
        if self._ref_start is None:
            self._ref_start = start if start is not None else (self._mic_pos or 0)
        end = self._ref_start + len(self._ref)
        if start is None:
            start = end
        if start > end:  # a gap in the loopback: it played nothing there
            x = np.concatenate([np.zeros(start - end, np.float32), x])
        elif start < end:  # overlap: keep what we have
            x = x[end - start:]
        if len(x):
            self._ref = np.concatenate([self._ref, x])

    def push_mic(self, mic: AudioChunk | np.ndarray) -> AudioChunk | None:
        """Add mic audio; returns the cleaned mic that is ready (None when nothing is yet)."""
        t0 = time.process_time()
        start, x = _unpack(mic)
        if self._mic_pos is None:
            self._mic_pos = start if start is not None else 0
            self._out_pending = self.latency
        end = self._mic_pos + len(self._mic)
        if start is None:
            start = end
        if start > end:  # a gap in the mic (restart, stall): silence, so the clocks stay in step
            x = np.concatenate([np.zeros(start - end, np.float32), x])
        elif start < end:
            x = x[end - start:]
        self._mic = np.concatenate([self._mic, x])
        out = self._run(flush=False)
        self.cpu_s += time.process_time() - t0
        return out

    def process(self, mic: AudioChunk | np.ndarray, reference: AudioChunk | np.ndarray | None = None):
        """Push a loopback chunk (if any) then a mic chunk; return the cleaned mic that is ready.

        With AudioChunks in, an AudioChunk (source MIC, placed on the session clock) or None comes out;
        with arrays in, an array (possibly empty) comes out.
        """
        if reference is not None:
            self.push_reference(reference)
        out = self.push_mic(mic)
        if isinstance(mic, AudioChunk):
            return out
        return out.samples if out is not None else np.zeros(0, np.float32)

    def reference_ended(self) -> AudioChunk | None:
        """The loopback will send no more (a replayed file ended): the mic waits for it no longer."""
        self.max_wait = 0
        return self._run(flush=False)

    def flush(self) -> AudioChunk | None:
        """At stop: process what is buffered, taking missing loopback as silence."""
        t0 = time.process_time()
        out = self._run(flush=True)
        lat = self.latency
        if lat and self._mic_pos is not None:
            # drain the canceller's internal buffer (and the mask's frame) so the output reaches the
            # mic's last sample
            f = self.frame
            z = np.zeros(f, np.float32)
            self._out = np.concatenate([self._out, *[self._frame_out(self._mic_pos + i * f, z)
                                                     for i in range(-(-lat // f))]])
            tail = self._release(True)
            if tail is not None:
                tail = AudioChunk(Source.MIC, tail.start, tail.samples[: max(0, self._mic_pos - tail.start)])
                if out is None:
                    out = tail
                elif len(tail.samples):
                    out = AudioChunk(Source.MIC, out.start, np.concatenate([out.samples, tail.samples]))
        self.cpu_s += time.process_time() - t0
        return out

    # ------------------------------------------------------------------ internals
    def _ref_frame(self, idx: int, n: int) -> np.ndarray:
        """Loopback samples [idx, idx+n), zeros where we have none."""
        out = np.zeros(n, np.float32)
        if self._ref_start is None:
            return out
        a = max(idx, self._ref_start)
        b = min(idx + n, self._ref_start + len(self._ref))
        if b > a:
            out[a - idx:b - idx] = self._ref[a - self._ref_start:b - self._ref_start]
        return out

    def _frame_out(self, t: int, mic: np.ndarray) -> np.ndarray:
        ref = self._ref_frame(t - self._shift, self.frame)
        y = self._feed_paths(t, mic, ref)  # None while the cancellers sleep (idle.py): the raw mic goes out
        if self.enabled and self.residual_gate and self.warmup != "off":
            y = self._warm_output(t, mic, y)
        pr = float(np.dot(ref, ref)) / self.frame
        if pr > self._active_power:
            self._far_s += self.frame / self.sample_rate
            self._pow.append((float(np.dot(mic, mic)) / self.frame + 1e-12, float(np.dot(y, y)) / self.frame + 1e-12))
            if self._prime_at is None and self.enabled and self.prime > 0:
                self._prime_at = t  # the loopback plays for the first time: start priming here
        return y

    def _run(self, flush: bool) -> AudioChunk | None:
        if self._mic_pos is None:
            return None
        f = self.frame
        if self._out_start is None:
            self._out_start = self._mic_pos
        outs: list[np.ndarray] = []
        pos = 0
        n_avail = len(self._mic)
        ref_end = (self._ref_start + len(self._ref)) if self._ref_start is not None else None
        while n_avail - pos >= f or (flush and n_avail - pos > 0):
            t = self._mic_pos + pos
            mic = self._mic[pos:pos + f]
            if len(mic) < f:
                mic = np.concatenate([mic, np.zeros(f - len(mic), np.float32)])
            need = t - self._shift + f  # the loopback must reach here
            if self.linear is not None and self._lin_shift is not None:
                need = max(need, t - len(self._lin_prev) - self._lin_shift + f)
            ready = ref_end is not None and ref_end >= need
            if not ready and not flush and (self._mic_pos + n_avail) - t < self.max_wait + f:
                break  # wait for the loopback
            outs.append(self._frame_out(t, mic)[: min(f, n_avail - pos)])
            pos += min(f, n_avail - pos)
            self._since_estimate += f
            if self._prime_at is not None and not self._primed and t + f >= self._prime_at + self.prime:
                self._commit(outs, pos)
                outs, pos, n_avail = [], 0, len(self._mic)
                self._replay()
        if pos:
            self._commit(outs, pos)
        if self._since_estimate >= self.estimate_every:
            self._since_estimate = 0
            self._estimate()
        self._trim_ref()
        return self._release(flush)

    def _commit(self, outs: list[np.ndarray], pos: int) -> None:
        """Move ``pos`` processed mic samples to the history and their output to the out buffer."""
        self._hist = np.concatenate([self._hist, self._mic[:pos]])[-(self.window + self.lookahead + self.prime):]
        self._mic = self._mic[pos:]
        self._mic_pos += pos
        self.audio_s += pos / self.sample_rate
        self._out = np.concatenate([self._out, *outs]) if outs else self._out

    def _release(self, flush: bool) -> AudioChunk | None:
        end = self._out_start + len(self._out)
        if self._prime_at is not None and not self._primed and not flush:
            end = min(end, self._prime_at)  # priming: hold the output from the loopback's first sound
        n = end - self._out_start
        if n <= 0:
            return None
        y, self._out = self._out[:n], self._out[n:]
        start = self._out_start
        self._out_start += n
        # The backend's output lags its input by ``latency`` samples: output index j is mic index
        # j - latency. Drop the first ``latency`` samples of the stream (they precede the mic's start).
        lat = self.latency
        drop = 0
        if self._out_pending:
            drop = min(self._out_pending, len(y))
            y = y[drop:]
            self._out_pending -= drop
        if not len(y):
            return None
        return AudioChunk(Source.MIC, start - lat + drop, y.astype(np.float32, copy=False))

    def _replay(self) -> None:
        """The canceller has now heard the loopback for ``prime`` seconds: run that span again.

        The first time the far side speaks, an adaptive canceller needs a second or two to converge,
        and the echo of those first words would leak into the transcript. So the mic output is held
        from the loopback's first sound for ``prime`` seconds, then the same span (mic and loopback) is
        processed again by the now converged canceller and only that second pass is let out. It costs
        up to ``prime`` seconds of latency once per session; after that the output is real time again.
        """
        self._primed = True
        a = self._prime_at
        end = self._mic_pos
        raw_start = end - len(self._hist)
        a = max(a, raw_start, self._out_start)
        f = self.frame
        if self.linear is not None and len(self._lin_prev):
            L = len(self._lin_prev)
            k = a - raw_start
            self._lin_prev = self._hist[k - L:k] if k >= L else np.concatenate([np.zeros(L - k, np.float32), self._hist[:k]])
        if len(self._raw_prev):  # the raw mic's delay line, as it was before the span
            L = len(self._raw_prev)
            k = a - raw_start
            self._raw_prev = self._hist[k - L:k] if k >= L else np.concatenate([np.zeros(L - k, np.float32), self._hist[:k]])
        if self.linear is not None:  # the second pass starts from a clean frame history
            self._clear_paths()
        again = [self._frame_out(t, self._hist[t - raw_start:t - raw_start + f]) for t in range(a, end - f + 1, f)]
        if not again:
            return
        y = np.concatenate(again)
        k = a - self._out_start
        self._out[k:k + len(y)] = y[: len(self._out) - k]

    def _trim_ref(self) -> None:
        if self._ref_start is None or self._mic_pos is None:
            return
        keep_from = self._mic_pos - self.window - self.estimator.max_delay - self.lookahead - 2 * self.frame
        cut = keep_from - self._ref_start
        if cut > 0:
            self._ref = self._ref[cut:]
            self._ref_start += cut

    def _shift_for(self, d: int) -> int:
        """How far to shift the loopback for an echo delay of ``d`` samples."""
        if self.backend.needs_alignment:
            return d - self.frame // 2  # the gate's held loopback envelope covers the rest
        lo, hi = (int(v * self.sample_rate / 1000) for v in self.backend.tracks_delay_ms)
        if lo <= d <= hi:
            return 0  # within what the canceller tracks by itself: leave its alignment alone
        if d < lo:
            return d - self.frame  # the mic leads: delay the mic so that the loopback comes first
        return d - (lo + hi) // 4  # far beyond: bring it back well inside the tracked range

    def _estimate(self) -> None:
        if len(self._hist) < self.sample_rate:
            return
        end = self._mic_pos
        n = min(len(self._hist), self.window)
        mic = self._hist[-n:]
        ref = self._ref_frame(end - n, n)
        est = self.estimator.estimate(mic, ref)
        if est is None:  # the loopback was quiet: nothing to learn, keep the previous state
            return
        changed = self.notice.observe(end, est, self.notice.is_same_signal(mic, ref, est))
        if est.confidence >= self.min_confidence and (est.coupling_db is None or est.coupling_db >= self.min_coupling_db):
            self._estimates.append(est)
            if any(e.coupling_db is not None for e in self._estimates):
                self._wake()  # the echo is measured: the cancellers catch up on what they missed (idle.py)
            if self.linear is not None:
                ls = max(-self.lookahead, est.delay_samples - self._lin_pre)
                old = self._lin_shift if self._lin_shift is not None else 0
                if self._lin_shift is None or abs(ls - old) > self.sample_rate // 1000:
                    self.linear.shift(old - ls)
                    self._lin_shift = ls
            delays = sorted(e.delay_samples for e in self._estimates)
            d = delays[len(delays) // 2]
            self._delay = 1000.0 * d / self.sample_rate
            couplings = [e.coupling_db for e in self._estimates if e.coupling_db is not None]
            self._coupling = float(np.median(couplings)) if couplings else None
            new_shift = max(-self.lookahead, self._shift_for(d))
            if abs(new_shift - self._shift) > self.frame // 2:
                self._shift = new_shift
        if changed and self.on_status is not None:
            self.on_status(self.status)
