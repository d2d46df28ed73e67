"""Which devices are the system defaults right now, and a watcher that notices when they change.

A worker opened on "the default" keeps its endpoint when the user switches outputs (Windows: PortAudio
and PyAudioWPatch resolve the default once; PulseAudio does not move a running capture stream). The
watcher polls the defaults every ``POLL_S`` and says which direction changed, so the engine restarts
that worker, which then opens the new default.

- Windows: ``IMMDeviceEnumerator::GetDefaultAudioEndpoint`` through raw COM vtable calls (ctypes), for
  both roles users meet: multimedia (music, browser) and communications (what Teams/Zoom use by default).
  When the two differ we warn: we capture the multimedia one.
- Linux: ``pactl get-default-sink`` / ``get-default-source``, read when ``pactl subscribe`` reports a change
  on the server (``pulse_events.py``) rather than every ``POLL_S``; polled where it cannot run.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable

from meeting_tui.capture.polling import OneThreadPoller

log = logging.getLogger("meeting_tui.capture")

POLL_S = 1.0  # a switch is followed within POLL_S plus a worker restart (< 2 s)
# With the server's change events (Linux: pulse_events.py) the defaults are read when it says they changed,
# and once in this long anyway (a change made before the subscription was up).
RESYNC_S = 30.0
RENDER, CAPTURE = "render", "capture"


@dataclass(frozen=True)
class Endpoint:
    id: str
    name: str


@dataclass(frozen=True)
class Defaults:
    """The default endpoint per direction and role (None: no such device)."""

    render: Endpoint | None = None
    capture: Endpoint | None = None
    render_comms: Endpoint | None = None
    capture_comms: Endpoint | None = None

    def changed(self, before: "Defaults") -> set[str]:
        out = set()
        if _ids(self.render) != _ids(before.render):
            out.add(RENDER)
        if _ids(self.capture) != _ids(before.capture):
            out.add(CAPTURE)
        return out

    def role_warnings(self) -> list[str]:
        """A line per direction whose communications default is not its multimedia default."""
        out = []
        for label, multi, comms in (("output", self.render, self.render_comms),
                                    ("microphone", self.capture, self.capture_comms)):
            if multi and comms and multi.id != comms.id:
                out.append(f"the default communications {label} is {comms.name!r} but the default {label} is "
                           f"{multi.name!r}: a call app may use {comms.name!r}; meeting-tui captures "
                           f"{multi.name!r} (choose the device explicitly to change that)")
        return out


def _ids(e: Endpoint | None) -> str | None:
    return None if e is None else e.id


# --- Windows: IMMDeviceEnumerator through ctypes ----------------------------------------------------------

class _GUID(ctypes.Structure):
    _fields_ = [("Data1", ctypes.c_uint32), ("Data2", ctypes.c_uint16), ("Data3", ctypes.c_uint16),
                ("Data4", ctypes.c_ubyte * 8)]

    @classmethod
    def parse(cls, text: str) -> "_GUID":
        import uuid

        u = uuid.UUID(text)
        g = cls(u.time_low, u.time_mid, u.time_hi_version)
        g.Data4[:] = list(u.bytes[8:])
        return g


class _PROPERTYKEY(ctypes.Structure):
    _fields_ = [("fmtid", _GUID), ("pid", ctypes.c_uint32)]


class _PROPVARIANT(ctypes.Structure):
    # vt, three reserved WORDs, then the value union (a pointer for VT_LPWSTR); 24 bytes on 64-bit
    _fields_ = [("vt", ctypes.c_ushort), ("r1", ctypes.c_ushort), ("r2", ctypes.c_ushort), ("r3", ctypes.c_ushort),
                ("pwszVal", ctypes.c_void_p), ("pad", ctypes.c_void_p)]


# mmdeviceapi.h / functiondiscoverykeys_devpkey.h
CLSID_MMDeviceEnumerator = "BCDE0395-E52F-467C-8E3D-C4579291692E"
IID_IMMDeviceEnumerator = "A95664D2-9614-4F35-A746-DE8DB63617E6"
PKEY_Device_FriendlyName = ("A45C254E-DF1C-4EFD-8020-67D146A850E0", 14)
IID_IAudioMeterInformation = "C02216F6-8C67-4B5B-9D00-D008E73E0064"  # endpointvolume.h
E_RENDER, E_CAPTURE = 0, 1
E_MULTIMEDIA, E_COMMUNICATIONS = 1, 2
CLSCTX_ALL = 0x17
STGM_READ = 0
VT_LPWSTR = 31
COINIT_MULTITHREADED = 0x0
RPC_E_CHANGED_MODE = -2147417850  # 0x80010106: COM already initialised in another mode: fine
# vtable slots (IUnknown = 0..2)
_ENUM_ENDPOINTS, _ENUM_GET_DEFAULT = 3, 4
_COLL_COUNT, _COLL_ITEM = 3, 4
DEVICE_STATE_ACTIVE = 0x1
_DEV_ACTIVATE, _DEV_OPEN_PROPS, _DEV_GET_ID = 3, 4, 5
_METER_GET_PEAK = 3  # IAudioMeterInformation::GetPeakValue
_PROPS_GET_VALUE = 5
_RELEASE = 2


def _call(obj: ctypes.c_void_p, slot: int, *args, argtypes=()):
    vtbl = ctypes.cast(obj, ctypes.POINTER(ctypes.POINTER(ctypes.c_void_p))).contents
    proto = ctypes.WINFUNCTYPE(ctypes.c_long, ctypes.c_void_p, *argtypes)  # type: ignore[attr-defined]
    return proto(vtbl[slot])(obj, *args)


def _release(obj: ctypes.c_void_p) -> None:
    if obj:
        vtbl = ctypes.cast(obj, ctypes.POINTER(ctypes.POINTER(ctypes.c_void_p))).contents
        ctypes.WINFUNCTYPE(ctypes.c_ulong, ctypes.c_void_p)(vtbl[_RELEASE])(obj)  # type: ignore[attr-defined]


class WindowsEndpoints:
    """Reads the default endpoints; one instance per thread (COM is initialised on it)."""

    def __init__(self) -> None:
        self._ole32 = ctypes.OleDLL("ole32")  # type: ignore[attr-defined]
        self._ole32.CoTaskMemFree.argtypes = [ctypes.c_void_p]
        self._ole32.CoTaskMemFree.restype = None
        try:
            ctypes.windll.ole32.CoInitializeEx(None, COINIT_MULTITHREADED)  # type: ignore[attr-defined]
        except OSError:
            pass
        self._enum = ctypes.c_void_p()
        clsid, iid = _GUID.parse(CLSID_MMDeviceEnumerator), _GUID.parse(IID_IMMDeviceEnumerator)
        self._ole32.CoCreateInstance(ctypes.byref(clsid), None, CLSCTX_ALL, ctypes.byref(iid),
                                     ctypes.byref(self._enum))

    def default(self, flow: int, role: int) -> Endpoint | None:
        dev = ctypes.c_void_p()
        hr = _call(self._enum, _ENUM_GET_DEFAULT, flow, role, ctypes.byref(dev),
                   argtypes=(ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)))
        if hr != 0 or not dev:  # E_NOTFOUND: no device of that kind
            return None
        try:
            ident = self._id(dev)
            return Endpoint(ident, self._friendly_name(dev) or ident) if ident else None
        finally:
            _release(dev)

    def endpoints(self, flow: int) -> list[Endpoint]:
        """Every active endpoint of one direction (IMMDeviceEnumerator::EnumAudioEndpoints)."""
        return [e for e, _ in self._each(flow, lambda dev: None)]

    def render_peaks(self) -> list[tuple[Endpoint, float]]:
        """Each active output with its peak meter now (0..1: what the volume mixer shows)."""
        return [(e, peak) for e, peak in self._each(E_RENDER, self._peak) if peak is not None]

    def _each(self, flow: int, read) -> list[tuple[Endpoint, object]]:
        coll, out = ctypes.c_void_p(), []
        if _call(self._enum, _ENUM_ENDPOINTS, flow, DEVICE_STATE_ACTIVE, ctypes.byref(coll),
                 argtypes=(ctypes.c_int, ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p))) != 0:
            return out
        try:
            count = ctypes.c_uint32()
            _call(coll, _COLL_COUNT, ctypes.byref(count), argtypes=(ctypes.POINTER(ctypes.c_uint32),))
            for i in range(count.value):
                dev = ctypes.c_void_p()
                if _call(coll, _COLL_ITEM, i, ctypes.byref(dev),
                         argtypes=(ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p))) != 0:
                    continue
                try:
                    ident = self._id(dev)
                    if ident:
                        out.append((Endpoint(ident, self._friendly_name(dev) or ident), read(dev)))
                finally:
                    _release(dev)
        finally:
            _release(coll)
        return out

    def _peak(self, dev: ctypes.c_void_p) -> float | None:
        meter, iid = ctypes.c_void_p(), _GUID.parse(IID_IAudioMeterInformation)
        if _call(dev, _DEV_ACTIVATE, ctypes.byref(iid), CLSCTX_ALL, None, ctypes.byref(meter),
                 argtypes=(ctypes.POINTER(_GUID), ctypes.c_uint32, ctypes.c_void_p,
                           ctypes.POINTER(ctypes.c_void_p))) != 0 or not meter:
            return None
        try:
            peak = ctypes.c_float()
            if _call(meter, _METER_GET_PEAK, ctypes.byref(peak), argtypes=(ctypes.POINTER(ctypes.c_float),)) != 0:
                return None
            return float(peak.value)
        finally:
            _release(meter)

    def _id(self, dev: ctypes.c_void_p) -> str | None:
        pid = ctypes.c_void_p()
        if _call(dev, _DEV_GET_ID, ctypes.byref(pid), argtypes=(ctypes.POINTER(ctypes.c_void_p),)) != 0 or not pid:
            return None
        try:
            return ctypes.wstring_at(pid.value)
        finally:
            self._ole32.CoTaskMemFree(pid)

    def _friendly_name(self, dev: ctypes.c_void_p) -> str:
        store = ctypes.c_void_p()
        if _call(dev, _DEV_OPEN_PROPS, STGM_READ, ctypes.byref(store),
                 argtypes=(ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p))) != 0:
            return ""
        try:
            key = _PROPERTYKEY(_GUID.parse(PKEY_Device_FriendlyName[0]), PKEY_Device_FriendlyName[1])
            value = _PROPVARIANT()
            if _call(store, _PROPS_GET_VALUE, ctypes.byref(key), ctypes.byref(value),
                     argtypes=(ctypes.POINTER(_PROPERTYKEY), ctypes.POINTER(_PROPVARIANT))) != 0:
                return ""
            try:
                return ctypes.wstring_at(value.pwszVal) if value.vt == VT_LPWSTR and value.pwszVal else ""
            finally:
                ctypes.oledll.ole32.PropVariantClear(ctypes.byref(value))  # type: ignore[attr-defined]
        finally:
            _release(store)

    def read(self) -> Defaults:
        return Defaults(render=self.default(E_RENDER, E_MULTIMEDIA), capture=self.default(E_CAPTURE, E_MULTIMEDIA),
                        render_comms=self.default(E_RENDER, E_COMMUNICATIONS),
                        capture_comms=self.default(E_CAPTURE, E_COMMUNICATIONS))

    def close(self) -> None:
        _release(self._enum)
        self._enum = ctypes.c_void_p()


# --- Linux: pactl -----------------------------------------------------------------------------------------

def _pactl(*args: str) -> str | None:
    try:
        out = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=3, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def read_pulse_defaults() -> Defaults:
    sink, source = _pactl("get-default-sink"), _pactl("get-default-source")
    if sink is None or source is None:  # pactl failed or timed out: no answer, not "no device" (no restart)
        raise OSError("pactl gave no default sink/source")
    return Defaults(render=Endpoint(sink, sink), capture=Endpoint(source, source))


def reader() -> Callable[[], Defaults] | None:
    """A function returning the current defaults on this OS, or None where we cannot watch them."""
    if sys.platform == "win32":
        state: dict = {}

        def read_windows() -> Defaults:  # runs on the watcher's worker thread; COM lives there
            if "ep" not in state:
                state["ep"] = WindowsEndpoints()
            return state["ep"].read()

        return read_windows
    if sys.platform.startswith("linux") and shutil.which("pactl"):
        return read_pulse_defaults
    return None


def change_events():
    """The server's change events where this OS has them (Linux: ``pactl subscribe``), else None: poll."""
    from meeting_tui.capture.pulse_events import PactlSubscription

    return PactlSubscription() if sys.platform.startswith("linux") and PactlSubscription.available() else None


