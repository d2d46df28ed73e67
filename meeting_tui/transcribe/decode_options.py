"""What the live transcriber passes to Whisper besides the audio: the vocabulary and each source's language.

One object, shared between the transcriber thread (``kwargs``/``observe`` per decode) and the dashboard
(``set_vocabulary``/``set_language`` while a meeting runs); both are thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from meeting_tui.transcribe.language import LanguageTracker, SourceLanguage
from meeting_tui.transcribe.vocabulary import Vocabulary
from meeting_tui.types import Source


@dataclass
class DecodeOptions:
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    languages: LanguageTracker = field(default_factory=LanguageTracker)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, transcription: Any, *, vocabulary: list[str] | None = None,
                      language: str | None = None, languages: Mapping[Source, str | None] | None = None,
                      on_language: Callable[[SourceLanguage], None] | None = None) -> "DecodeOptions":
        """From ``Settings.transcription`` (vocabulary, vocabulary_method, model.language, languages); the
        keyword arguments (the CLI's) replace the settings' values."""
        terms = vocabulary if vocabulary is not None else list(getattr(transcription, "vocabulary", []) or [])
        method = getattr(transcription, "vocabulary_method", "prompt") or "prompt"
        model = getattr(transcription, "model", None)
        default = language if language is not None else getattr(model, "language", None)
        per: dict[Source, str | None] = {}
        configured = getattr(transcription, "languages", None)
        if configured is not None:
            per.update({Source(k): v for k, v in (configured.as_dict() if hasattr(configured, "as_dict")
                                                  else dict(configured)).items() if v is not None})
        per.update(languages or {})
        return cls(Vocabulary(tuple(terms), method), LanguageTracker(default, per, on_change=on_language))

    # --- the transcriber's side -----------------------------------------------------------------------

    def kwargs(self, source: Source, *, context_prompt: str | None = None) -> dict[str, Any]:
        """``language``, ``initial_prompt`` and (when the method says so) ``hotwords`` for one decode."""
        with self._lock:
            vocab = self.vocabulary
        out: dict[str, Any] = {"language": self.languages.language_for(source)}
        out.update(vocab.decode_kwargs(context_prompt))
        return out

    def observe(self, source: Source, info: Any, speech_s: float) -> None:
        """Feed a decode's ``TranscriptionInfo`` (language, language_probability) to detection."""
        if info is None:
            return
        self.languages.observe(source, getattr(info, "language", None),
                               getattr(info, "language_probability", None), speech_s)

    # --- the dashboard's side -------------------------------------------------------------------------

    def set_vocabulary(self, terms: list[str] | tuple[str, ...]) -> Vocabulary:
        """Applies from the next decode on. Raises VocabularyError (message names the fix)."""
        new = Vocabulary(tuple(terms), self.vocabulary.method)
        with self._lock:
            self.vocabulary = new
        return new

    def set_language(self, source: Source, code: str | None) -> SourceLanguage:
        return self.languages.set_language(source, code)


# --- the command line (`--vocabulary`, `--language`): argparse types, so a bad value stops before anything runs


def vocabulary_arg(text: str) -> list[str]:
    import argparse

    from meeting_tui.transcribe.vocabulary import VocabularyError, parse_terms

    try:
        return parse_terms(text)
    except VocabularyError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def language_arg(text: str) -> tuple[str | None, dict[Source, str | None]]:
    import argparse

    from meeting_tui.transcribe.language import LanguageError, parse_languages

    try:
        return parse_languages(text)
    except LanguageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def from_args(args: Any, settings: Any) -> tuple[DecodeOptions, str | None]:
    """``DecodeOptions`` from the settings with ``--vocabulary``/``--language`` applied, and the language for
    ``ModelConfig`` (the one for every source, None when per source or detected)."""
    default, per = getattr(args, "language", None) or (None, {})
    vocabulary = getattr(args, "vocabulary", None)
    tr = getattr(settings, "transcription", None)
    opts = DecodeOptions.from_settings(tr, vocabulary=vocabulary, language=default, languages=per)
    if not getattr(args, "quiet", True):
        opts.languages.on_change = _print_decision
    return opts, opts.languages.default


def _print_decision(snap: SourceLanguage) -> None:
    """The CLI's status line when detection settles a source's language."""
    import sys

    if snap.state == "detected":
        print(f"[language] {snap.source.value}: {snap.label}", file=sys.stderr, flush=True)
