"""The rules for words the user gives us, checked where settings are read: Whisper language codes and
custom vocabulary terms. Below settings in the package graph, so settings validation needs no
transcription import (meeting_tui.transcribe.language and .vocabulary use them)."""

from __future__ import annotations

from typing import Iterable

# Whisper's language codes (faster_whisper.tokenizer._LANGUAGE_CODES), kept here so settings validation
# does not import faster-whisper.
LANGUAGE_CODES: tuple[str, ...] = tuple(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu "
    "hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt "
    "ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh yue".split()
)
AUTO = ("auto", "detect", "")


class LanguageError(ValueError):
    """An unknown language code; the message names the fix."""


def check_code(code: str | None) -> str | None:
    """A valid Whisper code (lower-cased), None for "auto"/"detect"/empty. Raises LanguageError."""
    if code is None:
        return None
    value = code.strip().lower()
    if value in AUTO:
        return None
    if value not in LANGUAGE_CODES:
        import difflib

        near = difflib.get_close_matches(value, LANGUAGE_CODES, n=1)
        hint = f' Did you mean "{near[0]}"?' if near else ""
        raise LanguageError(f'unknown language "{code}": use a Whisper language code such as en, de, fr, es, ru, '
                            f'or "auto" to detect it.{hint}')
    return value


MAX_TERMS = 100
MAX_TERM_CHARS = 60


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
