"""A one-line VU meter: RMS bar with peak hold, dBFS readout and a clip mark.

Takes plain :class:`~meeting_tui.types.Level` values. The app calls :meth:`VUMeter.show` once per frame
(30 a second) with the newest level; the meter repaints only when what it would draw changed, so an idle
dashboard costs almost nothing. Colours come from the theme through component classes.
"""

from __future__ import annotations

import math
import time
from typing import Callable

from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from meeting_tui.types import Level
from meeting_tui.ui.console import fine_blocks

FLOOR_DB = -60.0
MID_DB = -18.0
HIGH_DB = -6.0
PEAK_HOLD_S = 1.5
PEAK_FALL_DB_PER_S = 20.0
CLIP_HOLD_S = 1.0
READOUT_WIDTH = 17  # " -23.4 dBFS CLIP "
_EIGHTHS = " ▏▎▍▌▋▊▉█"
# The legacy Windows console with Consolas has only full and half blocks (ui/console.py): eighths rounded.
_HALVES = "   ▌▌▌██"


def fraction(db: float) -> float:
    """Position of ``db`` on the bar, 0..1."""
    if db is None or math.isnan(db) or db <= FLOOR_DB:
        return 0.0
    return min(1.0, (db - FLOOR_DB) / -FLOOR_DB)


class VUMeter(Widget):
    """RMS bar, peak-hold tick, readout. ``show(None)`` draws a dead meter (no data from the source)."""

    COMPONENT_CLASSES = {
        "vu-meter--low",
        "vu-meter--mid",
        "vu-meter--high",
        "vu-meter--clip",
        "vu-meter--peak",
        "vu-meter--track",
        "vu-meter--readout",
        "vu-meter--dead",
    }

    DEFAULT_CSS = """
    VUMeter { height: 1; width: 1fr; }
    VUMeter > .vu-meter--low { color: $vu-low; background: $vu-track; }
    VUMeter > .vu-meter--mid { color: $vu-mid; background: $vu-track; }
    VUMeter > .vu-meter--high { color: $vu-high; background: $vu-track; }
    VUMeter > .vu-meter--clip { color: $vu-clip; text-style: bold; }
    VUMeter > .vu-meter--peak { color: $vu-peak; background: $vu-track; }
    VUMeter > .vu-meter--track { background: $vu-track; }
    VUMeter > .vu-meter--readout { color: $foreground; }
    VUMeter > .vu-meter--dead { color: $text-disabled; }
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock = clock
        fine = fine_blocks()
        self._parts, self._peak_mark = (_EIGHTHS, "▏") if fine else (_HALVES, "│")
        self.level: Level | None = None
        self.peak_hold_db = -math.inf
        self._peak_time = -math.inf
        self._clip_time = -math.inf
        self._drawn: tuple | None = None
        self.frames_drawn = 0

    # --- state -----------------------------------------------------------------------------------------

    def show(self, level: Level | None, now: float | None = None) -> None:
        """Take the newest level (or None: no data) and repaint if the picture changed."""
        now = self._clock() if now is None else now
        self.level = level
        if level is None:
            self.peak_hold_db = -math.inf
        else:
            held = self._held_peak(now)
            if level.peak_db >= held:
                self.peak_hold_db, self._peak_time = level.peak_db, now
            if level.clipped:
                self._clip_time = now
        self._now = now
        key = self._picture_key(max(1, self.size.width - READOUT_WIDTH), now)
        if key != self._drawn:
            self.refresh()

    def _held_peak(self, now: float) -> float:
        age = now - self._peak_time
        if age <= PEAK_HOLD_S:
            return self.peak_hold_db
        return self.peak_hold_db - (age - PEAK_HOLD_S) * PEAK_FALL_DB_PER_S

    @property
    def clipping(self) -> bool:
        return getattr(self, "_now", 0.0) - self._clip_time <= CLIP_HOLD_S

    def _picture_key(self, bar: int, now: float) -> tuple:
        if self.level is None:
            return ("dead", bar)
        rms = round(fraction(self.level.rms_db) * bar * 8)
        peak = int(fraction(self._held_peak(now)) * bar)
        return (rms, peak, self.readout(), now - self._clip_time <= CLIP_HOLD_S, bar)

    def readout(self) -> str:
        if self.level is None:
            return "    -- dBFS"
        db = self.level.rms_db
        if db is None or math.isinf(db) or math.isnan(db) or db < -99.9:
            return "  -inf dBFS"
        return f"{db:6.1f} dBFS"

    # --- drawing ---------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y != 0 or width <= 0:
            return Strip.blank(width, base)
        bar = max(1, width - READOUT_WIDTH)
        now = getattr(self, "_now", self._clock())
        self._drawn = self._picture_key(bar, now)
        self.frames_drawn += 1
        style = self.get_component_rich_style
        segments: list[Segment] = []
        if self.level is None:
            dead = style("vu-meter--dead")
            segments.append(Segment("·" * bar, style("vu-meter--track") + dead))
            segments.append(Segment(" " + self.readout(), base + dead))
            return Strip(segments).extend_cell_length(width, base).crop(0, width)
        eighths = round(fraction(self.level.rms_db) * bar * 8)
        full, part = divmod(eighths, 8)
        peak_cell = min(bar - 1, int(fraction(self._held_peak(now)) * bar)) if self._held_peak(now) > FLOOR_DB else -1
        low, mid, high = style("vu-meter--low"), style("vu-meter--mid"), style("vu-meter--high")
        track, peak = style("vu-meter--track"), style("vu-meter--peak")
        for cell in range(bar):
            db_at = FLOOR_DB + (cell + 0.5) / bar * -FLOOR_DB
            colour = low if db_at < MID_DB else mid if db_at < HIGH_DB else high
            if cell < full:
                segments.append(Segment("█", colour))
            elif cell == full and part:
                segments.append(Segment(self._parts[part], colour))
            elif cell == peak_cell:
                segments.append(Segment(self._peak_mark, peak))
            else:
                segments.append(Segment(" ", track))
        segments.append(Segment(" " + self.readout(), base + style("vu-meter--readout")))
        if now - self._clip_time <= CLIP_HOLD_S:
            segments.append(Segment(" CLIP", base + style("vu-meter--clip")))
        return Strip(Segment.simplify(segments)).extend_cell_length(width, base).crop(0, width)

    def on_resize(self) -> None:
        self._drawn = None
        self.refresh()
