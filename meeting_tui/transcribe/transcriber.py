"""The streaming transcriber: a capture-engine listener that turns audio into ``Segment``s in a thread.

    tr = Transcriber(TranscriberConfig(model=ModelConfig("small.en")),
                     on_segment=..., on_partial=..., on_status=...)
    tr.start()                      # loads the model in the background; audio is queued meanwhile
    engine.add_listener(tr)         # on_audio (separate style) / on_mix (mixed style)
    ...
    await engine.stop()             # first: the engine hands out its last samples
    tr.drain_and_stop(progress)     # then: everything captured is transcribed before this returns
                                    # (blocking; from asyncio use `await tr.drain_async(progress)`)

Threads: ``on_audio``/``on_mix`` only append to a queue (cheap, event-loop safe). One daemon thread
("transcriber") runs the Silero VAD per source and faster-whisper; a second one loads the model at start.
**Every callback (on_segment, on_partial, on_status, drain progress) is called from the transcriber
thread** (load progress from the loader thread): a Textual client must hand them over with
``post_message`` (thread-safe), never touch widgets directly.

Partials: while an utterance is open, a greedy decode of it is published about every 1.5 s through
``on_partial`` as ``Segment(final=False, id=<utterance id>)``; the final segment carries the same ``id``
and replaces it. If the final decode finds no speech, ``on_partial`` receives an empty-text partial with
``extra["retract"] = True``: remove the pending line.

Back-pressure: finals are always decoded first, in order; a partial is skipped (counted in
``partials_dropped``) whenever audio is waiting or the lag exceeds ``partial_max_lag_s``. Audio is never
dropped (except after a model load error, when there is nothing to transcribe with).
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import dataclasses
import itertools
import logging
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from meeting_tui.transcribe.blas import limit_blas_threads
from meeting_tui.transcribe.decode_options import DecodeOptions
from meeting_tui.transcribe.filters import FilterConfig, judge
from meeting_tui.transcribe.governor import Governor, GovernorConfig, GovernorState
from meeting_tui.transcribe.model import LoadedModel, LoadProgress, ModelConfig, ModelLoader
from meeting_tui.transcribe.vad_segmenter import WINDOW as VAD_WINDOW
from meeting_tui.transcribe.vad_segmenter import StreamingVAD, Utterance, VadConfig
from meeting_tui.transcribe.wer import normalize
from meeting_tui.transcribe.window import WindowPolicy, sized_window
from meeting_tui.types import SESSION_RATE, AudioChunk, DrainProgress, Mode, Segment, Source

log = logging.getLogger("meeting_tui.transcribe")

DEFAULT_LABELS = {Source.MIC: "You", Source.LOOPBACK: "Them", Source.MIX: "Mixed"}
FINAL_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
FINAL_WINDOW = WindowPolicy(margin_s=2.0, min_s=10.0)
PARTIAL_WINDOW = WindowPolicy(margin_s=1.5, min_s=4.0)


@dataclass
class TranscriberConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    style: str = "separate"  # "separate": each source on its own; "mixed": the gain-weighted mix (on_mix)
    sources: tuple[Source, ...] = (Source.MIC, Source.LOOPBACK)  # what the mode captures
    labels: dict[Source, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    vad: VadConfig = field(default_factory=VadConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    partials: bool = True
    partial_interval_s: float = 1.5  # measured: 1.0 s put base at 3.05x offline CPU, 1.5 s at 2.85x
    partial_min_s: float = 0.8  # audio in the utterance before its first partial
    partial_max_lag_s: float = 1.0
    # decode an utterance's final during the pause that will close it and publish it the moment the pause
    # completes: once the pause is as long as the padding (the samples are known), or sooner for a slow
    # decoder (Transcriber._early_after)
    early_finals: bool = True
    temperatures: tuple[float, ...] = FINAL_TEMPERATURES
    context_prompt: bool = False  # prompt each final with the previous final of the same source
    context_audio: bool = True  # decode each final behind the previous utterances (audio + forced text prefix)
    context_utterances: int = 2  # ... at most this many (docs/transcription.md: 1 vs 2 vs 3, run 5)
    # ... and, while finals take too long to end within their closing pause (a slow machine or model), none
    # more once this much audio is held: each context word is a forced decoder step as dear as a decoded one
    # (docs/transcription.md, run 7). A quick decoder keeps the whole context, which tiny.en needs on a
    # reverberant mic.
    context_enough_s: float = 3.0
    context_max_gap_s: float = 10.0  # ... when it ended at most this long before
    context_max_window_s: float = 28.0  # ... and both fit in Whisper's 30 s window
    session_start_wall: float | None = None  # UNIX time of session sample 0 (None: inferred from arrivals)
    decode: DecodeOptions | None = None  # vocabulary and per-source language (transcribe/decode_options.py)
    # encoder windows sized to the audio (window.py); measured in docs/transcription.md
    final_window: WindowPolicy = field(default_factory=lambda: FINAL_WINDOW)
    partial_window: WindowPolicy = field(default_factory=lambda: PARTIAL_WINDOW)
    governor: GovernorConfig = field(default_factory=GovernorConfig)

    @property
    def streams(self) -> tuple[Source, ...]:
        """The streams that get transcribed: the sources (separate), or MIX (mixed with two sources)."""
        if self.style == "mixed" and len(self.sources) > 1:
            return (Source.MIX,)
        return tuple(self.sources)

    @classmethod
    def from_settings(cls, settings: Any, mode: Mode | None = None, **overrides: Any) -> "TranscriberConfig":
        """From a ``meeting_tui.settings.Settings`` (capture.mode, transcription.*, ui.labels)."""
        tr = getattr(settings, "transcription", None)
        mode = mode or getattr(getattr(settings, "capture", None), "mode", None) or Mode.MEETING
        labels = dict(DEFAULT_LABELS)
        ui_labels = getattr(getattr(settings, "ui", None), "labels", None)
        if ui_labels is not None and hasattr(ui_labels, "as_dict"):
            labels.update(ui_labels.as_dict())
        model = ModelConfig.from_settings(tr.model) if tr is not None else ModelConfig()
        values: dict[str, Any] = dict(model=model, style=getattr(tr, "style", "separate"),
                                      sources=tuple(Mode(mode).sources), labels=labels,
                                      decode=DecodeOptions.from_settings(tr) if tr is not None else None)
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class TranscriberStatus:
    """``state``: "loading", "ready", "error", "draining", "stopped". ``progress`` 0..1 where known."""

    state: str
    message: str = ""
    progress: float | None = None
    fix: str | None = None  # for "error": what the user can do
    model: str | None = None
    device: str | None = None
    compute_type: str | None = None


#: How long the thread sleeps with nothing to do. New audio wakes it (a completed VAD window), so this only
#: paces what is due by the clock alone (a partial of speech that stopped arriving, the governor, the model
#: becoming ready); each wake-up of an idle thread costs CPU on a laptop.
_IDLE_WAIT_S = 0.2
#: An early final starts after at least this much silence (fewer pauses inside sentences get a wasted one)
_EARLY_MIN_S = 0.1
#: ... and this long before the closing pause is expected to end, beyond its decode time.
_EARLY_SLACK_S = 0.05
#: Finals count as slow above (pause - _EARLY_MIN_S - _EARLY_SLACK_S) and as quick again this much below it.
_SLOW_FINALS_HYSTERESIS_S = 0.1
#: The silence between a final's context utterances and the final itself (samples).
_CONTEXT_PAUSE = int(0.3 * SESSION_RATE)


@dataclass
class TranscriberStats:
    state: str
    queue_depth: int  # audio chunks waiting + utterances waiting for Whisper
    queued_audio_s: float  # audio seconds in those
    lag_s: float  # how long the oldest waiting audio has waited (0 when caught up)
    rtf: float  # Whisper seconds per audio second (finals, whole session)
    rtf_recent: float  # the same, exponentially weighted over recent finals
    busy: float  # fraction of wall time spent in Whisper since start (finals + partials)
    finals: int
    partials: int
    partials_dropped: int
    filtered: int  # decoded segments dropped as silence/hallucination
    repetitions: int  # segments whose repetition loop was collapsed
    audio_in_s: dict[str, float]
    asr_final_s: float  # wall seconds spent in Whisper for finals
    asr_partial_s: float  # ... and for partials
    asr_cpu_s: float  # process CPU seconds while Whisper ran (its own threads included)
    vad_s: float  # seconds spent in the VAD
    latency_last_s: float | None
    latency_median_s: float | None
    latency_p95_s: float | None
    model: str | None = None
    device: str | None = None
    compute_type: str | None = None
    governor: GovernorState = field(default_factory=GovernorState)  # the load governor's level and why
    early_finals: int = 0  # finals decoded during their closing pause and used
    early_wasted: int = 0  # ... decoded, then speech went on
    final_decodes: int = 0  # final decodes run (early ones included)
    final_decodes_paired: int = 0  # ... while another source's final was ready too (what batching could join)
    context_retries: int = 0  # finals decoded again alone: the context came back in the output, or the prefix did not

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class DrainResult:
    complete: bool  # False: the timeout passed first (the thread keeps going in the background)
    elapsed_s: float
    transcribed_s: float
    segments: int


@dataclass
class _Job:
    source: Source
    utt: Utterance
    arrival: float  # monotonic time the utterance's last voiced sample reached us


class Transcriber:
    """See the module docstring. Thread-safe entry points: on_audio, on_mix, feed, stats, drain_and_stop."""

    def __init__(self, config: TranscriberConfig | None = None, *,
                 on_segment: Callable[[Segment], None] | None = None,
                 on_partial: Callable[[Segment], None] | None = None,
                 on_status: Callable[[TranscriberStatus], None] | None = None,
                 on_governor: Callable[[GovernorState], None] | None = None,
                 model: LoadedModel | Any | None = None) -> None:
        self.config = config or TranscriberConfig()
        self.on_segment_cb, self.on_partial_cb, self.on_status_cb = on_segment, on_partial, on_status
        self.on_governor_cb = on_governor
        self._governor: Governor | None = None  # made once the model is known
        self._decodes: collections.deque[tuple[float, float]] = collections.deque()  # (end, seconds)
        self._smaller: LoadedModel | None = None  # the governor's last step, loaded when first needed
        self._smaller_loader: ModelLoader | None = None
        self._smaller_spec: tuple[str, str] | None = None
        self._early: dict[Source, tuple[int, int, tuple]] = {}  # source -> (id, speech_end, decoded)
        self._final_dt = 0.0  # recent final decode time (EWMA), for when to start an early final
        self._context_retries = 0  # context decodes redone without the context
        self._slow_finals = False  # finals take longer than their closing pause can hide (_context_enough)
        self._early_used = self._early_wasted = 0
        self._final_decodes = self._final_decodes_paired = 0
        self._given_model = model
        self._loaded: LoadedModel | None = None
        self._loader: ModelLoader | None = None
        self._streams = self.config.streams
        ids = itertools.count(1)
        self._vad = {s: StreamingVAD(self.config.vad, id_source=ids) for s in self._streams}
        self._intake: collections.deque = collections.deque()  # (source, start, samples, arrival)
        self._intake_samples = 0
        self._window_due: dict[Source, int] = {}  # per source, the session sample that completes a VAD window
        self._count_lock = threading.Lock()
        self._jobs: collections.deque[_Job] = collections.deque()
        self._current_job: _Job | None = None
        self._wake = threading.Event()
        self._stop_asked = threading.Event()
        self._abandon = threading.Event()
        self._thread: threading.Thread | None = None
        self._arrivals: dict[Source, tuple[list[int], list[float]]] = {s: ([], []) for s in self._streams}
        self._last_partial: dict[Source, tuple[int, float]] = {}
        self._partial_shown: set[int] = set()
        self._prev_text: dict[Source, str] = {}
        # per source, the latest finals as (samples, text, start, end), oldest first
        self._context: dict[Source, list[tuple[np.ndarray, str, int, int]]] = {}
        self._language: str | None = self.config.model.language
        self._wall0 = self.config.session_start_wall
        self._status = TranscriberStatus("loading", "not started", model=self.config.model.name)
        # stats
        self._t_start = time.monotonic()
        self._asr_s = 0.0
        self._vad_s = 0.0
        self._asr_cpu_s = 0.0
        self._partial_dt = 0.0  # recent partial decode time (EWMA)
        self._final_audio_s = 0.0
        self._final_asr_s = 0.0
        self._rtf_recent = 0.0
        self._finals = self._partials = self._partials_dropped = self._filtered = self._reps = 0
        self._audio_in = {s: 0.0 for s in self._streams}
        self._latencies: collections.deque[float] = collections.deque(maxlen=500)
        self._drain_cb: Callable[[DrainProgress], None] | None = None
        self._drain_total = 0.0
        self._drain_done = 0.0
        self._drain_segments = 0

    # --- labels --------------------------------------------------------------------------------------

    def label(self, source: Source) -> str:
        return self.config.labels.get(source, DEFAULT_LABELS.get(source, str(source.value)))

    # --- listener API (event-loop thread; cheap) --------------------------------------------------

    def on_audio(self, chunk: AudioChunk) -> None:
        if self.config.style == "mixed" and Source.MIX in self._streams:
            return
        self.feed(chunk.source, chunk.samples, chunk.start)

    def on_mix(self, chunk: AudioChunk) -> None:
        if Source.MIX in self._streams:
            self.feed(Source.MIX, chunk.samples, chunk.start)

    def feed(self, source: Source, samples: np.ndarray, start: int) -> None:
        """Hand audio of ``source`` starting at session sample ``start`` to the transcriber (any thread)."""
        if source not in self._vad or self._status.state in ("error", "stopped"):
            return
        now = time.monotonic()
        data = np.array(samples, dtype=np.float32, copy=True).reshape(-1)
        if self._wall0 is None:
            self._wall0 = time.time() - (start + len(data)) / SESSION_RATE
        start = int(start)
        end = start + len(data)
        with self._count_lock:
            self._intake.append((source, start, data, now))
            self._intake_samples += len(data)
            # Wake the thread only when this source completes a VAD window: nothing can be decided on
            # less, and waking on every block cost tiny.en's live path about 6 % of its CPU
            # (docs/transcription.md, run 6). After a gap the VAD may start its windows anew.
            due = self._window_due.get(source)
            if due is None or start - due > self.config.vad.max_gap_fill_s * SESSION_RATE:
                due = start + VAD_WINDOW
            woke = end >= due
            if woke:
                due += ((end - due) // VAD_WINDOW + 1) * VAD_WINDOW
            self._window_due[source] = due
        if woke:
            self._wake.set()

    def set_session_start_wall(self, wall: float) -> None:
        """UNIX time of session sample 0, e.g. ``time.time() - (time.monotonic() - engine.t0)``."""
        self._wall0 = wall

    # --- life cycle ----------------------------------------------------------------------------------

    def start(self) -> "Transcriber":
        if self._thread is not None:
            return self
        self._t_start = time.monotonic()
        limit_blas_threads()  # the VAD's and the decoder's numpy work: see blas.py
        if self._given_model is not None:
            gm = self._given_model
            if not isinstance(gm, LoadedModel):
                gm = LoadedModel(model=gm, name=self.config.model.name, path="", device="?", compute_type="?",
                                 cpu_threads=0, load_s=0.0, english_only=self.config.model.name.endswith(".en"))
            self._loaded = gm
            self._make_governor()
            self._set_status(TranscriberStatus("ready", f"{gm.name} ready", 1.0, model=gm.name, device=gm.device,
                                               compute_type=gm.compute_type))
        else:
            self._set_status(TranscriberStatus("loading", f"loading {self.config.model.name}", 0.0,
                                               model=self.config.model.name))
            self._loader = ModelLoader(self.config.model, self._on_load_progress).start()
        self._thread = threading.Thread(target=self._run, name="transcriber", daemon=True)
        self._thread.start()
        return self

    @property
    def status(self) -> TranscriberStatus:
        return self._status

    @property
    def model(self) -> LoadedModel | None:
        return self._loaded

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model is loaded (True) or failed/timed out (False)."""
        if self._loaded is not None:
            return True
        if self._loader is None:
            return False
        try:
            self._loader.result(timeout)
            ok = True
        except Exception:
            ok = False
        # the transcriber thread publishes the outcome (status "ready" / "error" with the fix): wait for it
        end = time.monotonic() + 2.0
        while self._status.state == "loading" and self._thread is not None and self._thread.is_alive() \
                and time.monotonic() < end:
            time.sleep(0.01)
        return ok

    def drain_and_stop(self, progress: Callable[[DrainProgress], None] | None = None,
                       timeout: float | None = None) -> DrainResult:
        """Transcribe everything already received, then stop the thread. Blocking.

        Call after the capture engine has stopped (so its last samples are in). ``progress`` is called from
        the transcriber thread after each utterance and once at the end.
        """
        t0 = time.monotonic()
        self._drain_cb = progress
        self._drain_total = self._pending_audio_s()
        self._drain_done = 0.0
        self._drain_segments = 0
        if self._thread is None:
            self.start()
        self._stop_asked.set()
        self._wake.set()
        assert self._thread is not None
        self._thread.join(timeout)
        complete = not self._thread.is_alive()
        return DrainResult(complete, time.monotonic() - t0, self._drain_done, self._drain_segments)

    async def drain_async(self, progress: Callable[[DrainProgress], None] | None = None,
                          timeout: float | None = None) -> DrainResult:
        return await asyncio.to_thread(self.drain_and_stop, progress, timeout)

    def close(self) -> None:
        """Stop at once, discarding queued audio (use drain_and_stop to keep it)."""
        self._abandon.set()
        self._stop_asked.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    # --- stats ---------------------------------------------------------------------------------------

    def stats(self) -> TranscriberStats:
        now = time.monotonic()
        lag = self.stats_lag()
        jobs = list(self._jobs)
        queued = self._intake_samples / SESSION_RATE + sum(j.utt.duration_s for j in jobs)
        lat = sorted(self._latencies)
        wall = max(1e-6, now - self._t_start)
        ld = self._loaded
        return TranscriberStats(
            state=self._status.state,
            queue_depth=len(self._intake) + len(jobs),
            queued_audio_s=round(queued, 3),
            lag_s=round(lag, 3),
            rtf=round(self._final_asr_s / self._final_audio_s, 4) if self._final_audio_s else 0.0,
            rtf_recent=round(self._rtf_recent, 4),
            busy=round(min(1.0, self._asr_s / wall), 4),
            finals=self._finals, partials=self._partials, partials_dropped=self._partials_dropped,
            filtered=self._filtered, repetitions=self._reps,
            audio_in_s={s.value: round(v, 3) for s, v in self._audio_in.items()},
            asr_final_s=round(self._final_asr_s, 3), asr_partial_s=round(self._asr_s - self._final_asr_s, 3),
            vad_s=round(self._vad_s, 3), asr_cpu_s=round(self._asr_cpu_s, 3),
            latency_last_s=round(self._latencies[-1], 3) if self._latencies else None,
            latency_median_s=round(_quantile(lat, 0.5), 3) if lat else None,
            latency_p95_s=round(_quantile(lat, 0.95), 3) if lat else None,
            model=ld.name if ld else self.config.model.name,
            device=ld.device if ld else None, compute_type=ld.compute_type if ld else None,
            governor=self.governor_state, early_finals=self._early_used, early_wasted=self._early_wasted,
            final_decodes=self._final_decodes, final_decodes_paired=self._final_decodes_paired,
            context_retries=self._context_retries,
        )

    @property
    def governor_state(self) -> GovernorState:
        """The load governor's current level, what it uses now and why (any thread)."""
        if self._governor is None:
            return GovernorState(partials=self.config.partials, partial_interval_s=self.config.partial_interval_s,
                                 beam_size=self.config.model.beam_size, model=self.config.model.name)
        return self._governor.state

    # --- internals: load governor -------------------------------------------------------------------

    def _make_governor(self) -> None:
        from meeting_tui.transcribe.model_select import smaller_model

        ld = self._loaded
        assert ld is not None
        smaller = smaller_model(ld) if self.config.governor.enabled else None
        self._governor = Governor(self.config.governor, partial_interval_s=self.config.partial_interval_s,
                                  beam_size=self.config.model.beam_size, partials=self.config.partials,
                                  model=ld.name, smaller_model=smaller[0] if smaller else None)
        self._smaller_spec = smaller

    def _govern(self) -> None:
        gv = self._governor
        if gv is None or self._stop_asked.is_set():
            return
        now = time.monotonic()
        window = gv.config.window_s
        while self._decodes and self._decodes[0][0] < now - window:
            self._decodes.popleft()
        span = min(window, now - self._t_start)
        if span < 2.0:
            return
        busy = min(1.0, sum(dt for _, dt in self._decodes) / span)
        if gv.update(now, busy, self.stats_lag()):
            st = gv.state
            log.info("load governor: %s (%s)", st.name, st.reason)
            if st.level >= 4 and self._smaller is None and self._smaller_loader is None and self._smaller_spec:
                name, path = self._smaller_spec
                mc = dataclasses.replace(self.config.model, name=path, bundled_fallback=False)
                self._smaller_loader = ModelLoader(mc).start()
            _call(self.on_governor_cb, st)
        if self._smaller is None and self._smaller_loader is not None and self._smaller_loader.done:
            try:
                self._smaller = self._smaller_loader.result(0)
                self._smaller.name = self._smaller_spec[0]
            except Exception as exc:
                log.warning("the governor's smaller model could not be loaded: %s", exc)
                self._smaller_spec = None

    def _model_now(self) -> LoadedModel:
        """The model to decode with: the smaller one at the governor's last step once it is loaded."""
        assert self._loaded is not None
        if self._smaller is not None and self._governor is not None and self._governor.state.level >= 4:
            return self._smaller
        return self._loaded

    def stats_lag(self) -> float:
        """How long the oldest waiting audio has waited, in seconds (0 when caught up)."""
        now = time.monotonic()
        oldest = [j.arrival for j in list(self._jobs)]
        if self._current_job is not None:
            oldest.append(self._current_job.arrival)
        try:
            oldest.append(self._intake[0][3])
        except IndexError:
            pass
        return max(0.0, now - min(oldest)) if oldest else 0.0

    # --- internals: thread --------------------------------------------------------------------------

    def _set_status(self, status: TranscriberStatus) -> None:
        self._status = status
        _call(self.on_status_cb, status)

    def _on_load_progress(self, p: LoadProgress) -> None:
        if p.stage == "error":
            return  # reported by the worker with the fix
        state = "ready" if p.stage == "ready" else "loading"
        if state == "ready":
            return  # the worker reports ready once it has the model
        self._set_status(TranscriberStatus(state, p.message, p.fraction, model=self.config.model.name))

    def pending_audio_s(self) -> float:
        """Audio seconds received but not yet transcribed (queued, waiting for Whisper, or in an open utterance)."""
        return self._pending_audio_s()

    def _pending_audio_s(self) -> float:
        total = self._intake_samples / SESSION_RATE + sum(j.utt.duration_s for j in list(self._jobs))
        for vad in self._vad.values():
            cur = vad.current()
            if cur is not None:
                total += len(cur[2]) / SESSION_RATE
        return total

    def _check_model(self) -> None:
        if self._loaded is not None or self._loader is None or not self._loader.done:
            return
        try:
            self._loaded = self._loader.result(0)
        except Exception as exc:
            fix = getattr(exc, "fix", None)
            self._set_status(TranscriberStatus("error", str(exc), fix=fix, model=self.config.model.name))
            log.error("%s", exc)
            # nothing can be transcribed: free the queues; capture is unaffected
            self._jobs.clear()
            with self._count_lock:
                self._intake.clear()
                self._intake_samples = 0
            return
        ld = self._loaded
        self._make_governor()
        if ld.english_only:
            self._language = "en"
        note = f" ({'; '.join(ld.notes)})" if ld.notes else ""
        self._set_status(TranscriberStatus("ready", f"{ld.name} ready on {ld.device} ({ld.compute_type}) in "
                                                    f"{ld.load_s:.1f} s{note}", 1.0, model=ld.name,
                                           device=ld.device, compute_type=ld.compute_type))

    def _run(self) -> None:
        try:
            if self._loaded is not None and self._loaded.english_only:
                self._language = "en"
            while not self._abandon.is_set():
                self._check_model()
                self._govern()
                errored = self._status.state == "error"
                self._ingest()
                if errored:
                    self._jobs.clear()
                    if self._stop_asked.is_set():
                        break
                    self._wait(0.1)
                    continue
                if self._jobs and self._loaded is not None:
                    if self.config.partials and not self._stop_asked.is_set():
                        self._maybe_partial(skip=True)  # finals first: a partial due now is dropped
                    self._do_final(self._jobs.popleft())
                    continue
                if self._stop_asked.is_set():
                    if self._intake:
                        continue
                    flushed = False
                    for source, vad in self._vad.items():
                        for utt in vad.flush():
                            self._jobs.append(_Job(source, utt, self._arrival(source, utt.speech_end)))
                            flushed = True
                    if flushed or self._jobs:
                        if self._loaded is None:
                            self._wait(0.05)  # the model is still loading: wait for it, then drain
                        continue
                    if self._loaded is None and self._loader is not None and not self._loader.done:
                        self._wait(0.05)
                        continue
                    break
                if self._loaded is not None and self.config.early_finals and self._maybe_early_final():
                    continue
                if self._loaded is not None and self.config.partials and self._maybe_partial():
                    continue
                self._wait(_IDLE_WAIT_S)
        except Exception as exc:  # a bug must not pass silently
            log.exception("transcriber thread failed")
            self._set_status(TranscriberStatus("error", f"transcriber failed: {type(exc).__name__}: {exc}",
                                               fix="see the log file", model=self.config.model.name))
            return
        if self._stop_asked.is_set() and self._drain_cb is not None:
            _call(self._drain_cb, DrainProgress(round(self._drain_total, 3), round(self._drain_total, 3), 0))
        if self._status.state != "error":
            self._set_status(TranscriberStatus("stopped", "transcriber stopped", model=self.config.model.name))

    def _wait(self, timeout: float) -> None:
        self._wake.wait(timeout)
        self._wake.clear()

    def _ingest(self) -> None:
        while True:
            with self._count_lock:
                try:
                    source, start, data, arrival = self._intake.popleft()
                except IndexError:
                    return
                self._intake_samples -= len(data)
            self._audio_in[source] += len(data) / SESSION_RATE
            ends, times = self._arrivals[source]
            ends.append(start + len(data))
            times.append(arrival)
            if len(ends) > 20_000:
                del ends[:10_000], times[:10_000]
            t0 = time.perf_counter()
            closed = self._vad[source].feed(data, start)
            self._vad_s += time.perf_counter() - t0
            for utt in closed:
                self._jobs.append(_Job(source, utt, self._arrival(source, utt.speech_end)))

    def _arrival(self, source: Source, sample: int) -> float:
        ends, times = self._arrivals[source]
        if not ends:
            return time.monotonic()
        i = bisect.bisect_left(ends, sample)
        return times[min(i, len(times) - 1)]

    # --- internals: decoding -------------------------------------------------------------------------

    def _decode(self, audio: np.ndarray, *, final: bool, source: Source,
                prefix: str | None = None) -> tuple[list[Any], Any, float]:
        assert self._loaded is not None
        model = self._model_now().model
        mc = self.config.model
        gov = self.governor_state
        prompt = None
        if final and self.config.context_prompt:
            prompt = self._prev_text.get(source) or None
        kwargs: dict[str, Any] = dict(
            language=self._language, task="transcribe", vad_filter=False, condition_on_previous_text=False,
            initial_prompt=prompt,
        )
        dec = self.config.decode
        if dec is not None:  # the vocabulary, and this source's language (fixed, set live or detected)
            dec.languages.english_only = self._loaded.english_only
            opts = dec.kwargs(source, context_prompt=prompt)
            kwargs.update(opts, language=opts["language"] or self._language)
        if final:
            kwargs.update(beam_size=gov.beam_size if self._governor else mc.beam_size,
                          temperature=list(self.config.temperatures))
            if prefix:
                kwargs.update(prefix=prefix, without_timestamps=True)
        else:
            # a cap on the tokens: in a short window a greedy decode without timestamps may not stop
            kwargs.update(beam_size=1, temperature=0.0, without_timestamps=True,
                          max_new_tokens=min(200, 10 + int(8 * len(audio) / SESSION_RATE)))
        t0, c0 = time.perf_counter(), time.process_time()
        window = self.config.final_window if final else self.config.partial_window
        with sized_window(model, window, len(audio)):
            segments, info = model.transcribe(audio, **kwargs)
            segments = list(segments)
        dt = time.perf_counter() - t0
        self._decodes.append((time.monotonic(), dt))
        self._asr_s += dt
        self._asr_cpu_s += time.process_time() - c0
        if dec is not None:
            if final and kwargs["language"] is None:
                dec.observe(source, info, len(audio) / SESSION_RATE)
        elif final and self._language is None and info is not None and len(audio) >= 2 * SESSION_RATE \
                and (info.language_probability or 0) >= 0.7:
            self._language = info.language  # lock the detected language for the rest of the session
        return segments, info, dt

    def _decode_final(self, utt: Utterance, source: Source) -> tuple[list[Any], Any, float]:
        result = self._decode_final_in_context(utt, source)
        dt = result[2]
        self._final_dt = dt if self._final_decodes == 1 else 0.7 * self._final_dt + 0.3 * dt
        return result

    def _decode_final_in_context(self, utt: Utterance, source: Source) -> tuple[list[Any], Any, float]:
        """Decode an utterance; with ``context_audio``, behind the previous utterances of the same source and
        their text as a forced prefix (Whisper then hears the new words in context, as offline decoding does),
        keeping only what follows the prefix."""
        self._final_decodes += 1
        self._final_decodes_paired += self._other_final_ready(source)
        ctx = self._context_for(utt, source) if self.config.context_audio else None
        if ctx is not None:
            prev_audio, prev_text = ctx
            audio = np.concatenate([prev_audio, np.zeros(_CONTEXT_PAUSE, np.float32), utt.samples])
            segments, info, dt = self._decode(audio, final=True, source=source, prefix=prev_text)
            stripped = _strip_prefix(segments, prev_text)
            if stripped is not None and not _repeats_context(prev_text, " ".join(s.text for s in stripped)):
                return stripped, info, dt
            # no prefix at the start, or the decoder went back and said the context again (tiny.en on a
            # reverberant mic, tests/test_echo_rig.py): the utterance alone
            self._context_retries += 1
            segments, info, dt2 = self._decode(utt.samples, final=True, source=source)
            return segments, info, dt + dt2
        return self._decode(utt.samples, final=True, source=source)

    def _other_final_ready(self, source: Source) -> bool:
        """Whether another source has a final to decode now (queued, or its closing pause has begun)."""
        if any(job.source != source for job in self._jobs):
            return True
        for other, vad in self._vad.items():
            utt = vad.closing(self._early_after()) if other != source else None
            held = self._early.get(other)
            if utt is not None and (held is None or held[:2] != (utt.id, utt.speech_end)):
                return True
        return False

    def _context_for(self, utt: Utterance, source: Source) -> tuple[np.ndarray, str] | None:
        """The audio and text of the finals just before ``utt`` (at most ``context_utterances``, each pause at
        most ``context_max_gap_s``, all within ``context_max_window_s`` with ``utt``, fewer when finals are slow:
        ``_context_enough``), joined by 0.3 s pauses."""
        pad = _CONTEXT_PAUSE
        budget = self.config.context_max_window_s * SESSION_RATE - len(utt.samples)
        audio: list[np.ndarray] = []
        texts: list[str] = []
        after = utt.start
        held, enough = 0, self._context_enough()
        depth = self.config.context_utterances
        if self.config.decode is not None and self.config.decode.vocabulary:
            depth = 1  # the glossary is a prompt, and two sentences of forced prefix drowned it ("next cloud")
        for samples, text, start, end in reversed(self._context.get(source, [])[-depth:]):
            if not (0 <= after - end <= self.config.context_max_gap_s * SESSION_RATE):
                break
            if len(samples) + pad > budget or not text:
                break
            budget -= len(samples) + pad
            audio[:0] = [samples, np.zeros(pad, np.float32)]
            texts.insert(0, text)
            after = start
            held += len(samples)
            if held >= enough:
                break
        if not texts:
            return None
        return np.concatenate(audio[:-1]), " ".join(texts)

    def _early_after(self) -> int:
        """Silence (samples) after which an early final starts: late enough that few pauses inside a sentence
        get one, early enough that the decode ends as the closing pause does (a slow model starts sooner).
        Not sooner once the governor has stepped down: a decode wasted on a pause inside a sentence cannot be
        stopped, and a loaded CPU has no time for it."""
        vad = self.config.vad
        if self._governor is not None and self._governor.state.level > 0:
            return int(vad.pad_s * SESSION_RATE)
        start_s = vad.min_silence_s - self._final_dt - _EARLY_SLACK_S
        return int(min(vad.pad_s, max(_EARLY_MIN_S, start_s)) * SESSION_RATE)

    def _context_enough(self) -> float:
        """Context samples that are enough: unbounded while finals end within their closing pause (started
        early, at the soonest), ``context_enough_s`` once they take longer."""
        line = self.config.vad.min_silence_s - _EARLY_MIN_S - _EARLY_SLACK_S
        # with a margin either way: the shorter context makes the decodes quicker, which must not switch it back
        if self._final_dt > line:
            self._slow_finals = True
        elif self._final_dt < line - _SLOW_FINALS_HYSTERESIS_S:
            self._slow_finals = False
        return self.config.context_enough_s * SESSION_RATE if self._slow_finals else math.inf

    def _maybe_early_final(self) -> bool:
        """Decode the final of an utterance whose closing pause has begun (see ``early_finals``). Started
        before ``pad_s`` of silence, it decodes the padding not heard yet as digital silence, in the window
        the closed utterance will get (a window 0.15 s shorter moved base's words: docs/transcription.md,
        run 7); it is kept as long as no speech came (same id and speech end)."""
        after = self._early_after()
        for source, vad in self._vad.items():
            utt = vad.closing(after)
            if utt is None:
                continue
            key = (utt.id, utt.speech_end)
            held = self._early.get(source)
            if held is not None and held[:2] == key:
                continue
            if held is not None:
                self._early_wasted += 1  # speech went on: that decode is of no use
            missing = utt.speech_end + vad.pad - utt.end
            if missing > 0:  # the padding not heard yet, as silence: the window the closed utterance will get
                utt = dataclasses.replace(utt, samples=np.concatenate([utt.samples, np.zeros(missing, np.float32)]))
            self._early[source] = (*key, self._decode_final(utt, source))
            return True
        return False

    def _take_early(self, utt: Utterance, source: Source) -> tuple | None:
        held = self._early.pop(source, None)
        # a cut at the maximum length is no pause: its speech end is where it was cut
        if held is not None and held[:2] == (utt.id, utt.speech_end) and utt.cut != "max_length":
            self._early_used += 1
            return held[2]
        if held is not None:
            self._early_wasted += 1
        return None

    def _do_final(self, job: _Job) -> None:
        self._current_job = job
        try:
            utt, source = job.utt, job.source
            early = self._take_early(utt, source) if self.config.early_finals else None
            segments, info, dt = early if early is not None else self._decode_final(utt, source)
            dur = max(1e-6, utt.duration_s)
            self._final_audio_s += dur
            self._final_asr_s += dt
            r = dt / dur
            self._rtf_recent = r if self._finals == 0 else 0.8 * self._rtf_recent + 0.2 * r
            texts, lp_sum, tok_sum, flags = [], 0.0, 0, []
            nsp = []
            for seg in segments:
                v = judge(seg.text, no_speech_prob=seg.no_speech_prob, avg_logprob=seg.avg_logprob,
                          voiced_s=utt.voiced_s, config=self.config.filters)
                if v.repetition:
                    self._reps += 1
                    flags.append("repetition_collapsed")
                if not v.keep:
                    self._filtered += 1
                    log.debug("dropped %s segment %r (%s)", source.value, seg.text, v.reason)
                    continue
                texts.append(v.text)
                n = max(1, len(seg.tokens))
                lp_sum += seg.avg_logprob * n
                tok_sum += n
                nsp.append(seg.no_speech_prob)
            text = " ".join(t for t in texts if t).strip()
            self._drain_done += utt.duration_s
            if not text:
                self._context.pop(source, None)
                if utt.id in self._partial_shown:
                    self._partial_shown.discard(utt.id)
                    _call(self.on_partial_cb, Segment(source, utt.speech_start / SESSION_RATE,
                                                      utt.speech_end / SESSION_RATE, "", final=False,
                                                      id=utt.id, extra={"retract": True, "label": self.label(source)}))
                self._report_drain()
                return
            self._partial_shown.discard(utt.id)
            self._prev_text[source] = text[-200:]
            history = self._context.setdefault(source, [])
            history.append((utt.samples, text, utt.start, utt.end))
            del history[:-max(1, self.config.context_utterances)]
            start_s, end_s = utt.speech_start / SESSION_RATE, utt.speech_end / SESSION_RATE
            latency = time.monotonic() - job.arrival
            if not self._stop_asked.is_set():
                self._latencies.append(latency)
            seg = Segment(
                source=source, start=round(start_s, 3), end=round(end_s, 3), text=text, final=True,
                confidence=round(math.exp(lp_sum / tok_sum), 4) if tok_sum else None,
                wall_start=(self._wall0 + start_s) if self._wall0 is not None else None,
                id=utt.id,
                extra={"label": self.label(source), "latency_s": round(latency, 3), "cut": utt.cut,
                       "language": getattr(info, "language", None),
                       "no_speech_prob": round(max(nsp), 4) if nsp else None,
                       "asr_s": round(dt, 3), **({"flags": flags} if flags else {})},
            )
            self._finals += 1
            self._drain_segments += 1
            _call(self.on_segment_cb, seg)
            self._report_drain()
        finally:
            self._current_job = None

    def _report_drain(self) -> None:
        if self._stop_asked.is_set() and self._drain_cb is not None:
            pending = self._pending_audio_s()
            self._drain_total = max(self._drain_total, self._drain_done_audio() + pending)
            done = max(0.0, self._drain_total - pending)
            _call(self._drain_cb, DrainProgress(round(done, 3), round(self._drain_total, 3), len(self._jobs)))

    def _drain_done_audio(self) -> float:
        return max(0.0, self._drain_total - self._pending_audio_s())

    def _maybe_partial(self, skip: bool = False) -> bool:
        """Publish one partial if one is due and we are caught up. Returns True if it decoded.

        ``skip``: the decoder is needed for finals; count due partials as dropped."""
        gov = self.governor_state
        if self._governor is not None and not gov.partials:
            return False
        now = time.monotonic()
        due: list[tuple[float, Source]] = []
        for source, vad in self._vad.items():
            cur = vad.current()
            if cur is None or vad.in_pause:  # a pause may close it soon: keep the decoder free for the final
                continue
            uid, speech_start, audio, voiced = cur
            if len(audio) < self.config.partial_min_s * SESSION_RATE:
                continue
            last = self._last_partial.get(source)
            # every partial_interval_s; slower when partial decodes are slow (a loaded CPU), so that they never
            # take more than half of the decoder's time
            interval = max(gov.partial_interval_s if self._governor else self.config.partial_interval_s,
                           2.0 * self._partial_dt)
            if last is not None and last[0] == uid and now - last[1] < interval:
                continue
            due.append((last[1] if last else 0.0, source))
        if not due:
            return False
        lagging = skip or bool(self._intake) or bool(self._jobs) or self.stats().lag_s > self.config.partial_max_lag_s
        if lagging:
            self._partials_dropped += len(due)
            for _, source in due:  # count each skipped partial once per interval
                cur = self._vad[source].current()
                if cur is not None:
                    self._last_partial[source] = (cur[0], now)
            return False
        due.sort(key=lambda x: x[0])
        source = due[0][1]
        vad = self._vad[source]
        uid, speech_start, audio, voiced = vad.current()  # type: ignore[misc]
        self._last_partial[source] = (uid, now)
        segments, _info, dt = self._decode(audio, final=False, source=source)
        self._partial_dt = dt if self._partials == 0 else 0.7 * self._partial_dt + 0.3 * dt
        texts = []
        for seg in segments:
            v = judge(seg.text, no_speech_prob=seg.no_speech_prob, avg_logprob=seg.avg_logprob, voiced_s=voiced,
                      config=self.config.filters)
            if v.keep:
                texts.append(v.text)
        text = " ".join(texts).strip()
        if not text:
            return True
        # the utterance may have closed while we decoded: then its final is queued, skip the stale partial
        cur = vad.current()
        if cur is None or cur[0] != uid:
            return True
        self._partials += 1
        self._partial_shown.add(uid)
        end_s = (vad.open_start() or 0) / SESSION_RATE + len(audio) / SESSION_RATE
        _call(self.on_partial_cb, Segment(source, round(speech_start / SESSION_RATE, 3), round(end_s, 3), text,
                                          final=False, id=uid,
                                          wall_start=(self._wall0 + speech_start / SESSION_RATE)
                                          if self._wall0 is not None else None,
                                          extra={"label": self.label(source)}))
        return True


