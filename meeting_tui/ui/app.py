"""The dashboard: two sources with meters and health, the live transcript, status, footer.

This module is the layout and the wiring. The app is a client of :class:`~meeting_tui.meeting.Meeting`
(``app.core``), which owns capture, the session and transcription and sends typed events on the event loop
(``features/pump.py`` shows them). Each feature (devices, gains, sessions, saving...) is a mixin in
``ui/features/``; every key, footer entry, help line and palette entry comes from ``ui/actions.py``.

For snapshots, ``MeetingApp(capture=False, clock=...)`` starts no engine and no model: tests feed plain
Level/Health/Segment values through :meth:`MeetingApp.feed_levels`, :meth:`feed_health` and
:meth:`feed_items` (the same doors the core uses).
"""

from __future__ import annotations

import collections
import os
import time
from pathlib import Path
from typing import Callable

from textual.app import App, ComposeResult
from textual.containers import Vertical

from meeting_tui.meeting import Meeting, TranscriptionStatus, transcriber_config
from meeting_tui.meeting.setup import ffmpeg_mode_available
from meeting_tui.types import Health, Level, Mode, Source
from meeting_tui.ui import actions
from meeting_tui.ui.commands import MeetingCommands
from meeting_tui.ui.console import keymap_warnings
from meeting_tui.ui.features.after_meeting import AfterMeeting
from meeting_tui.ui.features.capture import CaptureControl
from meeting_tui.ui.features.devices import DeviceControl
from meeting_tui.ui.features.gains import GainControl
from meeting_tui.ui.features.memory import MemoryControl
from meeting_tui.ui.features.pump import FRAME_S, CoreEvents, EventPump
from meeting_tui.ui.features.quitting import QuitControl
from meeting_tui.ui.features.saving import SaveControl
from meeting_tui.ui.features.settings_save import SettingsSaving
from meeting_tui.ui.features.sessions import SessionControl
from meeting_tui.ui.features.speakers import SpeakersAndWords
from meeting_tui.ui.features.status import STATUS_EVERY_S, StatusAndKeys
from meeting_tui.ui.features.themes import ThemeControl
from meeting_tui.ui.notices import Notices
from meeting_tui.ui.widgets.source_panel import SourcePanel
from meeting_tui.ui.widgets.footer import MeetingFooter
from meeting_tui.ui.widgets.status_line import StatusLine
from meeting_tui.ui.widgets.transcript import TranscriptView


def _default_opener(path: Path) -> None:
    from meeting_tui.ui.opener import open_folder

    open_folder(path)


