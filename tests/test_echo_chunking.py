"""The echo guard's output depends on the audio, not on how the capture pipes split it into chunks.

A fresh session whose far side speaks first: the guard lets the raw mic out until it has measured the
echo, and it measured after whole chunks, so the moment it first knew the echo (and whether the first
half second of the far side's echo reached "You") depended on the chunking; `record` under load gave
"You: We'll be right." for the echo of "Will you write" about one run in seven. Open: see the mark."""

from __future__ import annotations

import numpy as np
import pytest

from meeting_tui.echo import EchoGuard
from meeting_tui.echo.aec import webrtc_available
from tests.support.echo_signals import RATE, room, run, stitch, two_voices


@pytest.mark.skipif(not webrtc_available(), reason="livekit (WebRTC APM) not installed")
@pytest.mark.xfail(strict=True, reason="known defect, open (issue 28 note): the delay estimate runs after whole "
                   "chunks; estimating at fixed audio positions instead made the output chunk-independent but "
                   "cancelled nothing of this scene's far side (ERLE 2 dB against 8-54 dB): the first estimate's "
                   "position interacts with the priming replay, which is not understood yet")
def test_the_same_audio_in_other_chunks_gives_the_same_output(tmp_path):
    remote, local = two_voices(tmp_path)
    n = RATE + len(remote) + RATE // 2 + len(local) + RATE
    ref = np.zeros(n, np.float32)
    ref[RATE:RATE + len(remote)] = remote  # the far side speaks first, into a fresh session
    near = np.zeros(n, np.float32)
    at = RATE + len(remote) + RATE // 2
    near[at:at + len(local)] = local
    mic = room(ref, 60, 6) + near
    outputs = [stitch(run(EchoGuard(RATE), mic, ref, chunk=chunk, ref_lag=lag), n)
               for chunk, lag in ((960, 0), (1280, 800), (3000, 0), (700, 1400))]
    for y in outputs[1:]:
        assert np.array_equal(y, outputs[0]), float(np.max(np.abs(y - outputs[0])))
