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
import collections
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from meeting_tui.transcribe.blas import limit_blas_threads
from meeting_tui.transcribe.callbacks import call
from meeting_tui.transcribe.config import DEFAULT_LABELS, FINAL_TEMPERATURES, TranscriberConfig, TranscriberStatus
from meeting_tui.transcribe.context_policy import ContextPolicy
from meeting_tui.transcribe.decoder import Decoded, Decoder
from meeting_tui.transcribe.early_finals import EarlyFinals
from meeting_tui.transcribe.final_text import judge_final
from meeting_tui.transcribe.governor import GovernorState
from meeting_tui.transcribe.intake import Intake
from meeting_tui.transcribe.model import LoadedModel, LoadProgress, ModelLoader
from meeting_tui.transcribe.model_swap import ModelSwitch
from meeting_tui.transcribe.native_heap import HeapTrimmer
from meeting_tui.transcribe.partials import Partials
from meeting_tui.transcribe.stats import DrainResult, FinalCounts, TranscriberStats
from meeting_tui.transcribe.vad_segmenter import StreamingVAD, Utterance
from meeting_tui.transcribe.vocabulary_guard import guard
from meeting_tui.types import SESSION_RATE, AudioChunk, DrainProgress, Segment, Source

__all__ = ["DEFAULT_LABELS", "FINAL_TEMPERATURES", "DrainProgress", "DrainResult", "Transcriber",
           "TranscriberConfig", "TranscriberStats", "TranscriberStatus"]

log = logging.getLogger("meeting_tui.transcribe")

#: How long the thread sleeps with nothing to do. New audio wakes it (a completed VAD window), so this only
#: paces what is due by the clock alone (a partial of speech that stopped arriving, the governor, the model
#: becoming ready); each wake-up of an idle thread costs CPU on a laptop.
_IDLE_WAIT_S = 0.2


@dataclass
class _Job:
    source: Source
    utt: Utterance
    arrival: float  # monotonic time the utterance's last voiced sample reached us


