"""When to start and stop: a call starts when an application other than us opens the mic; it ends when
none is left, or after ``silence_s`` without a transcribed line (then we wait for the mic to be let go
before the next call may start, so one long silent call is not recorded again and again)."""

from __future__ import annotations

from dataclasses import dataclass

from meeting_tui.callwatch.probe import MicUser


@dataclass(frozen=True)
class Start:
    users: tuple[MicUser, ...]

    def describe(self) -> str:
        apps = sorted({u.app for u in self.users})
        return f"{', '.join(apps)} opened the microphone"


@dataclass(frozen=True)
class Stop:
    reason: str


class CallWatcher:
    def __init__(self, silence_s: float) -> None:
        self.silence_s = silence_s
        self.state = "idle"  # idle | recording | held (stopped for silence, the mic still in use)
        self._since = 0.0

    def step(self, users: list[MicUser], now: float, last_speech: float | None = None) -> Start | Stop | None:
        if self.state == "held" and not users:
            self.state = "idle"
        if self.state == "idle" and users:
            self.state, self._since = "recording", now
            return Start(tuple(users))
        if self.state == "recording":
            if not users:
                self.state = "idle"
                return Stop("the call released the microphone")
            quiet_since = max(self._since, last_speech or 0.0)
            if now - quiet_since >= self.silence_s:
                self.state = "held"
                return Stop(f"no speech for {_minutes(self.silence_s)}")
        return None

    def ended(self) -> None:
        """The recording ended by itself (it failed): wait for this call to end before the next."""
        if self.state == "recording":
            self.state = "held"


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}" if minutes >= 1 else f"{seconds:g} s"
