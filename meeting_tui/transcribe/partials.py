"""Partials: while an utterance is open, a greedy decode of it about every ``partial_interval_s``,
published as ``Segment(final=False, id=<utterance id>)``; the final carries the same id and replaces it.

A partial is skipped (counted as dropped) whenever the decoder is needed for finals or lags; it comes
slower while partial decodes are slow, so that they never take more than half of the decoder's time.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from meeting_tui.transcribe.callbacks import call
from meeting_tui.transcribe.config import TranscriberConfig
from meeting_tui.transcribe.decoder import Decoded
from meeting_tui.transcribe.final_text import judge_text
from meeting_tui.transcribe.governor import GovernorState
from meeting_tui.transcribe.vad_segmenter import StreamingVAD, Utterance
from meeting_tui.types import SESSION_RATE, Segment, Source


class Partials:
    def __init__(self, config: TranscriberConfig, on_partial: Callable[[Segment], None] | None) -> None:
        self.config = config
        self.on_partial = on_partial
        self.last: dict[Source, tuple[int, float]] = {}  # source -> (utterance id, monotonic time)
        self.shown: set[int] = set()  # utterances with a partial on screen
        self.published = 0
        self.dropped = 0
        self.decodes = 0  # partial decodes run (published or not: no words, or the utterance closed meanwhile)
        self.decode_dt = 0.0  # recent partial decode time (EWMA)

    def maybe_publish(self, vads: dict[Source, StreamingVAD], gov: GovernorState, lagging: Callable[[], bool],
                      decode: Callable[..., Decoded], wall0: float | None) -> bool:
        """Publish one partial if one is due and the decoder is free (``lagging()`` False). True if it decoded."""
        if not gov.partials:
            return False
        now = time.monotonic()
        due: list[tuple[float, Source]] = []
        for source, vad in vads.items():
            cur = vad.current()
            if cur is None or vad.in_pause:  # a pause may close it soon: keep the decoder free for the final
                continue
            uid, _speech_start, audio, _voiced = cur
            if len(audio) < self.config.partial_min_s * SESSION_RATE:
                continue
            last = self.last.get(source)
            interval = max(gov.partial_interval_s, 2.0 * self.decode_dt)
            if last is not None and last[0] == uid and now - last[1] < interval:
                continue
            due.append((last[1] if last else 0.0, source))
        if not due:
            return False
        if lagging():
            self.dropped += len(due)
            for _, source in due:  # count each skipped partial once per interval
                cur = vads[source].current()
                if cur is not None:
                    self.last[source] = (cur[0], now)
            return False
        due.sort(key=lambda x: x[0])
        source = due[0][1]
        vad = vads[source]
        uid, speech_start, audio, voiced = vad.current()  # type: ignore[misc]
        self.last[source] = (uid, now)
        segments, _info, dt = decode(audio, final=False, source=source)
        self.decodes += 1
        self.decode_dt = dt if self.published == 0 else 0.7 * self.decode_dt + 0.3 * dt
        text = judge_text(segments, voiced, self.config.filters)
        if not text:
            return True
        # the utterance may have closed while we decoded: then its final is queued, skip the stale partial
        cur = vad.current()
        if cur is None or cur[0] != uid:
            return True
        self.published += 1
        self.shown.add(uid)
        end_s = (vad.open_start() or 0) / SESSION_RATE + len(audio) / SESSION_RATE
        start_s = speech_start / SESSION_RATE
        call(self.on_partial, Segment(source, round(start_s, 3), round(end_s, 3), text, final=False, id=uid,
                                      wall_start=(wall0 + start_s) if wall0 is not None else None,
                                      extra={"label": self.config.label(source)}))
        return True

    def final_published(self, uid: int) -> None:
        self.shown.discard(uid)

    def retract(self, utt: Utterance, source: Source) -> None:
        """The final found no words: remove the partial shown for ``utt`` (if any)."""
        if utt.id not in self.shown:
            return
        self.shown.discard(utt.id)
        extra: dict[str, Any] = {"retract": True, "label": self.config.label(source)}
        call(self.on_partial, Segment(source, utt.speech_start / SESSION_RATE, utt.speech_end / SESSION_RATE, "",
                                      final=False, id=utt.id, extra=extra))
