"""Pilot tests of the dashboard driving the real core: the demo's file workers (two subprocesses, looping
recordings) and, for the `model` tests, the real offline tiny.en model. Nothing in the core is mocked.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from meeting_tui.types import HealthState, Mode, Source
from meeting_tui.ui.app import MeetingApp
from meeting_tui.ui.console import WINDOWS_TERMINAL_RESERVED
from meeting_tui.ui.screens.device_picker import DeviceList, DevicePicker
from meeting_tui.ui.screens.help import HelpScreen
from meeting_tui.ui.screens.mode_picker import ModePicker
from meeting_tui.ui.widgets.transcript import Note
from tests.ui_conftest_helpers import (app_state, quit_app, read_settings, recorded_notifications, run_from_palette,
                                     wait_for, write_settings)

SIZE = (110, 34)


def live(app, *sources) -> bool:
    return all(app._health.get(s) is not None and app._health[s].state is HealthState.LIVE for s in sources)


def demo_app(**kw) -> MeetingApp:
    app = MeetingApp(demo=True, **kw)
    app.animation_level = "none"
    return app


# --- start-up and meters ------------------------------------------------------------------------------


async def test_first_frame_before_the_heavy_work_then_meters_move_in_demo():
    # The first frame is on screen before any worker process is spawned (and the model loads after it):
    # nothing the user waits for comes first. How soon it is (about 0.65 s from the shell) is
    # bench/ui_bench.py's startup figure, not asserted here.
    def started_since_boot(pid: int) -> float:  # /proc/PID/stat field 22, in clock ticks
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")

    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.first_frame_at is not None)
        first_frame = time.clock_gettime(time.CLOCK_BOOTTIME) - (time.monotonic() - app.first_frame_at)
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=20)
        spawned = [started_since_boot(pid) for pid in app.core.engine.worker_pids()]
        assert len(spawned) == 2 and all(t >= first_frame - 0.02 for t in spawned), (first_frame, spawned)
        readings = set()
        start = time.monotonic()
        frames0 = app.frames
        while time.monotonic() - start < 2.0:
            await pilot.pause(0.1)
            readings.add((app.panel(Source.MIC).meter.readout(), app.panel(Source.LOOPBACK).meter.readout()))
        assert len(readings) > 5, readings  # the meters move
        assert app.frames > frames0  # the frame timer runs (its rate: bench/ui_bench.py)
        assert app.core.engine is not None and len(app.core.engine.specs) == 2  # two worker subprocesses
        assert len(app.core.engine.worker_pids()) == 2
        await quit_app(app, pilot)
    assert app.return_value == 0


async def test_meters_hold_between_frames_instead_of_flickering_to_the_floor():
    """The capture workers send a frame every 100 ms and the meters refresh at 25 Hz: between two frames a
    meter keeps its last reading. What the panels are given, over a second or more of the demo's speech on
    each side, never drops to the floor for one reading between two audible ones (as it did, about every
    other reading, before the engine held levels)."""
    from meeting_tui.ui.widgets.vu_meter import FLOOR_DB

    app = demo_app()
    shown: dict[Source, list[float | None]] = {Source.MIC: [], Source.LOOPBACK: []}
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=20)
        for source, readings in shown.items():
            meter = app.panel(source).meter
            original = meter.show

            def show(level, now=None, original=original, readings=readings):
                readings.append(None if level is None else level.rms_db)
                original(level, now)

            meter.show = show
        # until both sides have spoken for a while (the far side's recording opens with a pause)
        assert await wait_for(pilot, lambda: all(sum(r is not None and r > -45 for r in readings) >= 25
                                                 for readings in shown.values()), timeout=30), shown
        await quit_app(app, pilot)
    for source, readings in shown.items():
        assert len(readings) >= 40, (source, len(readings))  # the meters were fed all along
        dips = [i for i in range(1, len(readings) - 1)
                if all(r is not None and r > -45 for r in (readings[i - 1], readings[i + 1]))
                and (readings[i] is None or readings[i] <= FLOOR_DB)]
        assert dips == [], (source, [readings[i - 1:i + 2] for i in dips])


async def test_no_sound_server_says_what_is_missing(monkeypatch):
    """No demo and no sound server (clients pointed at a socket nobody serves): the app starts and explains."""
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/meeting-tui-test/native")
    app = MeetingApp()
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: any("doctor" in n for n in notes), timeout=30), notes
        assert any("PulseAudio" in n or "Privacy" in n for n in notes)
        assert await wait_for(pilot, lambda: app.panel(Source.MIC).hint != "", timeout=30)
        await quit_app(app, pilot)


# --- mode, devices, gains ----------------------------------------------------------------------------


async def test_switch_modes_restarts_capture_and_persists():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=20)
        first = app.core.engine
        app.feed_items([Note(1.0, "kept across the switch")])
        await pilot.pause(0.1)
        await pilot.press("2")  # loopback only
        assert await wait_for(pilot, lambda: app.core.engine is not None and app.core.engine is not first
                              and live(app, Source.LOOPBACK), timeout=20)
        assert app.core.engine.sources == (Source.LOOPBACK,)
        assert app.panel(Source.MIC).badge.health.state is HealthState.STOPPED
        assert app.panel(Source.MIC).meter.level is None  # dead meter for the source not captured
        # The mode picker, by keyboard: m, then choose "Mic only" (first entry), Enter.
        await pilot.press("m")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ModePicker))
        second = app.core.engine
        await pilot.press("home", "enter")
        ok = await wait_for(pilot, lambda: app.mode is Mode.MIC and app.core.engine is not second
                            and app.core.engine is not None and live(app, Source.MIC), timeout=20)
        assert ok, (app.mode, app.core.engine, second, app._health, app.screen)
        assert app.core.engine.sources == (Source.MIC,)
        assert any(isinstance(i, Note) and "kept" in i.text for i in app.transcript.items)
        await pilot.press("4")  # FFmpeg mode is not offered here: a notice, no switch
        await pilot.pause(0.2)
        assert app.mode is Mode.MIC
        await pilot.press("3")
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=20)
        app.flush_settings()
        assert read_settings()["capture"]["mode"] == "meeting"
        await quit_app(app, pilot)


async def test_pick_devices_with_keyboard_restarts_capture_and_stores_name_and_hostapi():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=20)
        first = app.core.engine
        await pilot.press("d")
        assert await wait_for(pilot, lambda: isinstance(app.screen, DevicePicker))
        picker = app.screen
        loop_list = picker.query_one("#loopback-list", DeviceList)
        assert await wait_for(pilot, lambda: len(loop_list.devices) == 2)
        names = [d.ref.name for d in loop_list.devices]
        assert names == ["demo-them", "demo-them-short"]
        assert loop_list.devices[0].is_default
        await pilot.press("tab")  # to the loopback list
        assert app.focused is loop_list
        target = 1 + names.index("demo-them-short")
        while loop_list.highlighted != target:
            await pilot.press("down")
        await pilot.press("r")  # refresh on demand keeps the choice
        await pilot.pause(0.3)
        assert loop_list.choice is not None and loop_list.choice.name == "demo-them-short"
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: app.core.engine is not None and app.core.engine is not first
                              and live(app, Source.LOOPBACK), timeout=20)
        loop_spec = [s for s in app.core.engine.specs if Source.LOOPBACK in s.sources][0]
        assert loop_spec.path.endswith("demo-them-short.flac")
        assert "demo-them-short" in app.panel(Source.LOOPBACK).device_text
        app.flush_settings()
        saved = read_settings()["capture"]
        assert saved["loopback_device"] == {"name": "demo-them-short", "hostapi": "demo"}
        # Escape cancels without restarting.
        engine = app.core.engine
        await pilot.press("d")
        assert await wait_for(pilot, lambda: isinstance(app.screen, DevicePicker))
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert app.core.engine is engine
        await quit_app(app, pilot)


async def test_gain_keys_apply_live_and_persist():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=20)
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await pilot.press("comma", "comma")
        await pilot.pause(0.6)  # the settings file is written shortly after the last change
        assert app.core.engine.gains_db == {Source.MIC: 3.0, Source.LOOPBACK: -2.0}
        assert "+3.0 dB" in app.panel(Source.MIC).query_one(".gain").content
        assert "-2.0 dB" in app.panel(Source.LOOPBACK).query_one(".gain").content
        assert read_settings()["capture"]["gains_db"] == {"mic": 3.0, "loopback": -2.0}
        await pilot.press("left_square_bracket", "full_stop", "full_stop")
        await pilot.pause(0.6)
        assert read_settings()["capture"]["gains_db"] == {"mic": 2.0, "loopback": 0.0}
        await quit_app(app, pilot)
    # The next launch starts with the saved gains.
    again = demo_app()
    async with again.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: again.core.engine is not None, timeout=20)
        assert again.core.engine.gains_db == {Source.MIC: 2.0, Source.LOOPBACK: 0.0}
        await quit_app(again, pilot)


# --- transcript scrolling ------------------------------------------------------------------------------


async def test_scroll_up_pauses_following_and_end_resumes():
    from meeting_tui.types import Segment

    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        view = app.transcript
        app.feed_items([Segment(Source.MIC if i % 2 else Source.LOOPBACK, i, i + 1, f"line {i}") for i in range(2000)])
        assert await wait_for(pilot, lambda: len(view.segments) == 2000)
        assert view.following
        await pilot.press("pageup", "pageup", "up")
        await pilot.pause(0.1)
        assert not view.following
        y = view.scroll_y
        app.feed_items([Segment(Source.MIC, 3000, 3001, "newest")])
        await pilot.pause(0.2)
        assert view.scroll_y == y and view.new_below == 1
        await pilot.press("end")
        await pilot.pause(0.1)
        assert view.following
        await quit_app(app, pilot)


# --- palette, themes, help, keys ---------------------------------------------------------------------


async def test_palette_offers_every_action_and_switches_theme():
    opened: list[Path] = []
    app = demo_app(opener=opened.append)
    async with app.run_test(size=SIZE) as pilot:
        titles = [t for t, _, _ in app.palette_commands()]
        for needle in ("Start session", "Mode: Mic only", "Mode: Loopback only", "Mode: Meeting (two subprocesses)",
                       "Devices: pick microphone and loopback", "Devices: refresh list", "Theme: meeting-light",
                       "Save transcript", "Export format: srt", "Open session folder", "Help: keys"):
            assert needle in titles, needle
        assert "Quit" not in titles  # Textual's system commands list it (once: tests/test_ui_meeting.py)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"Theme: meeting-light")
        await pilot.pause(0.5)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: app.theme == "meeting-light")
        await pilot.pause(0.6)
        assert read_settings()["ui"]["theme"] == "meeting-light"
        # The app's own colours come from the theme's variables.
        assert app.get_css_variables()["speaker-you"] == "#0b5cad"
        await run_from_palette(pilot, "Export format: vtt")
        assert await wait_for(pilot, lambda: app.settings.session.export_format == "vtt")
        await run_from_palette(pilot, "Open session folder")
        assert await wait_for(pilot, lambda: len(opened) == 1)
        assert opened[0] == app.settings.sessions_dir() and opened[0].is_dir()
        await pilot.press("t")  # next theme, also saved
        await pilot.pause(0.6)
        assert read_settings()["ui"]["theme"] == app.theme != "meeting-light"
        await quit_app(app, pilot)
    # Saved theme is used on the next launch.
    again = demo_app()
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.theme == read_settings()["ui"]["theme"]
        await quit_app(again, pilot)


async def test_help_screen_lists_keys_and_closes():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = dict(app.screen.keys)
        assert any("session.toggle" in v for v in keys.values())
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await quit_app(app, pilot)


def test_bindings_have_ids_and_avoid_windows_terminal_keys():
    for binding in MeetingApp.BINDINGS:
        assert binding.id, binding
        for key in binding.key.split(","):
            assert key.strip() not in WINDOWS_TERMINAL_RESERVED, key
    for screen in (DevicePicker, ModePicker, HelpScreen):
        for binding in screen.BINDINGS:
            for key in binding.key.split(","):
                assert key.strip() not in WINDOWS_TERMINAL_RESERVED, key


async def test_keymap_from_settings_remaps_save():
    write_settings('[ui.keymap]\nsave = "f6"\n"export.format" = "f7"\n')
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("s")  # no longer bound
        await pilot.pause(0.2)
        assert app.last_saved is None
        await pilot.press("f7")  # md -> srt
        await pilot.pause(0.1)
        assert app.settings.session.export_format == "srt"
        await pilot.press("f6")
        assert await wait_for(pilot, lambda: app.last_saved is not None)
        assert app.last_saved.suffix == ".srt" and app.last_saved.exists()
        assert app.key_for("save") == "f6"
        await quit_app(app, pilot)


# --- a whole meeting with the real model ---------------------------------------------------------------


@pytest.mark.model
@pytest.mark.slow
async def test_demo_session_transcribes_both_saves_and_quits_draining(tiny_model_path):
    write_settings(f'[transcription.model]\nname = "{tiny_model_path}"\n[session]\nexport_format = "txt"\n')
    app = MeetingApp(demo=True, model=tiny_model_path)
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=20)
        await pilot.press("r")
        assert await wait_for(pilot, lambda: app.core.recording)
        folder = app.core.session.path
        assert await wait_for(pilot, lambda: {s.source for s in app.transcript.segments} >= {Source.MIC, Source.LOOPBACK},
                              timeout=90)
        mic_text = " ".join(s.text for s in app.transcript.segments if s.source is Source.MIC).lower()
        them_text = " ".join(s.text for s in app.transcript.segments if s.source is Source.LOOPBACK).lower()
        assert "wizard" in mic_text or "complaint" in mic_text
        assert "americans" in them_text or "country" in them_text
        assert app.status.info.model_state == "ready" and app.status.info.rtf is not None
        # Switching mode keeps the transcript and the session.
        n = len(app.transcript.segments)
        await pilot.press("2")
        assert await wait_for(pilot, lambda: live(app, Source.LOOPBACK) and app.core.engine.sources == (Source.LOOPBACK,),
                              timeout=20)
        assert len(app.transcript.segments) >= n and app.core.recording
        await pilot.press("3")
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=20)
        await pilot.press("s")
        assert await wait_for(pilot, lambda: app.last_saved is not None)
        saved = app.last_saved
        assert saved.parent == folder and saved.suffix == ".txt"
        assert "You" in saved.read_text() and "Them" in saved.read_text()
        await quit_app(app, pilot)  # drains: everything captured is transcribed, the journal is closed
    assert app.return_value == 0
    journal = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    assert journal[-1]["t"] == "end"
    finals = [r for r in journal if r["t"] == "segment"]
    assert {r["source"] for r in finals} == {"mic", "loopback"}
    assert len(finals) >= len(app.transcript.segments)
    assert not (folder / "session.lock").exists()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["mode"] == "meeting" and meta.get("demo") is True


@pytest.mark.model
@pytest.mark.slow
async def test_start_on_launch_setting_records_from_launch(tiny_model_path):
    write_settings("[session]\nstart_on_launch = true\n")
    app = MeetingApp(demo=True, model=tiny_model_path)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.core.recording, timeout=10)
        folder = app.core.session.path
        await pilot.press("r")  # stop the session: capture keeps running
        assert await wait_for(pilot, lambda: not app.core.recording, timeout=60)
        assert app.core.engine is not None

        def last_entry() -> str | None:  # the journal is closed after the drain: a condition, not a moment
            lines = (folder / "journal.jsonl").read_text().splitlines()
            return json.loads(lines[-1])["t"] if lines else None

        assert await wait_for(pilot, lambda: last_entry() == "end", timeout=60), last_entry()
        await quit_app(app, pilot)


async def test_unfinished_session_is_reported_and_recovered_from_the_palette(monkeypatch):
    from meeting_tui.session.store import Session
    from meeting_tui.settings import Settings
    from meeting_tui.types import Segment

    crashed = Session.open(Settings().sessions_dir(), mode=Mode.MEETING)
    crashed.append_segment(Segment(Source.MIC, 0.0, 1.0, "before the crash"))
    crashed._journal.close()  # the process "died": no end marker, the OS lock is gone
    crashed._lock.release()
    app = demo_app()
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: any("did not finish" in n for n in notes), timeout=20)
        assert crashed.path.name in next(n for n in notes if "did not finish" in n)
        await run_from_palette(pilot, "Recover unfinished")
        assert await wait_for(pilot, lambda: any(n.startswith("Recovered") for n in notes), timeout=20)
        await quit_app(app, pilot)
    last = json.loads((crashed.path / "journal.jsonl").read_text().splitlines()[-1])
    assert last["t"] == "end" and last["reason"] == "recovered"


async def test_ffmpeg_mode_offered_only_when_the_core_has_it():
    from tests.ui_conftest_helpers import snapshot_app

    for ffmpeg, count in ((True, 4), (False, 3)):
        app = snapshot_app() if not ffmpeg else MeetingApp(capture=False, ffmpeg=True)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("m")
            assert await wait_for(pilot, lambda: isinstance(app.screen, ModePicker))
            assert len(app.screen.modes) == count
            assert (Mode.MEETING_FFMPEG in app.screen.modes) is ffmpeg
            titles = [t for t, _, _ in app.palette_commands()]
            assert ("Mode: Meeting via FFmpeg" in titles) is ffmpeg
            await pilot.press("escape")


async def test_rapid_mode_switches_leave_no_orphan_workers():
    import psutil

    app = demo_app()
    seen: set[int] = set()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=20)
        for key in ("2", "3", "1", "2", "3"):
            await pilot.press(key)
            if app.core.engine is not None:
                seen.update(app.core.engine.worker_pids())
        assert await wait_for(pilot, lambda: app.mode is Mode.MEETING and app.core.engine is not None
                              and live(app, Source.MIC, Source.LOOPBACK)
                              and app.core.engine.sources == (Source.MIC, Source.LOOPBACK), timeout=30)
        current = set(app.core.engine.worker_pids())
        seen |= current
        await pilot.pause(1.0)
        old = seen - current
        assert all(not psutil.pid_exists(p) or psutil.Process(p).status() == psutil.STATUS_ZOMBIE for p in old), old
        assert all(psutil.pid_exists(p) for p in current)
        await quit_app(app, pilot)
    await_dead = time.monotonic() + 10
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in current) \
            and time.monotonic() < await_dead:
        time.sleep(0.1)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in current)


@pytest.mark.model
async def test_an_unavailable_named_model_is_an_error_not_a_silent_fallback(monkeypatch, tiny_model_path):
    """Settings name small.en, which is not cached and cannot be downloaded here: the dashboard says so
    with the fix and does not quietly transcribe with another model (issue 31: only "auto" chooses)."""

    Path(os.environ["MEETING_TUI_CONFIG"]).parent.mkdir(parents=True, exist_ok=True)
    Path(os.environ["MEETING_TUI_CONFIG"]).write_text('[transcription.model]\nname = "small.en"\n')

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", "/nonexistent/meeting-tui-test-hub")
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/meeting-tui-test/native")
    app = MeetingApp()
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.core.tstats.state == "failed", timeout=60), app.core.tstats
        assert await wait_for(pilot, lambda: any("small.en" in n and "HF_HUB_OFFLINE" in n for n in notes)), notes
        assert "tiny" not in app.core.model_name()
        await quit_app(app, pilot)
