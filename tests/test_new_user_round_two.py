"""Issue 31, from the user's seat: a device that is not there is one error before anything is created,
the settings file stays the user's, the demo keeps its choices to itself, raw errors read as messages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from meeting_tui.types import Source

from tests.test_record_cli import REPO, env_for, meeting_tui


def rig_env(rig) -> dict:
    return {k: v for k, v in rig.env.items() if k.startswith(("PULSE", "RIG"))}


@pytest.mark.parametrize("flag", ["--mic", "--loopback"])
def test_record_with_a_device_that_is_not_there_fails_once_listing_those_that_are(rig, tmp_path, tiny_model_path, flag):
    res = meeting_tui(tmp_path, "record", flag, "no such device", "--model", tiny_model_path, "--duration", "60",
                      timeout=30, **rig_env(rig))
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("error:") == 1, res.stderr
    assert '"no such device"' in res.stderr
    if flag == "--mic":
        assert '"mic" (VirtualMic)' in res.stderr, res.stderr  # by the names users see
    else:
        assert '"speakers.monitor" (Monitor of Speakers)' in res.stderr, res.stderr
    assert "privacy" not in res.stderr
    assert res.stdout == ""
    assert not (tmp_path / "data").exists()  # no session folder


def test_record_takes_a_mic_by_the_description_devices_prints(rig, tmp_path, tiny_model_path):
    from tests.capture_helpers import write_tone

    listed = meeting_tui(tmp_path, "devices", **rig_env(rig))
    assert 'mic "VirtualMic"' in listed.stdout, listed.stdout
    rig.play(write_tone(tmp_path / "tone.wav", 440, 30), "micsink")
    res = meeting_tui(tmp_path, "record", "--mode", "mic", "--mic", "VirtualMic", "--model", tiny_model_path,
                      "--duration", "4", "--no-session", timeout=60, **rig_env(rig))
    assert res.returncode == 0, res.stderr
    assert "error" not in res.stderr and "crashed" not in res.stderr and "stalled" not in res.stderr, res.stderr


async def test_dashboard_r_refuses_a_session_with_no_working_source(monkeypatch, tmp_path):
    from meeting_tui.ui.app import MeetingApp
    from tests.test_ui_app import SIZE, quit_app
    from tests.ui_conftest_helpers import recorded_notifications, wait_for

    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-server/native")
    app = MeetingApp()
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app._devices is not None, timeout=30), notes
        await pilot.press("r")
        assert await wait_for(pilot, lambda: any("Cannot start a session" in n for n in notes), timeout=10), notes
        assert not app.core.recording
        assert "REC" not in str(app.status.render())
        await quit_app(app, pilot)
    assert not (tmp_path / "data" / "sessions").exists() or not any((tmp_path / "data" / "sessions").iterdir())


# --- the settings file is the user's (item 3), the demo keeps its choices to itself (item 2) ------------

USER_FILE = """\
# My meeting-tui settings.
[capture]
mode = "meeting"   # both sides

[capture.gains_db]
mic = 0.0  # my headset is quiet

[session]
record_audio = "yes please"  # an invalid value: warned about, never rewritten
"""


async def test_a_gain_key_edits_the_file_in_place_keeping_comments_and_the_users_values():
    from tests.test_ui_app import SIZE
    from tests.ui_conftest_helpers import config_path, snapshot_app, wait_for, write_settings

    write_settings(USER_FILE)
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket")
        assert await wait_for(pilot, lambda: config_path().read_text() != USER_FILE, timeout=5)
    text = config_path().read_text()
    assert text == USER_FILE.replace("mic = 0.0  # my", "mic = 1.0  # my"), text  # that key, nothing else
    assert not list(config_path().parent.glob("settings.toml.*-*"))  # nothing to back up: nothing was lost


def test_two_instances_saving_keep_each_others_changes():
    from meeting_tui.settings import SettingsStore, load_settings
    from tests.ui_conftest_helpers import config_path, write_settings

    write_settings(USER_FILE)
    first, second = SettingsStore(), SettingsStore()  # both read the file before either saves
    assert first.set("capture.gains_db.mic", 4.0) is None
    assert second.set("ui.theme", "meeting-light") is None
    saved = load_settings().settings
    assert saved.capture.gains_db.mic == 4.0 and saved.ui.theme == "meeting-light"
    assert "# my headset is quiet" in config_path().read_text()


async def test_the_demo_writes_nothing_into_the_users_settings(tmp_path):
    from meeting_tui.cli import build_parser
    from meeting_tui.ui.launch import build_app
    from tests.test_ui_app import SIZE, live, quit_app
    from tests.ui_conftest_helpers import config_path, wait_for, write_settings

    write_settings(USER_FILE)
    app = build_app(build_parser().parse_args(["--demo"]))
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=30)
        await pilot.press("right_square_bracket", "t", "2")  # a gain, the theme, the mode
        await pilot.pause(0.8)
        assert app.settings.capture.gains_db.mic == 1.0  # applies in the demo ...
        await quit_app(app, pilot)
    assert config_path().read_text() == USER_FILE  # ... and stays there
