"""Custom vocabulary: product names and jargon that Whisper should spell the user's way.

Whisper has two doors for such hints, both "previous text" the decoder conditions on:
``initial_prompt`` (kept with the forced prefix the live transcriber uses for context) and ``hotwords``
(which faster-whisper drops whenever a prefix is given, i.e. on most live finals). ``Vocabulary`` renders
the terms for either; which one is used is ``method`` (docs/polish.md has the measurements that chose
the default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

Method = Literal["prompt", "hotwords", "both"]
METHODS: tuple[str, ...] = ("prompt", "hotwords", "both")
MAX_TERMS = 100
MAX_TERM_CHARS = 60
# Whisper's prompt holds at most 223 tokens; half of that is a safe budget for the glossary so the
# context text (the previous utterance) keeps its room.
MAX_PROMPT_CHARS = 400


class VocabularyError(ValueError):
    """A term list that cannot be used; the message names the fix."""


def clean_terms(terms: Iterable[str]) -> list[str]:
    """Strip, drop empties and duplicates (case-insensitive, first spelling wins). Raises VocabularyError."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in terms:
        if not isinstance(raw, str):
            raise VocabularyError(f"vocabulary term {raw!r} is not text; write each term in quotes")
        term = " ".join(raw.split())
        if not term:
            continue
        if len(term) > MAX_TERM_CHARS:
            raise VocabularyError(f'vocabulary term "{term[:30]}..." is longer than {MAX_TERM_CHARS} characters; '
                                  "list single names or short phrases")
        key = term.casefold()
        if key not in seen:
            seen.add(key)
            out.append(term)
    if len(out) > MAX_TERMS:
        raise VocabularyError(f"{len(out)} vocabulary terms; at most {MAX_TERMS} fit in Whisper's prompt. "
                              "Keep the names Whisper gets wrong")
    return out


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
        """The glossary as a sentence Whisper might have heard before the audio (spelling and casing kept)."""
        if not self.terms:
            return None
        text = ", ".join(self.terms)
        if len(text) > MAX_PROMPT_CHARS:
            text = text[:MAX_PROMPT_CHARS].rsplit(",", 1)[0]
        return f"Glossary: {text}."

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

