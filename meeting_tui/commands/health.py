"""Health transitions as `record` and `monitor` print them: text and JSON."""

from __future__ import annotations

from meeting_tui.meeting.events import HealthEvent
from meeting_tui.types import HealthState


def transition(event: HealthEvent) -> str | None:
    """What changed, in a word: the new state, "recovered" (a problem ended), or None (not worth a line:
    starting up, the first live block, the stop at the end)."""
    state, previous = event.health.state, event.previous
    if state in (HealthState.STARTING, HealthState.STOPPED):
        return None
    if state is HealthState.LIVE:
        if previous is not None and (previous.is_problem or previous is HealthState.IDLE):
            return "recovered"
        return None
    return state.value


def stamp(seconds: float | None) -> str:
    if seconds is None:
        return "--:--.-"
    m, s = divmod(seconds, 60)
    return f"{int(m):02d}:{s:04.1f}"


def health_text(event: HealthEvent, what: str) -> str:
    h = event.health
    reason = f": {h.reason}" if h.reason else ""
    return f"[health] {stamp(event.session_s)} {h.source.value}: {what}{reason}"


def health_json(event: HealthEvent, what: str) -> dict:
    h = event.health
    return {"type": "health", "source": h.source.value, "state": h.state.value, "event": what,
            "reason": h.reason, "t": None if event.session_s is None else round(event.session_s, 2)}
