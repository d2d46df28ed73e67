"""The dashboard: two sources with meters and health, the live transcript, status, footer.

Data flow: the app is a client of :class:`~meeting_tui.meeting.Meeting` (``app.core``), which owns capture,
the session and transcription and sends typed events on the event loop. Levels are kept (latest only) and
health is shown at once; transcript events go into a deque that a 30 Hz timer drains into the transcript
in one batch per frame, together with the meters (latency is measured there, where the line is shown).

For snapshots, ``MeetingApp(capture=False, clock=...)`` starts no engine and no model: tests feed plain
Level/Health/Segment values through :meth:`MeetingApp.feed_levels`, :meth:`feed_health` and
:meth:`feed_items` (the same doors the core uses).
"""

from __future__ import annotations

import collections
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.theme import Theme
from textual.widgets import Footer


from meeting_tui.meeting import (
    CaptureSetup,
    GapEvent,
    HealthEvent,
    LevelsEvent,
    Meeting,
    MeetingError,
    MeetingEvent,
    NoticeEvent,
    PartialEvent,
    RetractionEvent,
    SegmentEvent,
    SpeakerLabelEvent,
    StatusEvent,
    TranscriptionStatus,
    transcriber_config,
)
from meeting_tui.meeting.setup import ffmpeg_mode_available, file_specs, list_devices
from meeting_tui.types import Gap, Health, HealthState, Level, Mode, Segment, Source
from meeting_tui.ui.commands import EXPORT_FORMATS, MeetingCommands, palette_commands
from meeting_tui.ui.messages import CaptureStarted, DevicesListed
from meeting_tui.ui.notices import Notices
from meeting_tui.ui.screens.device_picker import DevicePick, DevicePicker
from meeting_tui.ui.screens.help import HelpScreen
from meeting_tui.ui.screens.mode_picker import ModePicker
from meeting_tui.ui.themes import DEFAULT_THEME, VARIABLE_DEFAULTS, load_themes
from meeting_tui.ui.widgets.health_badge import hint_for
from meeting_tui.ui.widgets.source_panel import SourcePanel
from meeting_tui.ui.widgets.status_line import StatusLine
from meeting_tui.ui.console import keymap_warnings
from meeting_tui.ui.widgets.transcript import Note, Retraction, TranscriptView
from meeting_tui.wording import plural

FRAME_S = 1 / 30
STATUS_EVERY_S = 0.5
SETTINGS_SAVE_DELAY_S = 0.4
GAIN_STEP_DB = 1.0
GAIN_MIN_DB, GAIN_MAX_DB = -60.0, 40.0


_MIC_GAIN = Binding.Group("Mic gain", compact=True)
_THEM_GAIN = Binding.Group("Them gain", compact=True)

_DEAD_STATES = (HealthState.STALLED, HealthState.CRASHED, HealthState.STOPPED)

MODE_ACTIONS = {Mode.MIC: "mode.mic", Mode.LOOPBACK: "mode.loopback", Mode.MEETING: "mode.meeting",
                Mode.MEETING_FFMPEG: "mode.meeting_ffmpeg"}


def _default_opener(path: Path) -> None:
    from meeting_tui.ui.opener import open_folder

    open_folder(path)


class _Events:
    """Meeting -> app, on the event loop."""

    def __init__(self, app: "MeetingApp") -> None:
        self.app = app

    def on_event(self, event: MeetingEvent) -> None:
        app = self.app
        if isinstance(event, LevelsEvent):
            app.feed_levels(event.levels)
        elif isinstance(event, HealthEvent):
            app.feed_health(event.health)
        elif isinstance(event, (SegmentEvent, RetractionEvent)):
            app._incoming.append(event)  # shown (and its latency measured) at the next frame
        elif isinstance(event, PartialEvent):
            app.feed_items([event.segment])
        elif isinstance(event, GapEvent):
            app.feed_items([event.gap])
        elif isinstance(event, StatusEvent):
            app._update_status()
        elif isinstance(event, SpeakerLabelEvent):
            app.relabel_speaker(event)
        elif isinstance(event, NoticeEvent):
            app.notify(event.text, title=event.title, severity=event.severity,
                       timeout=20 if event.severity == "error" else 10)
            if event.title == "Echo":
                app.feed_items([Note(app._session_time(), event.text)])


