"""Issue 31, from the user's seat: a device that is not there is one error before anything is created,
the settings file stays the user's, the demo keeps its choices to itself, raw errors read as messages."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
