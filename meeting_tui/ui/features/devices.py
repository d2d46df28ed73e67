"""The devices: listing them in the background, the picker, the doctor and its recommendation."""

from __future__ import annotations

from textual import work

from meeting_tui.meeting.setup import list_devices
from meeting_tui.types import Source
from meeting_tui.ui.features.fix_hint import fix_hint
from meeting_tui.ui.messages import DevicesListed
from meeting_tui.ui.screens.device_picker import DevicePick, DevicePicker
from meeting_tui.ui.widgets.transcript import Note
from meeting_tui.wording import plural


class DeviceControl:
    """Devices and the doctor. Mixed into ``MeetingApp``."""

    def device_lister(self):
        return list_devices(self.demo)

    @work(thread=True, exclusive=True, group="devices")
    def list_devices_in_background(self) -> None:
        try:
            devices = self.device_lister()
        except Exception as exc:
            self.post_message(DevicesListed([], str(exc)))
            return
        self.post_message(DevicesListed(devices))

    def on_devices_listed(self, message: DevicesListed) -> None:
        self._devices = message.devices
        if self._announce_devices and not message.error:
            self._announce_devices = False
            mics = sum(d.kind is Source.MIC for d in message.devices)
            self.notify(f"{plural(mics, 'microphone')}, {plural(len(message.devices) - mics, 'loopback source')}.",
                        title="Devices", timeout=4)
        self._device_error = message.error
        if message.error:
            self.notify(f"Cannot list audio devices: {message.error}\n{fix_hint()}", title="Devices",
                        severity="error", timeout=15)
            return
        from meeting_tui.meeting.devices import reconcile_devices

        found = reconcile_devices(self.settings, message.devices)
        if found.missing:
            self.notify(f"No {' and no '.join(found.missing)} found.\n{fix_hint()}", title="Devices",
                        severity="warning", timeout=15)
        for notice in found.notices:
            self.notify(notice, title="Devices", severity="warning", timeout=10)
        if found.changed:
            self.schedule_settings_save()
            self.restart_capture()

    def action_pick_devices(self) -> None:
        current = DevicePick(self._stored_ref(Source.MIC), self._stored_ref(Source.LOOPBACK))
        self.push_screen(DevicePicker(self.device_lister, current, devices=None), self._devices_picked)

    def _devices_picked(self, pick: DevicePick | None) -> None:
        if pick is None:
            return
        from meeting_tui.settings import DeviceSetting

        current = DevicePick(self._stored_ref(Source.MIC), self._stored_ref(Source.LOOPBACK))
        if pick == current:
            return
        self.settings.capture.mic_device = DeviceSetting.from_ref(pick.mic)
        self.settings.capture.loopback_device = DeviceSetting.from_ref(pick.loopback)
        self.schedule_settings_save()
        self.notify(f"Mic: {pick.mic or 'system default'}\nSystem audio: {pick.loopback or 'system default'}",
                    title="Devices", timeout=4)
        if self.core.recording:
            self.feed_items([Note(self._session_time(), "devices changed")])
        self._show_mode()
        self.restart_capture()

    def action_refresh_devices(self) -> None:
        self._announce_devices = True
        self.list_devices_in_background()

    def action_doctor(self) -> None:
        from meeting_tui.ui.screens.doctor import DoctorScreen

        self.push_screen(DoctorScreen(self.doctor_runner), self._doctor_done)

    def doctor_runner(self, progress):
        """Runs the doctor's probes (on a thread): each in worker subprocesses, never in this process."""
        from meeting_tui.doctor.probes import run_doctor

        mic, loop = self._stored_ref(Source.MIC), self._stored_ref(Source.LOOPBACK)
        return run_doctor(mic=mic.name if mic else None, loopback=loop.name if loop else None, progress=progress)

    def _doctor_done(self, rec) -> None:
        from meeting_tui.meeting.devices import apply_recommendation

        mode = apply_recommendation(self.settings, rec)
        if mode is None:
            return
        self.notify(f"Doctor: {rec.text}", title="Doctor", timeout=8)
        if mode is self.mode:  # same mode, maybe other devices
            self.schedule_settings_save()
            self._show_mode()
            self.restart_capture()
        else:
            self.action_set_mode(mode.value)  # saves the settings and restarts capture
