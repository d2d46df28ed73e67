"""FFmpeg as a capture fallback ("Meeting via FFmpeg"): one FFmpeg child captures mic and system audio.

Pure helpers (argument lists, listing parsers, stderr classification) plus thin functions that run the
``ffmpeg`` binary. The capture backend built on them is ``meeting_tui.capture.backends.ffmpeg_backend``.

Device access per OS (FFmpeg input devices):
- Windows: ``-f dshow -i audio=NAME`` (NAME is one argv element, no quotes). Mainline FFmpeg has no
  WASAPI input, so the system-audio side must be a DirectShow *recording* device: Stereo Mix /
  "What U Hear", "CABLE Output (VB-Audio Virtual Cable)", "Voicemeeter Out B1"...
- Linux: ``-f pulse -i SOURCE`` (PulseAudio or PipeWire's pulse server); the loopback is
  ``<sink>.monitor`` (``@DEFAULT_MONITOR@`` is the default output's monitor).
- macOS: ``-f avfoundation -i :INDEX``; system audio needs a virtual device such as BlackHole.

Output: ``amerge`` keeps the sources apart, 2 channels (0 = mic, 1 = loopback), float32 little-endian at
48 kHz on stdout. ``amix`` (``normalize=0``, weights from the user's gains) makes 1 channel when the two
must be one stream.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

DEFAULT_RATE = 48_000
DSHOW_AUDIO_HEADER = "DirectShow audio devices"
DSHOW_VIDEO_HEADER = "DirectShow video devices"


def platform_format(platform: str | None = None) -> str:
    """FFmpeg's audio input device for this OS: dshow, pulse or avfoundation."""
    platform = platform or sys.platform
    if platform == "win32":
        return "dshow"
    if platform == "darwin":
        return "avfoundation"
    return "pulse"


# ------------------------------------------------------------------------------- finding ffmpeg

INSTALL_HINTS = {
    "win32": ("install FFmpeg and put it on PATH: `winget install --id Gyan.FFmpeg` (or `choco install ffmpeg`, "
              "or `scoop install ffmpeg`), then open a new terminal; or set MEETING_TUI_FFMPEG to ffmpeg.exe"),
    "darwin": "install FFmpeg: `brew install ffmpeg` (or set MEETING_TUI_FFMPEG to the binary)",
    "linux": ("install FFmpeg: `sudo apt-get install ffmpeg` (Debian/Ubuntu), `sudo dnf install ffmpeg` (Fedora, "
              "RPM Fusion), `sudo pacman -S ffmpeg` (Arch); or set MEETING_TUI_FFMPEG to the binary"),
}


def install_hint(platform: str | None = None) -> str:
    platform = platform or sys.platform
    key = "linux" if platform.startswith("linux") or platform not in INSTALL_HINTS else platform
    return INSTALL_HINTS[key]


def find_ffmpeg(path: str | None = None) -> str | None:
    """The ffmpeg executable: an explicit path, $MEETING_TUI_FFMPEG, or ``ffmpeg`` on PATH."""
    candidate = path or os.environ.get("MEETING_TUI_FFMPEG")
    if candidate:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
        return shutil.which(candidate)
    return shutil.which("ffmpeg")


def ffmpeg_available(path: str | None = None, platform: str | None = None) -> tuple[bool, str]:
    """(True, path) when FFmpeg can be run; (False, install instructions for this OS) otherwise."""
    exe = find_ffmpeg(path)
    if exe is None:
        where = f"{path or os.environ.get('MEETING_TUI_FFMPEG')!r} is not an executable" if (
            path or os.environ.get("MEETING_TUI_FFMPEG")) else "FFmpeg was not found on PATH"
        return False, f"{where}: {install_hint(platform)}"
    return True, exe


# ------------------------------------------------------------------------------- building the command

@dataclass(frozen=True)
class FfmpegInput:
    """One capture input: ``-f FORMAT [options] -i SPEC``."""

    format: str
    spec: str
    options: tuple[str, ...] = ()

    def argv(self) -> list[str]:
        return ["-f", self.format, *self.options, "-i", self.spec]


def dshow_spec(name: str) -> str:
    return f"audio={name}"


