"""Finals decoded in context: behind the previous utterances of the same source, their audio before the
new one and their text as a forced prefix, so Whisper hears the new words as offline decoding does; only
what follows the prefix is kept.

With a glossary, finals are also decoded without it (the vocabulary guard). That plain decode is made behind
the glossary decode's context, unless the final in it holds words the glossary changed: then behind the plain
decodes before it, as deep and as long as the run without glossary would have had them (their own decode
time decides ``context_enough_s``), so that a name the glossary put in the line before cannot pull it off
(docs/transcription.md, Vocabulary guard).

How much context: at most ``context_utterances``, each pause at most ``context_max_gap_s``, all within
``context_max_window_s`` with the new utterance; while finals take longer than their closing pause can
hide, no more once ``context_enough_s`` of audio is held (docs/transcription.md, Finals and partials).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from meeting_tui.transcribe.config import TranscriberConfig
from meeting_tui.transcribe.decoder import Decoded
from meeting_tui.transcribe.early_finals import EARLY_MIN_S, EARLY_SLACK_S
from meeting_tui.transcribe.vad_segmenter import Utterance
from meeting_tui.transcribe.wer import normalize
from meeting_tui.types import SESSION_RATE, Source

#: Finals count as slow above (pause - EARLY_MIN_S - EARLY_SLACK_S) and as quick again this much below it.
SLOW_FINALS_HYSTERESIS_S = 0.1
#: The silence between a final's context utterances and the final itself (samples).
CONTEXT_PAUSE = int(0.3 * SESSION_RATE)

#: In a history entry (samples, text kept, plain decode's text, start, end): which text.
KEPT, PLAIN = 1, 2
#: Plain decodes' texts held for their utterances' turn to be remembered (a few: finals go in order).
PLAIN_KEPT = 8

Decode = Callable[..., Decoded]  # Decoder.decode


class ContextPolicy:
    def __init__(self, config: TranscriberConfig) -> None:
        self.config = config
        # per source, the latest finals as (samples, text, plain text, start, end), oldest first
        self.history: dict[Source, list[tuple[np.ndarray, str, str, int, int]]] = {}
        self.plain_text: dict[int, str] = {}  # per utterance id, its plain decode's text until remembered
        self.slow_finals = False  # finals take longer than their closing pause can hide
        # the plain decodes' own time (EWMA) and slowness: how deep their context would be without a glossary
        self.plain_dt, self.plain_decodes, self.slow_plain = 0.0, 0, False
        self.retries = 0  # context decodes redone without the context

    def remember(self, source: Source, utt: Utterance, text: str) -> None:
        history = self.history.setdefault(source, [])
        history.append((utt.samples, text, self.plain_text.pop(utt.id, text), utt.start, utt.end))
        del history[:-max(1, self.config.context_utterances)]

    def forget(self, source: Source) -> None:
        """The latest utterance had no words: what came before is no context for the next."""
        self.history.pop(source, None)

    def decode(self, utt: Utterance, source: Source, decode: Decode, final_dt: float, *,
               plain: bool = False) -> Decoded:
        """Decode ``utt``'s final, in context where there is one (``context_audio``); ``plain``: without the
        glossary (``context_for``)."""
        result = self._decode(utt, source, decode, final_dt, plain)
        if plain:
            self.plain_decodes += 1
            self.plain_dt = result[2] if self.plain_decodes == 1 else 0.7 * self.plain_dt + 0.3 * result[2]
            self.plain_text[utt.id] = " ".join(s.text.strip() for s in result[0]).strip()
            for old in list(self.plain_text)[:-PLAIN_KEPT]:  # utterances that had no words are never remembered
                del self.plain_text[old]
        return result

    def _decode(self, utt: Utterance, source: Source, decode: Decode, final_dt: float, plain: bool) -> Decoded:
        ctx = self.context_for(utt, source, final_dt, plain=plain) if self.config.context_audio else None
        if ctx is None:
            return decode(utt.samples, final=True, source=source, plain=plain)
        prev_audio, prev_text = ctx
        audio = np.concatenate([prev_audio, np.zeros(CONTEXT_PAUSE, np.float32), utt.samples])
        segments, info, dt = decode(audio, final=True, source=source, prefix=prev_text, plain=plain)
        stripped = strip_prefix(segments, prev_text)
        if stripped is not None and not repeats_context(prev_text, " ".join(s.text for s in stripped)):
            return stripped, info, dt
        # no prefix at the start, or the decoder went back and said the context again (tiny.en on a
        # reverberant mic, tests/test_echo_rig.py): the utterance alone
        self.retries += 1
        segments, info, dt2 = decode(utt.samples, final=True, source=source, plain=plain)
        return segments, info, dt + dt2

    def context_for(self, utt: Utterance, source: Source, final_dt: float, *,
                    plain: bool = False) -> tuple[np.ndarray, str] | None:
        """The audio and text of the finals just before ``utt``, joined by 0.3 s pauses; None: none fit.
        ``plain``: for the decode without the glossary: the glossary decode's context, unless the final in it
        holds words the glossary changed; then the plain decodes before it, as deep as without a glossary
        (tiny.en follows its prefix: "Proxmox" before it turned "The Zendesk tickets" into "But then this
        ticket", where "Brock Smok's" had not). Always the plain chain looped on "Siobhan" in
        tests/test_vocabulary.py, as the run without glossary does."""
        history = self.history.get(source, [])
        if plain and history[-1:] and history[-1][KEPT] != history[-1][PLAIN]:
            enough = self.enough(self.plain_dt, plain=True)
            return self._context(utt, history[-self.config.context_utterances:], enough, PLAIN)
        depth = self.config.context_utterances
        if self.config.decode is not None and self.config.decode.vocabulary:
            depth = 1  # the glossary is a prompt, and two sentences of forced prefix drowned it ("next cloud")
        return self._context(utt, history[-depth:], self.enough(final_dt), KEPT)

    def _context(self, utt: Utterance, history: list[tuple[np.ndarray, str, str, int, int]], enough: float,
                 which: int) -> tuple[np.ndarray, str] | None:
        pad = CONTEXT_PAUSE
        budget = self.config.context_max_window_s * SESSION_RATE - len(utt.samples)
        audio: list[np.ndarray] = []
        texts: list[str] = []
        after = utt.start
        held = 0
        for entry in reversed(history):
            samples, text, start, end = entry[0], entry[which], entry[3], entry[4]
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

    def enough(self, final_dt: float, *, plain: bool = False) -> float:
        """Context samples that are enough: unbounded while finals end within their closing pause (started
        early, at the soonest), ``context_enough_s`` once they take longer. ``plain``: judged by the plain
        decodes' time, as the finals' would be without a glossary."""
        line = self.config.vad.min_silence_s - EARLY_MIN_S - EARLY_SLACK_S
        slow = self.slow_plain if plain else self.slow_finals
        # with a margin either way: the shorter context makes the decodes quicker, which must not switch it back
        if final_dt > line:
            slow = True
        elif final_dt < line - SLOW_FINALS_HYSTERESIS_S:
            slow = False
        if plain:
            self.slow_plain = slow
        else:
            self.slow_finals = slow
        return self.config.context_enough_s * SESSION_RATE if slow else math.inf


class _Seg:
    """A decoded segment with its text replaced (the forced prefix removed)."""

    def __init__(self, seg: Any, text: str) -> None:
        self.text = text
        self.no_speech_prob = seg.no_speech_prob
        self.avg_logprob = seg.avg_logprob
        self.tokens = seg.tokens


def strip_prefix(segments: list[Any], prefix: str) -> list[Any] | None:
    """The decoded text after the forced ``prefix``; None if it does not start with it."""
    if not segments:
        return []
    text = "".join(s.text for s in segments).strip()
    p = prefix.strip()
    if not text.startswith(p):
        return None
    rest = text[len(p):].strip()
    return [_Seg(segments[0], rest)] if rest else []


def repeats_context(context: str, text: str) -> bool:
    """Whether ``text`` says a run of the context again: five words in a row of it (all of a shorter text of
    three or four words). Whisper behind a forced prefix sometimes repeats the prefix instead of going on."""
    words = normalize(text).split()
    if len(words) < 3:
        return False
    run = min(5, len(words))
    ctx = " " + normalize(context) + " "
    return any(" " + " ".join(words[i:i + run]) + " " in ctx for i in range(len(words) - run + 1))
