"""Far-side recordings with several voices taking turns, and how to score speaker labels against them.

Voices: the three real speakers in ../shared/audio (JFK, and the two sides of stereo_diarization.wav),
cut into phrases at their pauses and reused with a different gain and noise each time; and espeak-ng
voices of different kinds (a low male US voice, a Scottish one, a Klatt-synthesised one, a high female
one) reading different sentences. Used by tests/test_speakers*.py and bench/speakers_bench.py.
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16_000
SHARED_AUDIO = Path(__file__).resolve().parents[2] / ".." / "shared" / "audio"

SENTENCES = [
    "We should ship the release on Thursday after the review.",
    "The budget for the next quarter is still under discussion.",
    "I think the customer wants a demo before they sign anything.",
    "Let me share my screen and walk you through the numbers.",
    "Our team finished the migration last week without any downtime.",
    "Could you send me the slides after the meeting please.",
    "The new pricing model starts in January for all regions.",
    "We have three open bugs that block the launch right now.",
    "Marketing needs the final copy by the end of the month.",
    "I will follow up with legal about the contract changes.",
]

ESPEAK_VOICES = {  # name -> espeak-ng arguments: different voices, pitches and rates
    "espeak-us-low": ["-v", "en-us+m3", "-p", "30", "-s", "160"],
    "espeak-scottish": ["-v", "en-gb-scotland+m7", "-p", "50", "-s", "175"],
    "espeak-klatt": ["-v", "en-us+klatt4", "-p", "60", "-s", "140"],
    "espeak-female": ["-v", "en-us+f2", "-p", "60", "-s", "150"],
}


@dataclass(frozen=True)
class Turn:
    voice: str
    start: float
    end: float


def shared_audio() -> Path:
    return SHARED_AUDIO.resolve()


def _load(path: Path, channel: int | None = None) -> np.ndarray:
    import soundfile as sf
    import soxr

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x[:, channel] if channel is not None else x.mean(axis=1)
    return soxr.resample(x, sr, RATE).astype(np.float32)


def split_phrases(x: np.ndarray, min_gap_s: float = 0.18, min_len_s: float = 0.9) -> list[np.ndarray]:
    """Cut speech at pauses (10 ms frames 30 dB under the loudest), keeping phrases of min_len_s or more."""
    frame = RATE // 100
    n = len(x) // frame
    db = 10 * np.log10(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    voiced = db > db.max() - 30
    phrases, start, silent = [], None, 0
    for i, v in enumerate(voiced):
        if v:
            start = i if start is None else start
            silent = 0
        elif start is not None:
            silent += 1
            if silent * frame >= min_gap_s * RATE:
                phrases.append((start, i - silent + 1))
                start, silent = None, 0
    if start is not None:
        phrases.append((start, n))
    merged: list[list[int]] = []
    for a, b in phrases:  # glue short bits onto the previous phrase
        if merged and (b - a) * frame < min_len_s * RATE:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    pad = 5 * frame
    return [x[max(0, a * frame - pad) : b * frame + pad] for a, b in merged]


def real_voices() -> dict[str, list[np.ndarray]]:
    root = shared_audio()
    stereo = root / "stereo_diarization.wav"
    return {
        "jfk": split_phrases(_load(root / "jfk.flac")),
        "stereo-left": split_phrases(_load(stereo, 0), min_len_s=1.5),
        "stereo-right": split_phrases(_load(stereo, 1), min_len_s=1.5),
    }


def espeak(args: list[str], text: str) -> np.ndarray:
    import soundfile as sf
    import soxr

    wav = subprocess.run(["espeak-ng", *args, "--stdout", text], capture_output=True, check=True).stdout
    x, sr = sf.read(io.BytesIO(wav), dtype="float32")
    return soxr.resample(x, sr, RATE).astype(np.float32)


def espeak_voices(names: list[str] | None = None) -> dict[str, list[np.ndarray]]:
    names = names or list(ESPEAK_VOICES)
    return {n: [espeak(ESPEAK_VOICES[n], s) for s in SENTENCES] for n in names}


def conversation(voices: dict[str, list[np.ndarray]], turns: int, seed: int = 0,
                 noise_db: float = -55.0) -> tuple[np.ndarray, list[Turn]]:
    """Voices take turns (no one twice in a row), each turn one phrase with its own gain, after a pause."""
    rng = np.random.default_rng(seed)
    names = list(voices)
    used = {n: 0 for n in names}
    parts, truth, t, last = [], [], 0, None
    for i in range(turns):
        choices = [n for n in names if n != last]
        # everyone speaks within the first rounds, then in random order
        name = names[i] if i < len(names) else choices[int(rng.integers(len(choices)))]
        phrase = voices[name][used[name] % len(voices[name])]
        used[name] += 1
        pause = np.zeros(int(rng.uniform(0.5, 1.0) * RATE), np.float32)
        gain = 10 ** (rng.uniform(-6, 3) / 20)
        parts += [pause, phrase * gain]
        t += len(pause)
        truth.append(Turn(name, t / RATE, (t + len(phrase)) / RATE))
        t += len(phrase)
        last = name
    audio = np.concatenate(parts + [np.zeros(RATE, np.float32)])
    audio += rng.normal(0, 10 ** (noise_db / 20), len(audio)).astype(np.float32)
    return np.clip(audio, -1, 1).astype(np.float32), truth


def truth_at(truth: list[Turn], start: float, end: float) -> str | None:
    """The voice speaking most of [start, end]."""
    best, overlap = None, 0.0
    for turn in truth:
        o = min(end, turn.end) - max(start, turn.start)
        if o > overlap:
            best, overlap = turn.voice, o
    return best


def mapping(pairs: list[tuple[str, str, float]]) -> dict[str, str]:
    """One-to-one map found label -> true voice, greedily by the weight (words, seconds) they share."""
    weight: dict[tuple[str, str], float] = {}
    for found, true, w in pairs:
        weight[(found, true)] = weight.get((found, true), 0.0) + w
    out: dict[str, str] = {}
    for (found, true), _ in sorted(weight.items(), key=lambda kv: -kv[1]):
        if found not in out and true not in out.values():
            out[found] = true
    return out


def word_share(lines: list[tuple[float, float, str, str]], truth: list[Turn], after_s: float = 30.0) -> float:
    """Share of words (in lines starting at after_s or later) under the label mapped to their true voice.

    ``lines``: (start, end, found label, text). The map is learnt over the whole recording.
    """
    pairs = [(lab, truth_at(truth, a, b), len(text.split())) for a, b, lab, text in lines]
    m = mapping([p for p in pairs if p[1] is not None])
    total = right = 0
    for (a, _b, lab, text), (_, true, n) in zip(lines, pairs):
        if a < after_s:
            continue
        total += n
        right += n if m.get(lab) == true else 0
    return right / total if total else 0.0


def der(lines: list[tuple[float, float, str]], truth: list[Turn], frame_s: float = 0.01) -> dict[str, float]:
    """Diarization error rate (missed + false alarm + confusion) / reference speech, 10 ms frames, no collar.

    Returns {"der", "miss", "fa", "conf"}, each a share of the reference speech.
    """
    end = max([t.end for t in truth] + [b for _, b, _ in lines])
    n = int(end / frame_s) + 1
    ref = np.full(n, "", dtype=object)
    hyp = np.full(n, "", dtype=object)
    for t in truth:
        ref[int(t.start / frame_s) : int(t.end / frame_s)] = t.voice
    for a, b, lab in lines:
        hyp[int(a / frame_s) : int(b / frame_s)] = lab
    pairs = [(h, r, 1.0) for h, r in zip(hyp, ref) if h and r]
    m = mapping(pairs)
    speech = sum(1 for r in ref if r)
    miss = sum(1 for h, r in zip(hyp, ref) if r and not h)
    fa = sum(1 for h, r in zip(hyp, ref) if h and not r)
    conf = sum(1 for h, r in zip(hyp, ref) if h and r and m.get(h) != r)
    speech = max(speech, 1)
    return {"der": (miss + fa + conf) / speech, "miss": miss / speech, "fa": fa / speech, "conf": conf / speech}