class DefaultDeviceWatcher(OneThreadPoller):
    """Reads the defaults on one thread, when the server's events say they may have changed (``events``:
    ``wait(timeout)`` and ``close()``, as ``pulse_events.PactlSubscription``) or every ``poll_s`` without
    them, and calls ``on_change({"render"/"capture"}, defaults)`` and ``on_warning(text)`` on the event
    loop. Start inside a running loop; ``stop()`` to end."""

    def __init__(self, on_change: Callable[[set[str], Defaults], None], *,
                 on_warning: Callable[[str], None] = lambda text: None, poll_s: float = POLL_S,
                 read: Callable[[], Defaults] | None = None, events=None) -> None:
        self.on_change, self.on_warning = on_change, on_warning
        self.poll_s = poll_s
        self._read = read or reader()
        # A reader passed in (tests) is polled unless events come with it.
        self._events = events if events is not None or read is not None else change_events()
        self.reads = 0
        self.current: Defaults | None = None
        self._warned: set[str] = set()

    @property
    def available(self) -> bool:
        return self._read is not None

    def start(self) -> None:
        if self._read is None:
            return
        self._start_polling("default-device-watch")

    async def _poll(self) -> Defaults | None:
        self.reads += 1
        try:
            return await self._on_thread(self._read)
        except Exception as exc:  # a failed read must not stop capture
            log.debug("reading the default devices failed: %s", exc)
            return None

    async def _next_read(self) -> None:
        """Until the defaults are worth reading again: a change event (or ``RESYNC_S``), else ``poll_s``."""
        if self._events is not None:
            if await self._events.wait(RESYNC_S) is not None:
                return
            log.debug("the sound server's events ended: polling the default devices")
            self._events = None
        await asyncio.sleep(self.poll_s)

    async def _run(self) -> None:
        if self._events is not None and not await self._events.start():
            self._events = None
        self.current = await self._poll()
        self._warn(self.current)
        while True:
            await self._next_read()
            now = await self._poll()
            if now is None:
                continue
            if self.current is not None:
                changed = now.changed(self.current)
                if changed:
                    log.info("default device changed (%s): %s", ", ".join(sorted(changed)), now)
                    self.current = now
                    self.on_change(changed, now)
            self.current = now
            self._warn(now)

    async def stop(self) -> None:
        await super().stop()
        if self._events is not None:
            await self._events.close()

    def _warn(self, d: Defaults | None) -> None:
        for text in (d.role_warnings() if d else []):
            if text not in self._warned:
                self._warned.add(text)
                self.on_warning(text)



