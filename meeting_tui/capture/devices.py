"""Device enumeration, done in a worker subprocess so the parent never loads an audio library.

Devices are identified by name plus host API (``DeviceRef``), never by index.
"""

from __future__ import annotations

import json
import subprocess
import sys

from meeting_tui.capture.supervisor import worker_argv, worker_env
from meeting_tui.types import DeviceInfo, DeviceRef, Source

# Case-insensitive substrings of devices users already have (see docs/fallbacks.md).
VIRTUAL_DEVICES = (
    ("voicemeeter", "VoiceMeeter"),
    ("vb-audio", "VB-Cable"),
    ("cable output", "VB-Cable"),
    ("cable input", "VB-Cable"),
    ("stereo mix", "Stereo Mix"),
    ("wave out mix", "Stereo Mix"),
    ("what u hear", "Stereo Mix"),
    ("blackhole", "BlackHole"),
)
# A Bluetooth headset's hands-free (HFP) endpoint: opening its mic drops the output to call quality.
HANDS_FREE_MARKERS = ("hands-free", "handsfree", "hands free", "headset ag", "hfp")

# Linux: PulseAudio/PipeWire resolve these names to the current defaults at open time, so a worker
# restarted after the user switched outputs follows the switch.
PULSE_DEFAULT_MONITOR = DeviceRef("@DEFAULT_MONITOR@", "PulseAudio")


class DeviceListError(RuntimeError):
    pass


def virtual_label(name: str) -> str | None:
    low = name.lower()
    for marker, label in VIRTUAL_DEVICES:
        if marker in low:
            return label
    return None


def is_hands_free(name: str) -> bool:
    low = name.lower()
    return any(m in low for m in HANDS_FREE_MARKERS)


def parse_device_list(raw: list[dict]) -> list[DeviceInfo]:
    devices = []
    for d in raw:
        name = str(d["name"])
        kind = Source.LOOPBACK if d.get("kind") == "loopback" else Source.MIC
        devices.append(DeviceInfo(
            ref=DeviceRef(name, str(d.get("hostapi", ""))), kind=kind, channels=int(d.get("channels") or 0),
            samplerate=float(d.get("samplerate") or 0), is_default=bool(d.get("is_default")),
            virtual=virtual_label(name) or virtual_label(str(d.get("description", ""))),
            description=str(d.get("description", "")),
        ))
    return devices


def list_devices(timeout: float = 15.0) -> list[DeviceInfo]:
    """Every microphone and loopback source, listed by a throwaway worker process."""
    try:
        out = subprocess.run(worker_argv("sounddevice", ["--list-devices"]), capture_output=True, text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL, env=worker_env(),
                             creationflags=_creationflags())
    except subprocess.TimeoutExpired:
        raise DeviceListError("listing devices timed out: is the sound server hung?")
    if out.returncode != 0:
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        raise DeviceListError(lines[-1] if lines else f"device listing failed (exit code {out.returncode})")
    try:
        return parse_device_list(json.loads(out.stdout))
    except (ValueError, KeyError) as exc:
        raise DeviceListError(f"unreadable device list: {exc}")


def _creationflags() -> int:
    if sys.platform == "win32":
        from meeting_tui.capture import winproc

        return winproc.creationflags()
    return 0
