"""A flat "Them" meter told apart: nothing plays (idle, fine), the captured output plays but its loopback
gives only silence (reopened, the user told), or the call plays on another output (the user told which,
and how to pick it). The rig drives the second through `monitor`; the decisions are also driven one by one
with a clock, and the Windows meter's COM shapes checked against endpointvolume.h."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from meeting_tui.capture import default_device as dd
from meeting_tui.capture.default_device import Endpoint
from meeting_tui.capture.playback_watch import Activity, LoopbackCheck, captured_endpoint
from meeting_tui.types import DeviceRef
from tests.support.capture import write_tone
from tests.test_record_cli import REPO, env_for

SPEAKERS = Endpoint("speakers", "Speakers")
HEADSET = Endpoint("{0.0.0.00000000}.{hands-free}", "Headset (Hands-Free AG Audio)")


@pytest.mark.rig
def test_monitor_says_the_call_plays_on_another_output_than_the_one_recorded(rig, tmp_path):
    module = rig.pactl("load-module", "module-null-sink", "sink_name=headset",
                       "sink_properties=device.description=Headset").strip()
    try:
        rig.play(write_tone(tmp_path / "call.wav", 500, 40), "speakers")
        env = env_for(tmp_path, **{k: v for k, v in rig.env.items() if k.startswith("PULSE")})
        # Long enough for a loaded machine; the notice ends the wait, then a few more polls show it is not
        # said again.
        proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "monitor", "--mode", "loopback", "--loopback",
                                 "headset.monitor", "--duration", "60", "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=REPO, stdin=subprocess.DEVNULL)
        rows, said_at = [], None
        for line in proc.stdout:
            rows.append(json.loads(line))
            if rows[-1].get("type") == "notice" and said_at is None:
                said_at = len(rows)
            if said_at is not None and len(rows) >= said_at + 40:  # about 10 s more at 4 level lines a second
                break
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    finally:
        rig.stop_players()
        rig.pactl("unload-module", module)
    notices = [r for r in rows if r.get("type") == "notice"]
    assert len(notices) == 1, (rows[-5:], err[-2000:])  # said once, not at every poll
    text = notices[0]["text"]
    assert "'Speakers'" in text and "records 'Headset'" in text and "d (devices)" in text


@pytest.mark.rig
def test_monitor_on_the_output_that_plays_says_nothing_about_it(rig, tmp_path):
    rig.play(write_tone(tmp_path / "call.wav", 500, 40), "speakers")
    env = env_for(tmp_path, **{k: v for k, v in rig.env.items() if k.startswith("PULSE")})
    out = subprocess.run([sys.executable, "-m", "meeting_tui", "monitor", "--mode", "loopback", "--loopback",
                          "speakers.monitor", "--duration", "10", "--json"], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=90, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert not [r for r in rows if r.get("type") == "notice"]
    assert any(r.get("loopback", {}).get("state") == "live" for r in rows)


def _acts(speakers: bool, headset: bool) -> list[Activity]:
    return [Activity(SPEAKERS, speakers, default=True), Activity(HEADSET, headset)]


def test_a_loopback_silent_while_its_output_plays_is_reopened_once_confirmed_and_not_in_a_loop():
    check = LoopbackCheck(confirm_s=4, restart_every_s=30)
    acts = _acts(True, False)
    captured = captured_endpoint(None, acts)
    assert captured.endpoint == SPEAKERS
    assert check.step(0, captured, acts, idle=True) == []
    assert check.step(2, captured, acts, idle=True) == []  # a notification sound is shorter
    first = check.step(4, captured, acts, idle=True)
    assert len(first) == 1 and first[0].restart and "'Speakers' is playing" in first[0].warning
    assert check.step(10, captured, acts, idle=True) == []  # not restarted again at once
    assert check.step(34, captured, acts, idle=True)[0].restart
    last = check.step(64, captured, acts, idle=True)  # two reopenings did not help: said once, left alone
    assert len(last) == 1 and not last[0].restart and "still delivers only silence" in last[0].warning
    assert check.step(94, captured, acts, idle=True) == []
    assert check.step(40, captured, acts, idle=False) == []  # sound arrives: all is well


def test_a_quiet_output_while_another_plays_is_said_once_per_episode():
    check = LoopbackCheck(confirm_s=4)
    acts = _acts(False, True)
    captured = captured_endpoint(DeviceRef("Speakers [Loopback]", "Windows WASAPI"), acts)
    assert captured.endpoint == SPEAKERS
    assert check.step(0, captured, acts, idle=True) == []
    said = check.step(5, captured, acts, idle=True)
    assert len(said) == 1 and not said[0].restart and "'Headset (Hands-Free AG Audio)'" in said[0].warning
    assert check.step(9, captured, acts, idle=True) == []
    # Nothing plays anywhere: idle is idle.
    assert LoopbackCheck(confirm_s=0).step(0, captured, _acts(False, False), idle=True) == []


def test_the_captured_output_is_found_from_each_way_of_naming_it():
    acts = _acts(False, False)
    assert captured_endpoint(DeviceRef("speakers.monitor", "PulseAudio"), acts).endpoint == SPEAKERS
    assert captured_endpoint(DeviceRef("@DEFAULT_MONITOR@", "PulseAudio"), acts).endpoint == SPEAKERS
    assert captured_endpoint(DeviceRef("Monitor of Speakers", "ALSA"), acts).endpoint == SPEAKERS
    cut = HEADSET.name[:20]  # PortAudio cut the loopback's name
    assert captured_endpoint(DeviceRef(cut + " [Loopback]", "Windows WASAPI"), acts).endpoint == HEADSET
    assert captured_endpoint(DeviceRef("No such output", "Windows WASAPI"), acts) is None


def test_the_meter_interface_follows_endpointvolume_h():
    # IMMDevice: QueryInterface, AddRef, Release, Activate(3), OpenPropertyStore(4), GetId(5);
    # IAudioMeterInformation: IUnknown, then GetPeakValue(3).
    assert (dd._DEV_ACTIVATE, dd._DEV_OPEN_PROPS, dd._DEV_GET_ID, dd._METER_GET_PEAK) == (3, 4, 5, 3)
    assert dd.IID_IAudioMeterInformation == "C02216F6-8C67-4B5B-9D00-D008E73E0064"
    guid = dd._GUID.parse(dd.IID_IAudioMeterInformation)
    assert (guid.Data1, guid.Data2, guid.Data3, bytes(guid.Data4)) == (
        0xC02216F6, 0x8C67, 0x4B5B, bytes.fromhex("9D00D008E73E0064"))


@pytest.mark.rig
def test_a_sink_that_feeds_a_virtual_microphone_is_not_an_output_that_plays(rig, tmp_path):
    from meeting_tui.capture import playback_watch

    rig.play(write_tone(tmp_path / "voice.wav", 300, 20), "micsink")  # the rig's virtual mic, fed by a sink
    rig.play(write_tone(tmp_path / "call.wav", 500, 20), "speakers")
    import os

    old = {k: os.environ.get(k) for k in rig.env if k.startswith("PULSE")}
    os.environ.update({k: v for k, v in rig.env.items() if k.startswith("PULSE")})
    try:
        for _ in range(20):  # the players take a moment to start
            acts = {a.endpoint.id: a.playing for a in playback_watch.pulse_activity()}
            if acts.get("speakers"):
                break
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert acts == {"speakers": True}


@pytest.mark.rig
def test_the_output_our_own_silent_worker_records_is_not_peeked_again(rig, monkeypatch):
    """While the loopback hears silence the watch reads every output's activity; the output whose monitor
    our own worker records is known from the server's list (its stream carries the worker's pid), so it is
    not peeked by a parec run of its own (the peek would read the same monitor's silence)."""
    from meeting_tui.capture import playback_watch

    for k, v in rig.env.items():
        if k.startswith("PULSE"):
            monkeypatch.setenv(k, v)
    worker = subprocess.Popen([sys.executable, "-m", "meeting_tui.capture.worker", "--backend", "sounddevice",
                               "--device", "speakers.monitor", "--hostapi", "PulseAudio"], cwd=REPO,
                              env=dict(rig.env, PYTHONPATH=str(REPO)), stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert json.loads(worker.stderr.readline())["event"] == "started"
        assert playback_watch._recorded_by(playback_watch._pactl_json("list"), worker.pid) == {"speakers.monitor"}
        peeked: list[str] = []
        real_peek = playback_watch.monitor_peak
        monkeypatch.setattr(playback_watch, "monitor_peak", lambda sink: peeked.append(sink) or real_peek(sink))
        # The rig's keep-alive keeps a stream running on the speakers: without the worker's pid they are peeked.
        assert {a.endpoint.id: a.playing for a in playback_watch.pulse_activity()} == {"speakers": False}
        assert peeked == ["speakers"]
        peeked.clear()
        assert {a.endpoint.id: a.playing for a in playback_watch.pulse_activity(worker.pid)} == {"speakers": False}
        assert peeked == []
        assert playback_watch._recorded_by(playback_watch._pactl_json("list"), worker.pid + 100_000) == set()
    finally:
        worker.stdin.close()
        worker.wait(10)


@pytest.mark.rig
def test_the_servers_lists_are_read_again_only_when_an_output_or_its_streams_change(rig, monkeypatch, tmp_path):
    """While nothing else plays, a poll of the idle loopback reads nothing from the server: the lists are read
    again when ``pactl subscribe`` says an output, a stream on one, or the defaults changed. The call that
    starts playing on another output after the first read is still seen, by the event it causes, on a
    desktop whose language pactl translates its events into."""
    import asyncio
    import time

    from meeting_tui.capture import playback_watch
    from meeting_tui.capture.pulse_events import PactlSubscription

    for k, v in rig.env.items():
        if k.startswith("PULSE"):
            monkeypatch.setenv(k, v)
    monkeypatch.setenv("LANGUAGE", "de")  # pactl would print "Ereignis »neu« auf Ziel-Eingabe #4"

    async def until(check, what: str, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while not (result := await check()):
            assert time.monotonic() < deadline, what
            await asyncio.sleep(0.1)
        return result

    async def scenario():
        events = PactlSubscription()
        assert await events.start()
        events.follow(playback_watch.changes_outputs)
        outputs = playback_watch.PulseOutputs(lambda: None, events)
        read = lambda: asyncio.to_thread(outputs)  # noqa: E731 - the watch's own thread, as in the app
        try:
            first = {a.endpoint.id: a.playing for a in await read()}
            for _ in range(3):  # a peek of the keep-alive's output each time, no listing
                assert {a.endpoint.id: a.playing for a in await read()} == first
            assert outputs.listings == 1, "polls without a change read the server's lists again"
            module = rig.pactl("load-module", "module-null-sink", "sink_name=headset",
                               "sink_properties=device.description=Headset").strip()
            try:
                rig.play(write_tone(tmp_path / "call.wav", 500, 20), "headset")

                async def headset_plays():
                    return {a.endpoint.id: a.playing for a in await read()}.get("headset")

                await until(headset_plays, "the call on the new output was never seen")
                assert outputs.listings >= 2
            finally:
                rig.stop_players()
                rig.pactl("unload-module", module)
        finally:
            await events.close()
        assert not events.following

    asyncio.run(scenario())


@pytest.mark.rig
def test_the_lists_are_read_again_until_they_show_our_workers_stream(rig, monkeypatch):
    """Read while our loopback worker's stream is still opening, the lists cannot name the output it records;
    they are read again at the next poll, not kept until some other event."""
    import asyncio

    from meeting_tui.capture import playback_watch
    from meeting_tui.capture.pulse_events import PactlSubscription

    for k, v in rig.env.items():
        if k.startswith("PULSE"):
            monkeypatch.setenv(k, v)

    async def scenario():
        events = PactlSubscription()
        assert await events.start()
        events.follow(playback_watch.changes_outputs)
        no_such_stream = os.getpid() + 1_000_000  # a worker whose stream the server does not list (yet)
        outputs = playback_watch.PulseOutputs(lambda: no_such_stream, events)
        try:
            await asyncio.to_thread(outputs)
            await asyncio.to_thread(outputs)
        finally:
            await events.close()
        return outputs.listings

    assert asyncio.run(scenario()) == 2


def test_a_peeks_own_events_do_not_count_as_a_change_of_the_outputs():
    # The lines `pactl subscribe` printed around one peek of the rig's speakers, then a call starting.
    from meeting_tui.capture.playback_watch import changes_outputs
    from meeting_tui.capture.pulse_events import parse_event

    peek = [b"Event 'new' on client #8\n", b"Event 'new' on source-output #1\n", b"Event 'change' on source #0\n",
            b"Event 'remove' on source-output #1\n", b"Event 'remove' on client #8\n"]
    call = [b"Event 'new' on sink-input #4\n", b"Event 'change' on server #4294967295\n",
            b"Event 'new' on source #3\n", b"Event 'remove' on sink #2\n"]
    assert parse_event(peek[2]) == (b"change", b"source")
    assert [changes_outputs(*parse_event(line)) for line in peek] == [False] * len(peek)
    assert [changes_outputs(*parse_event(line)) for line in call] == [True] * len(call)
