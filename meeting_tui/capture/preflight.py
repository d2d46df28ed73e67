"""Checks a front end runs before it creates anything: is there audio to capture here at all?"""

from __future__ import annotations

import shutil
import subprocess
import sys

from meeting_tui.types import DeviceInfo

NO_SERVER_FIX = ("start it (`pulseaudio --start`, or `systemctl --user start pipewire pipewire-pulse`) and try "
                 "again; `meeting-tui --demo` and `meeting-tui record --mic-file FILE` run without one")


def sound_server_problem() -> str | None:
    """Linux: why no device can be found when no PulseAudio/PipeWire server answers (None elsewhere, or
    when one answers)."""
    if not sys.platform.startswith("linux"):
        return None
    pactl = shutil.which("pactl")
    if pactl is None:
        return None
    try:
        ok = subprocess.run([pactl, "info"], capture_output=True, timeout=5, stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return None if ok else f"no sound server answers (PulseAudio or PipeWire): {NO_SERVER_FIX}"


def no_devices_reason() -> str:
    """Why a device listing came back empty, with the fix."""
    server = sound_server_problem()
    if server:
        return server
    if sys.platform == "win32":
        return ("no audio device is enabled: check Settings > Privacy > Microphone (allow desktop apps) and Sound "
                "settings, then run `meeting-tui doctor`")
    return "the sound server lists no device: connect or enable one, then run `meeting-tui doctor`"


def capture_problem(list_devices) -> tuple[list[DeviceInfo], str | None]:
    """(devices, None), or ([], the cause and fix) when nothing can be captured here. ``list_devices`` is
    meeting_tui.capture.devices.list_devices (blocking: a worker subprocess lists them)."""
    from meeting_tui.capture.devices import DeviceListError

    try:
        devices = list_devices()
    except DeviceListError as exc:
        return [], sound_server_problem() or f"cannot list audio devices: {exc}"
    if not devices:
        return [], no_devices_reason()
    return devices, None
