"""A linear echo canceller for double talk: a partitioned-block frequency-domain Kalman filter.

Why it is here: WebRTC AEC3 (livekit) removes far-end-only echo very well, but while both sides talk its
residual-echo suppressor attenuates and colours the user's voice, and livekit exposes no setting to make
it gentler. A purely linear canceller subtracts an estimate of the echo and leaves the near voice
untouched, so the guard uses this filter's output whenever the user talks over the far side and AEC3's
(plus the residual gate's) otherwise. No maintained library with wheels offers a linear-only canceller
(``speexdsp`` has no wheels; livekit does not export AEC3's linear stage), so it is NumPy here (about
0.01 CPU s per audio s).

The filter: ``taps = partitions * hop`` samples of echo path, in ``partitions`` blocks of ``hop``
samples (one 10 ms frame each), overlap-save with FFTs of ``2 * hop``. Per frame:
``Y = sum_p W_p X_{t-p}``; ``e = mic - y``; then, unless the caller skips ``adapt``, the frequency-domain
Kalman update (Enzner & Vary 2006; partitioned: Kuech, Mabande & Enzner, "State-space architecture of the
partitioned-block-based acoustic echo controller", 2014): ``W_p = A (W_p + K_p X_{t-p}^* E)`` with the per-bin gain ``K_p = P_p / (sum_q P_q |X_{t-q}|^2 +
  2 Psi / partitions)``, ``Psi`` the smoothed error power (stands for the near voice and noise) and ``P``
  the state error variance (``P = A^2 (1 - K |X|^2 / 2) P + (1 - A^2) |W|^2``). Large steps while ``P``
  is large (it converges within a second), small ones where the error is mostly near voice, so it may
  keep adapting through double talk. (NLMS, which must be frozen while the near end talks, is measured
  against it in bench/echo_research.py.)

With the gradient constraint (each partition's impulse response kept to ``hop`` samples). The caller
aligns the reference to the echo's bulk delay (``shift`` moves the weights when that alignment changes).
"""

from __future__ import annotations

import numpy as np


