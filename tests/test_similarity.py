"""The wrong-source detector's measure: a copy of a signal (shifted, resampled) is near-identical;
an independent signal or an echo through a room is not."""

import numpy as np
import soxr

from meeting_tui.capture.similarity import similarity


def test_copy_with_latency_and_resampling_is_near_identical():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(48000 * 3).astype(np.float32)
    a = soxr.resample(x, 48000, 16000)
    b = soxr.resample(np.roll(x, 4411), 44100, 16000)[: len(a)]  # other latency, other device rate path
    b = soxr.resample(soxr.resample(x, 48000, 44100), 44100, 16000)[: len(a)]
    b = np.roll(b, 1300)
    assert similarity(a[8000:40000], b[8000:40000], 8000) > 0.95


def test_independent_and_reverberant_signals_are_not():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(32000).astype(np.float32)
    b = rng.standard_normal(32000).astype(np.float32)
    assert similarity(a, b, 8000) < 0.3
    room = np.exp(-np.arange(4000) / 800.0) * rng.standard_normal(4000)  # 0.25 s decaying reverb tail
    echo = np.convolve(a, room)[: len(a)].astype(np.float32) + 0.3 * b
    assert similarity(a, echo, 8000) < 0.9
