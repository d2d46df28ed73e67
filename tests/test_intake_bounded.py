"""The intake's arrival times stay bounded however long the meeting runs (docs/cost.md, What grows)."""

import threading

import numpy as np

from meeting_tui.transcribe.intake import Intake
from meeting_tui.transcribe.vad_segmenter import VadConfig
from meeting_tui.types import SESSION_RATE, Source


def test_arrival_times_stay_bounded_over_a_long_meeting_and_recent_ones_are_kept():
    intake = Intake((Source.LOOPBACK,), VadConfig(), threading.Event())
    block = np.zeros(SESSION_RATE // 10, np.float32)  # 100 ms chunks: 40 minutes of them
    for i in range(24_000):
        intake.put(Source.LOOPBACK, block, i * len(block), now=float(i))
        for _ in intake.take():
            pass
    ends, _times = intake._arrivals[Source.LOOPBACK]
    assert len(ends) <= 2048  # was up to 20 000 per source
    last = 23_999 * len(block)
    assert intake.arrival(Source.LOOPBACK, last + 1) == 23_999.0
    assert intake.arrival(Source.LOOPBACK, last - 60 * SESSION_RATE + 1) == 23_999.0 - 600