class MeetingApp(Notices, App[int]):
    TITLE = "meeting-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    COMMANDS = App.COMMANDS | {MeetingCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (96, "-wide")]  # app.tcss: a narrow footer drops the gain keys

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("r", "toggle_session", "Record", id="session.toggle"),
        Binding("m", "pick_mode", "Mode", id="mode.pick"),
        Binding("d", "pick_devices", "Devices", id="devices"),
        Binding("s", "save", "Save", id="save"),
        Binding("left_square_bracket", "gain('mic', -1)", "Mic gain down", id="gain.mic.down", group=_MIC_GAIN),
        Binding("right_square_bracket", "gain('mic', 1)", "Mic gain up", id="gain.mic.up", group=_MIC_GAIN),
        Binding("comma", "gain('loopback', -1)", "Them gain down", id="gain.loopback.down", group=_THEM_GAIN),
        Binding("full_stop", "gain('loopback', 1)", "Them gain up", id="gain.loopback.up", group=_THEM_GAIN),
        Binding("f1,question_mark", "help", "Help", id="help"),
        Binding("1", "set_mode('mic')", "Mic only", show=False, id="mode.mic"),
        Binding("2", "set_mode('loopback')", "Loopback only", show=False, id="mode.loopback"),
        Binding("3", "set_mode('meeting')", "Meeting", show=False, id="mode.meeting"),
        Binding("4", "set_mode('meeting-ffmpeg')", "Meeting via FFmpeg", show=False, id="mode.meeting_ffmpeg"),
        Binding("e", "cycle_export_format", "Next save format", show=False, id="export.format"),
        Binding("t", "cycle_theme", "Next theme", show=False, id="theme.next"),
        Binding("o", "open_folder", "Open session folder", show=False, id="session.folder"),
        Binding("0", "reset_gains", "Reset gains", show=False, id="gain.reset"),
        Binding("slash", "search", "Search", show=False, id="memory.search"),
        Binding("h", "past_sessions", "Past sessions", show=False, id="memory.sessions"),
        Binding("n", "note", "Note", show=False, id="notes.note"),  # footer: see docs/minutes.md
        Binding("b", "note_mark", "Mark the moment", show=False, id="notes.mark"),
        Binding("a", "note_flag('action')", "Flag latest line: action item", show=False, id="notes.action"),
        Binding("c", "note_flag('decision')", "Flag latest line: decision", show=False, id="notes.decision"),
    ]

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
        self.core = Meeting(_Events(self), settings=self.settings,
                            config=transcriber_config(self.settings, model=model_cfg),
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

    # --- theme variables ------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

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
        yield Footer()

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

    @work(thread=True, exclusive=True, group="data-dir")
    def check_sessions_dir(self) -> None:
        from meeting_tui.meeting.recovery import sessions_dir_problem

        problem = sessions_dir_problem(self.core.sessions_dir)
        if problem:
            self.call_from_thread(self.notify, problem, title="Sessions", severity="error", timeout=30)

    def _load_themes(self) -> None:
        loaded = load_themes(self._theme_dirs)
        for theme in loaded.themes:
            self.register_theme(theme)
        self.theme_errors = loaded.errors
        # A theme the user never chose (not in the file) means ours, not the schema's placeholder.
        wanted = self.settings.ui.theme if "theme" in self.settings.ui.model_fields_set else DEFAULT_THEME
        if wanted not in self.available_themes:
            if wanted != DEFAULT_THEME:
                loaded.errors.append(f'theme "{wanted}" is not available')
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self.theme = wanted
        if loaded.errors:
            self.notify("Some themes could not be loaded; using " + f'"{wanted}".\n' + "\n".join(loaded.errors),
                        title="Themes", severity="warning", timeout=10)

    def _theme_changed(self, theme: Theme) -> None:
        if self.settings.ui.theme != theme.name:
            self.settings.ui.theme = theme.name
            self.schedule_settings_save()

    # --- data in (the core, or tests with plain data) -------------------------------------------------

    def feed_levels(self, levels: dict[Source, Level]) -> None:
        self._levels.update(levels)

    def feed_health(self, health: Health) -> None:
        self._health[health.source] = health
        if health.source in (Source.MIC, Source.LOOPBACK):
            self.panel(health.source).set_health(health)
            self._update_hints()

    def feed_items(self, items: Iterable[Segment | Gap | Note]) -> None:
        """Queue transcript items; thread-safe. They appear at the next frame, in one batch."""
        self._incoming.extend(items)

    def _frame(self) -> None:
        self.frames += 1
        now = self.clock()
        active = self.mode.sources if self.core.engine is not None or not self.capture_enabled else ()
        for source in (Source.MIC, Source.LOOPBACK):
            health = self._health.get(source)
            dead = health is not None and health.state in _DEAD_STATES
            level = self._levels.get(source) if source in active and not dead else None
            self.panel(source).show_level(level, now)
        if self._incoming:
            batch = []
            incoming = self._incoming
            while incoming:
                item = incoming.popleft()
                if isinstance(item, SegmentEvent):
                    self.core.latency.delivered(item.segment.source, item.said_at)
                    item = item.segment
                elif isinstance(item, RetractionEvent):
                    item = Retraction(item.segment, item.action)
                batch.append(item)
            self.transcript.add_batch(batch)

    # --- status ---------------------------------------------------------------------------------------

    def _update_status(self) -> None:
        st = self._fixed_status or self.core.transcriber_stats()
        state = st.state
        if self.core.drain_fraction is not None:
            state = f"finishing transcript {self.core.drain_fraction * 100:.0f}%"
        session = self.core.session
        journal = str(session.path / "journal.jsonl") if session is not None else ""
        self.status.set_info(
            mode=self.mode.label + (" (demo)" if self.demo else ""),
            recording=self.core.recording,
            model=st.model or self.core.model_name(),
            model_state=state,
            model_progress=st.progress,
            rtf=st.rtf,
            lag_s=st.lag_s,
            queue=st.queue,
            load=st.load,
            session_file=journal,
            export_format=self.settings.session.export_format,
        )

    def set_transcriber_stats(self, stats: TranscriptionStatus) -> None:
        """For snapshots: show fixed transcriber figures."""
        self._fixed_status = stats
        self._update_status()

    # --- keys, hints ----------------------------------------------------------------------------------

    def key_for(self, binding_id: str) -> str:
        """The display of the first key bound to ``binding_id`` (after the user's keymap)."""
        keys = self._keymap.get(binding_id)
        if keys is None:
            binding = next((b for b in self.BINDINGS if isinstance(b, Binding) and b.id == binding_id), None)
            if binding is None:
                return "?"
            keys = binding.key
        first = keys.split(",")[0].strip()
        return self.get_key_display(Binding(first, ""))

    def _update_hints(self) -> None:
        keys = {"devices": self.key_for("devices")}
        keys.update({MODE_ACTIONS[m]: self.key_for(MODE_ACTIONS[m]) for m in Mode})
        for source in (Source.MIC, Source.LOOPBACK):
            health = self._health.get(source) if source in self.mode.sources else None
            self.panel(source).set_hint(hint_for(health, self.mode, keys, ffmpeg_available=self.ffmpeg_available))

    def help_keys(self) -> list[tuple[str, str]]:
        rows = []
        for b in self.BINDINGS:
            if not isinstance(b, Binding) or not b.id:
                continue
            keys = self._keymap.get(b.id, b.key)
            shown = " / ".join(self.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))
            rows.append((shown, f"{b.description}  ({b.id})"))
        rows.append(("^p", "command palette: every action"))
        rows.append(("↑ ↓ PgUp PgDn Home End", "scroll the transcript; End follows the newest line"))
        return rows

    # --- mode and devices -----------------------------------------------------------------------------

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
            self.notify(f"Capture could not start: {message.error}\n{_fix_hint()}", title="Capture",
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
            self.notify(f"Cannot list audio devices: {message.error}\n{_fix_hint()}", title="Devices",
                        severity="error", timeout=15)
            return
        from meeting_tui.meeting.devices import reconcile_devices

        found = reconcile_devices(self.settings, message.devices)
        if found.missing:
            self.notify(f"No {' and no '.join(found.missing)} found.\n{_fix_hint()}", title="Devices",
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

    def action_refresh_devices(self) -> None:
        self._announce_devices = True
        self.list_devices_in_background()

    # --- gains ----------------------------------------------------------------------------------------

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

    # --- settings persistence -------------------------------------------------------------------------

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

    # --- sessions -------------------------------------------------------------------------------------

    def action_toggle_session(self) -> None:
        if self.core.recording:
            self.stop_session()
        else:
            self.start_session()

    def start_session(self) -> None:
        if self.core.recording or not self.capture_enabled:
            return
        from meeting_tui.meeting.devices import session_blocker

        blocker = None if self.demo or self.files else session_blocker(self.mode, self._devices, self._device_error)
        if blocker:  # a session of nothing: refuse, saying why
            self.notify(f"Cannot start a session: {blocker}.\n{_fix_hint()}", title="Session", severity="error", timeout=15)
            return
        try:
            path = self.core.start_session()
        except MeetingError as exc:  # the model can never load: nothing was created
            self.notify(f"Cannot start a session: {exc}", title="Transcription", severity="error", timeout=20)
            return
        except OSError as exc:
            from meeting_tui import paths

            self.notify(f"Cannot start a session: {exc}. Set {paths.DATA_ENV} to a writable folder, or "
                        "[session] dir in the settings file.", severity="error", timeout=20)
            return
        self.last_session = path
        self.transcript.clear()
        self.feed_items([Note(0.0, f"session started · {self.mode.label}")])
        self.notify(f"Recording to {path}", title="Session", timeout=4)
        decode = self._decode_options()
        if decode is not None:  # a detected language is shown once it is decided (transcriber thread)
            decode.languages.on_change = lambda snap: self.call_from_thread(self._language_decided, snap)
        self._update_status()

    def _language_decided(self, snap) -> None:
        who = self.settings.ui.labels.mic if snap.source is Source.MIC else self.settings.ui.labels.loopback
        text = f"language of {who}: {snap.label} (palette: Language, to set it)"
        self.feed_items([Note(self._session_time(), text)])
        self.notify(text, title="Language")

    @work(exclusive=True, group="session")
    async def stop_session(self) -> None:
        self.notify("Finishing the transcript…", title="Session", timeout=3)
        path = await self.core.stop_session()
        self._update_status()
        if path is not None:
            from meeting_tui.paths import shown

            self.notify(f"Session saved in {shown(path)}", title="Session", timeout=6)
            self._offer_polish(path)
            from meeting_tui.ui.minutes_offer import offer_minutes

            offer_minutes(self, path)

    # --- speakers, words, polish ----------------------------------------------------------------------

    def relabel_speaker(self, event) -> None:
        """Far-side lines change speaker (voices merged, or renamed): every shown line follows at once."""
        self.transcript.relabel(event.old, event.new)
        what = "is the same voice as" if event.kind == "merge" else "is now"
        self.feed_items([Note(self._session_time(), f"{event.old} {what} {event.new}")])

    def action_toggle_speakers(self) -> None:
        on = not self.settings.speakers.enabled
        notice = self.store.set("speakers.enabled", on)  # saved at once
        when = "from the next session" if self.core.recording else "when a session starts"
        self.notify(notice or f"Speaker labels {'on' if on else 'off'} {when}.", title="Speakers")

    def action_rename_speaker(self, speaker: str) -> None:
        from meeting_tui.ui.screens.rename_speaker import RenameSpeaker

        def done(name: str | None) -> None:
            if not name:
                return
            try:
                self.core.rename_speaker(speaker, name)
            except Exception as exc:  # labels off, or the session ended meanwhile
                self.notify(f"Cannot rename {speaker}: {exc}", title="Speakers", severity="warning")

        self.push_screen(RenameSpeaker(speaker), done)

    def _decode_options(self):
        live = self.core.transcription
        return live.config.decode if live is not None else None

    def action_edit_vocabulary(self) -> None:
        from meeting_tui.ui.screens.words import open_vocabulary_editor

        open_vocabulary_editor(self, self.store, self._decode_options())

    def action_pick_language(self) -> None:
        from meeting_tui.ui.screens.words import open_language_picker

        open_language_picker(self, self.store, self._decode_options(), self.mode.sources,
                             {Source.MIC: self.settings.ui.labels.mic, Source.LOOPBACK: self.settings.ui.labels.loopback})

    def _offer_polish(self, path) -> None:
        from meeting_tui.meeting.polish import polish_offer

        question = polish_offer(path, self.settings)
        if question:
            self._polish_path = path
            self.notify(f"{question} Choose \"Polish the last session\" in the palette (ctrl+p).", title="Polish",
                        timeout=10)

    @work(thread=True, exclusive=True, group="minutes")
    def action_minutes_last(self) -> None:
        from meeting_tui.ui.minutes_offer import make_last_minutes

        self.last_minutes = make_last_minutes(self, self.last_session)

    @work(thread=True, exclusive=True, group="polish")
    def action_polish_last(self) -> None:
        from meeting_tui.meeting.polish import PolishConfig, PolishJob

        path = getattr(self, "_polish_path", None) or self.last_session
        if path is None:
            self.call_from_thread(self.notify, "No session to polish yet.", title="Polish")
            return
        shown = {"pct": -10}

        def progress(p) -> None:
            pct = int(getattr(p, "fraction", p) * 100)
            if pct >= shown["pct"] + 25:
                shown["pct"] = pct
                self.call_from_thread(self.notify, f"Polishing {path.name}: {pct}%", title="Polish")

        job = PolishJob(path, PolishConfig.from_settings(self.settings), on_progress=progress)
        result = job.run()  # its message names the model, or why not (never raises: PolishJob says it)
        self.call_from_thread(self.notify, result.message, title="Polish", timeout=15,
                              severity="information" if result.ok else "error")

    @work(thread=True, exclusive=True, group="recovery")
    def find_unfinished_sessions(self) -> None:
        from meeting_tui.meeting.recovery import unfinished

        found = unfinished(self.core.sessions_dir)
        if found:
            self.call_from_thread(self._show_unfinished, found)

    def _show_unfinished(self, found: list) -> None:
        self.unfinished = found
        names = ", ".join(info.id for info in found[:3]) + (" …" if len(found) > 3 else "")
        self.notify(f"{plural(len(found), 'session')} did not finish (the app was closed or crashed): {names}. "
                    "Their transcripts are safe: choose \"Recover unfinished sessions\" in the palette (ctrl+p).",
                    title="Unfinished sessions", severity="warning", timeout=15)

    @work(thread=True, exclusive=True, group="recovery")
    def action_recover_sessions(self) -> None:
        from meeting_tui.meeting.recovery import recover_all

        message, failed = recover_all(self.core.sessions_dir)
        self.unfinished = []
        self.call_from_thread(self.notify, message, title="Recovery", timeout=10,
                              severity="warning" if failed else "information")

    # --- save / export --------------------------------------------------------------------------------

    def export_items(self) -> list:
        from meeting_tui.ui.note_taking import notes_for_export

        return [i for i in self.transcript.items if not isinstance(i, Note)] + notes_for_export(self)

    def action_note(self) -> None:
        from meeting_tui.ui.note_taking import ask_note

        ask_note(self)

    def action_note_mark(self) -> None:
        from meeting_tui.ui.note_taking import take

        take(self, "mark")

    def action_note_flag(self, kind: str) -> None:
        from meeting_tui.ui.note_taking import flag_latest

        flag_latest(self, kind)

    def action_save(self) -> Path | None:
        from meeting_tui.session.exports import ExportError, default_filename, export_file, saved_meta

        fmt = self.settings.session.export_format
        folder = self.core.session.path if self.core.session is not None else self.last_session
        if folder is None:
            folder = self.core.sessions_dir
        stem = folder.name if folder != self.core.sessions_dir else time.strftime("%Y-%m-%d_%H-%M-%S")
        try:
            from meeting_tui import paths

            paths.private_dir(folder)
            target = export_file(self.export_items(), folder / default_filename(stem, fmt), fmt,
                                 labels=self.settings.ui.labels.as_dict(),
                                 meta=saved_meta(folder if stem == folder.name else None, self.mode.value))
        except (ExportError, OSError) as exc:
            self.notify(str(exc), title="Save", severity="error", timeout=10)
            return None
        self.last_saved = target
        self.notify(f"Saved {plural(len(self.export_items()), 'line')} as {fmt} to {target}", title="Saved", timeout=8)
        return target

    def action_set_export_format(self, fmt: str) -> None:
        self.settings.session.export_format = fmt
        self.schedule_settings_save()
        self._update_status()
        self.notify(f"Save format: {fmt}", timeout=3)

    def action_cycle_export_format(self) -> None:
        fmt = self.settings.session.export_format
        self.action_set_export_format(EXPORT_FORMATS[(EXPORT_FORMATS.index(fmt) + 1) % len(EXPORT_FORMATS)])

    def action_open_folder(self) -> None:
        folder = self.core.session.path if self.core.session is not None else self.last_session
        folder = folder or self.core.sessions_dir
        try:
            from meeting_tui import paths

            paths.private_dir(folder)
            self.opener(folder)
        except Exception as exc:
            from meeting_tui.ui.opener import NoOpener

            self.notify(str(exc) if isinstance(exc, NoOpener) else f"Could not open {folder}: {exc}", severity="warning")
            return
        self.notify(f"Opened {folder}", timeout=4)

    # --- themes ---------------------------------------------------------------------------------------

    def action_set_theme(self, name: str) -> None:
        self.theme = name

    def action_cycle_theme(self) -> None:
        names = sorted(self.available_themes)
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else DEFAULT_THEME
        self.notify(f"Theme: {self.theme}", timeout=2)

    # --- help, palette --------------------------------------------------------------------------------

    def action_search(self) -> None:
        from meeting_tui.ui.screens.search import SearchScreen

        self.push_screen(SearchScreen(self.core.sessions_dir, self.settings.ui.labels.as_dict()))

    def action_follow_calls(self) -> None:
        from meeting_tui.ui.call_follow import CallFollower

        if getattr(self, "call_follower", None) is None:
            self.call_follower = CallFollower(self)
        self.call_follower.toggle()

    def action_past_sessions(self) -> None:
        from meeting_tui.ui.screens.sessions import SessionsScreen

        self.push_screen(SessionsScreen(self.core.sessions_dir, self.settings))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_keys()))

    def palette_commands(self) -> list[tuple[str, str, Callable]]:
        return palette_commands(self)

    # --- quitting -------------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        if self._quitting:
            self.exit(1)  # a second ctrl+q while draining: leave now (the journal is already durable)
            return
        self._quitting = True
        if self.core.recording:
            self.notify("Finishing the transcript before quitting… (ctrl+q again to quit at once)",
                        title="Quit", timeout=30)
        self._drain_and_exit()

    @work(exclusive=True, group="shutdown")
    async def _drain_and_exit(self) -> None:
        try:
            path = await self.core.shutdown()
            if path is not None:
                self.last_session = path
        finally:
            self.flush_settings()
            self.exit(0)


def _fix_hint() -> str:
    if sys.platform == "win32":
        return ("Check Settings > Privacy > Microphone (allow desktop apps), that a device is enabled in Sound "
                "settings, and run `meeting-tui doctor`. `meeting-tui --demo` runs without a sound card.")
    return ("Check that PulseAudio or PipeWire is running (`pactl info`) and that libportaudio2 is installed; "
            "run `meeting-tui doctor`. `meeting-tui --demo` runs without a sound card.")
