"""Microphone capture with sounddevice (PortAudio) on every OS; on Linux also the loopback.

On Linux a PulseAudio/PipeWire source (a mic or a sink's ``.monitor``) is chosen per process with the
``PULSE_SOURCE`` environment variable and opened through the ALSA ``pulse`` device: one worker, one
source, exactly the isolation the app is built on. Everything else goes through PortAudio's own device
list, matched by "name, host API" (never by index: indices change between processes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from meeting_tui.capture.backends.base import CaptureError, Emit, RawBlock, StreamInfo

PULSE_HOSTAPI = "PulseAudio"
# types.SESSION_RATE, the rate the meeting keeps (types loads numpy, which a Pulse worker never does;
# tests/test_frames.py holds the two equal).
SERVER_RATE = 16_000
# Blocks of this length unless --blocksize says otherwise: the worker sends at most one frame per
# worker.COALESCE_S anyway, and each callback costs Python time (docs/cost.md, "The capture path").
BLOCK_S = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond the worker's common ones."""


def create(args: argparse.Namespace) -> "SoundDeviceBackend":
    return SoundDeviceBackend(args.device, args.hostapi, samplerate=args.samplerate, channels=args.channels,
                              blocksize=args.blocksize)


def _import_sounddevice():
    try:
        import sounddevice as sd
    except OSError as exc:  # the PortAudio library itself is missing
        raise CaptureError(f"PortAudio is not available: {exc}",
                           hint="install it: sudo apt-get install libportaudio2 (Debian/Ubuntu)")
    return sd


def portaudio_error_hint(message: str) -> str:
    text = message.lower()
    if "connection refused" in text or "no such file" in text or "pulse" in text:
        return "is the sound server running? (pulseaudio --start, or systemctl --user start pipewire-pulse)"
    if "invalid sample rate" in text:
        return "the device refused the rate: leave samplerate unset to use the device's own"
    if "unanticipated host error" in text or "-9999" in text:
        return "the device is busy or blocked: check the OS microphone privacy settings and exclusive-mode apps"
    if "device unavailable" in text or "-9985" in text:
        return "the device is unavailable: is it unplugged, disabled, or blocked by privacy settings?"
    return "pick another device with `meeting-tui devices`"