def make_input(device: str, fmt: str | None = None, *, rate: int = DEFAULT_RATE) -> FfmpegInput:
    """An input for ``device`` (a dshow friendly/alternative name, a pulse source, an avfoundation index)."""
    fmt = fmt or platform_format()
    if fmt == "dshow":
        # Small real-time buffer warnings are harmless; audio_buffer_size lowers dshow's 500 ms default.
        return FfmpegInput("dshow", dshow_spec(device), ("-audio_buffer_size", "50"))
    if fmt == "pulse":
        return FfmpegInput("pulse", device, ("-sample_rate", str(rate), "-channels", "1", "-fragment_size", "3840"))
    if fmt == "avfoundation":
        spec = device if device.startswith(":") else f":{device}"
        return FfmpegInput("avfoundation", spec)
    return FfmpegInput(fmt, device)


def db_to_weight(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def filter_graph(mix: str = "amerge", *, rate: int = DEFAULT_RATE, gains_db: tuple[float, float] = (0.0, 0.0)) -> str:
    """The -filter_complex: each input to mono float at ``rate``, then amerge (2 ch) or amix (1 ch)."""
    prep = (f"[0:a]aresample={rate},aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts=mono[mic];"
            f"[1:a]aresample={rate},aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts=mono[lb];")
    if mix == "amerge":
        return prep + "[mic][lb]amerge=inputs=2[out]"
    if mix == "amix":
        w = " ".join(f"{db_to_weight(g):.6g}" for g in gains_db)
        return prep + f"[mic][lb]amix=inputs=2:duration=longest:dropout_transition=0:normalize=0:weights={w}[out]"
    raise ValueError(f"unknown mix {mix!r} (amerge or amix)")


def build_command(mic: FfmpegInput, loopback: FfmpegInput, *, ffmpeg: str = "ffmpeg", mix: str = "amerge",
                  rate: int = DEFAULT_RATE, gains_db: tuple[float, float] = (0.0, 0.0),
                  loglevel: str = "level+warning") -> list[str]:
    """The full argv: no stdin, warnings and errors on stderr (each tagged with its level), PCM on stdout."""
    channels = 2 if mix == "amerge" else 1
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", loglevel,
        *mic.argv(), *loopback.argv(),
        "-filter_complex", filter_graph(mix, rate=rate, gains_db=gains_db),
        "-map", "[out]", "-ac", str(channels), "-ar", str(rate),
        "-f", "f32le", "-flush_packets", "1", "pipe:1",
    ]


# ------------------------------------------------------------------------------- reading its stderr

# Errors after which FFmpeg produces no more audio, even if it keeps running or exits 0.
_FATAL = [
    re.compile(p, re.I) for p in (
        r"Could not find (audio only |video only |audio |video )?device with name",
        r"Error opening input",
        r"Input/output error",
        r"\bI/O error\b",
        r"No such (file or directory|device|process)",
        r"Connection (refused|terminated)",
        r"Device or resource busy",
        r"Unable to BindToObject",
        r"Could not (run|connect|enumerate|set|create)",
        r"Conversion failed",
        r"Error (initializing|while) (filter|opening|decoding)",
        r"Invalid argument",
        r"Unknown input format",
        r"Permission denied",
        r"Immediate exit requested",
    )
]
# Error-level lines that are not fatal (dshow drops a buffer; audio keeps coming).
_BENIGN = [re.compile(p, re.I) for p in (r"real-time buffer .* too full", r"frame dropped", r"Guessed Channel Layout")]
_PREFIX = re.compile(r"\[(fatal|error|warning|info|panic|verbose|debug)\]\s*|\[[^\]]*@ [0-9a-fx]+\]\s*", re.I)


@dataclass
class StderrLine:
    text: str  # without the level and context tags
    level: str  # "fatal", "error", "warning", "info" (untagged lines count as info)
    fatal: bool


def classify_stderr(line: str) -> StderrLine:
    """Tag one stderr line: its level (``-loglevel level+...`` prefixes it) and whether it is fatal."""
    raw = line.rstrip("\r\n")
    levels = re.findall(r"\[(fatal|error|warning|info|panic)\]", raw, re.I)
    level = levels[0].lower() if levels else "info"
    if level == "panic":
        level = "fatal"
    text = _PREFIX.sub("", raw).strip()
    benign = any(p.search(text) for p in _BENIGN)
    fatal = not benign and (level == "fatal" or any(p.search(text) for p in _FATAL))
    return StderrLine(text, level, fatal)