class Transcriber:
    """See the module docstring. Thread-safe entry points: on_audio, on_mix, feed, stats, drain_and_stop.

    The loop (``_run``) is here; each policy is its own object: ``models`` (model swaps, load governor),
    ``decoder`` (one decode), ``context`` (finals in context), ``early`` (early finals), ``partials``,
    ``intake`` (queued audio), ``counts`` (stats)."""

    def __init__(self, config: TranscriberConfig | None = None, *,
                 on_segment: Callable[[Segment], None] | None = None,
                 on_partial: Callable[[Segment], None] | None = None,
                 on_status: Callable[[TranscriberStatus], None] | None = None,
                 on_governor: Callable[[GovernorState], None] | None = None,
                 model: LoadedModel | Any | None = None) -> None:
        self.config = config or TranscriberConfig()
        self.on_segment_cb, self.on_status_cb = on_segment, on_status
        self.models = ModelSwitch(self.config, on_governor)
        self.decoder = Decoder(self.config, self.models)
        self.context = ContextPolicy(self.config)
        self.early = EarlyFinals(self.config.vad)
        self.partials = Partials(self.config, on_partial)
        self.counts = FinalCounts()
        self.heap = HeapTrimmer()  # native memory the decodes freed goes back to the system (native_heap.py)
        self._given_model = model
        self._loader: ModelLoader | None = None
        self._streams = self.config.streams
        ids = itertools.count(1)
        self._vad = {s: StreamingVAD(self.config.vad, id_source=ids) for s in self._streams}
        self._wake = threading.Event()
        self.intake = Intake(self._streams, self.config.vad, self._wake)
        self._jobs: collections.deque[_Job] = collections.deque()
        self._current_job: _Job | None = None
        self._stop_asked = threading.Event()
        self._abandon = threading.Event()
        self._thread: threading.Thread | None = None
        self._wall0 = self.config.session_start_wall
        self._status = TranscriberStatus("loading", "not started", model=self.config.model.name)
        # the drain: its progress callback and what it has done
        self._drain_cb: Callable[[DrainProgress], None] | None = None
        self._drain_total = 0.0
        self._drain_done = 0.0
        self._drain_segments = 0
        self._final_decodes_paired = 0  # final decodes while another source's final was ready too

    def label(self, source: Source) -> str:
        return self.config.label(source)

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
        self.intake.put(source, data, int(start), now)

    def set_session_start_wall(self, wall: float) -> None:
        """UNIX time of session sample 0, e.g. ``time.time() - (time.monotonic() - engine.t0)``."""
        self._wall0 = wall

    # --- life cycle ----------------------------------------------------------------------------------

    def start(self) -> "Transcriber":
        if self._thread is not None:
            return self
        self.counts.t_start = time.monotonic()
        limit_blas_threads()  # the VAD's and the decoder's numpy work: see blas.py
        if self._given_model is not None:
            gm = self.models.wrap(self._given_model)
            self.models.ready(gm)
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
        return self.models.loaded

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model is loaded (True) or failed/timed out (False)."""
        if self.models.loaded is not None:
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

    def close(self, wait_s: float = 5.0) -> None:
        """Stop at once, discarding queued audio (use drain_and_stop to keep it); the utterance being decoded
        finishes. ``wait_s`` 0: do not wait for that."""
        self._abandon.set()
        self._stop_asked.set()
        self._wake.set()
        if self._thread is not None and wait_s > 0:
            self._thread.join(wait_s)

    # --- stats ---------------------------------------------------------------------------------------

    def stats(self) -> TranscriberStats:
        jobs = list(self._jobs)
        queued = self.intake.samples / SESSION_RATE + sum(j.utt.duration_s for j in jobs)
        wall = max(1e-6, time.monotonic() - self.counts.t_start)
        ld, c, dec, early = self.models.loaded, self.counts, self.decoder, self.early
        return TranscriberStats(
            state=self._status.state,
            queue_depth=len(self.intake) + len(jobs),
            queued_audio_s=round(queued, 3),
            lag_s=round(self.stats_lag(), 3),
            rtf=c.rtf, rtf_recent=round(c.rtf_recent, 4),
            busy=round(min(1.0, dec.asr_s / wall), 4),
            finals=c.finals, partials=self.partials.published, partials_dropped=self.partials.dropped,
            filtered=c.filtered, repetitions=c.repetitions,
            audio_in_s={s.value: round(v, 3) for s, v in self.intake.audio_in.items()},
            asr_final_s=round(c.asr_s, 3), asr_partial_s=round(dec.asr_s - c.asr_s, 3),
            vad_s=round(c.vad_s, 3), asr_cpu_s=round(dec.asr_cpu_s, 3),
            **c.latency(),
            model=ld.name if ld else self.config.model.name,
            device=ld.device if ld else None, compute_type=ld.compute_type if ld else None,
            governor=self.governor_state, early_finals=early.used, early_wasted=early.wasted,
            final_decodes=dec.final_decodes, final_decodes_paired=self._final_decodes_paired,
            context_retries=self.context.retries, partial_decodes=self.partials.decodes,
            heap_trims=self.heap.trims,
        )

    @property
    def governor_state(self) -> GovernorState:
        """The load governor's current level, what it uses now and why (any thread)."""
        return self.models.state

    def stats_lag(self) -> float:
        """How long the oldest waiting audio has waited, in seconds (0 when caught up)."""
        oldest = [j.arrival for j in list(self._jobs)]
        if self._current_job is not None:
            oldest.append(self._current_job.arrival)
        queued = self.intake.oldest_arrival()
        if queued is not None:
            oldest.append(queued)
        return max(0.0, time.monotonic() - min(oldest)) if oldest else 0.0

    def pending_audio_s(self) -> float:
        """Audio seconds received but not yet transcribed (queued, waiting for Whisper, or in an open utterance)."""
        return self._pending_audio_s()

    def _pending_audio_s(self) -> float:
        total = self.intake.samples / SESSION_RATE + sum(j.utt.duration_s for j in list(self._jobs))
        for vad in self._vad.values():
            cur = vad.current()
            if cur is not None:
                total += len(cur[2]) / SESSION_RATE
        return total

    # --- internals: status and model ----------------------------------------------------------------

    def _set_status(self, status: TranscriberStatus) -> None:
        self._status = status
        call(self.on_status_cb, status)

    def _on_load_progress(self, p: LoadProgress) -> None:
        if p.stage in ("error", "ready"):
            return  # the thread reports both once it has the outcome (an error with its fix)
        self._set_status(TranscriberStatus("loading", p.message, p.fraction, model=self.config.model.name))

    def _check_model(self) -> None:
        if self.models.loaded is not None or self._loader is None or not self._loader.done:
            return
        try:
            ld = self._loader.result(0)
        except Exception as exc:
            fix = getattr(exc, "fix", None)
            self._set_status(TranscriberStatus("error", str(exc), fix=fix, model=self.config.model.name))
            log.error("%s", exc)
            # nothing can be transcribed: free the queues; capture is unaffected
            self._jobs.clear()
            self.intake.clear()
            return
        self.models.ready(ld)
        if ld.english_only:
            self.decoder.language = "en"
        note = f" ({'; '.join(ld.notes)})" if ld.notes else ""
        self._set_status(TranscriberStatus("ready", f"{ld.name} ready on {ld.device} ({ld.compute_type}) in "
                                                    f"{ld.load_s:.1f} s{note}", 1.0, model=ld.name,
                                           device=ld.device, compute_type=ld.compute_type))

    def _govern(self) -> None:
        if not self._stop_asked.is_set():
            self.models.govern(time.monotonic(), self.counts.t_start, self.decoder.recent, self.stats_lag)

    # --- the streaming loop (the transcriber's thread) -----------------------------------------------

    def _run(self) -> None:
        try:
            if self.models.loaded is not None and self.models.loaded.english_only:
                self.decoder.language = "en"
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
                ready = self.models.loaded is not None
                if self._jobs and ready:
                    if self.config.partials and not self._stop_asked.is_set():
                        self._maybe_partial(skip=True)  # finals first: a partial due now is dropped
                    self._do_final(self._jobs.popleft())
                    continue
                if self._stop_asked.is_set():
                    if self._drain_step():
                        continue
                    break
                if ready and self.config.early_finals and \
                        self.early.maybe_decode(self._vad, self._early_after(), self._decode_final):
                    continue
                if ready and self.config.partials and self._maybe_partial():
                    continue
                self._wait(_IDLE_WAIT_S)
        except Exception as exc:  # a bug must not pass silently
            log.exception("transcriber thread failed")
            self._set_status(TranscriberStatus("error", f"transcriber failed: {type(exc).__name__}: {exc}",
                                               fix="see the log file", model=self.config.model.name))
            return
        if self._stop_asked.is_set() and self._drain_cb is not None:
            call(self._drain_cb, DrainProgress(round(self._drain_total, 3), round(self._drain_total, 3), 0))
        if self._status.state != "error":
            self._set_status(TranscriberStatus("stopped", "transcriber stopped", model=self.config.model.name))

    def _drain_step(self) -> bool:
        """Stopping: close the open utterances once the intake is empty. False once nothing is left to do."""
        if len(self.intake):
            return True
        flushed = False
        for source, vad in self._vad.items():
            for utt in vad.flush():
                self._jobs.append(_Job(source, utt, self.intake.arrival(source, utt.speech_end)))
                flushed = True
        loading = self.models.loaded is None and self._loader is not None and not self._loader.done
        if flushed or self._jobs:
            if self.models.loaded is None:
                self._wait(0.05)  # the model is still loading: wait for it, then drain
            return True
        if loading:
            self._wait(0.05)
            return True
        return False

    def _wait(self, timeout: float) -> None:
        self._wake.wait(timeout)
        self._wake.clear()

    def _ingest(self) -> None:
        for source, start, data, _arrival in self.intake.take():
            t0 = time.perf_counter()
            closed = self._vad[source].feed(data, start)
            self.counts.vad_s += time.perf_counter() - t0
            for utt in closed:
                self._jobs.append(_Job(source, utt, self.intake.arrival(source, utt.speech_end)))

    # --- finals and partials --------------------------------------------------------------------------

    def _early_after(self) -> int:
        return self.early.start_after(self.decoder.final_dt, self.models.level)

    def _decode_final(self, utt: Utterance, source: Source) -> Decoded:
        self.decoder.final_decodes += 1
        self._final_decodes_paired += self.early.other_ready(source, (j.source for j in self._jobs), self._vad,
                                                             self._early_after())
        result = self.context.decode(utt, source, self.decoder.decode, self.decoder.final_dt)
        terms = self.decoder.glossary()
        if terms:  # also decoded without the glossary, behind the plain decodes before it (vocabulary_guard.py)
            result, why = guard(result, terms, lambda: self.context.decode(
                utt, source, self.decoder.decode, self.decoder.final_dt, plain=True))
            self.decoder.vocabulary_retries += why is not None
        self.decoder.final_took(result[2])
        return result

    def _maybe_partial(self, skip: bool = False) -> bool:
        """Publish one partial if one is due and we are caught up; ``skip``: the decoder is needed for
        finals, count due partials as dropped."""
        def lagging() -> bool:
            return skip or bool(len(self.intake)) or bool(self._jobs) \
                or self.stats_lag() > self.config.partial_max_lag_s
        return self.partials.maybe_publish(self._vad, self.governor_state, lagging, self.decoder.decode, self._wall0)

    def _do_final(self, job: _Job) -> None:
        self._current_job = job
        try:
            self._publish_final(job)
        finally:
            self._current_job = None
            self.heap.after_decode()  # after the line is out: a trim never delays it

    def _publish_final(self, job: _Job) -> None:
        utt, source = job.utt, job.source
        early = self.early.take(utt, source) if self.config.early_finals else None
        segments, info, dt = early if early is not None else self._decode_final(utt, source)
        self.counts.decoded(max(1e-6, utt.duration_s), dt)
        judged = judge_final(segments, utt.voiced_s, self.config.filters)
        self.counts.repetitions += judged.repetitions
        self.counts.filtered += len(judged.dropped)
        for text, why in judged.dropped:
            log.debug("dropped %s segment %r (%s)", source.value, text, why)
        self._drain_done += utt.duration_s
        if not judged.text:
            self.context.forget(source)
            self.partials.retract(utt, source)
            self._report_drain()
            return
        text = judged.text
        self.partials.final_published(utt.id)
        self.decoder.prev_text[source] = text[-200:]
        self.context.remember(source, utt, text)
        start_s, end_s = utt.speech_start / SESSION_RATE, utt.speech_end / SESSION_RATE
        latency = time.monotonic() - job.arrival
        if not self._stop_asked.is_set():
            self.counts.latencies.append(latency)
        seg = Segment(
            source=source, start=round(start_s, 3), end=round(end_s, 3), text=text, final=True,
            confidence=judged.confidence,
            wall_start=(self._wall0 + start_s) if self._wall0 is not None else None,
            id=utt.id,
            extra={"label": self.label(source), "latency_s": round(latency, 3), "cut": utt.cut,
                   "language": getattr(info, "language", None), "no_speech_prob": judged.no_speech_prob,
                   "asr_s": round(dt, 3), **({"flags": judged.flags} if judged.flags else {})},
        )
        self.counts.finals += 1
        self._drain_segments += 1
        call(self.on_segment_cb, seg)
        self._report_drain()

    def _report_drain(self) -> None:
        if self._stop_asked.is_set() and self._drain_cb is not None:
            pending = self._pending_audio_s()
            self._drain_total = max(self._drain_total, max(0.0, self._drain_total - pending) + pending)
            done = max(0.0, self._drain_total - pending)
            call(self._drain_cb, DrainProgress(round(done, 3), round(self._drain_total, 3), len(self._jobs)))
