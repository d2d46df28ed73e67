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
    SourcePanel .who { width: auto; text-style: bold; padding-right: 1; }
    SourcePanel.-mic .who { color: $speaker-you; }
    SourcePanel.-loopback .who { color: $speaker-them; }
    SourcePanel .device { width: 1fr; color: $text-muted; }
    SourcePanel .gain { width: auto; padding-left: 1; }
    SourcePanel .hint { height: 1; color: $warning; }
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

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label(self.who, classes="who")
            yield Label("", classes="device")
            yield Label(self._gain_text(), classes="gain")
            yield HealthBadge(self.source)
        yield VUMeter(clock=self.clock)
        yield Static("", classes="hint")

    @property
    def meter(self) -> VUMeter:
        return self.query_one(VUMeter)

    @property
    def badge(self) -> HealthBadge:
        return self.query_one(HealthBadge)

    @property
    def hint(self) -> str:
        return str(self.query_one(".hint", Static).content)

    def _gain_text(self) -> str:
        return f"gain {self.gain_db:+.1f} dB"

    def set_gain(self, db: float) -> None:
        self.gain_db = db
        if self.is_mounted:
            self.query_one(".gain", Label).update(self._gain_text())

    def set_device(self, text: str) -> None:
        self.device_text = text
        self.query_one(".device", Label).update(text)

    def set_health(self, health: Health) -> None:
        self.badge.set_health(health)

    def set_hint(self, text: str) -> None:
        hint = self.query_one(".hint", Static)
        if str(hint.content) != text:
            hint.update(text)

    def show_level(self, level: Level | None, now: float | None = None) -> None:
        self.meter.show(level, now)

    def set_active(self, active: bool) -> None:
        self.set_class(not active, "-inactive")
