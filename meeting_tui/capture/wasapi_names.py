"""Naming rules for Windows capture devices under sounddevice/PortAudio: pure functions, no audio import.

Checked against the sources (details in docs/windows.md):
- sounddevice matches a string device query against ``"<device name>, <host API name>"``
  (``_get_device_id`` in spatialaudio/python-sounddevice src/sounddevice.py): space-separated,
  case-insensitive substrings in order, and when several devices match, the one whose full string equals
  the query wins. So ``"<name>, Windows WASAPI"`` selects that device's WASAPI entry exactly.
- PortAudio's host API names: "MME", "Windows DirectSound", "Windows WASAPI", "Windows WDM-KS".
- MME copies ``WAVEINCAPS.szPname``, 32 UTF-16 units with the terminator, so MME names are cut to 31
  units (portaudio src/hostapi/wmme/pa_win_wmme.c). The same microphone is "Microphone (Realtek(R) Audio)"
  under WASAPI and possibly a truncated prefix of it under MME: match them with ``same_device``.
- Never ``WasapiSettings(auto_convert=True)`` for capture (all-zero buffers on some Windows 11 24H2
  endpoints); open the mic at its own rate, shared mode.
"""

from __future__ import annotations

from typing import Iterable

WASAPI = "Windows WASAPI"
MME = "MME"
DIRECTSOUND = "Windows DirectSound"
WDMKS = "Windows WDM-KS"
MME_NAME_UNITS = 31  # szPname[32] minus the terminator, in UTF-16 code units

#: Preference when the same device appears under several host APIs.
HOSTAPI_PREFERENCE = (WASAPI, DIRECTSOUND, MME, WDMKS)


def wasapi_query(name: str) -> str:
    """The sounddevice device query that selects ``name``'s WASAPI entry."""
    return device_query(name, WASAPI)


def device_query(name: str, hostapi: str) -> str:
    return f"{name}, {hostapi}"


def mme_truncate(name: str) -> str:
    """``name`` as MME shows it: at most 31 UTF-16 code units (a surrogate pair is never split)."""
    units = 0
    for i, ch in enumerate(name):
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > MME_NAME_UNITS:
            return name[:i]
        units += width
    return name


def is_mme_truncated(name: str) -> bool:
    return len(name.encode("utf-16-le")) // 2 >= MME_NAME_UNITS


def same_device(a: str, b: str) -> bool:
    """Whether two device names from different host APIs name the same device.

    Equal names, or one is exactly the MME cut of the other (only a name that reaches the 31-unit limit
    can be a cut: "Microphone" does not match "Microphone Array").
    """
    if a == b:
        return True
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return is_mme_truncated(short) and mme_truncate(long_) == short


def find_input(devices: Iterable[dict], hostapis: Iterable[dict], name: str,
               hostapi: str | None = WASAPI) -> int | None:
    """Index of the input device called ``name`` under ``hostapi`` in sounddevice's lists.

    ``devices`` are ``sd.query_devices()`` dicts (name, hostapi index, max_input_channels); ``hostapis``
    are ``sd.query_hostapis()`` dicts (name). ``name`` may come from another host API (an MME-truncated
    name stored earlier): exact matches win, then MME-cut matches, and an ambiguous cut returns None.
    With ``hostapi=None`` the preferred host API (WASAPI first) among the matches is chosen.
    """
    api_names = [h["name"] for h in hostapis]
    exact, cut = [], []
    for idx, dev in enumerate(devices):
        if int(dev.get("max_input_channels", 0)) <= 0:
            continue
        api = api_names[dev["hostapi"]] if 0 <= dev["hostapi"] < len(api_names) else ""
        if hostapi is not None and api != hostapi:
            continue
        if dev["name"] == name:
            exact.append((idx, api))
        elif same_device(dev["name"], name):
            cut.append((idx, api))
    for pool in (exact, cut):
        if not pool:
            continue
        if hostapi is None:
            pool.sort(key=lambda p: HOSTAPI_PREFERENCE.index(p[1]) if p[1] in HOSTAPI_PREFERENCE else 99)
            best = [p for p in pool if p[1] == pool[0][1]]
            return best[0][0] if len(best) == 1 else None
        return pool[0][0] if len(pool) == 1 else None
    return None


def default_input(hostapis: Iterable[dict]) -> int | None:
    """WASAPI's default input device index (``sd.query_hostapis()`` dicts), or None."""
    for api in hostapis:
        if api["name"] == WASAPI and int(api.get("default_input_device", -1)) >= 0:
            return int(api["default_input_device"])
    return None


def windows_mic_rows(devices: list[dict], hostapis: list[dict]) -> list[dict]:
    """The microphone list for the picker: one row per device.

    WDM-KS entries are dropped (kernel streaming usually cannot open a device another app uses), and a
    device listed under several host APIs keeps only its preferred entry (WASAPI first; an MME name cut
    to 31 units counts as the same device).
    """
    api_names = [h["name"] for h in hostapis]
    default_idx = default_input(hostapis)
    candidates = []
    for idx, dev in enumerate(devices):
        api = api_names[dev["hostapi"]] if 0 <= dev["hostapi"] < len(api_names) else ""
        if int(dev.get("max_input_channels", 0)) <= 0 or api == WDMKS:
            continue
        candidates.append((HOSTAPI_PREFERENCE.index(api) if api in HOSTAPI_PREFERENCE else 99, idx, dev, api))
    candidates.sort(key=lambda c: (c[0], c[1]))
    rows: list[dict] = []
    for _, idx, dev, api in candidates:
        if any(same_device(dev["name"], r["name"]) for r in rows):
            continue  # a less preferred host API's entry for a device already listed
        rows.append({"name": dev["name"], "hostapi": api, "kind": "mic", "channels": int(dev["max_input_channels"]),
                     "samplerate": dev["default_samplerate"], "is_default": idx == default_idx, "description": ""})
    return rows


def wasapi_settings_kwargs() -> dict:
    """Keyword arguments for ``sd.WasapiSettings`` when capturing: shared mode, never auto_convert."""
    return {"exclusive": False, "auto_convert": False}


from meeting_tui.capture.devices import is_hands_free  # noqa: E402,F401  (one definition, re-exported)
