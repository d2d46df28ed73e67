"""The health badge beside each meter, and the one-line hint shown when something is wrong."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from meeting_tui.types import Health, HealthState, Mode, Source

SOURCE_NAMES = {Source.MIC: "microphone", Source.LOOPBACK: "system audio", Source.MIX: "mix"}

_LABELS = {
    HealthState.STARTING: "starting",
    HealthState.LIVE: "live",
    HealthState.IDLE: "idle",
    HealthState.SILENT: "silent",
    HealthState.STALLED: "stalled",
    HealthState.CRASHED: "crashed, restarting",
    HealthState.WRONG_SOURCE: "wrong source",
    HealthState.STOPPED: "off",
}


def state_label(state: HealthState) -> str:
    return _LABELS.get(state, state.value)


def hint_for(health: Health | None, mode: Mode, keys: dict[str, str], *, ffmpeg_available: bool = False) -> str:
    """A one-line hint for a source in trouble (empty when all is well).

    ``keys`` maps action ids ("mode.mic", "mode.loopback", "mode.meeting", "mode.meeting_ffmpeg",
    "devices") to the key that triggers them, so the hint names the user's own (remapped) keys.
    """
    if health is None or not health.state.is_problem:
        return ""
    dev = keys.get("devices", "d")
    src = health.source
    if health.state is HealthState.SILENT:
        if src is Source.MIC and mode in (Mode.MEETING, Mode.MEETING_FFMPEG):
            if mode is Mode.MEETING and ffmpeg_available:
                nxt, key = Mode.MEETING_FFMPEG, keys.get("mode.meeting_ffmpeg", "4")
            else:
                nxt, key = Mode.LOOPBACK, keys.get("mode.loopback", "2")
            return (f"Mic sends only silence: unmute it or allow mic access, pick another ({dev}), "
                    f"or try {nxt.label} ({key}).")
        if src is Source.MIC:
            return f"Mic sends only silence: unmute it, allow mic access, or pick another mic ({dev})."
        return f"System audio sends only silence: pick the output you hear through ({dev})."
    if health.state is HealthState.STALLED:
        return f"No audio arriving from the {SOURCE_NAMES[src]}: it may be unplugged or busy; pick another ({dev})."
    if health.state is HealthState.CRASHED:
        why = f" ({health.last_error})" if health.last_error else ""
        return f"Capture process ended{why}; restarting it. If this repeats, pick another device ({dev})."
    if health.state is HealthState.WRONG_SOURCE:
        if src is Source.MIC:
            return f"The mic hears the same as the system audio: pick your real microphone ({dev})."
        return f"The system audio matches the mic: pick the speakers' loopback, not an input ({dev})."
    return ""


class HealthBadge(Static):
    """``● live  reason`` coloured by state; takes a plain :class:`Health`."""

    DEFAULT_CSS = """
    HealthBadge { width: auto; max-width: 100; height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    HealthBadge.-live { color: $success; }
    HealthBadge.-idle { color: $text-muted; }
    HealthBadge.-starting { color: $primary; }
    HealthBadge.-stopped { color: $text-disabled; }
    HealthBadge.-problem { color: $error; text-style: bold; }
    """

    def __init__(self, source: Source, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.source = source
        self.health: Health | None = None
        self.set_health(Health(source, HealthState.STOPPED, "not captured"))

    def set_health(self, health: Health) -> None:
        if health == self.health:
            return
        self.health = health
        state = health.state
        for cls in ("-live", "-idle", "-starting", "-stopped", "-problem"):
            self.remove_class(cls)
        self.add_class("-problem" if state.is_problem else f"-{state.value}" if state in (
            HealthState.LIVE, HealthState.IDLE, HealthState.STARTING) else "-stopped")
        text = Text("● " + state_label(state), no_wrap=True, overflow="ellipsis")
        if health.reason:
            text.append("  " + health.reason, style="not bold")
        self.update(text)
        self.tooltip = text.plain  # the whole reason where a narrow terminal cuts it
