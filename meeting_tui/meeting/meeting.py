"""One live meeting, headless: capture (restarts, mode switches), the session clock, the echo stage and
the echo text filter, one shared model, the transcriber, the journal, the drain on stop.

Clients (`record`, `monitor`, the dashboard) drive it and receive typed events (meeting/events.py) on the
event loop; they add only presentation. See docs/architecture.md for the flow.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from functools import partial
from pathlib import Path
from typing import Callable

from meeting_tui.capture.engine import TICK_HZ, CaptureEngine
from meeting_tui.meeting import after_session
from meeting_tui.meeting.echo_stage import EchoPlan, EchoVerdicts, Verdict
from meeting_tui.meeting.engine_tap import EngineTap
from meeting_tui.meeting.events import (
    GapEvent,
    HealthEvent,
    MeetingEvent,
    MeetingListener,
    NoticeEvent,
    PartialEvent,
    RetractionEvent,
    SegmentEvent,
    SpeakerLabelEvent,
    StatusEvent,
    TranscriptionStatus,
)
from meeting_tui.meeting.latency import ClientLatency
from meeting_tui.meeting.model import SharedModel, model_problem
from meeting_tui.meeting.setup import CaptureSetup
from meeting_tui.meeting.transcription import LiveTranscription
from meeting_tui.meeting.transcriber_setup import transcriber_config
from meeting_tui.transcribe.transcriber import TranscriberConfig
from meeting_tui.types import AudioChunk, DrainProgress, Gap, Health, HealthState, Mode, Segment, Source

log = logging.getLogger("meeting_tui.meeting")

ECHO_TICK_S = 0.25  # how often held "You" lines are judged when nothing else arrives


class MeetingError(RuntimeError):
    """A session cannot start; the message names the fix."""


class Meeting:
    """See the module docstring. Call its methods on the event loop (``start_session`` included)."""

    meter_hz: float = TICK_HZ  # levels and health read this often; a client that shows no meters asks for fewer

    def __init__(self, listener: MeetingListener, *, settings=None, config: TranscriberConfig | None = None,
                 echo: EchoPlan | None = None, sessions_dir: Path | None = None, record_audio: bool | None = None,
                 session_extra: dict | None = None,
                 segment_stages: list[Callable[[Segment], Segment]] | None = None) -> None:
        """``segment_stages``: functions each final passes through, in order, between the transcriber and
        the journal (on the transcriber's thread), e.g. speaker labels for the loopback."""
        self.listener = listener
        self.settings = settings
        self.config = config or transcriber_config(settings)
        self.echo = echo or EchoPlan.from_settings(settings, self.config.style)
        self.sessions_dir = sessions_dir or (settings.sessions_dir() if settings is not None else None)
        self.record_audio = (bool(settings.session.record_audio) if settings is not None else False) \
            if record_audio is None else record_audio
        self.session_extra = session_extra
        self.segment_stages = list(segment_stages or [])
        self.speakers = None  # a SpeakerStage (meeting_tui/speakers) labelling far-side voices, when on
        self.speakers_from_settings = True  # each session gets a fresh stage when [speakers] enabled is set
        self.model = SharedModel(self.config.model, self._model_changed)
        self.latency = ClientLatency()
        self.engine: CaptureEngine | None = None
        self.setup: CaptureSetup | None = None
        self.session = None  # meeting_tui.session.store.Session while recording
        self.session_t0: float | None = None
        self.transcription: LiveTranscription | None = None
        self.verdicts: EchoVerdicts | None = None
        self.capture_error: str | None = None
        self.drain_fraction: float | None = None
        self._health: dict[Source, HealthState] = {}
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None
        self._tick_task: asyncio.Task | None = None
        self._stopped_at_s: float | None = None
        self._clock_waits_for_capture = False

    # --- events --------------------------------------------------------------------------------------

    def _post(self, event: MeetingEvent) -> None:
        """Deliver on the event loop, in order, from any thread (always queued: a retraction never
        overtakes the line it retracts)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                if asyncio._get_running_loop() is loop:  # on the loop (the meters' ticks): no self-pipe wake-up
                    loop.call_soon(self._deliver, event, context=self._context)
                else:
                    loop.call_soon_threadsafe(self._deliver, event, context=self._context)
                return
            except RuntimeError:  # the loop is closing: deliver here rather than lose the event
                pass
        self._deliver(event)

    def _deliver(self, event: MeetingEvent) -> None:
        try:
            self.listener.on_event(event)
        except Exception:
            log.exception("meeting client failed on %r", type(event).__name__)

    def _bind_loop(self) -> None:
        """Events go to this loop, run in the client's context (a Textual app's active app, for one)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._context = contextvars.copy_context()

    # --- capture -------------------------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return self.setup.mode if self.setup is not None else Mode.MEETING

    async def start_capture(self, setup: CaptureSetup | Callable[[], CaptureSetup],
                            is_current: Callable[[], bool] = lambda: True) -> bool:
        """(Re)start capture; the previous engine is stopped and drained into the session first.

        Requests queue on a lock and are never cancelled half-way (that could orphan worker processes);
        ``is_current`` lets a request that a newer one superseded skip starting an engine. ``setup`` may be
        a callable, read once the lock is held (the newest settings win). Returns whether it started one.
        Raises CaptureConfigError (its message names the fix)."""
        self._bind_loop()
        async with self._lock:
            await self._stop_engine()
            if not is_current():
                return False
            setup = setup() if callable(setup) else setup
            self.capture_error = None
            try:
                specs = setup.specs()
            except Exception as exc:
                self.capture_error = str(exc)
                raise
            self.setup = setup
            self._health.clear()
            engine = CaptureEngine(specs, gains_db=dict(setup.gains_db), tick_hz=self.meter_hz)
            engine.add_listener(EngineTap(self, engine))
            self.engine = engine
            await engine.start()
            return True

    async def _stop_engine(self) -> None:
        engine, self.engine = self.engine, None
        if engine is not None:
            # Its tail (the last mix chunk) still reaches the session. Shielded: a cancelled caller must not
            # leave worker processes half-stopped.
            await asyncio.shield(engine.stop())

    async def stop_capture(self) -> None:
        async with self._lock:
            await self._stop_engine()

    async def wait_capture_finished(self) -> None:
        """For file sources: returns once every worker reached the end of its file."""
        engine = self.engine
        if engine is not None:
            await engine.wait_finished()

    @property
    def capture_finished(self) -> bool:
        """File sources only: every worker reached the end of its file."""
        engine = self.engine
        return engine is not None and engine.finished

    def set_gain(self, source: Source, db: float) -> None:
        if self.setup is not None:
            self.setup.gains_db[source] = db
        if self.engine is not None and source in self.engine.gains_db:
            self.engine.set_gain(source, db)

    # --- audio from the engine (event loop) ----------------------------------------------------------

    def _audio(self, chunk: AudioChunk) -> None:
        if self.session is not None:
            self.session.on_audio(chunk)
        if self.speakers is not None and self.transcription is not None:
            self.speakers.on_audio(chunk)
        if self.transcription is not None:
            self.transcription.on_audio(chunk)

    def _mix(self, chunk: AudioChunk) -> None:
        if self.session is not None:
            self.session.on_mix(chunk)
        if self.transcription is not None:
            self.transcription.on_mix(chunk)

    def _gap(self, gap: Gap) -> None:
        if self.session is not None:
            try:
                self.session.append_gap(gap)
            except OSError:
                log.exception("journal write failed")
        self._post(GapEvent(gap))

    def _health_changed(self, health: Health) -> None:
        previous = self._health.get(health.source)
        self._health[health.source] = health.state
        engine = self.engine
        capture_s = time.monotonic() - engine.t0 if engine is not None else None
        self._post(HealthEvent(health, previous, self.session_time(), capture_s))
        if self.transcription is not None:
            self.transcription.on_health(health)

    def session_time(self) -> float | None:
        t0 = self.session_t0
        return None if t0 is None else max(0.0, time.monotonic() - t0)

    # --- model ---------------------------------------------------------------------------------------

    def model_problem(self) -> str | None:
        """Why the configured model can never load (with the fix), checked without side effects."""
        return self.model.error or model_problem(self.config.model)

    def preload_model(self) -> None:
        """Start loading the model in the background (the first frame never waits for it)."""
        self._bind_loop_if_running()
        self.model.start()

    def _bind_loop_if_running(self) -> None:
        try:
            self._bind_loop()
        except RuntimeError:
            pass

    def _model_changed(self, status: TranscriptionStatus, notice: str | None, severity: str) -> None:
        if status != getattr(self, "_model_status", None):  # a notice alone (the speech server) is no new status
            self._model_status = status
            self._post(StatusEvent(status))
        if notice:
            self._post(NoticeEvent("Transcription", notice, severity))

    def model_name(self) -> str:
        return self.model.name

    @property
    def tstats(self) -> TranscriptionStatus:
        return self.model.status

    def transcriber_stats(self) -> TranscriptionStatus:
        """What a status line shows (a read: it advances nothing)."""
        base = self.model.status
        st = self.transcription.stats() if self.transcription is not None else None
        if st is None:
            return base
        return TranscriptionStatus(model=base.model + self._server_note(), state=base.state, progress=base.progress,
                                   rtf=st.rtf if st.finals else None, lag_s=st.lag_s, queue=st.queue_depth,
                                   load=st.governor.summary() if st.governor.degraded else None)

    def server_health(self):
        """The speech server's figures (transcribe.server.ServerHealth) when transcription runs on one."""
        tr = self.transcription.tr if self.transcription is not None else None
        loaded = tr.models.loaded if tr is not None else None
        return getattr(getattr(loaded, "model", None), "health", None)

    def _server_note(self) -> str:
        h = self.server_health()
        if h is None:
            return ""
        if not h.up:
            return " · server away"
        return f" · round trip {h.rtt_s:.2f} s" if h.rtt_s is not None else ""

    # --- sessions --------------------------------------------------------------------------------------

    @property
    def recording(self) -> bool:
        return self.transcription is not None

    def start_session(self, *, journal: bool = True, setup: CaptureSetup | None = None) -> Path | None:
        """Start transcribing, into a new journaled session folder (returned) unless ``journal`` is False.
        ``setup``: the capture the client runs or is about to (its mode and devices go in the session's
        meta; the engine's may be the one a mode key is replacing, or none yet).

        Raises MeetingError (the model can never load: nothing is created) or OSError (the folder)."""
        self._bind_loop()
        problem = self.model_problem()
        if problem:
            raise MeetingError(problem)
        if journal:
            from meeting_tui import paths
            from meeting_tui.session.retention import prune_at_start

            prune_at_start(paths.sessions_dir(self.sessions_dir), self.settings.session.keep_audio_days if self.settings else 0)
            self.session = self._open_journal(setup or self.setup)
        # The session clock starts now, or at the first sample captured when capture is not running yet (then
        # `record` and a dashboard recording from launch place the same audio at the same times).
        running = self.engine is not None and self.engine.running
        self.session_t0 = time.monotonic() if running else None
        self._clock_waits_for_capture = not running
        self._stopped_at_s = None
        self.model.start()
        self.config.session_start_wall = time.time()
        self.verdicts = self.echo.make_verdicts()
        if self.speakers_from_settings:
            self.speakers = self._speaker_stage()
        loader = self.model.loader
        assert loader is not None
        self.transcription = LiveTranscription(
            self.config, loader, guard=self.echo.make_guard(self.config.paced) if self.echo.guard_enabled else None,
            mode=lambda: self.mode, on_final=self._final, on_partial=self._partial,
            on_echo_status=self._echo_status, on_governor=self._governor_changed, rebuild_guard=partial(self.echo.make_guard, self.config.paced))
        self._tick_task = asyncio.get_running_loop().create_task(self._echo_ticks(), name="echo-verdicts")
        if self.speakers is not None:
            self.speakers.journal = self.session.append_event if self.session is not None else None
            self.speakers.on_event = self._speaker_event
        return self.session.path if self.session is not None else None

    def _open_journal(self, setup: CaptureSetup | None):
        from meeting_tui.session.store import Session

        mc = self.config.model
        return Session.open(
            self.sessions_dir,
            mode=setup.mode if setup else Mode.MEETING,
            devices={Source.MIC: setup.mic, Source.LOOPBACK: setup.loopback} if setup else None,
            model={"name": self.model_name(), "device": mc.device, "compute_type": mc.compute_type,
                   "language": mc.language, "beam_size": mc.beam_size, "style": self.config.style},
            gains_db=setup.gains_db if setup else None,
            record_audio=self.record_audio,
            extra=self.session_extra,
        )

    def _final(self, segment: Segment) -> None:
        """Transcriber thread: the segment stages, the journal (durable when it returns), the client, then
        the echo filter's verdicts."""
        said_at = time.monotonic() - float(segment.extra.get("latency_s") or 0.0)
        for stage in self.segment_stages:
            segment = stage(segment)
        if self.speakers is not None:
            segment = self.speakers.process(segment)
        session = self.session
        if session is not None:
            try:
                session.append_segment(segment)
            except OSError:
                log.exception("journal write failed")
        self._post(SegmentEvent(segment, said_at))
        if self.verdicts is not None:
            self._retract(self.verdicts.feed(segment))

    def _partial(self, segment: Segment) -> None:
        self._post(PartialEvent(segment))

    def _retract(self, verdicts: list[Verdict]) -> None:
        action = self.echo.text_action
        for v in verdicts:
            session = self.session
            if session is not None:
                try:
                    session.append_retraction(v.segment, action, v.score)
                except OSError:
                    log.exception("journal write failed")
            self._post(RetractionEvent(v.segment, action, v.score))

    async def _echo_ticks(self) -> None:
        """The text filter's own clock: held "You" lines are judged even while nobody else speaks."""
        while True:
            await asyncio.sleep(ECHO_TICK_S)
            now = self.session_time()
            now = self._stopped_at_s if now is None else now
            if self.verdicts is not None and now is not None:
                self._retract(self.verdicts.tick(now))

    def _speaker_stage(self):
        """A fresh speaker stage when the settings turn labels on; a model that cannot load is said once."""
        settings = self.settings
        if settings is None or not settings.speakers.enabled:
            return None
        from meeting_tui.speakers.commands import make_labeller
        from meeting_tui.speakers.embedder import EmbedderUnavailable
        from meeting_tui.speakers.stage import SpeakerStage

        try:
            return SpeakerStage(make_labeller(settings, prefix=self.config.labels.get(Source.LOOPBACK, "Them")))
        except EmbedderUnavailable as exc:
            self._post(NoticeEvent("Speakers", str(exc), "error"))
            return None

    def _speaker_event(self, event) -> None:  # transcriber thread (merge) or the client's (rename)
        self._post(SpeakerLabelEvent(event.kind, event.old, event.new, tuple(event.line_ids)))

    def rename_speaker(self, old: str, new: str) -> None:
        """Name a far-side voice ("Them 2" -> "Sales lead"): journaled, and every client relabels its lines."""
        if self.speakers is None:
            raise MeetingError("speaker labels are off: turn them on first")
        self.speakers.rename(old, new)

    def _governor_changed(self, state) -> None:  # transcriber thread; _post hands it to the loop
        """The load governor stepped down or back up: said once per change, never silently."""
        self._post(NoticeEvent("Load", state.summary(), "warning" if state.degraded else "information"))

    def _echo_status(self, status) -> None:
        # The notice changed: echo measured, or the mic stream is the loopback (wrong source, with its fix;
        # the guard notices this itself where the engine's check misses speech with pauses). Never both.
        if status.message:
            self._post(NoticeEvent("Echo", status.message, "warning"))
        if self.verdicts is not None and status.present and status.delay_ms is not None:
            self.verdicts.set_echo_delay(status.delay_ms / 1000)

    async def stop_session(self, on_progress: Callable[[float], None] | None = None, *,
                           reason: str = "stopped") -> Path | None:
        """Stop taking audio into the session, transcribe everything queued, judge the last "You" lines,
        then close the journal. Returns the session folder."""
        session, live = self.session, self.transcription
        if live is None:
            return None
        self._stopped_at_s = self.session_time()
        duration = self._stopped_at_s or 0.0
        self.session_t0 = None  # no more audio into this session; what is queued still gets transcribed
        self._clock_waits_for_capture = False

        def progress(p: DrainProgress) -> None:  # transcriber thread
            if session is not None:
                session.report_progress(p.done_s, p.total_s)
            self.drain_fraction = p.fraction
            if on_progress is not None:
                on_progress(p.fraction)

        try:
            await live.drain(progress)
        finally:
            if self._tick_task is not None:
                self._tick_task.cancel()
                self._tick_task = None
            if self.verdicts is not None:
                self._retract(self.verdicts.flush())
            self.transcription = None
            self.verdicts = None
            self.session = None
            self.drain_fraction = None
        if self.speakers is not None:
            try:
                self.speakers.finish(session.path if session is not None else None)
            except OSError:
                log.exception("voice memory write failed")
        if session is None:
            return None
        reason, self._cut_reason = getattr(self, "_cut_reason", None) or reason, None
        session.meta.setdefault("model", {})["name"] = self.model_name()  # "auto" at open: the one that ran
        await asyncio.to_thread(session.close, reason, duration_s=duration)
        await after_session.finish(self, session.path)
        return session.path

    def abandon_session(self, reason: str = "interrupted") -> Path | None:
        """Without an event loop (a second Ctrl+C): drain on this thread, then close the journal."""
        session, live = self.session, self.transcription
        if live is None:
            return None
        duration = self.session_time() or 0.0
        self.session_t0 = None
        self._clock_waits_for_capture = False
        live.drain_blocking()
        if self.verdicts is not None:
            self._retract(self.verdicts.flush())
        self.session = self.transcription = self.verdicts = None
        if session is None:
            return None
        session.meta.setdefault("model", {})["name"] = self.model_name()
        session.close(reason, duration_s=duration)
        after_session.finish_now(self, session.path)
        return session.path

    def cut_drain(self, reason: str) -> bool:
        """Stop transcribing what is still queued (a console close leaves seconds): the drain in progress
        returns after the current utterance and the journal is closed with ``reason``. False: nothing to cut."""
        live = self.transcription
        if live is None or live.tr is None:
            return False
        self._cut_reason = reason
        live.tr.close(wait_s=0)
        return True

    async def shutdown(self, on_progress: Callable[[float], None] | None = None) -> Path | None:
        await self.stop_capture()  # first: the engine hands its last samples to the session
        return await self.stop_session(on_progress)
