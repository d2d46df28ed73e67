"""PyAudioWPatch under Wine: enumeration, the default loopback, a loopback that cannot open (Wine 8)
reported as a clear "crashed" reason, and the loopback backend's data path through a stand-in."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pyaudiowpatch

from meeting_tui.capture.backends import pyaudiowpatch_backend as pawp
from meeting_tui.capture.engine import CaptureEngine, WorkerSpec
from meeting_tui.types import HealthState, Source
from tests.support.capture import Recorder, wait_for
from tests.windows.conftest import NON_ASCII_OUTPUT, SURROUND_HZ
from tests.windows.helpers import band_db

LONG_OUTPUT_PREFIX = "Haut-parleurs 121 "


def test_loopbacks_are_listed_with_the_default_marked(win_rig):
    rows = pawp.list_devices()
    names = {r["name"] for r in rows}
    assert "Speakers [Loopback]" in names and f"{NON_ASCII_OUTPUT} [Loopback]" in names
    assert all(r["kind"] == "loopback" and r["hostapi"] == "Windows WASAPI" for r in rows)
    defaults = [r["name"] for r in rows if r["is_default"]]
    pa = pyaudiowpatch.PyAudio()
    try:
        upstream = pa.get_default_wasapi_loopback()["name"]  # upstream's own lookup agrees with ours
        ours = pawp.find_loopback(pawp.wasapi_devices(pa, pyaudiowpatch), None,
                                  default_output=pawp._default_output(pa))["name"]
    finally:
        pa.terminate()
    assert defaults == [upstream] == [ours]


def test_a_loopback_name_cut_at_127_bytes_is_found_by_its_full_name(win_rig):
    pa = pyaudiowpatch.PyAudio()
    try:
        devices = pawp.wasapi_devices(pa, pyaudiowpatch)
    finally:
        pa.terminate()
    render = next(d["name"] for d in devices if d["name"].startswith(LONG_OUTPUT_PREFIX)
                  and not d["isLoopbackDevice"] and d["maxOutputChannels"] > 0)
    found = pawp.find_loopback(devices, render)
    assert found["isLoopbackDevice"] and len(found["name"].encode()) == pawp.NAME_BYTES
    assert found["name"] != pawp.loopback_name(render) and pawp.loopback_name(render).startswith(found["name"])


def test_a_loopback_that_cannot_open_is_reported_as_crashed_with_the_reason(win_rig):
    """Wine 8 refuses a capture client on a render endpoint: the user must see why, not "idle"."""
    async def run():
        engine = CaptureEngine([WorkerSpec((Source.LOOPBACK,), backend="pyaudiowpatch")])
        engine.add_listener(rec)
        await engine.start()
        try:
            # Beside a CPU-bound job a worker's start under Wine can pass the supervisor's 15 s start-up
            # limit ("did not open within 15 s"); the restarted worker then reports the device's own error.
            await wait_for(lambda: any("cannot open" in h.reason for h in crashed()), 120)
            return crashed(), engine.stats()
        finally:
            await engine.stop()

    def crashed():
        return [h for _, h in rec.health if h.state is HealthState.CRASHED and h.reason]

    rec = Recorder()
    reasons, stats = asyncio.run(run())
    assert reasons, stats
    reason = next((h.reason for h in reasons if "cannot open" in h.reason), reasons[0].reason)
    assert "cannot open" in reason and "[Loopback]" in reason and "[-9999]" in reason, reason
    assert "exclusive" in stats["sources"]["loopback"]["hint"]


def test_loopback_data_path_through_a_stand_in(win_rig):
    """STAND-IN: Wine 8 cannot open a WASAPI loopback, so the backend's callback, timeline and 5.1 downmix
    are driven by "Monitor of Surround51" opened as an ordinary WASAPI input through PyAudioWPatch (it
    carries the 5.1 output's signal: FL 500 Hz, FR 700 Hz, FC 900 Hz, LFE 60 Hz)."""
    got = []
    backend = pawp.PyAudioWPatchBackend(None, keepalive=False)
    pa = pyaudiowpatch.PyAudio()
    try:
        dev = next(d for d in pawp.wasapi_devices(pa, pyaudiowpatch) if d["name"] == "Monitor of Surround51")
        rate, channels = pawp.stream_params(dev)
        assert channels == 6
        backend._dev_channels = channels
        backend._emit = lambda samples, t, flags: got.append((samples.copy(), t, flags))
        backend._timeline = pawp.LoopbackTimeline(rate)
        backend._timeline.start(time.monotonic())
        backend._stream = pa.open(format=pyaudiowpatch.paFloat32, channels=channels, rate=rate, input=True,
                                  input_device_index=dev["index"], stream_callback=backend._callback)
        time.sleep(2.0)
        assert backend.poll() is None
    finally:
        backend.close()
    real = [g for g in got if not g[2]]
    x = np.concatenate([g[0] for g in real])[-rate:]
    assert x.shape[1] == 2
    left = x[:, 0]
    hz = SURROUND_HZ
    # Left = FL + 0.707 FC, without FR. (Wine hands the right half of this remapped monitor over in
    # another channel order, so only the left side is checked here; the channel arithmetic itself is in
    # tests/test_pyaudiowpatch_contract.py.)
    assert band_db(left, rate, hz["FL"]) > band_db(left, rate, hz["FR"]) + 30
    assert abs(band_db(left, rate, hz["FC"]) - band_db(left, rate, hz["FL"]) - 20 * np.log10(0.7071)) < 1.5
    assert float(np.abs(x[:, 1]).max()) > 0.1
    times = [g[1] for g in real]
    assert times == sorted(times)  # the timeline lays packets end to end
