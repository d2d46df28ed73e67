"""Windows: the capability access manager's per-app microphone records in the registry.

``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\CapabilityAccessManager\\ConsentStore\\microphone``
has a subkey per packaged (Store) app, named by its package family (``Microsoft.SkypeApp_kzf8qxf38zg5c``),
and a ``NonPackaged`` subkey with one per desktop program, named by its path with ``#`` for ``\\``
(``C:#Program Files#Zoom#bin#Zoom.exe``). Each holds ``LastUsedTimeStart`` and ``LastUsedTimeStop``
(REG_QWORD FILETIMEs); while the app uses the mic, Stop is 0 (or older than Start). This is the record
behind the taskbar's microphone icon; the shape is read from published descriptions (docs/callwatch.md),
not exercised on a Windows machine here, and contract-tested in tests/test_callwatch.py.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from meeting_tui.callwatch.probe import MicUser, ProbeError

CONSENT_STORE = r"Software\Microsoft\Windows\CurrentVersion\CapabilityAccessManager\ConsentStore\microphone"
NON_PACKAGED = "NonPackaged"


def in_use(start: int | None, stop: int | None) -> bool:
    return bool(start) and (not stop or stop < start)


def app_name(key: str, packaged: bool) -> str:
    if packaged:
        return key.split("_")[0]  # Microsoft.SkypeApp_kzf8qxf38zg5c -> Microsoft.SkypeApp
    return key.replace("#", "\\").rsplit("\\", 1)[-1]  # C:#...#Zoom.exe -> Zoom.exe


def users_from_records(records: Iterable[tuple[str, bool, int | None, int | None]], *,
                       own_executables: Iterable[str] = ()) -> list[MicUser]:
    """(subkey name, packaged, LastUsedTimeStart, LastUsedTimeStop) -> the apps using the mic now; our own
    interpreter (the capture workers run on it) left out."""
    ours = {p.lower().replace("\\", "#") for p in own_executables}
    users = []
    for key, packaged, start, stop in records:
        if in_use(start, stop) and not (not packaged and key.lower() in ours):
            users.append(MicUser(app_name(key, packaged), None, f"win:{key}"))
    return users


def read_records(winreg: Any, root: Any = None) -> list[tuple[str, bool, int | None, int | None]]:
    """Walk the consent store with a ``winreg``-like module."""
    root = winreg.HKEY_CURRENT_USER if root is None else root
    out: list[tuple[str, bool, int | None, int | None]] = []
    try:
        store = winreg.OpenKey(root, CONSENT_STORE)
    except OSError as exc:
        raise ProbeError("this Windows keeps no microphone records (Windows 10 1903 or newer is needed)") from exc
    with store:
        for name in _subkeys(winreg, store):
            if name == NON_PACKAGED:
                with winreg.OpenKey(store, NON_PACKAGED) as np:
                    for prog in _subkeys(winreg, np):
                        with winreg.OpenKey(np, prog) as key:
                            out.append((prog, False, *_times(winreg, key)))
            else:
                with winreg.OpenKey(store, name) as key:
                    out.append((name, True, *_times(winreg, key)))
    return out


def _subkeys(winreg: Any, key: Any) -> list[str]:
    names, i = [], 0
    while True:
        try:
            names.append(winreg.EnumKey(key, i))
        except OSError:
            return names
        i += 1


def _times(winreg: Any, key: Any) -> tuple[int | None, int | None]:
    values = []
    for name in ("LastUsedTimeStart", "LastUsedTimeStop"):
        try:
            value, _ = winreg.QueryValueEx(key, name)
            values.append(int(value))
        except (OSError, TypeError, ValueError):
            values.append(None)
    return values[0], values[1]


class ConsentStoreProbe:
    def users(self) -> list[MicUser]:
        import winreg  # Windows only

        return users_from_records(read_records(winreg), own_executables=[sys.executable])
