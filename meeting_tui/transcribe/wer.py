"""Text normalisation and word error rate, for tests and the benchmark.

``normalize`` is deliberately simple and documented: lower case, curly quotes straightened, "&" -> "and",
hyphens and slashes split words, every other punctuation mark dropped (apostrophes inside words kept),
a few spelled-out/compact forms unified (``okay``/``ok``, ``mr``/``mister`` ...), whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_SPELLINGS = {
    "ok": "okay",
    "mr": "mister",
    "mrs": "missus",
    "dr": "doctor",
    "st": "saint",
    "vs": "versus",
    "percent": "%",
}


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("&", " and ")
    text = re.sub(r"[-\u2013\u2014/]", " ", text)
    text = re.sub(r"[^\w\s'%]", " ", text)  # punctuation
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)  # quotes, but keep don't / it's
    words = [_SPELLINGS.get(w, w) for w in text.split()]
    return " ".join(words)


@dataclass(frozen=True)
class WerResult:
    wer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions


def wer_details(reference: str, hypothesis: str, *, normalise: bool = True) -> WerResult:
    ref = (normalize(reference) if normalise else reference).split()
    hyp = (normalize(hypothesis) if normalise else hypothesis).split()
    n, m = len(ref), len(hyp)
    # dp[i][j] = (cost, subs, dels, ins) aligning ref[:i] with hyp[:j]
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)] + [(0, 0, 0, 0)] * m
        for j in range(1, m + 1):
            if ref[i - 1] == hyp[j - 1]:
                best = prev[j - 1]
            else:
                s, d, ins = prev[j - 1], prev[j], cur[j - 1]
                best = min(
                    (s[0] + 1, s[1] + 1, s[2], s[3]),
                    (d[0] + 1, d[1], d[2] + 1, d[3]),
                    (ins[0] + 1, ins[1], ins[2], ins[3] + 1),
                )
            cur[j] = best
        prev = cur
    cost, subs, dels, ins = prev[m]
    return WerResult(wer=(cost / n) if n else float(m > 0), substitutions=subs, deletions=dels, insertions=ins,
                     reference_words=n)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate after ``normalize``: (S + D + I) / reference words."""
    return wer_details(reference, hypothesis).wer
