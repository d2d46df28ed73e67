"""The two gains: a step per key, reset, applied live and saved; and the settings file saved after changes."""

from __future__ import annotations

from meeting_tui.types import Source

GAIN_STEP_DB = 1.0
GAIN_MIN_DB, GAIN_MAX_DB = -60.0, 40.0
SETTINGS_SAVE_DELAY_S = 0.4

class GainsAndSettings:
    """Gains; settings saved shortly after the last change. Mixed into ``MeetingApp``."""

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

    def schedule_settings_save(self) -> None:
        """Save shortly after the last change (holding a gain key does not write the file 30 times)."""
        self._settings_dirty = True
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SETTINGS_SAVE_DELAY_S, self.flush_settings)

    def flush_settings(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        if not self._settings_dirty:
            return
        self._settings_dirty = False
        problem = self.store.save()
        if problem:
            self.notify(problem, title="Settings", severity="warning", timeout=10)
