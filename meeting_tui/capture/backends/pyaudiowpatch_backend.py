"""System audio on Windows: WASAPI loopback through PyAudioWPatch (``pip install PyAudioWPatch``, Windows only).

PyAudioWPatch lists every WASAPI render endpoint a second time, at the end of the device list, as an
*input* device named ``"<render name> [Loopback]"`` with ``isLoopbackDevice: True``; its
``maxInputChannels`` is the render device's output channel count and ``defaultSampleRate`` its mix rate.

Rules this module follows (checked against s0d3s/PyAudioWPatch and its bundled PortAudio; see
docs/windows.md for file and line):
- ``pyaudiowpatch`` is imported lazily, inside functions: the module imports everywhere, and the pure
  logic (device matching, error mapping here; the silence fill in loopback_timeline.py, the down-mix in
  downmix.py) is tested on Linux with documented dicts.
- The loopback is matched by the exact name ``f"{render} [Loopback]"``, never with PyAudioWPatch's
  ``get_wasapi_loopback_analogue_*`` helpers (they match by substring and can pick the wrong device
  when one endpoint name contains another).
- The stream is opened at the device's own ``defaultSampleRate`` and ``maxInputChannels`` in
  ``paFloat32``, in callback mode (blocking ``read()`` has no timeout). Any other rate fails with
  paInvalidSampleRate in shared mode: the parent resamples.
- WASAPI loopback delivers *no packets at all* while nothing plays. That is idle, not dead: the backend
  synthesizes zeros by elapsed time (flag ``FLAG_SYNTH_SILENCE``) so the timeline keeps moving, and by
  default also keeps a silent render stream open on the same endpoint (the NAudio "SilenceProvider"
  approach), which makes the endpoint deliver real (silent) packets.
- When the endpoint is unplugged, disabled or reformatted, PortAudio raises nothing in callback mode:
  ``stream.is_active()`` turns False. ``poll()`` returns a reason and the worker exits non-zero; the parent
  restarts it, and the new ``PyAudio()`` sees the current default device (the default is read once, at
  construction).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Iterable

import numpy as np

from meeting_tui.capture.backends.base import CaptureError, Emit, StreamInfo
from meeting_tui.capture.backends.downmix import downmix, output_channels
from meeting_tui.capture.backends.loopback_timeline import LoopbackTimeline
from meeting_tui.capture.frames import FLAG_SYNTH_SILENCE

LOOPBACK_SUFFIX = " [Loopback]"
HOSTAPI = "Windows WASAPI"

# PortAudio error codes (portaudio.h, enum PaErrorCode; PyAudioWPatch raises OSError(code, text)).
PA_UNANTICIPATED_HOST_ERROR = -9999
PA_INVALID_CHANNEL_COUNT = -9998
PA_INVALID_SAMPLE_RATE = -9997
PA_INVALID_DEVICE = -9996
PA_SAMPLE_FORMAT_NOT_SUPPORTED = -9994
PA_DEVICE_UNAVAILABLE = -9985
PA_INPUT_OVERFLOWED = -9981
PA_HOST_API_NOT_FOUND = -9979

# paInputOverflow in the callback's status flags (portaudio.h: paInputOverflow = 0x00000002).
PA_INPUT_OVERFLOW_FLAG = 0x2

_HINTS = {
    PA_UNANTICIPATED_HOST_ERROR: (
        "Windows refused the device (host error). Another app may hold it in exclusive mode "
        "(Sound settings > device > Advanced > untick 'Allow applications to take exclusive control'), "
        "or microphone/app privacy settings block capture. Close the other app or pick another output."
    ),
    PA_INVALID_DEVICE: (
        "that output device is not there any more (unplugged or disabled): pick another one in the device "
        "list, or leave the loopback device unset to follow the default output"
    ),
    PA_DEVICE_UNAVAILABLE: (
        "the device is unavailable: it may be disabled, in use in exclusive mode, or blocked by "
        "Settings > Privacy & security > Microphone ('Let desktop apps access your microphone')"
    ),
    PA_INVALID_SAMPLE_RATE: (
        "the loopback must be opened at the output's own mix rate; this is a bug if it persists "
        "(the output format may have changed while opening: try again)"
    ),
    PA_INVALID_CHANNEL_COUNT: "the output's channel count changed while opening: try again",
    PA_SAMPLE_FORMAT_NOT_SUPPORTED: "the output refused 32-bit float capture: try again, or pick another output",
    PA_HOST_API_NOT_FOUND: "WASAPI is not available (Windows Vista or newer is needed): use Meeting via FFmpeg",
}


# --------------------------------------------------------------------------------------------------
# Pure logic (tested on every OS with documented device dicts)
# --------------------------------------------------------------------------------------------------

def loopback_name(render_name: str) -> str:
    """The name PyAudioWPatch gives the loopback twin of a render endpoint."""
    return f"{render_name}{LOOPBACK_SUFFIX}"


def render_name(loopback: str) -> str:
    """The render endpoint's name from a loopback name (the name itself when it has no suffix)."""
    return loopback[: -len(LOOPBACK_SUFFIX)] if loopback.endswith(LOOPBACK_SUFFIX) else loopback


