"""The fix to suggest when capture, devices or a session cannot start."""

from __future__ import annotations

import sys


def fix_hint() -> str:
    if sys.platform == "win32":
        return ("Check Settings > Privacy > Microphone (allow desktop apps), that a device is enabled in Sound "
                "settings, and run `meeting-tui doctor`. `meeting-tui --demo` runs without a sound card.")
    return ("Check that PulseAudio or PipeWire is running (`pactl info`) and that libportaudio2 is installed; "
            "run `meeting-tui doctor`. `meeting-tui --demo` runs without a sound card.")
