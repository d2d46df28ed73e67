"""The two gains: a step per key, reset, applied live and saved."""

from __future__ import annotations

from meeting_tui.types import Source

GAIN_STEP_DB = 1.0
GAIN_MIN_DB, GAIN_MAX_DB = -60.0, 40.0


class GainControl:
    """Gains. Mixed into ``MeetingApp``."""

    def action_gain(self, source: str, steps: int) -> None:
        src = Source(source)
        gains = self.settings.capture.gains_db
        value = min(GAIN_MAX_DB, max(GAIN_MIN_DB, getattr(gains, src.value) + steps * GAIN_STEP_DB))
        self.set_gain(src, value)

    def set_gain(self, source: Source, db: float) -> None:
        setattr(self.settings.capture.gains_db, source.value, float(db))
        self.core.set_gain(source, float(db))
        self.panel(source).set_gain(float(db))
        self.schedule_settings_save()

    def action_reset_gains(self) -> None:
        self.set_gain(Source.MIC, 0.0)
        self.set_gain(Source.LOOPBACK, 0.0)