# PortAudio's WASAPI host API keeps names in char[PA_WASAPI_DEVICE_NAME_LEN = 128] (pa_win_wasapi.c), so a
# "<render name> [Loopback]" longer than 127 UTF-8 bytes arrives cut, possibly inside a character.
NAME_BYTES = 127


def is_cut_name(name: str) -> bool:
    """Whether ``name`` may be PortAudio's cut of a longer one (a cut inside a character loses <= 3 bytes)."""
    return len(name.encode("utf-8")) >= NAME_BYTES - 3


def name_matches(candidate: str, wanted: str) -> bool:
    """Exact, or ``candidate`` is the 127-byte cut of ``wanted``."""
    return candidate == wanted or (is_cut_name(candidate) and wanted.startswith(candidate))


def loopback_devices(devices: Iterable[dict]) -> list[dict]:
    return [d for d in devices if d.get("isLoopbackDevice") and int(d.get("maxInputChannels", 0)) > 0]


def find_loopback(devices: Iterable[dict], name: str | None = None, *,
                  default_output: dict | None = None) -> dict:
    """The loopback device dict to open.

    ``name`` may be a render endpoint name ("Speakers (Realtek(R) Audio)") or its loopback name
    ("Speakers (Realtek(R) Audio) [Loopback]"); both are matched exactly. Without a name the loopback of
    ``default_output`` (the default WASAPI output's dict) is used. Raises CaptureError (code -9996)
    listing what is there when nothing matches.
    """
    loops = loopback_devices(devices)
    if name:
        wanted = name if name.endswith(LOOPBACK_SUFFIX) else loopback_name(name)
        what = f"output {render_name(name)!r}"
    elif default_output is not None:
        if default_output.get("isLoopbackDevice"):
            return default_output
        wanted = loopback_name(default_output["name"])
        what = f"the default output {default_output['name']!r}"
    else:
        raise CaptureError("Windows reports no default output device", code=PA_INVALID_DEVICE,
                           hint="connect or enable speakers/headphones in Sound settings")
    for dev in loops:
        if dev["name"] == wanted:
            return dev
    cut = [dev for dev in loops if name_matches(dev["name"], wanted)]
    if len(cut) == 1:
        return cut[0]
    available = ", ".join(repr(render_name(d["name"])) for d in loops) or "none"
    raise CaptureError(f"no WASAPI loopback for {what} (outputs with a loopback: {available})",
                       code=PA_INVALID_DEVICE, hint=_HINTS[PA_INVALID_DEVICE])