def error_hint(text: str, fmt: str | None = None) -> str:
    fmt = fmt or platform_format()
    low = text.lower()
    if "could not find" in low and "device" in low or "unable to bindtoobject" in low:
        return ("the DirectShow device is not there: run `meeting-tui doctor` or `ffmpeg -list_devices true -f dshow -i dummy`; "
                "enable Stereo Mix in Sound settings > Recording, or install VB-Cable")
    if fmt == "pulse" and ("input/output error" in low or "connection refused" in low or "no such" in low):
        return ("PulseAudio/PipeWire refused the source: is the sound server running, and does the source exist? "
                "(`pactl list short sources`)")
    if "permission denied" in low:
        return "the OS blocked the microphone: allow terminal/FFmpeg access in the privacy settings"
    if "busy" in low:
        return "another application holds the device exclusively: close it or disable exclusive mode"
    return "run `meeting-tui doctor` to find a working setup"


# ------------------------------------------------------------------------------- listing devices

@dataclass(frozen=True)
class DshowDevice:
    name: str  # the friendly name
    alternative_name: str = ""  # "@device_cm_{...}\wave_{...}": unique, and safe when the name has ':'
    types: tuple[str, ...] = ()  # ("audio",), ("video",), ("audio", "video"), () for "none"

    @property
    def is_audio(self) -> bool:
        return "audio" in self.types

    @property
    def input_name(self) -> str:
        """What to pass after ``audio=``: the alternative name when the friendly name has a ':'."""
        if ":" in self.name and self.alternative_name:
            return self.alternative_name
        return self.name


_QUOTED_NEW = re.compile(r'^"(?P<name>.*)"\s+\((?P<types>[^()]*)\)\s*$')
_QUOTED_OLD = re.compile(r'^"(?P<name>.*)"\s*$')
_ALT = re.compile(r'^Alternative name\s+"(?P<alt>.*)"\s*$')
_CTX = re.compile(r"^\s*\[(?:dshow|in#\d+|AVFormatContext)[^\]]*\]\s?|^\s*\[(?:info|warning|error)\]\s?", re.I)


def _strip_context(line: str) -> str:
    prev = None
    while prev != line:
        prev, line = line, _CTX.sub("", line, count=1)
    return line.strip()


def parse_dshow_listing(text: str) -> list[DshowDevice]:
    """Devices from ``ffmpeg -list_devices true -f dshow -i dummy`` (its stderr), old or new format.

    New (FFmpeg >= 5): ``"Name" (audio)`` then ``  Alternative name "@device_..."``; the type list may be
    "audio, video" or "none". Old: a ``DirectShow video devices`` / ``DirectShow audio devices`` header,
    then `` "Name"`` and ``    Alternative name "@device_..."`` lines.
    """
    devices: list[DshowDevice] = []
    section: str | None = None
    pending: tuple[str, tuple[str, ...]] | None = None

    def flush(alt: str = "") -> None:
        nonlocal pending
        if pending is not None:
            devices.append(DshowDevice(pending[0], alt, pending[1]))
            pending = None

    for raw in text.splitlines():
        line = _strip_context(raw)
        if not line:
            continue
        if line.startswith(DSHOW_AUDIO_HEADER):
            flush()
            section = "audio"
            continue
        if line.startswith(DSHOW_VIDEO_HEADER):
            flush()
            section = "video"
            continue
        m = _ALT.match(line)
        if m:
            flush(m.group("alt"))
            continue
        m = _QUOTED_NEW.match(line)
        if m:
            flush()
            types = tuple(t.strip() for t in m.group("types").split(",") if t.strip() and t.strip() != "none")
            pending = (m.group("name"), types)
            continue
        m = _QUOTED_OLD.match(line)
        if m:
            flush()
            pending = (m.group("name"), (section,) if section else ())
            continue
    flush()
    return devices


def dshow_audio_devices(text: str) -> list[DshowDevice]:
    return [d for d in parse_dshow_listing(text) if d.is_audio]


_AVF_HEADER = re.compile(r"AVFoundation (audio|video) devices", re.I)
_AVF_ITEM = re.compile(r"\[(\d+)\]\s+(.*\S)\s*$")


def parse_avfoundation_listing(text: str) -> list[tuple[int, str]]:
    """(index, name) of audio devices from ``ffmpeg -f avfoundation -list_devices true -i ""``."""
    out, section = [], None
    for raw in text.splitlines():
        h = _AVF_HEADER.search(raw)
        if h:
            section = h.group(1).lower()
            continue
        m = _AVF_ITEM.search(raw)
        if m and section == "audio" and "AVFoundation" in raw:
            out.append((int(m.group(1)), m.group(2)))
    return out


