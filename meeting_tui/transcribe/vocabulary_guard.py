"""The vocabulary must never cost a sentence: a final decoded with the glossary is kept only where the
glossary earned it; otherwise the same audio decoded without it is.

Ways a glossary prompt garbles a decode (measured in docs/transcription.md, Vocabulary guard):
- the decode copies the prompt's shape: a comma-separated list of short fragments, several of them
  glossary-like ("Plimask, Hunter, Mula, Nesk, Ticket, ...");
- a glossary name is written where the audio said something else: inserted, or put in place of words that
  sound nothing like it;
- a name the glossary failed to write pulls the words around it off ("The Zendesk tickets" -> "But then
  this ticket", tiny.en), with no name in the result to notice it by.
So every final is also decoded without the glossary (same audio, same context prefix), and what is kept is
the plain decode's words with the glossary's names put in only where the plain decode heard something that
sounds or is spelled like them (Metaphone codes or letters, ``SequenceMatcher`` ratio); a glossary decode that
is a list, or adds no name, is dropped. The price: two decodes per final while a vocabulary is set (none
without one).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any, Callable

import jellyfish

Decoded = tuple[list[Any], Any, float]  # (segments, info, seconds), as Decoder.decode returns

LIST_MIN_PIECES = 4  # comma-separated pieces before a decode can be a list
LIST_SHORT_SHARE = 0.75  # ... most of them one or two words
SOUNDS_LIKE = 0.4  # ratio of Metaphone codes (or of letters) for a name to stand for the words heard

_WORD = re.compile(r"[\w'’-]+")


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio() if a and b else 0.0


def sounds_like(term: str, heard: str) -> float:
    """How much the best run of one to three words of ``heard`` sounds (or is spelled) like ``term``."""
    return _best_run(term, _WORD.findall(heard))[0]


def _best_run(term: str, words: list[str], free: list[bool] | None = None) -> tuple[float, int, int]:
    """The run of one to three ``words`` (among the ``free`` ones) most like ``term``: (score, start, length)."""
    t_letters = _letters(term)
    t_code = jellyfish.metaphone(t_letters) if t_letters else ""
    best = (0.0, 0, 0)
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            run = _letters("".join(words[i:i + n]))
            if not run or (free is not None and not all(free[i:i + n])):
                continue
            score = max(_similar(t_letters, run), _similar(t_code, jellyfish.metaphone(run)))
            if score > best[0]:
                best = (score, i, n)
    return best


def put_names(names: list[str], heard: list[str]) -> list[str]:
    """``heard`` (the plain decode's words) with each name in place of the run of words most like it, that
    run's trailing punctuation kept: "Wildware then keeps" -> "Vaultwarden then keeps", not the glossary
    decode's words around the name ("Vaultwarden keep, Snasher and Passwarden", tiny.en)."""
    words, free = list(heard), [True] * len(heard)
    for name in names:
        score, i, n = _best_run(name, words, free)
        if n:
            tail = re.search(r"[^\w]*$", words[i + n - 1]).group()
            words[i:i + n] = [name + tail] + [""] * (n - 1)
            free[i:i + n] = [False] * n
    return [w for w in words if w]


def terms_in(text: str, terms: tuple[str, ...], *, exact: bool = False) -> list[str]:
    """The terms written in ``text``; ``exact``: spelled and cased as in the glossary."""
    flags = 0 if exact else re.IGNORECASE
    return [t for t in terms if re.search(r"(?<!\w)" + re.escape(t) + r"(?!\w)", text, flags)]


def is_glossary_list(text: str, terms: tuple[str, ...]) -> bool:
    """A decode that became the prompt's shape: many comma-separated one- or two-word pieces, several of them
    glossary names or like them (or the word "glossary" itself)."""
    if "glossary" in text.lower():
        return True
    pieces = [p.strip(" .") for p in text.split(",") if p.strip(" .")]
    if len(pieces) < LIST_MIN_PIECES:
        return False
    short = [p for p in pieces if len(p.split()) <= 2]
    if len(short) < LIST_SHORT_SHARE * len(pieces):
        return False
    like = sum(1 for p in short if any(sounds_like(t, p) >= 0.6 for t in terms))
    return like >= 2


def _norm(token: str) -> str:
    return re.sub(r"[^\w]", "", token.lower())


def merge(with_glossary: str, plain: str, terms: tuple[str, ...]) -> tuple[str, list[str]]:
    """The plain decode's words with the glossary's names put in where the plain decode heard something like
    them; and the names the glossary wrote where nothing like them was heard (inserted, or in place of other
    words). Elsewhere the two decodes' differences go the plain decode's way: a name must not bring along
    words it changed around it ("Coolify deploys that happen", tiny.en)."""
    a, b = with_glossary.split(), plain.split()
    ops = SequenceMatcher(None, [_norm(w) for w in a], [_norm(w) for w in b], autojunk=False).get_opcodes()
    out: list[str] = []
    unheard: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":  # the same words; the glossary's spelling and casing
            out += a[i1:i2]
            continue
        added, heard = " ".join(a[i1:i2]), " ".join(b[j1:j2])  # heard: "" where a name was inserted
        names = [t for t in terms_in(added, terms, exact=True) if t not in terms_in(heard, terms, exact=True)]
        missing = [t for t in names if sounds_like(t, heard) < SOUNDS_LIKE]
        unheard += missing
        if not names or missing:
            out += b[j1:j2]
        elif _letters(added) == _letters(" ".join(names)):  # the names alone, in place of all that was heard
            out += a[i1:i2]
        else:
            out += put_names(names, b[j1:j2])
    return " ".join(out), unheard


class MergedSegment:
    """The decode kept, as one segment: the filters judge it as they judge a decode's segments."""

    def __init__(self, segments: list[Any], text: str) -> None:
        self.text = text
        self.tokens = [t for s in segments for t in s.tokens]
        n = max(1, len(self.tokens))
        self.avg_logprob = sum(s.avg_logprob * max(1, len(s.tokens)) for s in segments) / n
        self.no_speech_prob = max(s.no_speech_prob for s in segments)


def guard(decoded: Decoded, terms: tuple[str, ...], decode_plain: Callable[[], Decoded]) -> tuple[Decoded, str | None]:
    """The decode to keep, and why the glossary's was not kept as it was (None: it was)."""
    segments, info, dt = decoded
    plain_segments, plain_info, plain_dt = decode_plain()
    total = dt + plain_dt
    text = " ".join(s.text.strip() for s in segments)
    plain_text = " ".join(s.text.strip() for s in plain_segments)
    if is_glossary_list(text, terms) and not is_glossary_list(plain_text, terms):
        return (plain_segments, plain_info, total), "list"
    if not plain_segments or not set(terms_in(text, terms, exact=True)) - set(terms_in(plain_text, terms, exact=True)):
        return (plain_segments, plain_info, total), "no name added"
    merged, unheard = merge(text, plain_text, terms)
    if merged == text:
        return (segments, info, total), None
    why = "name not heard" if unheard else "words around a name"
    return ([MergedSegment(plain_segments, merged)], plain_info, total), why
