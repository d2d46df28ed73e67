"""time.monotonic() on Windows before Python 3.13 is GetTickCount64: 15.625 ms steps. The worker stamps
blocks with it; the track's alignment and drift estimate must not mistake the steps for drift or gaps."""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from meeting_tui.capture.mixer import Track
from meeting_tui.types import SESSION_RATE, Source

TICK = 0.015625


def test_this_interpreters_monotonic_clock_resolution():
    info = time.get_clock_info("monotonic")
    if sys.version_info < (3, 13):
        assert info.implementation == "GetTickCount64()" and info.resolution >= 0.0156
    print(f"monotonic: {info.implementation}, resolution {info.resolution * 1000:.3f} ms")


def test_a_15_6_ms_clock_gives_no_gaps_and_no_false_drift():
    rate, block = 48000, 480  # 10 ms blocks, the clock stepping every 15.625 ms
    track = Track(Source.MIC, 0.0)
    gaps, out = [], 0
    rng = np.random.default_rng(0)
    for i in range(60 * 100):  # a minute
        true_t = 5.0 + i * block / rate + rng.uniform(0, 0.002)  # callback jitter
        stamped = math.floor(true_t / TICK) * TICK
        chunk, gap = track.push(np.zeros(block, np.float32), rate, stamped)
        if gap is not None:
            gaps.append(gap)
        if chunk is not None:
            out += len(chunk.samples)
    assert gaps == []
    assert abs(track.drift_ppm) < 300  # 15.6 ms over a minute is < 300 ppm; no correction storm
    assert abs(out - 60 * SESSION_RATE) < SESSION_RATE * 0.05
