"""What a decode says once the filters have judged each of its segments (silence, hallucinations and
repetition loops dropped or collapsed: filters.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from meeting_tui.transcribe.filters import FilterConfig, judge


@dataclass
class FinalText:
    text: str
    confidence: float | None  # exp of the token-weighted mean log-probability
    no_speech_prob: float | None  # the highest of the kept segments
    flags: list[str] = field(default_factory=list)  # "repetition_collapsed"
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (text, why) of the segments dropped
    repetitions: int = 0


def judge_final(segments: list[Any], voiced_s: float, filters: FilterConfig) -> FinalText:
    texts: list[str] = []
    lp_sum, tok_sum = 0.0, 0
    nsp: list[float] = []
    out = FinalText("", None, None)
    for seg in segments:
        v = judge(seg.text, no_speech_prob=seg.no_speech_prob, avg_logprob=seg.avg_logprob, voiced_s=voiced_s,
                  config=filters)
        if v.repetition:
            out.repetitions += 1
            out.flags.append("repetition_collapsed")
        if not v.keep:
            out.dropped.append((seg.text, v.reason))
            continue
        texts.append(v.text)
        n = max(1, len(seg.tokens))
        lp_sum += seg.avg_logprob * n
        tok_sum += n
        nsp.append(seg.no_speech_prob)
    out.text = " ".join(t for t in texts if t).strip()
    out.confidence = round(math.exp(lp_sum / tok_sum), 4) if tok_sum else None
    out.no_speech_prob = round(max(nsp), 4) if nsp else None
    return out


def judge_text(segments: list[Any], voiced_s: float, filters: FilterConfig) -> str:
    """The kept text alone (a partial)."""
    texts = []
    for seg in segments:
        v = judge(seg.text, no_speech_prob=seg.no_speech_prob, avg_logprob=seg.avg_logprob, voiced_s=voiced_s,
                  config=filters)
        if v.keep:
            texts.append(v.text)
    return " ".join(texts).strip()