def follows_default(spec) -> str | None:
    """The direction a capture-engine WorkerSpec follows when it is on "the default" device, else None."""
    from meeting_tui.capture.backends import registry
    from meeting_tui.capture.devices import PULSE_DEFAULT_MONITOR
    from meeting_tui.types import Source

    if not registry.follows_default(spec.backend) or len(spec.sources) != 1:
        return None
    if spec.device is not None and spec.device != PULSE_DEFAULT_MONITOR:
        return None  # a device the user chose stays chosen
    return RENDER if spec.sources[0] is Source.LOOPBACK else CAPTURE


class DefaultFollower:
    """Restarts the engine's workers on a default device when that default changes."""

    def __init__(self, pairs: list[tuple[str, object]], on_warning: Callable[[str], None],
                 watcher: DefaultDeviceWatcher | None = None) -> None:
        self.pairs = pairs  # (direction, WorkerSupervisor)
        self.on_warning = on_warning
        self.restarts: list[str] = []
        self.watcher = watcher or DefaultDeviceWatcher(self._changed, on_warning=on_warning)
        self.watcher.on_change = self._changed

    @classmethod
    def start_for(cls, specs, workers, on_warning: Callable[[str], None]) -> "DefaultFollower | None":
        pairs = [(d, w) for spec, w in zip(specs, workers) if (d := follows_default(spec))]
        if not pairs:
            return None
        follower = cls(pairs, on_warning)
        if not follower.watcher.available:
            return None
        follower.watcher.start()
        return follower

    def _changed(self, directions: set[str], now: Defaults) -> None:
        for direction, worker in self.pairs:
            if direction in directions:
                endpoint = now.render if direction == RENDER else now.capture
                what = "output" if direction == RENDER else "microphone"
                reason = f"the default {what} changed to {endpoint.name if endpoint else 'none'!r}: reopening"
                if worker.restart_now(reason):
                    self.restarts.append(reason)

    async def stop(self) -> None:
        await self.watcher.stop()
