"""Before `record` or `monitor` creates anything: the devices they were told to use are here."""

from __future__ import annotations

from meeting_tui.commands.output import err
from meeting_tui.types import DeviceInfo, Source


def check_devices(setup, devices: list[DeviceInfo], named: dict[Source, bool]) -> str | None:
    """A device named on the command line that is not here: the error, listing those that are (``setup``
    then uses the device's own name, e.g. for one given by its description). A device saved in the
    settings that is gone falls back to the system default, with a warning on stderr."""
    from meeting_tui.capture.device_lookup import DeviceNotFound, find_device
    from meeting_tui.settings import resolve_device

    for source, attr in ((Source.MIC, "mic"), (Source.LOOPBACK, "loopback")):
        ref = getattr(setup, attr)
        if ref is None or source not in setup.mode.sources:
            continue
        if named.get(source):
            try:
                setattr(setup, attr, find_device(ref, devices, source))
            except DeviceNotFound as exc:
                return str(exc)
        elif not any(d.kind is source for d in devices):
            continue
        else:
            fallback, notice = resolve_device(ref, devices, source)
            if notice:
                err(f"warning: {notice}")
                setattr(setup, attr, fallback)
    return None