class MeetingApp(Notices, EventPump, StatusAndKeys, CaptureControl, DeviceControl, GainControl, SettingsSaving,
                 ThemeControl, SessionControl, SpeakersAndWords, AfterMeeting, SaveControl, MemoryControl, QuitControl,
                 App[int]):
    TITLE = "meeting-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    COMMANDS = App.COMMANDS | {MeetingCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (96, "-wide"), (116, "-widest")]  # app.tcss: what the footer drops
    BINDINGS = actions.bindings()

    def __init__(self, *, settings_path: str | os.PathLike | None = None, demo: bool = False,
                 capture: bool = True, clock: Callable[[], float] = time.monotonic, model: str | None = None,
                 theme_dirs: list[Path] | None = None, opener: Callable[[Path], None] | None = None,
                 ffmpeg: bool | None = None, record_on_launch: bool | None = None, sessions_dir: Path | None = None,
                 files: dict[Source, str] | None = None, files_speed: float = 1.0) -> None:
        """``record_on_launch``: start a session once capture runs (default: the settings);
        ``sessions_dir``: where sessions go (default: the settings); ``files``: replay these recordings
        once as the sources instead of devices (tests, benchmarks), at ``files_speed`` times real time (0: as
        fast as they are read; their timeline stays the recording's)."""
        from meeting_tui.settings import SettingsStore

        super().__init__()
        self.store = SettingsStore(settings_path)
        self.settings = self.store.settings
        self.demo = demo
        self.capture_enabled = capture
        self.clock = clock
        self.opener = opener or _default_opener
        # "Meeting via FFmpeg" is offered where the core says FFmpeg can run (never in the demo: file workers).
        if ffmpeg is None:
            ffmpeg, self.ffmpeg_note = (False, "the demo replays files") if demo else ffmpeg_mode_available()
        else:
            self.ffmpeg_note = "" if ffmpeg else "FFmpeg is not available"
        self.ffmpeg_available = bool(ffmpeg)
        if demo and model is None:
            from meeting_tui.meeting.model import bundled_model

            model = bundled_model()
        from meeting_tui.transcribe.model import ModelConfig

        model_cfg = ModelConfig.from_settings(self.settings.transcription.model)
        if model:
            model_cfg.name = model
        self.files, self.files_speed = files, files_speed
        self.record_on_launch = self.settings.session.start_on_launch if record_on_launch is None else record_on_launch
        self.read_only_note: str | None = None  # another instance runs (ui/launch.py): said at launch and on r
        self.core = Meeting(CoreEvents(self), settings=self.settings,
                            config=transcriber_config(self.settings, model=model_cfg, paced=not (files and files_speed == 0)),
                            sessions_dir=sessions_dir or self.settings.sessions_dir(),
                            session_extra={"demo": True} if demo else None)
        self._fixed_status: TranscriptionStatus | None = None
        self._theme_dirs = theme_dirs
        self._levels: dict[Source, Level] = {}
        self._health: dict[Source, Health] = {}
        self._incoming: collections.deque = collections.deque()
        self._devices = None
        self._device_error: str | None = None
        self._save_timer = None
        self._settings_dirty = False
        self._quitting = False
        self._capture_gen = 0
        self._announce_devices = False
        self.unfinished: list = []
        self.last_session: Path | None = None
        self.last_minutes: Path | None = None  # minutes.md written from the palette
        self.last_saved: Path | None = None
        self.theme_errors: list[str] = []
        self.frames = 0
        self.first_frame_at: float | None = None
        labels = self.settings.ui.labels
        self._labels = {Source.MIC: labels.mic, Source.LOOPBACK: labels.loopback, Source.MIX: labels.mix}

    # --- layout ---------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept as attributes: while a modal is open, app.query_one would search the modal, not the dashboard.
        self._panels = {
            Source.MIC: SourcePanel(Source.MIC, f"{self._labels[Source.MIC]} · mic", clock=self.clock, id="mic-panel"),
            Source.LOOPBACK: SourcePanel(Source.LOOPBACK, f"{self._labels[Source.LOOPBACK]} · system audio",
                                         clock=self.clock, id="loopback-panel"),
        }
        self._transcript = TranscriptView(self._labels, id="transcript")
        self._status = StatusLine(id="status")
        with Vertical(id="sources"):
            yield self._panels[Source.MIC]
            yield self._panels[Source.LOOPBACK]
        yield self._transcript
        yield self._status
        yield MeetingFooter()

    def panel(self, source: Source) -> SourcePanel:
        return self._panels[source]

    @property
    def transcript(self) -> TranscriptView:
        return self._transcript

    @property
    def status(self) -> StatusLine:
        return self._status

    @property
    def mode(self) -> Mode:
        return self.settings.capture.mode

    # --- start-up -------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._load_themes()
        if self.settings.ui.keymap:
            keymap = dict(self.settings.ui.keymap)
            self.set_keymap(keymap)
            for warning in keymap_warnings(keymap):
                self.notify(warning, title="Keys", severity="warning", timeout=10)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        for warning in self.store.warnings:
            self.notify(warning, title="Settings", severity="warning", timeout=10)
        if self.read_only_note:
            self.notify(self.read_only_note, title="Read-only", severity="warning", timeout=15)
        gains = self.settings.capture.gains_db
        self.panel(Source.MIC).set_gain(gains.mic)
        self.panel(Source.LOOPBACK).set_gain(gains.loopback)
        self._show_mode()
        self.transcript.border_title = "Transcript"
        self.transcript.focus()
        self.set_interval(FRAME_S, self._frame, name="frame")
        self.set_interval(STATUS_EVERY_S, self._update_status, name="status")
        self._update_status()
        if self.capture_enabled:
            # After the first frame is on screen: spawn the workers and start loading the model.
            self.call_after_refresh(self._launch)

    def _launch(self) -> None:
        self.first_frame_at = time.monotonic()  # the first frame is on screen: now the heavy work
        self.core.preload_model()
        self.check_sessions_dir()
        if self.record_on_launch:
            self.start_session()  # before capture: the session clock starts with the first sample
        self.restart_capture()
        self.list_devices_in_background()
        self.find_unfinished_sessions()

    def palette_commands(self) -> list[tuple[str, str, Callable]]:
        """(title, help, callback) for every palette entry, as the app stands now."""
        return actions.palette_entries(self)