class _Seg:
    """A decoded segment with its text replaced (the forced prefix removed)."""

    def __init__(self, seg: Any, text: str) -> None:
        self.text = text
        self.no_speech_prob = seg.no_speech_prob
        self.avg_logprob = seg.avg_logprob
        self.tokens = seg.tokens


def _strip_prefix(segments: list[Any], prefix: str) -> list[Any] | None:
    """The decoded text after the forced ``prefix``; None if it does not start with it."""
    if not segments:
        return []
    text = "".join(s.text for s in segments).strip()
    p = prefix.strip()
    if not text.startswith(p):
        return None
    rest = text[len(p):].strip()
    return [_Seg(segments[0], rest)] if rest else []


def _repeats_context(context: str, text: str) -> bool:
    """Whether ``text`` says a run of the context again: five words in a row of it (all of a shorter text of
    three or four words). Whisper behind a forced prefix sometimes repeats the prefix instead of going on."""
    words = normalize(text).split()
    if len(words) < 3:
        return False
    run = min(5, len(words))
    ctx = " " + normalize(context) + " "
    return any(" " + " ".join(words[i:i + run]) + " " in ctx for i in range(len(words) - run + 1))


def _call(cb: Callable[..., Any] | None, *args: Any) -> None:
    if cb is None:
        return
    try:
        cb(*args)
    except Exception:
        log.exception("transcriber callback failed")


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q
    lo, hi = int(math.floor(k)), int(math.ceil(k))
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)
