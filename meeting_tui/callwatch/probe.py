"""Who is using the microphone, other than us: one interface, a reader per platform."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class MicUser:
    app: str  # what to tell the user: "zoom", "Microsoft Teams", "parecord"
    pid: int | None = None
    key: str = ""  # stable identity while it holds the mic


class ProbeError(RuntimeError):
    """The platform's records cannot be read; the message names the fix."""


class MicProbe(Protocol):
    def users(self) -> list[MicUser]:
        """The applications using a microphone now, our own capture left out. Raises ProbeError."""


def is_ours(pid: int | None, me: int | None = None) -> bool:
    """A process of this program: this process or one it started (record, its capture workers), or any
    meeting-tui capture worker (a dashboard running beside us does not make a call)."""
    if pid is None:
        return False
    me = os.getpid() if me is None else me
    seen = 0
    current: int | None = pid
    while current and current > 1 and seen < 64:
        if current == me:
            return True
        current = _parent(current)
        seen += 1
    cmdline = _cmdline(pid)
    return "meeting_tui" in cmdline and "worker" in cmdline or "meeting-tui worker" in cmdline


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            stat = fh.read()
        return int(stat[stat.rindex(")") + 2:].split()[1])  # after "(comm)": state, ppid
    except (OSError, ValueError, IndexError):
        return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""
