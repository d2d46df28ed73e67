"""How each doctor probe opens the devices on this OS (``Plan``), from the names given or the defaults."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass

from meeting_tui.capture.wasapi_names import WASAPI
from meeting_tui.types import Source



@dataclass
class Plan:
    """How each probe opens the devices on this OS."""

    platform: str
    mic: str | None  # device name (None: the system default)
    loopback: str | None
    mic_hostapi: str = ""
    loopback_hostapi: str = ""
    tone_sink: str | None = None  # Linux: the sink whose monitor is the loopback
    ffmpeg_mic: str | None = None
    ffmpeg_loopback: str | None = None
    samplerate: int = 48_000

    def worker_args(self, source: Source) -> list[str]:
        if source is Source.MIC:
            args = ["--backend", "sounddevice"]
            if self.mic:
                args += ["--device", self.mic]
            if self.mic_hostapi:
                args += ["--hostapi", self.mic_hostapi]
            if self.platform.startswith("linux"):
                args += ["--samplerate", str(self.samplerate)]
            return args + ["--channels", "1"]
        if self.platform == "win32":
            args = ["--backend", "pyaudiowpatch", "--channels", "1"]
            return args + (["--device", self.loopback] if self.loopback else [])
        args = ["--backend", "sounddevice", "--channels", "1", "--samplerate", str(self.samplerate)]
        if self.loopback:
            args += ["--device", self.loopback]
        if self.loopback_hostapi:
            args += ["--hostapi", self.loopback_hostapi]
        return args

    def ffmpeg_args(self) -> list[str]:
        args = ["--backend", "ffmpeg"]
        if self.ffmpeg_mic:
            args += ["--ffmpeg-mic", self.ffmpeg_mic]
        if self.ffmpeg_loopback:
            args += ["--ffmpeg-loopback", self.ffmpeg_loopback]
        return args


def _pactl(*args: str) -> str:
    if shutil.which("pactl") is None:
        return ""
    try:
        out = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def make_plan(mic: str | None = None, loopback: str | None = None, *, platform: str | None = None) -> Plan:
    platform = platform or sys.platform
    if platform.startswith("linux"):
        mic = mic or _pactl("get-default-source") or None
        if not loopback:
            sink = _pactl("get-default-sink")
            loopback = f"{sink}.monitor" if sink else None
        sink = loopback[: -len(".monitor")] if loopback and loopback.endswith(".monitor") else None
        return Plan(platform, mic, loopback, "PulseAudio", "PulseAudio", tone_sink=sink,
                    ffmpeg_mic=mic or "default", ffmpeg_loopback=loopback or "@DEFAULT_MONITOR@")
    if platform == "win32":
        return Plan(platform, mic, loopback, WASAPI if mic else "", WASAPI)
    return Plan(platform, mic, loopback)
