"""The mic worker under Windows host APIs, recording the rig's 440 Hz tone through real pipes."""

from __future__ import annotations

import pytest

from tests.windows.conftest import MIC, MIC_HZ, MME, NON_ASCII_HZ, NON_ASCII_OUTPUT, WASAPI
from tests.windows.helpers import WorkerRun, dominant_hz, worker_cmd


@pytest.mark.parametrize("hostapi", [WASAPI, MME])
def test_mic_worker_writes_the_mics_signal(win_rig, hostapi):
    run = WorkerRun(worker_cmd("sounddevice", "--device", MIC, "--hostapi", hostapi))
    try:
        run.wait_seconds(2.0, timeout=30)
    finally:
        code = run.stop()
    started = run.event("started")
    assert started is not None, run.describe()
    assert started["hostapi"] == hostapi and started["device"] == MIC
    assert run.audio_seconds() >= 2.0, run.describe()
    assert code == 0 and run.event("stopped") is not None
    seqs = [f.seq for f in run.frames]
    assert seqs == list(range(len(seqs)))  # nothing lost or reordered on the pipe
    x = run.samples()[-int(started["samplerate"]):, 0]  # the last second
    assert abs(dominant_hz(x, started["samplerate"]) - MIC_HZ) < 5
    assert float(abs(x).max()) > 0.1


def test_device_with_non_ascii_name_opens_and_is_reported_intact(win_rig):
    name = f"Monitor of {NON_ASCII_OUTPUT}"
    run = WorkerRun(worker_cmd("sounddevice", "--device", name, "--hostapi", WASAPI))
    try:
        run.wait_seconds(1.5, timeout=30)
    finally:
        run.stop()
    started = run.event("started")
    assert started is not None, run.describe()
    assert started["device"] == name  # the JSON status line carries it unmangled
    x = run.samples()[-int(started["samplerate"]):].mean(axis=1)
    assert abs(dominant_hz(x, started["samplerate"]) - NON_ASCII_HZ) < 5


def test_a_mic_with_more_channels_than_two_opens_at_its_own_count_and_is_downmixed(win_rig):
    """Defect 1: WASAPI shared mode takes only the mix format's channel count; a 6-channel capture
    endpoint ("Mic Array 6ch", FL 500 Hz, FR 700 Hz, FC 900 Hz, LFE 60 Hz) must open and arrive as stereo."""
    from tests.windows.conftest import MIC_ARRAY, SURROUND_HZ
    from tests.windows.helpers import band_db

    run = WorkerRun(worker_cmd("sounddevice", "--device", MIC_ARRAY, "--hostapi", WASAPI))
    try:
        run.wait_seconds(1.5, timeout=30)
    finally:
        run.stop()
    started = run.event("started")
    assert started is not None, run.describe()
    assert started["device_channels"] == 6 and started["channels"] == 2
    rate = started["samplerate"]
    x = run.samples()[-rate:]
    assert x.shape[1] == 2
    assert band_db(x[:, 0], rate, SURROUND_HZ["FL"]) > band_db(x[:, 0], rate, SURROUND_HZ["FR"]) + 30