def find_render_twin(devices: Iterable[dict], loopback: dict) -> dict | None:
    """The render (output) device a loopback mirrors: same host API, exact name without the suffix."""
    name = render_name(loopback["name"])
    for dev in devices:
        if (not dev.get("isLoopbackDevice") and dev.get("name") == name
                and dev.get("hostApi") == loopback.get("hostApi") and int(dev.get("maxOutputChannels", 0)) > 0):
            return dev
    return None


def stream_params(device: dict) -> tuple[int, int]:
    """(rate, channels) to open a loopback at: the device's own, nothing else works in shared mode."""
    rate = int(round(float(device["defaultSampleRate"])))
    channels = int(device["maxInputChannels"])
    if rate <= 0 or channels <= 0:
        raise CaptureError(f"{device.get('name')!r} reports {channels} channels at {rate} Hz",
                           code=PA_INVALID_DEVICE, hint="the output is disabled or in a bad state: pick another one")
    return rate, channels


def device_listing(devices: Iterable[dict], default_loopback: str | None) -> list[dict]:
    """The worker's ``--list-devices`` rows for every loopback."""
    rows = []
    for dev in loopback_devices(devices):
        rows.append({
            "name": dev["name"],
            "hostapi": HOSTAPI,
            "kind": "loopback",
            "channels": int(dev["maxInputChannels"]),
            "samplerate": float(dev["defaultSampleRate"]),
            "is_default": dev["name"] == default_loopback,
            "description": f"what {render_name(dev['name'])} plays",
        })
    return rows