_PULSE_SOURCE = re.compile(r"^(?P<default>\*)?\s*(?P<name>\S+)\s+\[(?P<desc>.*)\]")


def parse_pulse_sources(text: str) -> list[dict]:
    """Sources from ``ffmpeg -sources pulse``: name, description, is_default, is_monitor."""
    out = []
    for raw in text.splitlines():
        if raw.strip().lower().startswith("auto-detected"):
            continue
        m = _PULSE_SOURCE.match(raw.strip())
        if not m:
            continue
        name = m.group("name")
        out.append({"name": name, "description": m.group("desc"), "is_default": bool(m.group("default")),
                    "is_monitor": name.endswith(".monitor")})
    return out


def _run(argv: list[str], timeout: float = 15.0) -> subprocess.CompletedProcess:
    from meeting_tui.capture import winproc

    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, encoding="utf-8",
                          errors="replace", timeout=timeout, **winproc.popen_kwargs())


def list_dshow_devices(ffmpeg: str | None = None) -> list[DshowDevice]:
    exe = find_ffmpeg(ffmpeg) or "ffmpeg"
    out = _run([exe, "-hide_banner", "-list_devices", "true", "-f", "dshow", "-i", "dummy"])
    return dshow_audio_devices(out.stderr + out.stdout)


def list_pulse_sources(ffmpeg: str | None = None) -> list[dict]:
    exe = find_ffmpeg(ffmpeg) or "ffmpeg"
    out = _run([exe, "-hide_banner", "-sources", "pulse"])
    return parse_pulse_sources(out.stdout + out.stderr)


def list_avfoundation_devices(ffmpeg: str | None = None) -> list[tuple[int, str]]:
    exe = find_ffmpeg(ffmpeg) or "ffmpeg"
    out = _run([exe, "-hide_banner", "-f", "avfoundation", "-list_devices", "true", "-i", ""])
    return parse_avfoundation_listing(out.stderr + out.stdout)


# Recording-side names of loopback-capable devices (WINDOWS.md "Virtual devices users already have").
_LOOPBACK_HINTS = ("stereo mix", "wave out mix", "what u hear", "cable output", "voicemeeter out",
                   "blackhole", "loopback", "monitor of")


def looks_like_loopback(name: str) -> bool:
    """A recording device that carries system audio (virtual cable, Stereo Mix, monitor)."""
    try:
        from meeting_tui.capture.devices import virtual_label  # the integrator's labelling, when present

        if virtual_label(name):
            return True
    except ImportError:
        pass
    low = name.lower()
    return any(h in low for h in _LOOPBACK_HINTS)


@dataclass
class FfmpegDevices:
    """Default picks for the two inputs, plus everything seen."""

    format: str
    mic: str | None
    loopback: str | None
    all: list[dict] = field(default_factory=list)


def default_devices(fmt: str | None = None, ffmpeg: str | None = None) -> FfmpegDevices:
    """Best guesses: pulse → "default" and "@DEFAULT_MONITOR@"; dshow → first non-loopback audio device
    and the first Stereo Mix / virtual cable; avfoundation → ":0" and the first loopback-looking device."""
    fmt = fmt or platform_format()
    if fmt == "pulse":
        return FfmpegDevices(fmt, "default", "@DEFAULT_MONITOR@")
    if fmt == "dshow":
        devs = list_dshow_devices(ffmpeg)
        rows = [{"name": d.name, "input": d.input_name, "loopback": looks_like_loopback(d.name)} for d in devs]
        mic = next((r["input"] for r in rows if not r["loopback"]), None)
        lb = next((r["input"] for r in rows if r["loopback"]), None)
        return FfmpegDevices(fmt, mic, lb, rows)
    if fmt == "avfoundation":
        devs = list_avfoundation_devices(ffmpeg)
        rows = [{"name": n, "input": str(i), "loopback": looks_like_loopback(n)} for i, n in devs]
        mic = next((r["input"] for r in rows if not r["loopback"]), None)
        lb = next((r["input"] for r in rows if r["loopback"]), None)
        return FfmpegDevices(fmt, mic, lb, rows)
    return FfmpegDevices(fmt, None, None)
