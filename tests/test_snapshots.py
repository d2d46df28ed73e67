"""SVG snapshots of the dashboard (pytest-textual-snapshot), stored in the top-level snapshots/ folder.

Deterministic: fixed terminal size, no animation, a fixed clock, no engine and no model (the app is fed
plain Level/Health/Segment data, see tests/ui_conftest_helpers.py). Update with `--snapshot-update`.
"""

from __future__ import annotations

import pytest

from meeting_tui.types import DeviceInfo, DeviceRef, Source
from meeting_tui.ui.screens.device_picker import DevicePick, DevicePicker
from tests.ui_conftest_helpers import SNAPSHOT_SIZE, feed_meeting, snapshot_app, snapshots_in_top_level_dir  # noqa: F401

pytestmark = pytest.mark.usefixtures("snapshots_in_top_level_dir")

DEVICES = [
    DeviceInfo(DeviceRef("Microphone Array (Realtek(R) Audio)", "Windows WASAPI"), Source.MIC, 2, 48000, is_default=True),
    DeviceInfo(DeviceRef("Headset Microphone (Jabra Evolve2 65)", "Windows WASAPI"), Source.MIC, 1, 16000),
    DeviceInfo(DeviceRef("CABLE Output (VB-Audio Virtual Cable)", "Windows WASAPI"), Source.MIC, 2, 48000),
    DeviceInfo(DeviceRef("Stereo Mix (Realtek(R) Audio)", "MME"), Source.MIC, 2, 44100),
    DeviceInfo(DeviceRef("Speakers (Realtek(R) Audio) [Loopback]", "Windows WASAPI"), Source.LOOPBACK, 2, 48000,
               is_default=True),
    DeviceInfo(DeviceRef("Voicemeeter Input (VB-Audio Voicemeeter VAIO) [Loopback]", "Windows WASAPI"),
               Source.LOOPBACK, 8, 48000),
]


async def _meeting(pilot, dead_loopback=False, theme=None):
    app = pilot.app
    if theme:
        app.theme = theme
    feed_meeting(app, dead_loopback=dead_loopback)
    await pilot.pause(0.15)


def test_main_meeting_live(snap_compare):
    assert snap_compare(snapshot_app(), terminal_size=SNAPSHOT_SIZE, run_before=_meeting)


def test_main_meeting_dead_loopback(snap_compare):
    async def run(pilot):
        await _meeting(pilot, dead_loopback=True)

    assert snap_compare(snapshot_app(), terminal_size=SNAPSHOT_SIZE, run_before=run)


def test_device_picker(snap_compare):
    async def run(pilot):
        app = pilot.app
        current = DevicePick(DEVICES[1].ref, None)
        app.push_screen(DevicePicker(lambda: DEVICES, current, devices=DEVICES))
        await pilot.pause(0.15)

    assert snap_compare(snapshot_app(), terminal_size=SNAPSHOT_SIZE, run_before=run)


def test_help_screen(snap_compare):
    async def run(pilot):
        await pilot.press("f1")
        await pilot.pause(0.15)

    assert snap_compare(snapshot_app(), terminal_size=SNAPSHOT_SIZE, run_before=run)


@pytest.mark.parametrize("theme", ["meeting-dark", "meeting-light", "meeting-high-contrast"])
def test_theme(snap_compare, theme):
    async def run(pilot):
        await _meeting(pilot, theme=theme)

    assert snap_compare(snapshot_app(), terminal_size=SNAPSHOT_SIZE, run_before=run)


def test_main_meeting_80x24(snap_compare):
    """The smallest common terminal: the footer keeps "f1 Help" and the palette key (the gain keys go), the
    status line keeps recording state, lag and the save format."""
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=_meeting)
