"""The echo guard's cancellers sleep until an echo is measured (meeting_tui/echo/idle.py): without an echo
they never run and the raw mic goes out; with one they catch up and the output is the same to the sample
as a guard that never slept. Fast: synthetic rooms, no rig, no model."""

from __future__ import annotations

import numpy as np
import pytest

from meeting_tui.echo import EchoGuard
from meeting_tui.echo.aec import webrtc_available
from tests.support.echo_signals import RATE, room, run, stitch, two_voices

pytestmark = pytest.mark.skipif(not webrtc_available(), reason="livekit (WebRTC APM) not installed")


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    return two_voices(tmp_path_factory.mktemp("voices"))


def _turns(remote: np.ndarray, local: np.ndarray, echo_db: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The far side, then the user, then the far side again; its echo in the mic ``echo_db`` down (None: none)."""
    n = 2 * len(remote) + len(local) + 2 * RATE
    ref = np.zeros(n, np.float32)
    ref[RATE // 2:RATE // 2 + len(remote)] = remote
    ref[n - len(remote) - RATE // 2:n - RATE // 2] = remote
    mic = np.zeros(n, np.float32)
    at = RATE // 2 + len(remote) + RATE // 2
    mic[at:at + len(local)] = local
    if echo_db is not None:
        mic += room(ref, 80, echo_db)
    return mic, ref


def _cancellers(guard: EchoGuard):
    subband, kalman = guard.linear.paths
    return subband.accepted, kalman.canceller.updates


def test_without_an_echo_the_cancellers_never_run_and_the_raw_mic_goes_out(voices):
    mic, ref = _turns(*voices, echo_db=None)
    guard = EchoGuard(RATE)
    y = stitch(run(guard, mic, ref, chunk=960), len(mic))
    assert guard.coupling_db is None and not guard.echo_present
    assert _cancellers(guard) == (0, 0)
    assert np.array_equal(y, mic)


def test_once_the_echo_is_measured_the_output_is_that_of_a_guard_that_never_slept(voices):
    mic, ref = _turns(*voices, echo_db=6)
    outs = {}
    for name in ("sleeping", "awake"):
        guard = EchoGuard(RATE)
        if name == "awake":
            guard._asleep = False
        outs[name] = stitch(run(guard, mic, ref, chunk=960), len(mic))
        assert guard.coupling_db is not None and not guard._asleep
        assert min(_cancellers(guard)) > 0
    assert np.array_equal(outs["sleeping"], outs["awake"])
    far = slice(RATE // 2 + RATE, RATE // 2 + len(voices[0]))  # after the first second of the far side
    assert np.mean(outs["sleeping"][far] ** 2) < 0.1 * np.mean(mic[far] ** 2)  # and the echo is removed
