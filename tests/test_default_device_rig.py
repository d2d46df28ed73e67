"""Capture follows the system default: `pactl set-default-sink/source` mid-session (real rig, real workers)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from meeting_tui.capture.default_device import (CAPTURE, RENDER, Defaults, DefaultDeviceWatcher, Endpoint,
                                                follows_default)
from meeting_tui.capture.engine import CaptureEngine, WorkerSpec, specs_for_mode
from meeting_tui.types import SESSION_RATE, DeviceRef, Mode, Source
from tests.support.capture import Recorder, dominant_freq, wait_for, write_tone

# The issue asks for "within 2 s"; the latency is printed and reported in docs/windows.md, not asserted
# (wall-clock limits fail on a loaded machine). The 6 s waits below only bound the test.


def _now_hz(rec: Recorder, source: Source) -> float:
    x = rec.samples(source, last_s=0.25)
    return dominant_freq(x) if len(x) >= SESSION_RATE // 4 else 0.0


@pytest.mark.rig
def test_capture_follows_a_change_of_the_default_output_and_microphone(rig, tmp_path):
    mods = [rig.pactl("load-module", "module-null-sink", f"sink_name={n}", "rate=48000", "channels=1",
                      "channel_map=mono").strip() for n in ("headset", "headmic")]
    # PulseAudio moves the streams that played on the old default output to the new one with it (the
    # rig's log: the speakers' player "is moving to headset due to change of the default sink"), so after
    # the switch the headset's monitor carries both tones: the headset's own is the louder, and the check
    # of the dominant tone does not hang on how a window's leakage splits two equal ones.
    rig.play(write_tone(tmp_path / "mic.wav", 440, 30, amp=0.1), "micsink")
    rig.play(write_tone(tmp_path / "spk.wav", 1000, 30, amp=0.1), "speakers")
    rig.play(write_tone(tmp_path / "hs.wav", 300, 30), "headset")
    rig.play(write_tone(tmp_path / "hm.wav", 600, 30), "headmic")

    async def run():
        engine = CaptureEngine(specs_for_mode(Mode.MEETING))  # both on the defaults
        rec = Recorder()
        engine.add_listener(rec)
        await engine.start()
        try:
            assert engine.default_follower is not None
            assert await wait_for(lambda: abs(_now_hz(rec, Source.MIC) - 440) < 20
                                  and abs(_now_hz(rec, Source.LOOPBACK) - 1000) < 20, 10)
            await asyncio.sleep(1.5)  # the watcher has read the defaults once
            t = time.monotonic()
            rig.pactl("set-default-sink", "headset")
            ok_out = await wait_for(lambda: abs(_now_hz(rec, Source.LOOPBACK) - 300) < 20, 6)
            out_s = time.monotonic() - t
            t = time.monotonic()
            rig.pactl("set-default-source", "headmic.monitor")
            ok_in = await wait_for(lambda: abs(_now_hz(rec, Source.MIC) - 600) < 20, 6)
            in_s = time.monotonic() - t
            return ok_out, out_s, ok_in, in_s, list(engine.default_follower.restarts)
        finally:
            await engine.stop()

    try:
        ok_out, out_s, ok_in, in_s, restarts = asyncio.run(run())
    finally:
        rig.pactl("set-default-sink", "speakers")
        rig.pactl("set-default-source", "mic")
        for m in mods:
            rig.pactl("unload-module", m)
    assert ok_out and ok_in, restarts
    print(f"followed the default output in {out_s:.2f} s, the default microphone in {in_s:.2f} s")
    assert any("default output changed to 'headset'" in r for r in restarts), restarts
    # The mic may follow before the watcher's next poll: PulseAudio >= 15 moves a stream opened on no
    # particular source to the new default by itself; the restart then reopens the same source.


def test_only_workers_on_a_default_device_follow_it():
    assert follows_default(WorkerSpec((Source.MIC,))) == CAPTURE
    assert follows_default(specs_for_mode(Mode.LOOPBACK, platform="linux")[0]) == RENDER
    assert follows_default(specs_for_mode(Mode.LOOPBACK, platform="win32")[0]) == RENDER
    assert follows_default(WorkerSpec((Source.MIC,), device=DeviceRef("mic", "PulseAudio"))) is None
    assert follows_default(WorkerSpec.file(Source.MIC, "x.wav")) is None


def test_watcher_reports_changes_and_warns_once_when_the_roles_differ():
    a, b, c = Endpoint("1", "Speakers"), Endpoint("2", "Headset"), Endpoint("3", "Mic")
    states = [Defaults(a, c, a, c), Defaults(a, c, b, c), Defaults(b, c, b, c), Defaults(b, c, b, c)]
    changes, warnings = [], []

    def read():
        return states.pop(0) if len(states) > 1 else states[0]

    async def run():
        w = DefaultDeviceWatcher(lambda d, now: changes.append((sorted(d), now.render.name)),
                                 on_warning=warnings.append, poll_s=0.02, read=read)
        w.start()
        await asyncio.sleep(0.3)
        await w.stop()

    asyncio.run(run())
    assert changes == [(["render"], "Headset")]
    assert len(warnings) == 1 and "communications output is 'Headset'" in warnings[0]


def test_a_failed_read_is_not_a_change():
    a, c = Endpoint("1", "Speakers"), Endpoint("3", "Mic")
    reads = iter([Defaults(a, c), OSError("pactl timed out"), Defaults(a, c), Defaults(a, c)])
    changes = []

    def read():
        item = next(reads, Defaults(a, c))
        if isinstance(item, Exception):
            raise item
        return item

    async def run():
        w = DefaultDeviceWatcher(lambda d, now: changes.append(d), poll_s=0.02, read=read)
        w.start()
        await asyncio.sleep(0.2)
        await w.stop()

    asyncio.run(run())
    assert changes == []


@pytest.mark.rig
def test_on_pulse_the_defaults_are_read_when_the_server_says_they_changed(rig):
    """One `pactl subscribe` instead of two `pactl` runs a second: nothing is read while nothing changes,
    and a change of the default output is still reported."""
    from meeting_tui.capture.default_device import read_pulse_defaults
    from meeting_tui.capture.pulse_events import PactlSubscription

    mod = rig.pactl("load-module", "module-null-sink", "sink_name=deskspk", "rate=48000").strip()
    changes = []

    async def run():
        w = DefaultDeviceWatcher(lambda d, now: changes.append((sorted(d), now.render.name)),
                                 read=read_pulse_defaults, events=PactlSubscription())
        w.start()
        try:
            assert await wait_for(lambda: w.current is not None, 5)
            await asyncio.sleep(2.5)  # a poller would have read the defaults twice by now
            idle_reads = w.reads
            rig.pactl("set-default-sink", "deskspk")
            assert await wait_for(lambda: changes, 5)
            return idle_reads
        finally:
            await w.stop()

    try:
        idle_reads = asyncio.run(run())
    finally:
        rig.pactl("set-default-sink", "speakers")
        rig.pactl("unload-module", mod)
    assert idle_reads == 1
    assert changes == [(["render"], "deskspk")]


def test_the_watcher_polls_once_the_servers_events_end():
    a, c = Endpoint("1", "Speakers"), Endpoint("3", "Mic")

    class Ended:  # `pactl subscribe` exited: the sound server went away
        async def start(self):
            return True

        async def wait(self, timeout):
            return None

        async def close(self):
            pass

    async def run():
        w = DefaultDeviceWatcher(lambda d, now: None, poll_s=0.02, read=lambda: Defaults(a, c), events=Ended())
        w.start()
        assert await wait_for(lambda: w.reads >= 4, 5)
        await w.stop()

    asyncio.run(run())
