"""Process hardening (winproc) and Windows device-name rules (wasapi_names).

On Windows the job-object test runs for real (windows.yml); elsewhere the structure layout is checked
against the documented Win32 sizes and the POSIX no-ops are exercised.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import time

import pytest

from meeting_tui.capture import wasapi_names as wn
from meeting_tui.capture import winproc


# ---------------------------------------------------------------- winproc

def test_constants_match_win32_headers():
    assert winproc.CREATE_NO_WINDOW == 0x08000000
    assert winproc.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE == 0x2000
    assert winproc.JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS == 9
    if sys.platform == "win32":
        assert winproc.CREATE_NO_WINDOW == subprocess.CREATE_NO_WINDOW


def test_structure_sizes_match_the_abi():
    # sizeof(JOBOBJECT_EXTENDED_LIMIT_INFORMATION): 144 on 64-bit Windows, 112 on 32-bit;
    # JOBOBJECT_BASIC_LIMIT_INFORMATION: 64 / 48; IO_COUNTERS: 48 on both.
    ptr64 = ctypes.sizeof(ctypes.c_void_p) == 8
    assert ctypes.sizeof(winproc.IO_COUNTERS) == 48
    assert ctypes.sizeof(winproc.JOBOBJECT_BASIC_LIMIT_INFORMATION) == (64 if ptr64 else 48)
    assert ctypes.sizeof(winproc.JOBOBJECT_EXTENDED_LIMIT_INFORMATION) == (144 if ptr64 else 112)
    info = winproc.kill_on_close_limits()
    assert info.BasicLimitInformation.LimitFlags == 0x2000


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX behaviour")
def test_posix_noops():
    assert winproc.creationflags() == 0
    assert winproc.popen_kwargs() == {}
    proc = subprocess.Popen([sys.executable, "-c", "pass"], creationflags=winproc.creationflags())
    assert proc.wait(30) == 0
    assert winproc.attach_to_job(proc.pid) is False


@pytest.mark.skipif(sys.platform != "win32", reason="needs Windows")
def test_windows_job_kills_children_with_the_parent(tmp_path):
    # A parent attaches a long-running child to its job and exits: the child must die with it.
    pidfile = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        "from meeting_tui.capture import winproc\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'],"
        " creationflags=winproc.creationflags())\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "assert winproc.attach_to_job(p.pid)\n"
    )
    parent = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True, text=True)
    assert parent.returncode == 0, parent.stderr
    pid = int(pidfile.read_text())
    import psutil

    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not psutil.pid_exists(pid)


# ---------------------------------------------------------------- wasapi_names

def test_queries():
    assert wn.wasapi_query("Microphone (Realtek(R) Audio)") == "Microphone (Realtek(R) Audio), Windows WASAPI"
    assert wn.device_query("Mic", "MME") == "Mic, MME"


def test_mme_truncation():
    long = "Microphone Array (Intel® Smart Sound Technology for Digital Microphones)"
    cut = wn.mme_truncate(long)
    assert cut == "Microphone Array (Intel® Smart "
    assert len(cut) == 31
    assert wn.mme_truncate("Mic") == "Mic"
    # a character outside the BMP takes two UTF-16 units and is never split
    emoji = "A" * 30 + "\U0001F3A4" + "B"
    assert wn.mme_truncate(emoji) == "A" * 30


def test_same_device():
    full = "Microphone Array (Intel® Smart Sound Technology for Digital Microphones)"
    assert wn.same_device(full, wn.mme_truncate(full))
    assert wn.same_device(wn.mme_truncate(full), full)
    assert wn.same_device("Mic", "Mic")
    assert not wn.same_device("Microphone", "Microphone Array")  # short names are never cuts
    assert not wn.same_device("Headset Microphone (Jabra Evolv", "Headset Microphone (Jabra Link 380)")


HOSTAPIS = [{"name": "MME"}, {"name": "Windows DirectSound"}, {"name": "Windows WASAPI"}, {"name": "Windows WDM-KS"}]
FULL = "Microphone Array (Intel® Smart Sound Technology for Digital Microphones)"
SD_DEVICES = [  # sd.query_devices() shapes
    {"name": "Microsoft Sound Mapper - Input", "hostapi": 0, "max_input_channels": 2},
    {"name": wn.mme_truncate(FULL), "hostapi": 0, "max_input_channels": 2},
    {"name": "Headset Microphone (Jabra Evolv", "hostapi": 0, "max_input_channels": 1},
    {"name": FULL, "hostapi": 1, "max_input_channels": 2},
    {"name": "Speakers (Realtek(R) Audio)", "hostapi": 2, "max_input_channels": 0},
    {"name": FULL, "hostapi": 2, "max_input_channels": 2},
    {"name": "Headset Microphone (Jabra Evolve 65)", "hostapi": 2, "max_input_channels": 1},
    {"name": "Headset Microphone (Jabra Evolve 75)", "hostapi": 2, "max_input_channels": 1},
]


def test_find_input_exact_and_from_mme_name():
    assert wn.find_input(SD_DEVICES, HOSTAPIS, FULL) == 5
    assert wn.find_input(SD_DEVICES, HOSTAPIS, wn.mme_truncate(FULL)) == 5  # stored from MME, opened on WASAPI
    assert wn.find_input(SD_DEVICES, HOSTAPIS, FULL, hostapi="MME") == 1
    assert wn.find_input(SD_DEVICES, HOSTAPIS, FULL, hostapi=None) == 5  # WASAPI preferred
    # an MME cut shared by two WASAPI devices is ambiguous: no guess
    assert wn.find_input(SD_DEVICES, HOSTAPIS, "Headset Microphone (Jabra Evolv") is None
    assert wn.find_input(SD_DEVICES, HOSTAPIS, "Speakers (Realtek(R) Audio)") is None  # output only
    assert wn.find_input(SD_DEVICES, HOSTAPIS, "Nope") is None


def test_sounddevice_query_semantics(monkeypatch):
    """sounddevice's own matching (``_get_device_id``) picks the intended entry for our query strings,
    fed a Windows-shaped device list."""
    sd = pytest.importorskip("sounddevice")
    devices = [dict(d, max_output_channels=0) for d in SD_DEVICES]
    monkeypatch.setattr(sd, "query_devices", lambda device=None, kind=None: devices if device is None else devices[device])
    monkeypatch.setattr(sd, "query_hostapis", lambda index=None: HOSTAPIS if index is None else HOSTAPIS[index])
    assert sd._get_device_id(wn.wasapi_query(FULL), "input", raise_on_error=True) == 5
    assert sd._get_device_id(wn.wasapi_query("Headset Microphone (Jabra Evolve 65)"), "input",
                             raise_on_error=True) == 6


def test_wasapi_settings_never_auto_convert():
    assert wn.wasapi_settings_kwargs() == {"exclusive": False, "auto_convert": False}


def test_hands_free_detection():
    assert wn.is_hands_free("Headset (WH-1000XM4 Hands-Free AG Audio)")
    assert wn.is_hands_free("Headset Microphone (Jabra Handsfree)")
    assert not wn.is_hands_free("Headphones (WH-1000XM4 Stereo)")


def test_power_throttling_opt_out_follows_the_documented_shapes():
    """SetProcessInformation(ProcessPowerThrottling): PROCESS_POWER_THROTTLING_STATE is three ULONGs
    (Version = PROCESS_POWER_THROTTLING_CURRENT_VERSION = 1, ControlMask, StateMask); the class is 4 in
    PROCESS_INFORMATION_CLASS; ControlMask EXECUTION_SPEED with StateMask 0 opts out of EcoQoS."""
    state = winproc.no_throttling_state()
    assert ctypes.sizeof(state) == 12
    assert (state.Version, state.ControlMask, state.StateMask) == (1, 0x1, 0)
    assert winproc.PROCESS_POWER_THROTTLING_CLASS == 4
    if sys.platform != "win32":
        assert winproc.opt_out_of_power_throttling() is False  # a no-op elsewhere
