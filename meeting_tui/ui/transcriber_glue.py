"""How the dashboard drives meeting_tui.transcribe: model preloading, the live transcriber, its stats.

The model starts loading at launch (so the first frame never waits for it). A session started before the
model is ready buffers its audio here and hands it to the Transcriber once the model is in, so nothing is
lost and the model is loaded only once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Callable

from meeting_tui.types import Mode, Source
from meeting_tui.ui.core import TranscriberStats

if TYPE_CHECKING:
    from meeting_tui.ui.core import Core

log = logging.getLogger("meeting_tui.ui")


def _model_config(core: "Core"):
    from meeting_tui.transcribe.model import ModelConfig

    s = core.settings
    config = ModelConfig.from_settings(s.transcription.model) if s is not None else ModelConfig()
    if core.model_override:
        config.name = core.model_override
    return config


def preload(core: "Core") -> None:
    if core.model_loader is not None:
        return
    try:
        from meeting_tui.transcribe.model import ModelLoader
    except ImportError as exc:
        core.tstats = TranscriberStats(model=core.model_name(), state=f"not installed ({exc.name})")
        return
    core.tstats = TranscriberStats(model=core.model_name(), state="loading", progress=None)

    def progress(p) -> None:  # on the loader thread: replace the object, never mutate it
        if p.stage == "error":
            core.tstats = TranscriberStats(model=core.model_name(), state="failed", progress=None)
            core.model_error = p.message
        elif p.stage == "fallback" and "bundled" in p.message:
            from meeting_tui.transcribe.model import BUNDLED_NAME

            core.model_fallback_name = BUNDLED_NAME
            core.model_notice = p.message
            core.tstats = TranscriberStats(model=core.model_name(), state="loading", progress=None)
        elif p.stage == "fallback":  # CUDA failed: the CPU is used
            core.model_notice = p.message
        elif p.stage == "ready":
            core.tstats = TranscriberStats(model=core.model_name(), state="ready")
        else:
            core.tstats = TranscriberStats(model=core.model_name(), state="loading", progress=p.fraction)

    core.model_loader = ModelLoader(_model_config(core), progress).start()


class LiveTranscriber:
    """Engine-listener side of a session's transcriber; buffers audio until the model is loaded."""

    def __init__(self, core: "Core") -> None:
        from meeting_tui.transcribe.transcriber import TranscriberConfig

        self.core = core
        s = core.settings
        mode = core.setup.mode if core.setup else None
        # Both sources always: a mode switch during the session then needs no new transcriber.
        overrides = dict(model=_model_config(core), session_start_wall=time.time())
        if s is None or s.transcription.style == "separate":
            overrides["sources"] = (Source.MIC, Source.LOOPBACK)
        self.config = (TranscriberConfig.from_settings(s, mode, **overrides) if s is not None
                       else TranscriberConfig(**overrides))
        # The echo guard sits in front of the transcriber (never in front of meters or recordings) and
        # only works while both sources are captured; the text filter guards the journal.
        from meeting_tui.transcribe.echo_stage import EchoStage, EchoWiring

        self.echo = EchoWiring.from_settings(s, Mode.MEETING, self.config.style,
                                             on_status=getattr(core.events, "echo", None))
        self._stage = EchoStage(_Forward(self), self.echo.guard, on_status=self.echo.on_status) \
            if self.echo.guard is not None else None
        self._stage_used = False
        self._publish_final = self.echo.segment_callback(self._journal_and_show)
        self.tr = None
        self.error: str | None = None
        self._buffer: list = []
        self._lock = threading.Lock()
        self._ready = threading.Thread(target=self._wait_for_model, name="transcriber-start", daemon=True)
        self._ready.start()

    def _wait_for_model(self) -> None:
        from meeting_tui.transcribe.transcriber import Transcriber

        core = self.core
        try:
            loaded = core.model_loader.result()
        except Exception as exc:
            self.error = str(exc)
            with self._lock:
                self._buffer.clear()
            return
        tr = Transcriber(self.config, on_segment=self._final, on_partial=core.events.segment, model=loaded)
        tr.start()
        with self._lock:
            for kind, chunk in self._buffer:
                getattr(tr, kind)(chunk)
            self._buffer.clear()
            self.tr = tr

    def _final(self, segment) -> None:  # transcriber thread
        self._publish_final(segment)

    def _journal_and_show(self, segment) -> None:
        self.core.journal_segment(segment)
        self.core.events.segment(segment)

    def tick(self, now_s: float) -> None:
        """Release "You" lines the text filter held while nothing else arrived (any thread)."""
        self.echo.tick(now_s)

    def on_audio(self, chunk) -> None:  # event loop
        setup = self.core.setup
        meeting = setup is not None and setup.mode in (Mode.MEETING, Mode.MEETING_FFMPEG)
        if self._stage is not None and meeting:
            self._stage_used = True
            self._stage.on_audio(chunk)
            return
        if self._stage_used:  # left meeting mode: release the mic audio the guard still holds
            self._stage_used = False
            self._stage.flush()
        self._forward_audio(chunk)

    def _forward_audio(self, chunk) -> None:
        self._deliver("on_audio", chunk)

    def on_mix(self, chunk) -> None:
        self._deliver("on_mix", chunk)

    def _deliver(self, kind: str, chunk) -> None:
        """To the transcriber, or into the buffer while the model is still loading (never lost)."""
        tr = self.tr
        if tr is None:
            with self._lock:
                tr = self.tr
                if tr is None:
                    if self.error is None:
                        self._buffer.append((kind, chunk))
                    return
        getattr(tr, kind)(chunk)

    def stats(self):
        return self.tr.stats() if self.tr is not None else None

    async def drain(self, progress: Callable | None = None) -> None:
        if self._stage is not None:
            self._stage.flush()
        await asyncio.to_thread(self._ready.join)
        if self.tr is not None:
            await self.tr.drain_async(progress)
        self.echo.flush_text()


class _Forward:
    """The echo stage's downstream: the buffered path into the transcriber."""

    def __init__(self, live: LiveTranscriber) -> None:
        self.live = live

    def on_audio(self, chunk) -> None:
        self.live._forward_audio(chunk)

    def on_mix(self, chunk) -> None:
        self.live.on_mix(chunk)


def stats(core: "Core") -> TranscriberStats:
    base = core.tstats
    live = core.transcriber
    st = live.stats() if live is not None else None
    if live is not None and core.session_t0 is not None:  # polled about once a second by the status line
        live.tick(time.monotonic() - core.session_t0)
    if st is None:
        return base
    return TranscriberStats(model=base.model, state=base.state, progress=base.progress,
                            rtf=st.rtf if st.finals else None, lag_s=st.lag_s, queue=st.queue_depth)


def start(core: "Core") -> None:
    """Start transcribing for the open session (the model may still be loading)."""
    preload(core)
    if core.model_loader is None:
        log.warning("no transcriber available: recording without transcription")
        return
    core.transcriber = LiveTranscriber(core)


async def stop(core: "Core", on_progress: Callable[[float], None] | None = None) -> None:
    live, session = core.transcriber, core.session
    if live is None:
        return

    def progress(p) -> None:  # transcriber thread
        if session is not None:
            session.report_progress(p.done_s, p.total_s)
        core.drain_fraction = p.fraction
        if on_progress is not None:
            on_progress(p.fraction)

    try:
        await live.drain(progress)
    finally:
        core.transcriber = None
        core.drain_fraction = None


def unload(core: "Core") -> None:
    core.model_loader = None