class SoundDeviceBackend:
    def __init__(self, device: str | None, hostapi: str | None, *, samplerate: int | None = None,
                 channels: int | None = None, blocksize: int = 0) -> None:
        self.device, self.hostapi = device, hostapi
        self.samplerate, self.channels, self.blocksize = samplerate, channels, blocksize
        self._stream = None
        self.overflows = 0
        self._via_server = False  # reading a Pulse/PipeWire source through the ALSA pulse plugin

    def _resolve(self, sd) -> tuple[object, dict]:
        """The PortAudio device argument and its info dict."""
        if self.hostapi == PULSE_HOSTAPI or (self.device and self.hostapi is None and sys.platform.startswith("linux")
                                             and _looks_like_pulse_source(self.device)):
            if self.device:
                os.environ["PULSE_SOURCE"] = self.device  # read by the ALSA pulse plugin when the stream opens
            self._via_server = True
            for name in ("pulse", "default"):
                try:
                    return name, sd.query_devices(name, "input")
                except ValueError:
                    continue
            raise CaptureError("PortAudio has no 'pulse' device",
                               hint="install the ALSA PulseAudio plugin: sudo apt-get install libasound2-plugins")
        if not self.device:
            if sys.platform == "win32":  # WASAPI's default (follows the Sound settings), not MME's mapper
                from meeting_tui.capture import wasapi_names

                idx = wasapi_names.default_input(sd.query_hostapis())
                if idx is not None:
                    return idx, sd.query_devices(idx)
            return None, sd.query_devices(kind="input")
        if sys.platform == "win32":
            return self._resolve_windows(sd)
        query = f"{self.device}, {self.hostapi}" if self.hostapi else self.device
        try:
            return query, sd.query_devices(query, "input")
        except ValueError as exc:
            raise CaptureError(f"no input device matches {query!r}: {exc}",
                               hint="run `meeting-tui devices` and pick one that is present")

    def _resolve_windows(self, sd) -> tuple[object, dict]:
        """By name under the stored host API, tolerating MME's 31-character names; the index is only
        used inside this process, right after listing (indices differ between processes)."""
        from meeting_tui.capture import wasapi_names

        devices, apis = sd.query_devices(), sd.query_hostapis()
        idx = wasapi_names.find_input(devices, apis, self.device, self.hostapi or None)
        if idx is None and self.hostapi:  # the device is there, under another host API only
            idx = wasapi_names.find_input(devices, apis, self.device, None)
        if idx is None:
            raise CaptureError(f"no input device named {self.device!r} ({self.hostapi or 'any host API'})",
                               hint="it may be unplugged or disabled: run `meeting-tui devices` and pick one")
        return idx, sd.query_devices(idx)

    def _extra_settings(self, sd, info: dict):
        if sys.platform != "win32":
            return None
        from meeting_tui.capture import wasapi_names

        if sd.query_hostapis(info["hostapi"])["name"] != wasapi_names.WASAPI:
            return None
        return sd.WasapiSettings(**wasapi_names.wasapi_settings_kwargs())  # shared mode, no auto_convert

    def open(self, emit: Emit) -> StreamInfo:
        sd = _import_sounddevice()
        device, info = self._resolve(sd)
        # Through the sound server, ask for what the meeting keeps (16 kHz mono): the server resampled anyway
        # (to the plugin's 44.1 kHz), so it now resamples once and downmixes, and the worker and the front end
        # carry a sixth of the samples and resample nothing (docs/cost.md, "Fourth pass"). A device opened
        # directly keeps its own rate: hardware may refuse others.
        rate = int(self.samplerate or (SERVER_RATE if self._via_server else info["default_samplerate"]))
        device_channels = max(1, int(info["max_input_channels"]))
        channels = int(self.channels or (1 if self._via_server else min(2, device_channels)))
        # WASAPI shared mode opens only at the mix format's channel count (a 4-mic array: 4), so open at
        # the device's own count there and downmix here, as the loopback backend does.
        wasapi = self._extra_settings(sd, info) is not None
        open_channels = device_channels if wasapi else channels

        if wasapi:  # numpy blocks, downmixed where the mix format has more channels
            from meeting_tui.capture.backends.downmix import downmix

            block = (lambda data: downmix(data, channels)) if open_channels != channels else (lambda data: data)
            stream_class = sd.InputStream
        else:  # PortAudio's bytes as they are: the worker then never imports numpy (docs/cost.md)
            block = lambda data: RawBlock(data, channels)  # noqa: E731
            stream_class = sd.RawInputStream

        def callback(indata, frames, time_info, status):  # PortAudio's thread: no I/O here
            if status.input_overflow:
                self.overflows += 1
            emit(block(indata), block_capture_time(time.monotonic(), frames, rate, time_info.currentTime,
                                                   time_info.inputBufferAdcTime, wasapi=wasapi), 0)

        try:
            # No WasapiSettings(auto_convert=True): it returned all-zero buffers on some endpoints.
            self._stream = stream_class(device=device, samplerate=rate, channels=open_channels, dtype="float32",
                                        blocksize=self.blocksize or round(rate * BLOCK_S), callback=callback,
                                        extra_settings=self._extra_settings(sd, info))
            self._stream.start()
        except sd.PortAudioError as exc:
            code = exc.args[1] if len(exc.args) > 1 else None
            raise CaptureError(f"cannot open {self.device or 'the default input'}: {exc.args[0]}",
                               hint=portaudio_error_hint(str(exc)), code=code)
        hostapi = sd.query_hostapis(info["hostapi"])["name"]
        name = os.environ.get("PULSE_SOURCE") if device in ("pulse", "default") and self.device else info["name"]
        return StreamInfo(device=name or info["name"], hostapi=self.hostapi or hostapi, samplerate=rate,
                          channels=channels, extra={"device_channels": open_channels})

    def poll(self) -> str | None:
        if self._stream is not None and not self._stream.active:
            return "the stream stopped: the device was lost or the sound server went away"
        return None

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close(ignore_errors=True)
            except Exception:
                pass
            self._stream = None


