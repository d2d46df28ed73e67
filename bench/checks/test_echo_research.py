"""The echo research the bench owns (bench/echo_research.py, bench/echo_postfilter.py): NLMS against the
product's Kalman filter, the residual echo mask, the research guard. No rig, no model."""

from __future__ import annotations

import numpy as np
import pytest

from meeting_tui.echo.aec import webrtc_available
from meeting_tui.echo.subband import SubbandEchoCanceller
from tests.support.echo_signals import RATE, db, room, subband_run, two_voices

from bench.echo_postfilter import ResidualEchoMask, SpectralEchoMask
from bench.echo_research import ResearchEchoGuard, linear_canceller

needs_webrtc = pytest.mark.skipif(not webrtc_available(), reason="livekit (WebRTC APM) not installed")


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    return two_voices(tmp_path_factory.mktemp("voices"))


def test_nlms_canceller_converges_freezes_and_follows_a_delay_change():
    rng = np.random.default_rng(3)
    n = RATE * 6
    x = np.convolve(rng.standard_normal(n) * 0.1, [1.0, 0.8, 0.3], "same")
    h = np.zeros(1600)
    h[300], h[700] = 0.7, -0.3
    h[301:] += rng.standard_normal(1299) * 0.02 * np.exp(-np.arange(1299) / 400)
    d = np.convolve(x, h)[:n]
    lec = linear_canceller(160, 16, method="nlms")
    e = np.concatenate([lec.process(d[i:i + 160], x[i:i + 160]) for i in range(0, n, 160)])
    assert db(d[-RATE:]) - db(e[-RATE:]) > 30
    # frozen: a loud near-end signal does not move the weights
    w = lec.W.copy()
    lec.process(rng.standard_normal(160), x[:160], adapt=False)
    np.testing.assert_array_equal(lec.W, w)
    # the reference now comes 237 samples later in the stream: the shifted weights still cancel
    lec.shift(237)
    xs = np.concatenate([x[237:], np.zeros(237)])
    e = np.concatenate([lec.process(d[i:i + 160], xs[i:i + 160], adapt=False) for i in range(0, n - 1600, 160)])
    assert db(d[RATE:n - 1600]) - db(e[RATE:]) > 25


def test_kalman_canceller_adapts_through_double_talk_without_eating_the_voice(voices):
    remote, local = voices
    n = RATE * 6
    x = np.resize(remote, n)
    d = room(x, 60, 3)
    near = np.zeros(n, np.float32)
    near[2 * RATE:2 * RATE + len(local)] = local[: 4 * RATE]  # the user talks from 2 s on, over the far side
    mic = d + near
    out = {}
    for method in ("kalman", "nlms"):
        lec = linear_canceller(160, 32, method=method)
        out[method] = np.concatenate([lec.process(mic[i:i + 160], x[i:i + 160]) for i in range(0, n - 159, 160)])
    k, nl = out["kalman"], out["nlms"]
    first = slice(RATE, 2 * RATE)  # far side alone, the second second
    assert db(d[first]) - db(k[first]) > 3
    # adapting all the time (no double-talk detector): NLMS follows the user's voice and cancels part of
    # it (what is left differs from the voice by as much as the voice itself); the Kalman gain shrinks
    # where the error is mostly the near voice, so the voice stays (measured: 7 dB over the residue)
    dt = slice(2 * RATE, 2 * RATE + min(len(local), 4 * RATE) - 160)
    k_snr = db(near[dt]) - db(k[dt] - near[dt])
    nl_snr = db(near[dt]) - db(nl[dt] - near[dt])
    assert k_snr > 5 and k_snr > nl_snr + 4
    assert np.all(np.isfinite(k))



@needs_webrtc
def test_research_guard_puts_the_mask_after_both_legs_when_asked():
    masked = ResearchEchoGuard(RATE, backend="webrtc", residual_mask=True).linear
    assert masked.paths[0].mask is not None and masked.paths[1].mask is not None


def test_subband_canceller_with_the_mask_takes_the_residue_further_down(voices):
    remote, _ = voices
    n = RATE * 6
    x = np.resize(remote, n).astype(np.float64)
    learned_room = room(x.astype(np.float32), 60, 3, seed=0).astype(np.float64)
    # the room changed a little since (someone moved): the learned filter now leaves a residue about
    # 12 dB below the echo, in the cells its echo estimate covers
    echo = 0.85 * learned_room + 0.15 * room(x.astype(np.float32), 60, 3, seed=1).astype(np.float64)
    out = {}
    for m in (False, True):
        sec = SubbandEchoCanceller(160, mask=SpectralEchoMask() if m else None)
        subband_run(sec, learned_room, x)
        sec.clear()
        out[m] = subband_run(sec, echo, x, learn=False)
    plain, masked = out[False], out[True]
    assert 8 < db(echo[:len(plain)]) - db(plain) < 20  # the linear filter alone leaves a residue
    assert db(plain) - db(masked) > 6


def _mask_run(mask: ResidualEchoMask, err: np.ndarray, echo: np.ndarray, active: bool = True) -> np.ndarray:
    h = mask.hop
    out = np.concatenate([mask.process(err[i:i + h], echo[i:i + h], active) for i in range(0, len(err) - h + 1, h)])
    return out[h:]  # one frame late


def test_residual_mask_reconstructs_exactly_when_nothing_is_masked():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(RATE).astype(np.float64) * 0.1
    for active, echo in ((False, x), (True, np.zeros_like(x))):  # passed through, or no echo to mask
        y = _mask_run(ResidualEchoMask(160), x, echo, active)
        n = len(y) - 320
        assert np.max(np.abs(y[160:n] - x[160:n])) < 1e-9


def test_residual_mask_silences_the_echo_and_keeps_the_voice(voices):
    remote, local = voices
    n = min(len(remote), len(local))
    echo = room(remote[:n], 60, 3)
    estimate = 0.8 * echo + 0.15 * room(remote[:n], 60, 3, seed=1)  # a linear canceller's, half converged
    residue = echo - estimate  # what it left: about 12 dB below the echo
    assert 10 < db(echo) - db(residue) < 16
    mask = ResidualEchoMask(160)
    far_only = _mask_run(mask, residue, estimate)
    assert db(residue[:len(far_only)]) - db(far_only) > 15  # far side alone: the residue goes
    mask.clear()
    both = _mask_run(mask, local[:n] + residue, estimate)
    m = len(both)
    v = local[:m]
    # both talking: the voice keeps its level and shape (the cells it dominates are kept)
    assert abs(db(both) - db(v)) < 2.0
    assert np.dot(both, v) / np.sqrt(np.dot(both, both) * np.dot(v, v)) > 0.9
