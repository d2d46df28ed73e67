"""Subband echo canceller for double talk: a per-bin convolutive transfer function (CTF) in the STFT
domain, fitted by recursive least squares on the frames where the far side talks alone, optionally
with a per-bin post-filter on its output in the same STFT (``mask``; the guard uses none, the residual
echo mask measured against it is in bench/echo_research.py, docs/echo.md).

Why not the time-domain Kalman filter (``linear.py``): in a meeting the far side rarely talks alone for
long, and an adaptive filter that follows a gradient converges slowly on speech: on the rig it removed
only 2-7 dB of echo while both talked. Least squares uses everything the far-only frames say at once;
the same frames give about 20 dB here (30 dB with an oracle double-talk detector). docs/echo.md has
the measurements.

Model, per frequency bin f: ``M_t(f) = sum_k H_k(f) X_{t-k}(f) + near voice``, with ``taps`` frames of
reference history (480 ms at the defaults: the rig's 20-200 ms delays plus the room's reverberation).
Hann analysis windows of ``nfft`` samples every ``hop`` (75 % overlap, so the subbands barely alias);
synthesis by overlap-add, so the output lags the input by ``nfft - hop`` samples (three 10 ms frames).

Which frames teach the filter (double-talk detection): for the first ``boot_frames`` accepted frames,
those the caller says are far-only (the guard's residual gate). After that each bin of such a frame is
weighed by how well the filter already explains it: fully where the residual is at least
``bin_weight_db`` below the filter's own echo estimate, less the louder the residual is than that (a
third of the gate's far-only frames carry the user on the rig, usually in some bins only); a frame
whose bins keep less than ``min_share`` of its reference energy is left out. Against a whole-frame check
(``bin_weight_db=None``: kept only when the residual is ``dtd_db`` below the estimate) this removes 3-5 dB
more echo while both talk on the rig's recordings (docs/echo.md). When the check turns down
``relearn_frames`` far-only frames in a row, the echo path has changed: it boots again, with the old
statistics weighing ``relearn_keep``. The normal equations are accumulated
with forgetting (``forget_s`` seconds of accepted frames, so a
changed echo path is learned again) and solved every 8 accepted frames while the filter is young (its
first ``young_frames``), then every ``solve_every``; after that only every ``stride``-th far-only frame
is used (consecutive frames overlap by 75 %). Worst case (the far side talking alone all the time)
0.08-0.14 CPU s per audio second with the mask, 0.12 without in NumPy (``bench/echo_cost.py``).
"""

from __future__ import annotations

import numpy as np

# Bins folded and solved at a time: the same sums, in chunks, so that the temporaries (a (bins, taps, frames)
# stack, its conjugate, a product and a copy of R: 12 MB each at once) stay a few MB: the guard's share of
# the process's peak memory (docs/cost.md).
BIN_CHUNK = 32


