"""Health transitions as `record` and `monitor` print them: text and JSON."""

from __future__ import annotations

from meeting_tui.meeting.events import HealthEvent
from meeting_tui.types import HealthState


class Transitions:
    """Which health changes are worth a line: a problem or idle as it starts, "recovered" when a source is
    live again after a problem (through a restart's "starting"), "live" after idle; not the start-up, a new
    reason for the same state, or the stop at the end."""

    def __init__(self) -> None:
        self._shown: dict = {}

    def __call__(self, event: HealthEvent) -> str | None:
        source, state = event.health.source, event.health.state
        last = self._shown.get(source)
        if state in (HealthState.STARTING, HealthState.STOPPED) or state is last:
            return None
        if state is HealthState.LIVE and last is None:
            self._shown[source] = state  # the first live block: not news
            return None
        self._shown[source] = state
        if state is HealthState.LIVE:
            return "recovered" if last.is_problem else "live"
        return state.value


def stamp(seconds: float | None) -> str:
    if seconds is None:
        return "--:--.-"
    m, s = divmod(seconds, 60)
    return f"{int(m):02d}:{s:04.1f}"


def health_text(event: HealthEvent, what: str) -> str:
    h = event.health
    reason = f": {h.reason}" if h.reason else ""
    return f"[health] {stamp(event.time_s)} {h.source.value}: {what}{reason}"


def health_json(event: HealthEvent, what: str) -> dict:
    h = event.health
    return {"type": "health", "source": h.source.value, "state": h.state.value, "event": what,
            "reason": h.reason, "t": None if event.time_s is None else round(event.time_s, 2)}
