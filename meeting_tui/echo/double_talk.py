"""The part of the echo guard that decides, frame by frame, what is let out: the residual gate (shut while
only the far side talks), the hand-over to the linear double-talk path while the user talks over the far
side (with that path's own near-end detector, trusted once it removes enough of the far side alone), and
the warm-up output while the guard still learns. ``EchoGuard`` (guard.py) holds the state and the streams;
docs/echo.md has the design and the measurements.
"""

from __future__ import annotations

import numpy as np

from meeting_tui.echo.dual import BestOfEchoPaths
from meeting_tui.echo.linear import LinearEchoCanceller, TimeDomainEchoPath
from meeting_tui.echo.subband import SubbandEchoCanceller


def make_double_talk_path(frame: int, sample_rate: int, length_ms: float | None = None):
    """The linear canceller the guard uses while both sides talk: the subband canceller (least squares in
    the STFT domain) and the time-domain Kalman filter side by side, the better one let out (dual.py).
    ``length_ms``: the echo path's length the subband one models (None: 480 ms; the Kalman filter's 320 ms:
    what each models best on the rig, docs/echo.md)."""
    taps = max(1, int(round((length_ms or 480.0) / 1000 * sample_rate / frame)))
    partitions = max(1, int(round(320.0 / 1000 * sample_rate / frame)))
    return BestOfEchoPaths(SubbandEchoCanceller(frame, sample_rate=sample_rate, taps=taps),
                           TimeDomainEchoPath(LinearEchoCanceller(frame, partitions)))