def _looks_like_pulse_source(name: str) -> bool:
    return name.endswith(".monitor") or name in {s["name"] for s in pulse_sources()}


def pulse_sources() -> list[dict]:
    """PulseAudio/PipeWire sources via pactl (no audio device is opened). Empty when there is no server."""
    if shutil.which("pactl") is None:
        return []
    try:
        out = subprocess.run(["pactl", "--format=json", "list", "sources"], capture_output=True, text=True,
                             timeout=5, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            return []
        sources = json.loads(out.stdout)
        default = subprocess.run(["pactl", "get-default-source"], capture_output=True, text=True, timeout=5,
                                 stdin=subprocess.DEVNULL).stdout.strip()
        default_sink = subprocess.run(["pactl", "get-default-sink"], capture_output=True, text=True, timeout=5,
                                      stdin=subprocess.DEVNULL).stdout.strip()
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    found = []
    for s in sources:
        name = s.get("name", "")
        spec = s.get("sample_specification", "")
        channels, rate = _parse_spec(spec)
        monitor_of = s.get("monitor_source") or ""
        is_monitor = name.endswith(".monitor") or bool(s.get("monitor_of_sink"))
        found.append({
            "name": name,
            "hostapi": PULSE_HOSTAPI,
            "kind": "loopback" if is_monitor else "mic",
            "channels": channels,
            "samplerate": rate,
            "is_default": name == (f"{default_sink}.monitor" if is_monitor else default),
            "description": s.get("description", "") or monitor_of,
        })
    return found


def _parse_spec(spec: str) -> tuple[int, float]:
    # e.g. "float32le 2ch 48000Hz"
    channels, rate = 2, 48000.0
    for part in spec.split():
        if part.endswith("ch") and part[:-2].isdigit():
            channels = int(part[:-2])
        elif part.endswith("Hz") and part[:-2].isdigit():
            rate = float(part[:-2])
    return channels, rate


def list_devices() -> list[dict]:
    """Mics (and, on Linux, monitor sources). Pulse sources come from pactl; the rest from PortAudio."""
    found = pulse_sources() if sys.platform.startswith("linux") else []
    if found:
        return found
    sd = _import_sounddevice()
    if sys.platform == "win32":
        from meeting_tui.capture import wasapi_names

        try:
            return wasapi_names.windows_mic_rows(sd.query_devices(), sd.query_hostapis())
        except sd.PortAudioError as exc:
            raise CaptureError(f"PortAudio cannot list devices: {exc}")
    try:
        default_in = sd.default.device[0]
        apis = sd.query_hostapis()
        for idx, dev in enumerate(sd.query_devices()):
            if dev["max_input_channels"] <= 0:
                continue
            found.append({
                "name": dev["name"],
                "hostapi": apis[dev["hostapi"]]["name"],
                "kind": "mic",
                "channels": dev["max_input_channels"],
                "samplerate": dev["default_samplerate"],
                "is_default": idx == default_in,
                "description": "",
            })
    except sd.PortAudioError as exc:
        raise CaptureError(f"PortAudio cannot list devices: {exc}")
    return found


def block_capture_time(now: float, frames: int, rate: int, current: float, adc: float, *, wasapi: bool) -> float:
    """When a callback's first frame was captured, on ``time.monotonic()``.

    PortAudio's ``inputBufferAdcTime`` says it on ALSA and PulseAudio. WASAPI's is "now + padding"
    (pa_win_wasapi.c), later than the call itself: there the block ended about now and began one block
    earlier, as the loopback backend stamps its packets."""
    lag = current - adc if adc else 0.0
    if wasapi or lag <= 0.0:
        lag = frames / rate
    return now - min(lag, 1.0)
