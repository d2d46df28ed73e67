"""The Windows suite: runs only on Windows (natively, or under Wine through .ci/wine-lane).

Tests that need audio use the rig the lane prepares: the Linux PulseAudio rig seen through Wine's audio
driver, with known tones playing (440 Hz into "VirtualMic", 1 kHz into "Speakers", 300 Hz into the
non-ASCII output, one tone per channel into the 5.1 output). The lane sets MEETING_TUI_WIN_RIG=1 and
MEETING_TUI_RIG_CTL (a folder through which a test asks the Linux side to run pactl: Wine cannot start
Linux programs). Without them those tests skip, or fail under MEETING_TUI_REQUIRE_RIG=1.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import pytest

if sys.platform != "win32":
    collect_ignore_glob = ["test_*.py"]  # the Linux suite collects tests/ too: nothing here runs there

MIC = "VirtualMic"
MONITOR = "Monitor of Speakers"  # the speakers' signal, an ordinary WASAPI input under Wine
NON_ASCII_OUTPUT = "Casque Réunion ñ 会议"
MIC_ARRAY = "Mic Array 6ch"  # a 6-channel capture endpoint (remap of the 5.1 sink's monitor)
WASAPI, MME = "Windows WASAPI", "MME"
MIC_HZ, SPEAKERS_HZ, NON_ASCII_HZ = 440, 1000, 300
SURROUND_HZ = {"FL": 500, "FR": 700, "FC": 900, "LFE": 60}


def _strict() -> bool:
    return os.environ.get("MEETING_TUI_REQUIRE_RIG") == "1" or os.environ.get("CI", "").lower() == "true"


def is_wine() -> bool:
    try:
        import ctypes

        ntdll = ctypes.WinDLL("ntdll")
        return hasattr(ntdll, "wine_get_version")
    except (OSError, AttributeError):
        return False


@pytest.fixture(scope="session")
def win_rig():
    """The lane's audio rig; skip (or fail in CI) without it."""
    if os.environ.get("MEETING_TUI_WIN_RIG") != "1":
        reason = "needs the audio rig of .ci/wine-lane (MEETING_TUI_WIN_RIG=1)"
        if _strict() and is_wine():
            pytest.fail(f"required in CI but unavailable: {reason}", pytrace=False)
        pytest.skip(reason)
    return True


class RigControl:
    """Runs pactl on the Linux side of the lane (request and answer files in a shared folder)."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def pactl(self, *args: str, timeout: float = 10.0) -> str:
        name = uuid.uuid4().hex
        tmp = self.folder / f"{name}.part"
        tmp.write_text("\n".join(args) + "\n", encoding="utf-8")
        os.replace(tmp, self.folder / f"{name}.req")
        res = self.folder / f"{name}.res"
        deadline = time.monotonic() + timeout
        while not res.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"pactl {' '.join(args)}: no answer from the lane")
            time.sleep(0.05)
        rc, _, out = res.read_text(encoding="utf-8").partition("\n")
        res.unlink()
        if rc.strip() != "0":
            raise RuntimeError(f"pactl {' '.join(args)} failed: {out.strip()}")
        return out


@pytest.fixture(scope="session")
def rig_ctl(win_rig) -> RigControl:
    folder = os.environ.get("MEETING_TUI_RIG_CTL")
    if not folder:
        pytest.skip("no rig control folder")
    return RigControl(folder)
