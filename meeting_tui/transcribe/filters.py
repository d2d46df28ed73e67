"""What Whisper says that nobody said: silence/noise hallucinations and repetition loops.

Applied to every decoded Whisper segment before it becomes a transcript line:

1. Non-speech annotations are removed: ``[BLANK_AUDIO]``, ``(music)``, ``*sighs*``, ``♪``.
2. Likely silence: ``no_speech_prob > no_speech_threshold`` together with ``avg_logprob < logprob_threshold``
   (Whisper's own rule), or ``avg_logprob < min_avg_logprob`` (the decoder is guessing).
3. The well-known hallucinations of Whisper on non-speech ("Thank you.", "Thanks for watching!", "you",
   "Subtitles by ...") are dropped when the evidence for speech is weak (few voiced seconds, a raised
   no-speech probability or a low log-probability). A confident "Thank you." in a meeting stays.
4. Repetition loops ("the the the the", "I'm going to I'm going to I'm going to ...") are collapsed to one
   occurrence; ``Verdict.repetition`` tells that it happened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANNOTATION = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|[♪♫]+")

#: Normalised texts Whisper produces on silence and noise (from WhisperLive 246/117 and our own runs).
HALLUCINATIONS = frozenset({
    "you", "thank you", "thanks", "thank you very much", "thank you so much", "thanks for watching",
    "thank you for watching", "thanks for watching and see you next time", "please subscribe",
    "subscribe to my channel", "like and subscribe", "bye", "bye bye", "see you next time",
    "subtitles by the amara org community", "transcription by castingwords", "silence", "blank audio",
    "music", "applause", "laughter", "",
})

#: Short words people really say ("Okay.", "Yeah.") but Whisper also invents on noise: dropped only
#: when the decoder itself is unsure.
SHORT_FILLERS = frozenset({"so", "oh", "uh", "um", "hmm", "mm", "ah", "i", "the", "okay", "yeah", "yes", "no",
                           "right", "well", "and", "but", "a", "ok"})


@dataclass
class FilterConfig:
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    min_avg_logprob: float = -1.6
    # known-hallucination phrases are dropped unless the speech evidence is strong
    weak_voiced_s: float = 0.5
    weak_no_speech: float = 0.15
    weak_logprob: float = -0.6
    filler_no_speech: float = 0.3
    filler_logprob: float = -0.8
    max_word_repeats: int = 3  # "no no no" stays, a fourth is a loop
    max_phrase_repeats: int = 2  # a phrase of 2+ words said a third time in a row is a loop
    long_phrase_words: int = 5  # ... and a phrase this long said twice in a row (a decoder that lost its place)


@dataclass(frozen=True)
class Verdict:
    keep: bool
    text: str
    reason: str = ""  # why dropped ("no_speech", "low_confidence", "hallucination", "empty")
    repetition: bool = False


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def normalise_phrase(text: str) -> str:
    return " ".join(w for w in (_key(w) for w in text.split()) if w)


def clean_text(text: str) -> str:
    text = _ANNOTATION.sub(" ", text or "")
    return re.sub(r"\s+", " ", text).strip()


def collapse_repetitions(text: str, max_word_repeats: int = 3, max_phrase_repeats: int = 2,
                         long_phrase_words: int = 5) -> tuple[str, bool]:
    """Collapse any run of an n-gram repeated more often than allowed to one occurrence. A phrase of
    ``long_phrase_words`` or more may not follow itself at all: people repeat a word or two ("no no no",
    "thank you thank you"), while a whole sentence twice in one breath is Whisper restarting its window."""
    words = text.split()
    keys = [_key(w) for w in words]
    changed = False
    again = True
    while again:
        again = False
        for n in range(1, len(words) // 2 + 1):
            limit = max_word_repeats if n == 1 else max_phrase_repeats if n < long_phrase_words else 1
            i = 0
            while i + 2 * n <= len(words):
                unit = keys[i:i + n]
                if not any(unit):
                    i += 1
                    continue
                reps = 1
                while keys[i + reps * n:i + (reps + 1) * n] == unit:
                    reps += 1
                if reps > limit:
                    del words[i + n:i + reps * n]
                    del keys[i + n:i + reps * n]
                    changed = again = True
                i += 1
    return " ".join(words), changed


def judge(text: str, *, no_speech_prob: float = 0.0, avg_logprob: float = 0.0, voiced_s: float = 10.0,
          config: FilterConfig | None = None) -> Verdict:
    """Decide whether one decoded segment is kept, and its cleaned text."""
    cfg = config or FilterConfig()
    text = clean_text(text)
    text, rep = collapse_repetitions(text, cfg.max_word_repeats, cfg.max_phrase_repeats, cfg.long_phrase_words)
    norm = normalise_phrase(text)
    if not norm:
        return Verdict(False, text, "empty", rep)
    if no_speech_prob > cfg.no_speech_threshold and avg_logprob < cfg.logprob_threshold:
        return Verdict(False, text, "no_speech", rep)
    if avg_logprob < cfg.min_avg_logprob:
        return Verdict(False, text, "low_confidence", rep)
    if norm in HALLUCINATIONS:
        weak = (voiced_s < cfg.weak_voiced_s or no_speech_prob > cfg.weak_no_speech
                or avg_logprob < cfg.weak_logprob)
        if weak:
            return Verdict(False, text, "hallucination", rep)
    if norm in SHORT_FILLERS and (no_speech_prob > cfg.filler_no_speech or avg_logprob < cfg.filler_logprob):
        return Verdict(False, text, "hallucination", rep)
    return Verdict(True, text, "", rep)
