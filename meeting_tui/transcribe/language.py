"""The language of each source: fixed, or detected from enough confident speech and then locked.

Whisper guesses the language from the first 30 s window of every decode. On a short or quiet utterance
that guess is often wrong (a Russian "da" heard as English, then invented English text), so a source's
language is only *decided* once several utterances agree: ``min_speech_s`` seconds of speech whose
detection probability was at least ``min_probability``, with one language holding ``min_share`` of it.
Until then each utterance is decoded with its own guess. A language set by the user (settings, CLI or
live in the dashboard) always wins and is never replaced by detection.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from meeting_tui.types import Source
from meeting_tui.word_rules import AUTO, LANGUAGE_CODES, LanguageError, check_code  # noqa: F401 (re-exported)


def parse_languages(text: str) -> tuple[str | None, dict[Source, str | None]]:
    """``--language`` values: "de" (every source) or "mic=de,loopback=en" (per source; "auto" detects).

    Returns (the language for every source, per-source languages). Raises LanguageError."""
    default: str | None = None
    per: dict[Source, str | None] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            default = check_code(key)
            continue
        try:
            source = Source(key.strip().lower())
        except ValueError:
            raise LanguageError(f'--language "{part}": the source must be mic or loopback (e.g. mic=de,loopback=en)') from None
        per[source] = check_code(value)
    return default, per


@dataclass(frozen=True)
class SourceLanguage:
    """What the dashboard shows for one source."""

    source: Source
    language: str | None  # the language decoded with; None while detecting
    state: str  # "fixed" (settings/CLI), "override" (set live), "detected" (decided), "detecting", "english-only"
    probability: float | None = None  # for "detected": the mean detection probability behind the decision
    evidence_s: float = 0.0  # seconds of confident speech seen so far

    @property
    def label(self) -> str:
        if self.state == "detecting":
            return f"detecting ({self.evidence_s:.0f} s heard)" if self.evidence_s else "detecting"
        if self.state == "detected":
            return f"{self.language} (detected, {self.probability:.0%})" if self.probability else f"{self.language} (detected)"
        if self.state == "english-only":
            return "en (English-only model)"
        return f"{self.language} ({'set live' if self.state == 'override' else 'fixed'})"


@dataclass
class _Evidence:
    seconds: dict[str, float] = field(default_factory=dict)  # language -> confident speech seconds
    weighted_p: dict[str, float] = field(default_factory=dict)  # language -> sum(seconds * probability)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


class LanguageTracker:
    """Per-source language: fixed ones, overrides, and detection that locks once it is sure. Thread-safe.

    ``language_for(source)`` gives the code to decode with (None: let Whisper guess this utterance);
    ``observe(source, language, probability, speech_s)`` feeds one decode's detection. ``on_change`` is
    called (on the caller's thread) whenever what ``snapshot()`` shows changes.
    """

    def __init__(self, default: str | None = None, per_source: Mapping[Source, str | None] | None = None, *,
                 min_speech_s: float = 6.0, min_probability: float = 0.6, min_share: float = 0.8,
                 on_change: Callable[[SourceLanguage], None] | None = None) -> None:
        self.default = check_code(default)
        self._fixed: dict[Source, str | None] = {Source(k): check_code(v) for k, v in (per_source or {}).items()}
        self._override: dict[Source, str] = {}
        self._detected: dict[Source, tuple[str, float]] = {}
        self._evidence: dict[Source, _Evidence] = {}
        self.min_speech_s, self.min_probability, self.min_share = min_speech_s, min_probability, min_share
        self.english_only = False
        self.on_change = on_change
        self._lock = threading.Lock()

    # --- configuration --------------------------------------------------------------------------------

    def fixed(self, source: Source) -> str | None:
        """The language the user set for ``source`` (per source first, then the common one)."""
        if source in self._fixed:
            return self._fixed[source]
        return self.default

    def set_language(self, source: Source, code: str | None) -> SourceLanguage:
        """Override live (the dashboard). ``None``/"auto": back to the setting, detection starting afresh."""
        value = check_code(code)
        with self._lock:
            if value is None:
                self._override.pop(source, None)
                self._detected.pop(source, None)
                self._evidence.pop(source, None)
            else:
                self._override[source] = value
        snap = self.snapshot(source)
        self._notify(snap)
        return snap

    # --- decoding -------------------------------------------------------------------------------------

    def language_for(self, source: Source) -> str | None:
        if self.english_only:
            return "en"
        with self._lock:
            if source in self._override:
                return self._override[source]
            fixed = self.fixed(source)
            if fixed is not None:
                return fixed
            detected = self._detected.get(source)
            return detected[0] if detected else None

    def observe(self, source: Source, language: str | None, probability: float | None, speech_s: float) -> None:
        """One decode's language guess (only used while ``source`` is still detecting)."""
        if not language or probability is None or self.english_only:
            return
        with self._lock:
            if source in self._override or self.fixed(source) is not None or source in self._detected:
                return
            if probability < self.min_probability:
                return
            ev = self._evidence.setdefault(source, _Evidence())
            ev.seconds[language] = ev.seconds.get(language, 0.0) + speech_s
            ev.weighted_p[language] = ev.weighted_p.get(language, 0.0) + speech_s * probability
            best = max(ev.seconds, key=ev.seconds.__getitem__)
            decided = ev.total >= self.min_speech_s and ev.seconds[best] >= self.min_share * ev.total
            if decided:
                self._detected[source] = (best, ev.weighted_p[best] / ev.seconds[best])
        self._notify(self.snapshot(source))

    # --- display --------------------------------------------------------------------------------------

    def snapshot(self, source: Source) -> SourceLanguage:
        with self._lock:
            if self.english_only:
                return SourceLanguage(source, "en", "english-only")
            if source in self._override:
                return SourceLanguage(source, self._override[source], "override")
            fixed = self.fixed(source)
            if fixed is not None:
                return SourceLanguage(source, fixed, "fixed")
            ev = self._evidence.get(source)
            seen = round(ev.total, 1) if ev else 0.0
            if source in self._detected:
                lang, p = self._detected[source]
                return SourceLanguage(source, lang, "detected", round(p, 3), seen)
            return SourceLanguage(source, None, "detecting", None, seen)

    def snapshots(self, sources: Iterable[Source]) -> list[SourceLanguage]:
        return [self.snapshot(s) for s in sources]

    def _notify(self, snap: SourceLanguage) -> None:
        if self.on_change is not None:
            try:
                self.on_change(snap)
            except Exception:  # a display callback must not stop decoding
                import logging

                logging.getLogger(__name__).exception("language on_change failed")