def error_code(exc: BaseException) -> int | None:
    """The PortAudio code of an OSError from PyAudioWPatch (``OSError(code, text)``), if it has one."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int):
        return code
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def map_oserror(exc: BaseException, *, device: str = "the loopback", action: str = "open") -> CaptureError:
    """A CaptureError with a hint for an OSError raised by PyAudioWPatch."""
    code = error_code(exc)
    text = getattr(exc, "strerror", None) or (exc.args[1] if len(getattr(exc, "args", ())) > 1 else str(exc))
    hint = _HINTS.get(code, "run `meeting-tui doctor`; if it persists, try Meeting via FFmpeg")
    label = f" [{code}]" if code is not None else ""
    return CaptureError(f"cannot {action} {device}: {text}{label}", hint=hint, code=code)


# --------------------------------------------------------------------------------------------------
# The backend (Windows only at run time)
# --------------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pyaudiowpatch (WASAPI loopback)")
    group.add_argument("--pawp-no-keepalive", action="store_true",
                       help="do not keep a silent render stream open on the output (zeros are still filled by time)")
    group.add_argument("--pawp-idle-grace", type=float, default=0.25, metavar="S",
                       help="seconds without packets before zeros are synthesized (default 0.25)")


def create(args: argparse.Namespace) -> "PyAudioWPatchBackend":
    return PyAudioWPatchBackend(
        getattr(args, "device", None),
        channels=getattr(args, "channels", None),
        blocksize=getattr(args, "blocksize", 0) or 0,
        keepalive=not getattr(args, "pawp_no_keepalive", False),
        grace_s=getattr(args, "pawp_idle_grace", 0.25),
        requested_rate=getattr(args, "samplerate", None),
    )


def _import_pyaudio():
    try:
        import pyaudiowpatch  # noqa: PLC0415 - Windows-only wheel, imported on use
    except ImportError as exc:
        if sys.platform != "win32":
            raise CaptureError("WASAPI loopback exists only on Windows",
                               hint="on Linux capture the output's monitor source with the sounddevice backend")
        raise CaptureError(f"PyAudioWPatch is not installed: {exc}", hint="pip install PyAudioWPatch")
    return pyaudiowpatch


DEVICE_FIELDS = ("structVersion", "hostApi", "maxInputChannels", "maxOutputChannels", "defaultLowInputLatency",
                 "defaultLowOutputLatency", "defaultHighInputLatency", "defaultHighOutputLatency",
                 "defaultSampleRate", "isLoopbackDevice")


def device_info(pa, index: int, raw_info=None) -> dict:
    """``pa.get_device_info_by_index(index)``, surviving a name cut inside a UTF-8 character.

    PyAudioWPatch decodes names with ``PyUnicode_FromString`` (strict UTF-8, _portaudiomodule.c), so such a
    name raises UnicodeDecodeError, which is no OSError. Keep the device, with the broken tail dropped.
    """
    try:
        return pa.get_device_info_by_index(index)
    except UnicodeDecodeError as exc:
        name = bytes(exc.object).decode("utf-8", "ignore")
        if raw_info is None:
            raw_info = sys.modules["pyaudiowpatch"].pa.get_device_info(index)
        info = {"index": index, "name": name}
        for key in DEVICE_FIELDS:
            info[key] = getattr(raw_info, key)
        return info


def wasapi_devices(pa, pyaudio) -> list[dict]:
    """Every WASAPI device (loopbacks included), each via ``device_info``. Raises OSError without WASAPI."""
    api = pa.get_host_api_info_by_type(pyaudio.paWASAPI)
    out = []
    for i in range(pa.get_device_count()):
        info = device_info(pa, i)
        if info.get("hostApi") == api["index"]:
            out.append(info)
    return out


def _default_output(pa) -> dict | None:
    try:
        api = pa.get_host_api_info_by_type(sys.modules["pyaudiowpatch"].paWASAPI)
        index = api["defaultOutputDevice"]
        return device_info(pa, index) if index >= 0 else None
    except (OSError, IOError, KeyError):
        return None


def list_devices() -> list[dict]:
    """Every WASAPI loopback; [] where PyAudioWPatch cannot be imported (any OS but Windows)."""
    try:
        pyaudio = _import_pyaudio()
    except CaptureError:
        return []
    try:
        pa = pyaudio.PyAudio()
    except OSError:  # PortAudio could not start (no audio service): nothing to list
        return []
    try:
        try:
            devices = wasapi_devices(pa, pyaudio)
        except OSError:
            return []
        default = _default_output(pa)
        default_name = None
        if default is not None:
            default_name = default["name"] if default.get("isLoopbackDevice") else loopback_name(default["name"])
        return device_listing(devices, default_name)
    finally:
        pa.terminate()


class PyAudioWPatchBackend:
    blocking_emit = False

    def __init__(self, device: str | None = None, *, channels: int | None = None, blocksize: int = 0,
                 keepalive: bool = True, grace_s: float = 0.25, requested_rate: int | None = None) -> None:
        self.device = device
        self.channels = channels
        self.blocksize = blocksize
        self.keepalive = keepalive
        self.grace_s = grace_s
        self.requested_rate = requested_rate
        self._pa = None
        self._stream = None
        self._render = None
        self._lock = threading.Lock()
        self._emit: Emit | None = None
        self._timeline: LoopbackTimeline | None = None
        self._dev_channels = 0
        self.overflows = 0
        self._callback_error: str | None = None

    # The PortAudio callback thread and poll() both emit; the lock keeps blocks in timeline order.
    def _emit_zeros(self, blocks: list[tuple[float, int]]) -> None:
        out_ch = output_channels(self._dev_channels, self.channels)
        for t, n in blocks:
            self._emit(np.zeros((n, out_ch), dtype=np.float32), t, FLAG_SYNTH_SILENCE)

    def _callback(self, in_data, frame_count, time_info, status):
        pyaudio = sys.modules.get("pyaudiowpatch")
        cont = getattr(pyaudio, "paContinue", 0)
        try:
            now = time.monotonic()
            if status & PA_INPUT_OVERFLOW_FLAG:
                self.overflows += 1
            block = np.frombuffer(in_data, dtype=np.float32).reshape(-1, self._dev_channels)
            block = downmix(block, self.channels)
            with self._lock:
                t, zeros = self._timeline.real(len(block), now)
                self._emit_zeros(zeros)
                self._emit(block, t, 0)
        except Exception as exc:  # never let an exception abort the stream silently
            self._callback_error = f"{type(exc).__name__}: {exc}"
        return (None, cont)

    def open(self, emit: Emit) -> StreamInfo:
        pyaudio = _import_pyaudio()
        self._emit = emit
        try:
            self._pa = pyaudio.PyAudio()
        except OSError as exc:
            raise map_oserror(exc, device="PortAudio", action="start")
        try:
            try:
                devices = wasapi_devices(self._pa, pyaudio)
            except OSError as exc:
                err = map_oserror(exc, device="WASAPI", action="use")
                err.hint = _HINTS[PA_HOST_API_NOT_FOUND]
                raise err
            dev = find_loopback(devices, self.device, default_output=None if self.device else _default_output(self._pa))
            rate, dev_channels = stream_params(dev)
            self._dev_channels = dev_channels
            self._timeline = LoopbackTimeline(rate, grace_s=max(self.grace_s, 0.15))
            kwargs = dict(format=pyaudio.paFloat32, channels=dev_channels, rate=rate, input=True,
                          input_device_index=dev["index"], stream_callback=self._callback)
            if self.blocksize:
                kwargs["frames_per_buffer"] = int(self.blocksize)
            self._timeline.start(time.monotonic())
            try:
                self._stream = self._pa.open(**kwargs)
            except OSError as exc:
                raise map_oserror(exc, device=repr(dev["name"]))
            keepalive = "off"
            if self.keepalive:
                keepalive = self._open_keepalive(pyaudio, devices, dev)
        except BaseException:
            self.close()
            raise
        extra = {"loopback_of": render_name(dev["name"]), "device_channels": dev_channels,
                 "keepalive": keepalive}
        if self.requested_rate and int(self.requested_rate) != rate:
            extra["rate_note"] = f"opened at the device's own {rate} Hz, not {self.requested_rate}"
        out_channels = output_channels(dev_channels, self.channels)
        return StreamInfo(device=dev["name"], hostapi=HOSTAPI, samplerate=rate, channels=out_channels, extra=extra)

    def _open_keepalive(self, pyaudio, devices: list[dict], loopback: dict) -> str:
        """A silent render stream on the same endpoint, so the loopback keeps delivering packets."""
        twin = find_render_twin(devices, loopback)
        if twin is None:
            return "no render twin"
        rate, _ = stream_params(loopback)
        channels = max(1, int(twin.get("maxOutputChannels", 2)))

        def silent(in_data, frame_count, time_info, status):
            return (bytes(4 * channels * frame_count), pyaudio.paContinue)

        try:
            self._render = self._pa.open(format=pyaudio.paFloat32, channels=channels, rate=rate, output=True,
                                         output_device_index=twin["index"], stream_callback=silent)
            return "on"
        except OSError as exc:  # not fatal: zeros are still filled by time
            self._render = None
            return f"failed ({map_oserror(exc).args[0]})"

    def poll(self) -> str | None:
        if self._stream is None:
            return "the loopback stream is not open"
        if self._callback_error:
            return f"loopback callback failed: {self._callback_error}"
        try:
            active = self._stream.is_active()
        except OSError as exc:
            return str(map_oserror(exc, action="poll"))
        if not active:
            return ("the output device was lost (unplugged, disabled or its format changed): "
                    "restarting on the current default output")
        with self._lock:
            self._emit_zeros(self._timeline.silence(time.monotonic()))
        return None

    def close(self) -> None:
        for attr in ("_stream", "_render"):
            stream = getattr(self, attr)
            setattr(self, attr, None)
            if stream is not None:
                try:
                    stream.stop_stream()
                except Exception:
                    pass
                try:
                    stream.close()
                except Exception:
                    pass
        if self._pa is not None:
            try:
                self._pa.terminate()
            except Exception:
                pass
            self._pa = None

    def stats(self) -> dict:
        tl = self._timeline
        return {"overflows": self.overflows, "real_frames": tl.real_frames if tl else 0,
                "synth_frames": tl.synth_frames if tl else 0}
