"""The capture mode: what the panels show for it, switching it, (re)starting capture."""

from __future__ import annotations

from textual import work

from meeting_tui.meeting import CaptureSetup
from meeting_tui.meeting.setup import file_specs
from meeting_tui.types import Health, HealthState, Mode, Source
from meeting_tui.ui.actions import MODE_ACTIONS
from meeting_tui.ui.features.fix_hint import fix_hint
from meeting_tui.ui.messages import CaptureStarted
from meeting_tui.ui.screens.mode_picker import ModePicker
from meeting_tui.ui.widgets.transcript import Note


class CaptureControl:
    """Mode and capture. Mixed into ``MeetingApp``."""

    def _device_text(self, source: Source) -> str:
        if self.demo:
            from meeting_tui.demo import default_ref

            ref = self._stored_ref(source) or default_ref(source)
            return f"{ref.name} (demo recording)"
        ref = self._stored_ref(source)
        return str(ref) if ref else "system default"

    def _stored_ref(self, source: Source):
        cap = self.settings.capture
        setting = cap.mic_device if source is Source.MIC else cap.loopback_device
        return setting.to_ref() if setting is not None else None

    def _show_mode(self) -> None:
        for source in (Source.MIC, Source.LOOPBACK):
            panel = self.panel(source)
            active = source in self.mode.sources
            panel.set_active(active)
            panel.set_device(self._device_text(source) if active else "not captured in this mode")
            if not active:
                panel.set_health(Health(source, HealthState.STOPPED, f"not used in {self.mode.label}"))
            elif not self.capture_enabled:
                pass
            else:
                panel.set_health(self._health.get(source) or Health(source, HealthState.STARTING, "starting capture"))
        self._update_hints()
        self._update_status()

    def capture_setup(self) -> CaptureSetup:
        files = None
        if self.files:
            files = file_specs({s: p for s, p in self.files.items() if s in self.mode.sources}, speed=self.files_speed)
        return CaptureSetup(mode=self.mode, mic=self._stored_ref(Source.MIC), loopback=self._stored_ref(Source.LOOPBACK),
                            gains_db=self.settings.capture.gains_db.as_dict(), demo=self.demo, files=files)

    @work(group="capture")
    async def restart_capture(self) -> None:
        """Not an exclusive worker: requests queue in the core and only the newest starts an engine."""
        if not self.capture_enabled:
            return
        self._capture_gen += 1
        gen = self._capture_gen
        self._levels.clear()
        self._health.clear()
        self._show_mode()
        try:
            started = await self.core.start_capture(self.capture_setup, lambda: gen == self._capture_gen)
        except Exception as exc:
            self.post_message(CaptureStarted(str(exc)))
            return
        if started:
            self._levels.clear()
            self._health.clear()
            self.post_message(CaptureStarted())

    def on_capture_started(self, message: CaptureStarted) -> None:
        if message.error:
            self.notify(f"Capture could not start: {message.error}\n{fix_hint()}", title="Capture",
                        severity="error", timeout=15)
        self._show_mode()

    def action_set_mode(self, value: str) -> None:
        mode = Mode(value)
        if mode is Mode.MEETING_FFMPEG and not self.ffmpeg_available:
            self.notify(f"Meeting via FFmpeg is not available here: {self.ffmpeg_note}", severity="warning", timeout=8)
            return
        if mode is self.mode:
            return
        self.settings.capture.mode = mode
        self.schedule_settings_save()
        if self.core.recording:
            self.feed_items([Note(self._session_time(), f"mode: {mode.label}")])
        self.notify(f"Mode: {mode.label}", timeout=3)
        self._show_mode()
        self.restart_capture()

    def _session_time(self) -> float:
        return self.core.session_time() or 0.0

    def action_pick_mode(self) -> None:
        keys = {m: self.key_for(MODE_ACTIONS[m]) for m in Mode}
        self.push_screen(ModePicker(self.mode, ffmpeg=self.ffmpeg_available, keys=keys),
                         lambda mode: self.action_set_mode(mode.value) if mode is not None else None)
