"""Custom vocabulary: product names and jargon that Whisper should spell the user's way.

Whisper has two doors for such hints, both "previous text" the decoder conditions on:
``initial_prompt`` (kept with the forced prefix the live transcriber uses for context) and ``hotwords``
(which faster-whisper drops whenever a prefix is given, i.e. on most live finals). ``Vocabulary`` renders
the terms for either; which one is used is ``method`` (docs/polish.md has the measurements that chose
the default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from meeting_tui.word_rules import MAX_TERM_CHARS, MAX_TERMS, VocabularyError, clean_terms  # noqa: F401 (re-exported)

# Whisper's prompt holds at most 223 tokens; half of that is a safe budget for the glossary so the
# context text (the previous utterance) keeps its room.
MAX_PROMPT_CHARS = 400

Method = Literal["prompt", "hotwords", "both"]
METHODS: tuple[str, ...] = ("prompt", "hotwords", "both")


def parse_terms(text: str) -> list[str]:
    """Terms from the command line ("Kubernetes,OpenShift") or the editor (one per line or comma-separated)."""
    return clean_terms(part for line in text.splitlines() for part in line.split(","))


@dataclass(frozen=True)
class Vocabulary:
    terms: tuple[str, ...] = ()
    method: Method = "prompt"

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", tuple(clean_terms(self.terms)))
        if self.method not in METHODS:
            raise VocabularyError(f"vocabulary method {self.method!r}: use one of {', '.join(METHODS)}")

    def __bool__(self) -> bool:
        return bool(self.terms)

    def prompt(self) -> str | None:
        """The glossary as a sentence Whisper might have heard before the audio (spelling and casing kept).

        A sentence of speech, not a label and a list: with "Glossary: a, b, c." Whisper base copied the shape
        and wrote a sentence as a list of fragments (docs/transcription.md, Vocabulary guard)."""
        if not self.terms:
            return None
        terms = list(self.terms)
        while len(terms) > 1 and len(", ".join(terms)) > MAX_PROMPT_CHARS:
            terms.pop()
        named = terms[0] if len(terms) == 1 else f"{', '.join(terms[:-1])} and {terms[-1]}"
        return f"We talked about {named}."

    def hotwords(self) -> str | None:
        return ", ".join(self.terms) if self.terms else None

    def decode_kwargs(self, context_prompt: str | None = None) -> dict[str, str | None]:
        """``initial_prompt`` / ``hotwords`` for ``WhisperModel.transcribe``; ``context_prompt`` (previous text,
        when the caller prompts with it) follows the glossary so the most recent words stay nearest."""
        kwargs: dict[str, str | None] = {}
        glossary = self.prompt() if self.method in ("prompt", "both") else None
        parts = [p for p in (glossary, context_prompt) if p]
        kwargs["initial_prompt"] = " ".join(parts) if parts else None
        if self.method in ("hotwords", "both") and self.terms:
            kwargs["hotwords"] = self.hotwords()
        return kwargs

