"""A session's transcriber: fed from the capture engine (through the echo stage in meeting modes), started
on the meeting's shared model once it is loaded; audio that arrives before is buffered, never lost."""

from __future__ import annotations

import threading
from typing import Callable

from meeting_tui.meeting.echo_stage import EchoStage
from meeting_tui.transcribe.model import ModelLoader
from meeting_tui.transcribe.transcriber import Transcriber, TranscriberConfig, TranscriberStats
from meeting_tui.types import AudioChunk, DrainProgress, Mode, Segment


class LiveTranscription:
    def __init__(self, config: TranscriberConfig, loader: ModelLoader, *, guard, mode: Callable[[], Mode],
                 on_final: Callable[[Segment], None], on_partial: Callable[[Segment], None],
                 on_echo_status: Callable | None = None, on_governor: Callable | None = None,
                 rebuild_guard: Callable | None = None) -> None:
        """``on_final``/``on_partial`` run on the transcriber's thread; ``mode`` says what is captured now."""
        self.config = config
        self._loader = loader
        self._mode = mode
        self._on_final, self._on_partial = on_final, on_partial
        self._on_governor = on_governor
        self._stage = EchoStage(_Downstream(self), guard, on_status=on_echo_status,
                                rebuild=rebuild_guard) if guard is not None else None
        self._stage_used = False
        self.tr: Transcriber | None = None
        self.error: str | None = None
        self._buffer: list[tuple[str, AudioChunk]] = []
        self._lock = threading.Lock()
        self._ready = threading.Thread(target=self._wait_for_model, name="transcriber-start", daemon=True)
        self._ready.start()

    def _wait_for_model(self) -> None:
        try:
            loaded = self._loader.result()
        except Exception as exc:  # the meeting already reported the load error once
            self.error = str(exc)
            with self._lock:
                self._buffer.clear()
            return
        tr = Transcriber(self.config, on_segment=self._on_final, on_partial=self._on_partial, model=loaded,
                         on_governor=self._on_governor)
        tr.start()
        with self._lock:
            for kind, chunk in self._buffer:
                tr.on_audio(chunk) if kind == "audio" else tr.on_mix(chunk)
            self._buffer.clear()
            self.tr = tr

    # --- audio in (event loop) ---------------------------------------------------------------------------

    def on_audio(self, chunk: AudioChunk) -> None:
        meeting = self._mode() in (Mode.MEETING, Mode.MEETING_FFMPEG)
        if self._stage is not None and meeting:
            self._stage_used = True
            self._stage.on_audio(chunk)
            return
        if self._stage_used:  # left meeting mode: release the mic audio the guard still holds
            self._stage_used = False
            self._stage.flush()
        self._deliver("audio", chunk)

    def on_mix(self, chunk: AudioChunk) -> None:
        self._deliver("mix", chunk)

    def on_health(self, health) -> None:
        """The mic's health reaches the echo notice: a mic stream that is the loopback is not echo."""
        if self._stage is not None:
            self._stage.on_health(health)

    def _deliver(self, kind: str, chunk: AudioChunk) -> None:
        tr = self.tr
        if tr is None:
            with self._lock:
                tr = self.tr
                if tr is None:
                    if self.error is None:
                        self._buffer.append((kind, chunk))
                    return
        tr.on_audio(chunk) if kind == "audio" else tr.on_mix(chunk)

    # --- state ---------------------------------------------------------------------------------------------

    def stats(self) -> TranscriberStats | None:
        return self.tr.stats() if self.tr is not None else None

    def pending_audio_s(self) -> float:
        return self.tr.pending_audio_s() if self.tr is not None else 0.0

    def label(self, source) -> str:
        return self.config.labels.get(source, source.value)

    async def drain(self, progress: Callable[[DrainProgress], None] | None = None) -> None:
        """After the engine stopped: everything captured is transcribed before this returns."""
        import asyncio

        if self._stage is not None:
            self._stage.flush()
        await asyncio.to_thread(self._ready.join)
        if self.tr is not None:
            await self.tr.drain_async(progress)

    def drain_blocking(self) -> None:
        """The same, without an event loop (the loop is gone: a second Ctrl+C)."""
        if self._stage is not None:
            self._stage.flush()
        self._ready.join()
        if self.tr is not None:
            self.tr.drain_and_stop()


class _Downstream:
    """The echo stage's output: the buffered path into the transcriber."""

    def __init__(self, live: LiveTranscription) -> None:
        self.live = live

    def on_audio(self, chunk: AudioChunk) -> None:
        self.live._deliver("audio", chunk)

    def on_mix(self, chunk: AudioChunk) -> None:
        self.live._deliver("mix", chunk)
