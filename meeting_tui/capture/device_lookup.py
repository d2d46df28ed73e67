"""A device the user named on the command line, found among the devices present now.

Users name a device the way the system shows it: its name ("mic", "Microphone (USB Audio)") or its
description ("VirtualMic", what PulseAudio's volume control shows). A name that matches nothing is one
error listing what is there, before anything is created or started.
"""

from __future__ import annotations

from meeting_tui.types import DeviceInfo, DeviceRef, Source

# Windows: MME cuts names at 31 characters, PortAudio at 127 bytes; a name this long may be a cut one.
_CUT_NAME_CHARS = 31
_LOOPBACK_SUFFIX = " [Loopback]"
KIND_WORDS = {Source.MIC: "microphone", Source.LOOPBACK: "loopback source"}


class DeviceNotFound(ValueError):
    """The message lists the devices that do exist, by the names users see."""


def _keys(device: DeviceInfo) -> list[str]:
    name = device.ref.name
    keys = [name, name.removesuffix(_LOOPBACK_SUFFIX)]
    if device.description:
        keys.append(device.description)
    return [k.casefold() for k in keys]


def _cut_match(candidate: str, wanted: str) -> bool:
    short, long = sorted((candidate, wanted), key=len)
    return len(short) >= _CUT_NAME_CHARS and long.startswith(short)


def find_device(wanted: DeviceRef, devices: list[DeviceInfo], kind: Source) -> DeviceRef:
    """The device ``wanted`` names (by name, description, or a part of either that only one device has),
    keeping the host API the user gave. Raises DeviceNotFound listing the devices of ``kind``."""
    if wanted.name.startswith("@") and wanted.name.endswith("@"):  # PulseAudio's @DEFAULT_SOURCE@ and kin
        return wanted
    present = [d for d in devices if d.kind is kind]
    same_api = [d for d in present if not wanted.hostapi or d.ref.hostapi == wanted.hostapi] or present
    needle = wanted.name.casefold()
    for test in (lambda k: k == needle, lambda k: _cut_match(k, needle), lambda k: needle in k):
        hits = {d.ref.name: d for d in same_api if any(test(k) for k in _keys(d))}
        if len(hits) == 1:
            return DeviceRef(next(iter(hits)), wanted.hostapi)
        if len(hits) > 1:
            names = ", ".join(f'"{n}"' for n in hits)
            raise DeviceNotFound(f'"{wanted.name}" could be any of these {KIND_WORDS[kind]}s: {names}; '
                                 f"give the whole name. {listing(devices, kind)}")
    if kind is Source.MIC:  # any input records as a mic (a speakers' monitor: the wrong-source notice says so)
        exact = {d.ref.name for d in devices if d.ref.name.casefold() == needle}
        if len(exact) == 1:
            return DeviceRef(exact.pop(), wanted.hostapi)
    raise DeviceNotFound(f'no {KIND_WORDS[kind]} named "{wanted.name}". {listing(devices, kind)}')


def listing(devices: list[DeviceInfo], kind: Source) -> str:
    """The devices of ``kind`` present now, as a user would pick them."""
    present = [d for d in devices if d.kind is kind]
    if not present:
        return f"No {KIND_WORDS[kind]} is connected (`meeting-tui devices` lists them once there is one)."
    shown = ", ".join(shown_name(d) for d in present)
    return f"{KIND_WORDS[kind].capitalize()}s here: {shown} (see `meeting-tui devices`)."


def shown_name(device: DeviceInfo) -> str:
    """ "mic" (VirtualMic), the name and, when it differs, what the system calls it."""
    extra = f" ({device.description})" if device.description and device.description != device.ref.name else ""
    return f'"{device.ref.name}"{extra}'


def resolve_named(mic: DeviceRef | None, loopback: DeviceRef | None,
                  devices: list[DeviceInfo]) -> tuple[DeviceRef | None, DeviceRef | None]:
    """Both named devices found (None stays None: the system default). Raises DeviceNotFound."""
    return (find_device(mic, devices, Source.MIC) if mic is not None else None,
            find_device(loopback, devices, Source.LOOPBACK) if loopback is not None else None)