class DoubleTalkGate:
    """Mixed into ``EchoGuard``: these methods read and write the guard's gate, linear-path and warm-up
    state (set up in ``EchoGuard.__init__``)."""

    def _gate_residual(self, t: int, y: np.ndarray) -> np.ndarray:
        """Silence what the canceller left while only the far side talks; while the user talks over
        the far side, pass the linear canceller's output instead of the backend's.

        The predicted echo level is the loopback's power at the estimated delay (held with a 20 dB per
        150 ms decay for reverberation) times the estimated coupling. While the loopback plays, the
        output opens only where it carries at least ``gate_margin_db`` of that prediction: the user
        talking (alone or over the far side) does, the canceller's residue does not. It also opens where
        the linear path's own detector hears the user (``_linear_hears_user``): AEC3's suppressor takes
        the user's voice down with the echo, and the first test alone left parts of the user's words
        gated. Opening is immediate and lasts ``gate_hangover_ms``; closing ramps over one frame.

        Double talk (the gate open while the loopback plays): AEC3's suppressor attenuates and colours
        the user's voice, so the output crossfades (over one frame) to the linear path's, which
        subtracts an echo estimate and leaves the voice as it is. The gate's verdict goes to the linear
        path as its double-talk hint: far-only while the gate is closed or before the guard knows the
        coupling (the subband canceller checks it against its own residual; the Kalman filter adapts
        all the time anyway).
        """
        f = self.frame
        target = 1.0
        far_only = self._coupling is None  # unknown yet: let the linear filter learn
        double = False
        if self._coupling is not None and self._delay is not None:
            d = int(round(self._delay * self.sample_rate / 1000))
            r = self._ref_frame(t - d, f)
            pr = float(np.dot(r, r)) / f
            self._ref_held = max(pr, self._ref_held * self._gate_decay)
            if self._ref_held > self._active_power:
                e_pred = self._ref_held * 10 ** (self._coupling / 10)
                aec_open = float(np.dot(y, y)) / f > e_pred * self._gate_margin
                if aec_open or self._linear_hears_user():
                    self._open_until = t + self._gate_hangover
                if not aec_open and self._lin_detect is not None and self.linear is not None \
                        and pr > self._active_power:
                    self._note_linear_erle()
                if t >= self._open_until:
                    target = self._gate_floor
                    far_only = True
                else:
                    double = True
        lin = None
        if self.linear is not None:  # its filter ran on this frame in _frame_out
            self.linear.adapt(far_only)
            if far_only:
                pm, pe = self.linear.powers
                self._lin_pm = 0.98 * self._lin_pm + pm
                self._lin_pe = 0.98 * self._lin_pe + pe
            # only while the linear filter removes at least ``linear_min_erle_db`` of the far side's echo
            # (over the last half second or so of far-only frames): otherwise its output would leak the echo
            usable = self._lin_pm > self._lin_min_erle * self._lin_pe
            self._mix = 1.0 if double and usable else 0.0
            if self._mix:
                self.double_talk_s += f / self.sample_rate
            lin = self.linear.output().astype(np.float32)
        self._double = double
        self._lin_out = lin
        # the double-talk path is ``_lag`` frames late: apply that frame's decisions to that frame's audio
        self._held.append((y, self._mix, target))
        y, m1, g1 = self._held.popleft()
        self._out_mix = m1
        (m0, g0), self._applied = self._applied, (m1, g1)
        return self._apply(y, lin, m0, m1, g0, g1)

    def _warm_output(self, t: int, mic: np.ndarray, y: np.ndarray) -> np.ndarray:
        """While the guard is still learning the echo path, the warm-up output (``_warm_up_output``)
        instead of the gated one: an unconverged
        canceller and a gate that trusts it take parts of the user's words, and the text filter catches
        the far side's words meanwhile. Handed over once the double-talk detector is trusted (or after
        ``warmup_max_s`` of far-side sound once a confident delay estimate gave the coupling: without
        an echo path there is nothing to remove, and the warm-up output stays), at a frame where the
        user is not talking over the far side, with a one-frame crossfade; for good."""
        f = self.frame
        buf = np.concatenate([self._raw_prev, mic])
        raw, self._raw_prev = buf[:f], buf[f:]
        if self._warm and self._warm_mix >= 1.0:
            return y
        m0 = self._warm_mix
        learned = self._lin_trusted or (self._far_s >= self._warmup_max and self._coupling is not None)
        if not self._warm and learned and not self._double:
            self._warm = True
            self.warm_at = t
        m1 = 1.0 if self._warm else 0.0
        self._warm_mix = m1
        early = self._warm_up_output(raw)
        if m0 == m1 == 0.0:
            return early
        ramp = np.linspace(m0, m1, f, dtype=np.float32)
        return ((1 - ramp) * early + ramp * y).astype(np.float32)

    def _warm_up_output(self, raw: np.ndarray) -> np.ndarray:
        """What is let out while the guard learns: the raw mic (delayed as the gated output is)."""
        return raw

    def _linear_hears_user(self) -> bool:
        """The double-talk path's own near-end detector (the subband canceller: power in the bins its
        echo estimate does not explain), trusted while it removes ``linear_detect_erle_db`` of the far
        side alone: the median of its per-frame removal over the last ``linear_trust_frames`` frames in
        which the far side played and AEC3's output did not say the user talks (at least half of them
        measured). AEC3's suppressor takes the user's voice down with the echo while both talk, so the
        gate, which listens to AEC3's output, stays shut on parts of the user's words; this opens it there.

        Why these frames and a median: a sum over the frames the gate shut (the detector's own verdict
        among them) kept trusting a stale estimate after the echo path moved (the frames it wrongly
        opened were never counted), and a few onsets of the user's words that AEC3 missed pulled the sum
        down for a whole turn; the median ignores such a minority (docs/echo.md)."""
        if not self._detector_trusted():
            return False  # (never trusted without a linear path and a detector)
        return bool(self.linear.hears_user(self._lin_detect))

    def _detector_trusted(self) -> bool:
        return self._lin_trusted

    def _note_linear_erle(self) -> None:
        """Add this far-only frame's echo removal by the detector's path to the trust window and decide
        the trust once here, not on every frame the gate asks."""
        pm, pe = self.linear.detector_powers
        if pm <= 0:
            return
        self._lin_erles.append(10 * np.log10(pm / max(pe, 1e-20)))
        self._lin_trusted = (len(self._lin_erles) >= self._lin_trust_min
                             and float(np.median(self._lin_erles)) >= self._lin_detect_erle_db)

    def _reset_lag(self) -> None:
        self._held.clear()
        self._held.extend((np.zeros(self.frame, np.float32), 0.0, 1.0) for _ in range(self._lag))
        self._applied = (0.0, 1.0)

    def _apply(self, y: np.ndarray, lin: np.ndarray | None, m0: float, m1: float, g0: float, g1: float) -> np.ndarray:
        """Crossfade from the backend's output to the linear path's (mix ``m0`` -> ``m1``) and apply the
        gate's gain (``g0`` -> ``g1``), each ramped over the frame."""
        f = self.frame
        if lin is not None and (m0 or m1):
            ramp = np.linspace(m0, m1, f, dtype=np.float32)
            y = (1 - ramp) * y + ramp * lin
        if g0 == g1 == 1.0:
            return y
        return (y * np.linspace(g0, g1, f, dtype=np.float32)).astype(np.float32)
