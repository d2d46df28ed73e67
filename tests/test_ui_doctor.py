"""The doctor from the dashboard, on the real rig: palette → probes (real worker subprocesses) → `a` applies
the recommendation, which switches the mode and is saved."""

from __future__ import annotations

import pytest

from meeting_tui.doctor.probes import run_doctor
from meeting_tui.types import Mode
from meeting_tui.ui.app import MeetingApp
from meeting_tui.ui.screens.doctor import DoctorScreen
from tests.ui_conftest_helpers import quit_app, read_settings, wait_for, write_settings

pytestmark = [pytest.mark.rig, pytest.mark.slow]


async def test_doctor_recommends_meeting_and_one_key_applies_it(rig, tmp_path):
    from tests.support.capture import write_tone

    rig.play(write_tone(tmp_path / "mic.wav", 440, 60), "micsink")
    write_settings('[capture]\nmode = "mic"\n\n[capture.mic_device]\nname = "mic"\nhostapi = "PulseAudio"\n')

    class App(MeetingApp):
        def doctor_runner(self, progress):  # the real doctor, with shorter probes
            return run_doctor(mic="mic", loopback="speakers.monitor", seconds=1.5, progress=progress)

    app = App()
    app.animation_level = "none"
    async with app.run_test(size=(110, 40)) as pilot:
        assert app.mode is Mode.MIC
        app.action_doctor()
        assert await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        screen = app.screen
        assert await wait_for(pilot, lambda: screen.report is not None, timeout=90)
        assert screen.report.recommendation.mode is Mode.MEETING, screen.report.recommendation
        await pilot.press("a")
        assert await wait_for(pilot, lambda: app.mode is Mode.MEETING, timeout=10)
        assert await wait_for(pilot, lambda: read_settings()["capture"]["mode"] == "meeting", timeout=10)
        await quit_app(app, pilot, timeout=30)
