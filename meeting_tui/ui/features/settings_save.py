"""The settings file, saved shortly after the last change the dashboard made (gain, theme, mode, devices...)."""

from __future__ import annotations

SETTINGS_SAVE_DELAY_S = 0.4


class SettingsSaving:
    """Settings saved after changes. Mixed into ``MeetingApp``."""

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