class SubbandEchoCanceller:
    def __init__(self, hop: int = 160, *, sample_rate: int = 16_000, nfft: int = 640, taps: int = 48,
                 forget_s: float = 60.0,
                 solve_every: int = 50, young_frames: int = 100, stride: int = 2, boot_frames: int = 50,
                 bin_weight_db: float | None = -12.0, min_share: float = 0.15, dtd_db: float = -6.0,
                 relearn_frames: int = 150, relearn_keep: float = 0.1, regularise: float = 1e-4,
                 regularise_growth_db: float = 1.0, direct_taps: int = 3,
                 mask=None) -> None:
        nfft, taps, solve_every, boot_frames = int(nfft), int(taps), int(solve_every), int(boot_frames)
        relearn_frames = int(relearn_frames)
        if nfft % hop or nfft < 2 * hop:
            raise ValueError("nfft must be a multiple of hop, at least twice as long")
        self.hop = hop
        self.nfft = nfft
        self.taps = taps
        self.bins = nfft // 2 + 1
        self.delay_frames = nfft // hop - 1
        self.window = np.hanning(nfft + 1)[:-1]
        # synthesis window: Hann analysis times this sums to one over the overlapping frames
        overlap = np.zeros(hop)
        for i in range(0, nfft, hop):
            overlap += self.window[i:i + hop] ** 2
        self.synthesis = self.window / np.tile(overlap, nfft // hop)
        self.forget = 0.5 ** (1.0 / max(1.0, forget_s * sample_rate / hop))  # per accepted frame
        self.solve_every = solve_every
        self.young_frames = int(young_frames)
        self.stride = max(1, int(stride))
        self._candidates = 0
        self.boot_frames = boot_frames
        self.dtd = 10 ** (dtd_db / 10)
        self.bin_weight = None if bin_weight_db is None else 10 ** (bin_weight_db / 10)
        self.min_share = min_share
        self.relearn_frames = relearn_frames
        self.relearn_keep = relearn_keep
        self._lag = 0  # extra reference delay (samples, < hop) that keeps the taps on whole hops
        self._booted = 0  # frames accepted since the last (re)start of learning
        self._rejected_run = 0  # far-only frames in a row the residual check turned down
        # diagonal loading per tap: ``regularise`` up to tap ``direct_taps`` (the guard places the direct
        # sound 30 ms, three taps, in), growing by ``regularise_growth_db`` per tap after it. A room's
        # response decays (1 dB per 10 ms tap is a 600 ms reverberation time), so late taps fitted from a
        # few seconds of far-only frames are mostly noise: held down, the filter removes about 2 dB more
        # echo while both talk on the rig's recordings (docs/echo.md)
        growth = np.maximum(0, np.arange(taps) - int(direct_taps)) * regularise_growth_db
        self._tap_load = regularise * 10 ** (growth / 10)
        self.mask = mask  # a per-bin post-filter (``gain_for_powers(pe, py)``, ``clear()``); None: none
        self.R = np.zeros((self.bins, taps, taps), np.complex128)
        self.r = np.zeros((self.bins, taps), np.complex128)
        self.H = np.zeros((taps, self.bins), np.complex128)
        self._pending_x: list[np.ndarray] = []
        self._pending_m: list[np.ndarray] = []
        self._pending_w: list[np.ndarray | None] = []
        self.accepted = 0
        self.clear()

    def clear(self) -> None:
        """Forget the signal history (a new stretch of audio follows); keep what was learned."""
        self._mic = np.zeros(self.nfft)
        self._ref = np.zeros(self.nfft + self.hop)  # one hop more: room for the sub-hop delay ``_lag``
        self.X = np.zeros((self.taps, self.bins), np.complex128)  # reference spectra, newest first
        self._quiet = self.taps  # frames in a row whose reference spectrum is zero (here: all of them)
        self.M = np.zeros(self.bins, np.complex128)
        self.Y = np.zeros(self.bins, np.complex128)  # the echo estimate
        self.E = np.zeros(self.bins, np.complex128)
        self._pm = self._pe = self._py = 0.0  # powers of M, E and Y in the last frame
        self._e2 = self._y2 = np.zeros(self.bins)
        self._ola = np.zeros(self.nfft)
        if self.mask is not None:
            self.mask.clear()

    @property
    def powers(self) -> tuple[float, float]:
        """(mic power, output power before the mask) of the last frame."""
        return self._pm, self._pe

    detector_powers = powers  # the powers that say how far ``hears_user`` can be trusted

    def hears_user(self, margin: float) -> bool | None:
        """Is there something in the last mic frame that the echo estimate does not explain (the user)?
        The power in the bins where the residual is louder than the echo estimate, against ``margin``
        times the echo estimate's power. None until the filter has learned (its estimate is no guide)."""
        if self._booted < self.boot_frames or not self._py:
            return None
        unexplained = float(np.sum(self._e2[self._e2 > self._y2]))  # bins the estimate does not explain
        return unexplained > margin * self._py

    def filter(self, mic: np.ndarray, ref: np.ndarray) -> None:
        """Take the next ``hop`` samples of mic and reference (already aligned to the echo's bulk delay)."""
        h = self.hop
        self._mic[:-h] = self._mic[h:]
        self._mic[-h:] = mic
        self._ref[:-h] = self._ref[h:]
        self._ref[-h:] = ref
        end = len(self._ref) - self._lag
        seg = self._ref[end - self.nfft:end]
        # a silent loopback (digital zeros between the far side's words) makes zero spectra: while the whole
        # history is zeros there is nothing to shift and the echo estimate is exactly zero
        self._quiet = 0 if seg.any() else self._quiet + 1
        if self._quiet <= self.taps:
            self.X[1:] = self.X[:-1]
            self.X[0] = np.fft.rfft(seg * self.window) if not self._quiet else 0
        self.M = np.fft.rfft(self._mic * self.window)
        self.Y = np.einsum("kf,kf->f", self.H, self.X) if self._quiet < self.taps else np.zeros(self.bins, complex)
        self.E = self.M - self.Y
        self._pm, self._pe, self._py = (float(np.vdot(v, v).real) for v in (self.M, self.E, self.Y))
        # per-bin powers of the residual and the echo estimate, for the detector, the weights and the mask
        self._e2 = self.E.real ** 2 + self.E.imag ** 2
        self._y2 = self.Y.real ** 2 + self.Y.imag ** 2

    def adapt(self, far_only: bool = True) -> None:
        """Learn from the last frame if it is far-only (see the module's note on double-talk detection)."""
        xp = float(np.vdot(self.X[0], self.X[0]).real)
        if not far_only or xp < 1e-10 * self.nfft:
            return
        weight = None
        if self._booted >= self.boot_frames:
            if self.bin_weight is not None:
                weight = self._bin_weights()
                x2 = np.abs(self.X[0]) ** 2
                rejected = float(np.dot(weight, x2)) < self.min_share * xp
            else:
                rejected = not self._py or self._pe > self.dtd * self._py
            if rejected:
                self._rejected_run += 1
                if self._rejected_run >= self.relearn_frames:
                    self._relearn()
                return
        self._rejected_run = 0
        self._candidates += 1
        if self._booted >= self.young_frames and self._candidates % self.stride:
            return  # consecutive frames overlap by 75 %: every ``stride``-th one says nearly as much
        self._pending_x.append(self.X.copy())
        self._pending_m.append(self.M.copy())
        self._pending_w.append(weight)
        self.accepted += 1
        self._booted += 1
        # solve often while the filter is young: its first second decides how much of the echo leaks
        every = self.solve_every if self._booted >= self.young_frames else 8
        if len(self._pending_x) >= every:
            self._solve()

    def _bin_weights(self) -> np.ndarray:
        """Per bin, how far to trust this frame: 1 where the residual is within ``bin_weight_db`` of the
        echo estimate, less the louder it is beyond that. A frame the gate calls far-only often carries
        the user in some bins (a third of them on the rig): those bins, not the whole frame, are left out."""
        return 1.0 / np.maximum(1.0, self._e2 / (self.bin_weight * self._y2 + 1e-20))

    def _relearn(self) -> None:
        """The caller has called every frame of the last ``relearn_frames`` far-only and none of them
        matched the filter: the echo path changed (a device or stream jumped, someone moved the laptop).
        Boot again from the caller's frames, with what was learned before weighing ``relearn_keep``."""
        self._fold()
        self.R *= self.relearn_keep
        self.r *= self.relearn_keep
        self._booted = 0
        self._rejected_run = 0

    def _fold(self) -> None:
        """Add the pending frames to the normal equations (with forgetting)."""
        n = len(self._pending_x)
        if not n:
            return
        lam = self.forget
        w = np.sqrt(lam ** np.arange(n - 1, -1, -1))  # the newest frame weighs most
        ws = np.stack([np.ones(self.bins) if v is None else v for v in self._pending_w], axis=1)  # (bins, n)
        sw = np.sqrt(ws) * w
        Xall = np.stack(self._pending_x, axis=0)  # (n, taps, bins)
        Mall = np.stack(self._pending_m, axis=0)  # (n, bins)
        self.R *= lam ** n
        self.r *= lam ** n
        for b in range(0, self.bins, BIN_CHUNK):  # per bin, independent: chunks keep the temporaries small
            f = slice(b, b + BIN_CHUNK)
            Xs = Xall[:, :, f].transpose(2, 1, 0) * sw[f, None, :]  # (bins, taps, n)
            Ms = Mall[:, f].T * sw[f]  # (bins, n)
            self.R[f] += Xs @ Xs.conj().transpose(0, 2, 1)
            self.r[f] += np.einsum("fkn,fn->fk", Xs, Ms.conj())
        self._pending_x.clear()
        self._pending_m.clear()
        self._pending_w.clear()

    def _solve(self) -> None:
        self._fold()
        scale = np.trace(self.R, axis1=1, axis2=2).real / self.taps
        idx = np.arange(self.taps)
        H = np.empty((self.bins, self.taps), np.complex128)
        for b in range(0, self.bins, BIN_CHUNK):
            f = slice(b, b + BIN_CHUNK)
            A = self.R[f].copy()
            A[:, idx, idx] += scale[f, None] * self._tap_load[None, :] + 1e-10
            # R h* = r (R = sum x x^H, r = sum x M^*): the least-squares taps, conjugated
            H[f] = np.linalg.solve(A, self.r[f, :, None])[:, :, 0]
        self.H = np.conj(H).T

    def shift(self, samples: int) -> None:
        """The reference frame that goes with a mic frame is now taken ``samples`` further on in the
        loopback: delay the reference by as much internally, and where that adds up to whole hops, move
        the taps and the statistics by as many frames instead (exact: the STFT frames move with them)."""
        total = self._lag + int(samples)
        m, self._lag = divmod(total, self.hop)
        if not m:
            return
        self._fold()
        K = self.taps

        def move(a: np.ndarray, axis: int) -> np.ndarray:
            out = np.zeros_like(a)
            src = [slice(None)] * a.ndim
            dst = [slice(None)] * a.ndim
            if abs(m) < K:
                src[axis] = slice(0, K - m) if m > 0 else slice(-m, K)
                dst[axis] = slice(m, K) if m > 0 else slice(0, K + m)
                out[tuple(dst)] = a[tuple(src)]
            return out

        self.H = move(self.H, 0)
        self.r = move(self.r, 1)
        self.R = move(move(self.R, 1), 2)

    def output(self) -> np.ndarray:
        """The cleaned frame (mic minus the echo estimate, masked), ``delay_frames`` frames late."""
        E = self.E
        if self.mask is not None:
            E = E * self.mask.gain_for_powers(self._e2, self._y2)
        self._ola += np.fft.irfft(E, self.nfft) * self.synthesis
        h = self.hop
        out = self._ola[:h].copy()
        self._ola[:-h] = self._ola[h:]
        self._ola[-h:] = 0
        return out
