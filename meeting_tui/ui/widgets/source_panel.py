"""One source's row: title and device, gain, health badge, the meter, and the hint line."""

from __future__ import annotations

import time
from typing import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from meeting_tui.types import Health, Level, Source
from meeting_tui.ui.widgets.health_badge import HealthBadge
from meeting_tui.ui.widgets.vu_meter import VUMeter


class SourcePanel(Vertical):
    DEFAULT_CSS = """
    SourcePanel { height: 3; padding: 0 1; }
    SourcePanel > .row { height: 1; }
    SourcePanel .who { width: auto; text-style: bold; padding-right: 2; }
    SourcePanel.-mic .who { color: $speaker-you; }
    SourcePanel.-loopback .who { color: $speaker-them; }
    SourcePanel .device { width: 1fr; min-width: 16; height: 1; color: $text-muted; }
    SourcePanel .gain { width: auto; padding-left: 1; }
    SourcePanel .hint { height: 1; color: $warning; text-wrap: nowrap; text-overflow: ellipsis; }
    SourcePanel.-inactive .who { color: $text-disabled; }
    """

    def __init__(self, source: Source, who: str, *, clock: Callable[[], float] = time.monotonic,
                 id: str | None = None) -> None:
        super().__init__(id=id, classes=f"-{source.value}")
        self.source = source
        self.who = who
        self.clock = clock
        self.gain_db = 0.0
        self.device_text = ""

        self._device = Label("", classes="device", markup=False)  # device names: "[Loopback]"...
        self._gain = Label(self._gain_text(), classes="gain")
        self._badge = HealthBadge(self.source)
        self._meter = VUMeter(clock=self.clock)
        self._hint = Static("", classes="hint", markup=False)  # may quote an error text

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label(self.who, classes="who", markup=False)  # the user's label
            yield self._device
            yield self._gain
            yield self._badge
        yield self._meter
        yield self._hint

    @property
    def meter(self) -> VUMeter:
        return self._meter

    @property
    def badge(self) -> HealthBadge:
        return self._badge

    @property
    def hint(self) -> str:
        return str(self._hint.content)

    def _gain_text(self) -> str:
        return f"gain {self.gain_db:+.1f} dB"

    def set_gain(self, db: float) -> None:
        self.gain_db = db
        self._gain.update(self._gain_text())

    def set_device(self, text: str) -> None:
        self.device_text = text
        self._device.update(text)

    def set_health(self, health: Health) -> None:
        self.badge.set_health(health)

    def set_hint(self, text: str) -> None:
        hint = self._hint
        if str(hint.content) != text:
            hint.update(text)

    def show_level(self, level: Level | None, now: float | None = None) -> None:
        self.meter.show(level, now)

    def set_active(self, active: bool) -> None:
        self.set_class(not active, "-inactive")
