"""Decisions about devices that a front end only presents: saved devices that are gone, the doctor's
recommendation, what is missing for a mode."""

from __future__ import annotations

from dataclasses import dataclass, field

from meeting_tui.types import DeviceInfo, Mode, Source


@dataclass
class Reconciled:
    notices: list[str] = field(default_factory=list)  # one per saved device replaced by the default
    missing: list[str] = field(default_factory=list)  # "microphone", "loopback source" the mode needs
    changed: bool = False  # the settings were changed: save them and restart capture


def reconcile_devices(settings, devices: list[DeviceInfo]) -> Reconciled:
    """A saved device that is not connected now falls back to the default (changes ``settings``)."""
    from meeting_tui.settings import DeviceSetting, resolve_device

    out = Reconciled()
    kinds = {d.kind for d in devices}
    mode = settings.capture.mode
    out.missing = [name for src, name in ((Source.MIC, "microphone"), (Source.LOOPBACK, "loopback source"))
                   if src in mode.sources and src not in kinds]
    for src, attr in ((Source.MIC, "mic_device"), (Source.LOOPBACK, "loopback_device")):
        stored = getattr(settings.capture, attr)
        if stored is None or src not in kinds:
            continue
        ref, notice = resolve_device(stored, devices, src)
        if notice:
            out.notices.append(notice)
            setattr(settings.capture, attr, DeviceSetting.from_ref(ref))
            out.changed = True
    return out


def apply_recommendation(settings, rec) -> Mode | None:
    """Write the doctor's recommended devices into ``settings``; returns the mode to switch to (None: the
    doctor found nothing that works)."""
    if rec is None or rec.mode is None:
        return None
    from meeting_tui.settings import DeviceSetting

    capture = settings.capture
    if rec.mic_device:
        capture.mic_device = DeviceSetting(name=rec.mic_device, hostapi=rec.hostapi)
    if rec.loopback_device:
        capture.loopback_device = DeviceSetting(name=rec.loopback_device, hostapi=rec.loopback_hostapi)
    return rec.mode


def session_blocker(mode: Mode, devices: list[DeviceInfo] | None, error: str | None) -> str | None:
    """Why a session would record nothing: no device can be listed, or none of the sources ``mode``
    captures is connected (None: go ahead; ``devices`` None: not listed yet)."""
    if error:
        return f"no audio device can be opened ({error})"
    if devices is None:
        return None
    kinds = {d.kind for d in devices}
    if not any(src in kinds for src in mode.sources):
        names = {Source.MIC: "microphone", Source.LOOPBACK: "loopback source"}
        return f"no {' and no '.join(names[s] for s in mode.sources if s in names)} is connected"
    return None