class LinearEchoCanceller:
    def __init__(self, hop: int = 160, partitions: int = 32, *, mu: float = 1.0,
                 delta_dbfs: float = -60.0, forget: float = 0.999,
                 p_initial: float = 1.0, noise_smooth: float = 0.5) -> None:
        self.hop = hop
        self.partitions = partitions
        self.n = 2 * hop
        self.bins = hop + 1
        self.mu = mu
        # regularisation: per-bin power of a ``delta_dbfs`` white reference in every partition
        self.delta = partitions * (10 ** (delta_dbfs / 10)) * self.n
        self._pe = 0.0  # recent error and mic power (divergence check)
        self._pm = 0.0
        self.W = np.zeros((partitions, self.bins), np.complex128)
        self.X = np.zeros((partitions, self.bins), np.complex128)
        self.Xpow = np.zeros((partitions, self.bins))
        self._quiet = partitions  # frames in a row whose reference spectrum is zero (here: all of them)
        self._ref_prev = np.zeros(hop)
        self.echo = np.zeros(hop)  # the echo estimate of the last frame
        self.err = np.zeros(hop)
        self.updates = 0
        self.resets = 0
        # Kalman (FDKF) state: per-partition, per-bin state error variance, the transition factor
        # (leakage) ``forget`` and the smoothed error power that stands for the observation noise
        self.A = forget
        self.p_initial = p_initial
        self.P = np.full((partitions, self.bins), p_initial)
        self._noise = np.zeros(self.bins)
        self._noise_a = noise_smooth

    def reset(self) -> None:
        self.W[:] = 0
        self.P[:] = self.p_initial
        self.updates = 0

    def shift(self, samples: int) -> None:
        """The reference frame that goes with a mic frame is now taken ``samples`` further on in the
        loopback stream (negative: further back): move the learned echo path by as much, so that the
        filter need not learn it again."""
        if samples == 0 or not self.updates:
            return
        h = self.hop
        w = np.fft.irfft(self.W, self.n, axis=1)[:, :h].reshape(-1)  # the impulse response
        if abs(samples) >= len(w):
            w[:] = 0
        elif samples > 0:  # each reference sample now arrives earlier: the echo comes later after it
            w = np.concatenate([np.zeros(samples), w[:-samples]])
        else:
            w = np.concatenate([w[-samples:], np.zeros(-samples)])
        blocks = np.zeros((self.partitions, self.n))
        blocks[:, :h] = w.reshape(self.partitions, h)
        self.W = np.fft.rfft(blocks, axis=1)

    def process(self, mic: np.ndarray, ref: np.ndarray, adapt: bool = True) -> np.ndarray:
        """One frame of ``hop`` samples: returns mic minus the echo estimate (float64)."""
        e = self.filter(mic, ref)
        if adapt:
            self.adapt()
        return e

    def filter(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """Take the next reference frame, return mic minus the echo estimate; no adaptation yet."""
        h = self.hop
        ref = np.asarray(ref, dtype=np.float64)
        mic = np.asarray(mic, dtype=np.float64)
        # a silent loopback (digital zeros between the far side's words) makes zero spectra: while the whole
        # history is zeros there is nothing to shift and the echo estimate is exactly zero
        self._quiet = self._quiet + 1 if not ref.any() and not self._ref_prev.any() else 0
        if self._quiet <= self.partitions:
            Xk = np.fft.rfft(np.concatenate([self._ref_prev, ref])) if not self._quiet else 0
            self.X[1:] = self.X[:-1]
            self.X[0] = Xk
            self.Xpow[1:] = self.Xpow[:-1]
            self.Xpow[0] = Xk.real ** 2 + Xk.imag ** 2 if not self._quiet else 0
        self._ref_prev = ref
        if self._quiet < self.partitions:
            self.echo = np.fft.irfft(np.einsum("pk,pk->k", self.W, self.X), self.n)[h:]
        else:
            self.echo = np.zeros(h)
        self.err = mic - self.echo
        # divergence check: the output clearly louder than the mic for a while means the filter adds
        # echo instead of removing it: start again
        self._pe = 0.97 * self._pe + float(np.dot(self.err, self.err))
        self._pm = 0.97 * self._pm + float(np.dot(mic, mic))
        if self._pe > 2.0 * self._pm + 1e-6 * h:
            self.reset()
            self.err = mic.copy()
            self._pe = self._pm
            self.resets += 1
        return self.err

    def adapt(self) -> None:
        """Update the weights from the last ``filter`` call (skip it while the near end talks)."""
        if self.Xpow[0].sum() <= self.delta / self.partitions * self.bins:
            return  # the reference is silent: nothing to learn
        h = self.hop
        self._adapt_kalman(np.fft.rfft(np.concatenate([np.zeros(h), self.err])))

    def _adapt_kalman(self, E: np.ndarray) -> None:
        """Frequency-domain Kalman update (Enzner & Vary; partitioned: Kuech, Mabande & Enzner 2014).

        The step per partition and bin is the Kalman gain ``P / (sum_p P_p |X_p|^2 + 2 Psi / N)``:
        large while the state error variance ``P`` is large (fast initial convergence), small where the
        error is dominated by what the filter cannot model (``Psi``, the smoothed error power: the near
        voice, noise), so double talk slows adaptation down by itself instead of making it diverge.
        """
        h = self.hop
        a = self._noise_a
        self._noise = a * self._noise + (1 - a) * (E.real ** 2 + E.imag ** 2)
        R = np.einsum("pk,pk->k", self.P, self.Xpow) + 2 * self._noise / self.partitions + self.delta / self.partitions
        gain = self.P / R  # (partitions, bins)
        G = gain * np.conj(self.X)
        A2 = self.A * self.A
        self.P = A2 * (1 - 0.5 * gain * self.Xpow) * self.P + (1 - A2) * (self.W.real ** 2 + self.W.imag ** 2)
        upd = np.fft.irfft(G * E, self.n, axis=1)
        upd[:, h:] = 0  # gradient constraint
        self.W = self.A * (self.W + np.fft.rfft(upd, axis=1))
        self.updates += 1


class TimeDomainEchoPath:
    """The guard's double-talk path with the time-domain canceller: the same calls as
    ``SubbandEchoCanceller`` (filter, adapt, output, powers, detector_powers, hears_user, shift, clear),
    with a post-filter after it when ``mask`` is given (an object with ``process(err, echo)`` and ``clear()``
    whose output is one frame late)."""

    def __init__(self, canceller: LinearEchoCanceller, mask=None, adapt_always: bool = True) -> None:
        self.canceller = canceller
        self.hop = canceller.hop
        self.mask = mask
        # the Kalman filter slows itself down in double talk and may adapt all the time
        self.adapt_always = adapt_always
        self.delay_frames = 1 if mask is not None else 0

    def clear(self) -> None:
        if self.mask is not None:
            self.mask.clear()

    @property
    def powers(self) -> tuple[float, float]:
        c = self.canceller
        mic = c.err + c.echo
        return float(np.dot(mic, mic)), float(np.dot(c.err, c.err))

    detector_powers = powers

    def hears_user(self, margin: float) -> bool | None:
        """No near-end detector here (the subband canceller has one): no verdict."""
        return None

    def filter(self, mic: np.ndarray, ref: np.ndarray) -> None:
        self.canceller.filter(mic, ref)

    def adapt(self, far_only: bool = True) -> None:
        if far_only or self.adapt_always:
            self.canceller.adapt()

    def shift(self, samples: int) -> None:
        self.canceller.shift(samples)

    def output(self) -> np.ndarray:
        c = self.canceller
        return self.mask.process(c.err, c.echo) if self.mask is not None else c.err
